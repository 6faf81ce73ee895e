package lint

import (
	"fmt"
	"strings"

	"github.com/fluxlint/fluxlint/analyzers/ir"
	"github.com/fluxlint/fluxlint/rules"
)

// directive is a `-- fluxlint:ignore CODE reason` comment.
type directive struct {
	comment ir.Comment
	file    bool     // ignore-file
	codes   []string // as written: codes or names
	stmt    *ir.Stmt // the statement it applies to (nil for file-wide)
	used    bool
}

// DirectivePrefix starts every fluxlint directive.
const DirectivePrefix = "fluxlint:"

// suppress removes findings covered by ignore directives and reports
// malformed directives (FL001) and directives that suppress nothing (FL002).
func suppress(f *rules.File, comments []ir.Comment, found []*rules.Finding, opt Options) []*rules.Finding {
	known := append(rules.Tool(), opt.Rules...)
	var dirs []*directive
	var out []*rules.Finding
	bad := func(c ir.Comment, msg string) {
		out = append(out, rules.NewFinding(rules.BadDirective, f.Path, c.Pos, c.End, msg))
	}
	for _, c := range comments {
		text := strings.TrimSpace(c.Text)
		rest, ok := strings.CutPrefix(text, DirectivePrefix)
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			bad(c, "empty fluxlint directive")
			continue
		}
		kind := fields[0]
		switch kind {
		case "test":
			continue // fixture header, read by the test harness
		case "ignore", "ignore-file":
		default:
			bad(c, fmt.Sprintf("unknown fluxlint directive %q (want ignore or ignore-file)", kind))
			continue
		}
		if len(fields) < 2 {
			bad(c, fmt.Sprintf("fluxlint:%s needs a rule code and a reason", kind))
			continue
		}
		d := &directive{comment: c, file: kind == "ignore-file", codes: strings.Split(fields[1], ",")}
		valid := true
		for _, code := range d.codes {
			if rules.Find(known, code) == nil {
				bad(c, fmt.Sprintf("fluxlint:%s names unknown rule %q", kind, code))
				valid = false
			}
		}
		if !valid {
			continue
		}
		if len(fields) < 3 {
			bad(c, fmt.Sprintf("fluxlint:%s %s has no reason: say why the finding does not apply", kind, fields[1]))
		}
		if !d.file {
			d.stmt = attach(f.Stmts, c)
		}
		dirs = append(dirs, d)
	}
	for _, fd := range found {
		if !suppressedBy(dirs, fd) {
			out = append(out, fd)
		}
	}
	for _, d := range dirs {
		if !d.used {
			out = append(out, rules.NewFinding(rules.UnusedDirective, f.Path, d.comment.Pos, d.comment.End,
				fmt.Sprintf("fluxlint directive for %s suppresses nothing", strings.Join(d.codes, ","))))
		}
	}
	return out
}

// attach finds the statement a directive comment applies to: the statement
// that ends on the comment's line before it, else the next statement.
func attach(stmts []*ir.Stmt, c ir.Comment) *ir.Stmt {
	for _, s := range stmts {
		if s.End.Line == c.Pos.Line && s.End.Offset <= c.Pos.Offset {
			return s
		}
	}
	for _, s := range stmts {
		if s.Pos.Offset >= c.End.Offset {
			return s
		}
	}
	return nil
}

func suppressedBy(dirs []*directive, fd *rules.Finding) bool {
	for _, d := range dirs {
		if !d.file && (d.stmt == nil || d.stmt.Pos.Offset > fd.Pos.Offset || fd.Pos.Offset > d.stmt.End.Offset) {
			continue
		}
		for _, code := range d.codes {
			if strings.EqualFold(code, fd.Rule.Code) || code == fd.Rule.Name {
				d.used = true
				return true
			}
		}
	}
	return false
}
