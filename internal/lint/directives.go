package lint

import (
	"fmt"
	"sort"
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

// fileDirectives reads a file's directives before its rules run, so that a
// suppressed finding is dropped as it is reported instead of piling up; it
// reports malformed directives (FL001) to out.
func fileDirectives(f *rules.File, comments []ir.Comment, opt Options, out func(*rules.Finding)) *directives {
	known := append(rules.Tool(), opt.Rules...)
	var dirs []*directive
	bad := func(c ir.Comment, msg string) {
		out(rules.NewFinding(rules.BadDirective, f.Path, c.Pos, c.End, msg))
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
	return indexDirectives(dirs)
}

// unused reports the directives that suppressed nothing (FL002).
func (ix *directives) unused(path string, out func(*rules.Finding)) {
	for _, list := range [][]*directive{ix.all} {
		for _, d := range list {
			if !d.used {
				out(rules.NewFinding(rules.UnusedDirective, path, d.comment.Pos, d.comment.End,
					fmt.Sprintf("fluxlint directive for %s suppresses nothing", strings.Join(d.codes, ","))))
			}
		}
	}
}

// attach finds the statement a directive comment applies to: the statement
// that ends on the comment's line before it, else the next statement.
// Statements are in file order, so both are found by binary search.
func attach(stmts []*ir.Stmt, c ir.Comment) *ir.Stmt {
	next := sort.Search(len(stmts), func(i int) bool { return stmts[i].Pos.Offset >= c.End.Offset })
	// The statements ending on the comment's line before it come right
	// before the next one.
	for i := next - 1; i >= 0 && stmts[i].End.Line >= c.Pos.Line; i-- {
		if s := stmts[i]; s.End.Line == c.Pos.Line && s.End.Offset <= c.Pos.Offset {
			first := s
			for j := i - 1; j >= 0 && stmts[j].End.Line == c.Pos.Line && stmts[j].End.Offset <= c.Pos.Offset; j-- {
				first = stmts[j]
			}
			return first
		}
	}
	if next < len(stmts) {
		return stmts[next]
	}
	return nil
}

// directives are a file's ignore directives, found by the statement they
// cover.
type directives struct {
	all    []*directive // in file order
	file   []*directive
	byStmt map[*ir.Stmt][]*directive
	stmts  []*ir.Stmt // those with directives, in file order
}

func indexDirectives(dirs []*directive) *directives {
	ix := &directives{all: dirs, byStmt: map[*ir.Stmt][]*directive{}}
	for _, d := range dirs {
		switch {
		case d.file:
			ix.file = append(ix.file, d)
		case d.stmt != nil:
			if len(ix.byStmt[d.stmt]) == 0 {
				ix.stmts = append(ix.stmts, d.stmt)
			}
			ix.byStmt[d.stmt] = append(ix.byStmt[d.stmt], d)
		}
	}
	sort.Slice(ix.stmts, func(i, j int) bool { return ix.stmts[i].Pos.Offset < ix.stmts[j].Pos.Offset })
	return ix
}

// suppressedBy reports whether a directive covers the finding, marking it
// used: one on the statement the finding lies in, or a file-wide one.
func (ix *directives) suppressedBy(fd *rules.Finding) bool {
	off := fd.Pos.Offset
	var onStmt []*directive
	// Statements do not overlap: the one that may hold the finding is the
	// last to start at or before it.
	if i := sort.Search(len(ix.stmts), func(i int) bool { return ix.stmts[i].Pos.Offset > off }) - 1; i >= 0 && off <= ix.stmts[i].End.Offset {
		onStmt = ix.byStmt[ix.stmts[i]]
	}
	for _, list := range [][]*directive{onStmt, ix.file} {
		for _, d := range list {
			for _, code := range d.codes {
				if strings.EqualFold(code, fd.Rule.Code) || code == fd.Rule.Name {
					d.used = true
					return true
				}
			}
		}
	}
	return false
}
