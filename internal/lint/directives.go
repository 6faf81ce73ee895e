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
	// squawk marks a squawk-ignore comment, read for the fluxlint rules its
	// names match; it may name squawk rules fluxlint has no match for, so it
	// is never reported as unused.
	squawk bool
}

// squawkRules maps squawk's rule names (crates/squawk_linter/src/lib.rs)
// to the fluxlint rules that check the same thing, so that a team moving
// over keeps its reviewed squawk-ignore exceptions.
var squawkRules = map[string][]string{
	"require-concurrent-index-creation":            {"PG101"},
	"require-concurrent-index-deletion":            {"PG102"},
	"ban-concurrent-index-creation-in-transaction": {"PG103"},
	"adding-not-nullable-field":                    {"PG104", "PG201"},
	"constraint-missing-not-valid":                 {"PG105", "PG106"},
	"adding-foreign-key-constraint":                {"PG106"},
	"disallowed-unique-constraint":                 {"PG108"},
	"adding-serial-primary-key-field":              {"PG108"},
	"require-concurrent-reindex":                   {"PG110"},
	"require-timeout-settings":                     {"PG113"},
	"require-lock-timeout":                         {"PG113"},
	"require-concurrent-partition-detach":          {"PG115"},
	"ban-alter-domain-with-add-constraint":         {"PG121"},
	"ban-uncommitted-transaction":                  {"PG122"},
	"transaction-nesting":                          {"PG123"},
	"identifier-too-long":                          {"PG124"},
	"adding-required-field":                        {"PG201"},
	"adding-field-with-default":                    {"PG202"},
	"changing-column-type":                         {"PG203"},
	"ban-drop-column":                              {"PG301"},
	"ban-drop-not-null":                            {"PG308"},
	"ban-drop-table":                               {"PG302"},
	"renaming-column":                              {"PG303"},
	"renaming-table":                               {"PG304"},
	"ban-truncate-cascade":                         {"PG305"},
}

// squawkDirective reads `squawk-ignore[-file] name[, name] [-- reason]` as
// squawk does: no name ignores every rule (here: every rule squawk has a
// match for).
func squawkDirective(c ir.Comment) (*directive, bool) {
	text := strings.TrimSpace(c.Text)
	rest, file := strings.CutPrefix(text, "squawk-ignore-file")
	if !file {
		var ok bool
		if rest, ok = strings.CutPrefix(text, "squawk-ignore"); !ok {
			return nil, false
		}
	}
	if rest != "" && rest[0] != ' ' && rest[0] != '\t' {
		return nil, false // squawk-ignored, or another word
	}
	if i := strings.Index(rest, "--"); i >= 0 {
		rest = rest[:i]
	}
	d := &directive{comment: c, file: file, squawk: true}
	seen := map[string]bool{}
	add := func(codes []string) {
		for _, code := range codes {
			if !seen[code] {
				seen[code] = true
				d.codes = append(d.codes, code)
			}
		}
	}
	names := strings.FieldsFunc(rest, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
	for _, name := range names {
		add(squawkRules[name])
	}
	if len(names) == 0 {
		for _, codes := range squawkRules {
			add(codes)
		}
		sort.Strings(d.codes)
	}
	return d, true
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
		if d, ok := squawkDirective(c); ok {
			if !d.file {
				d.stmt = attach(f.Stmts, c)
			}
			dirs = append(dirs, d)
			continue
		}
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
		// Codes are comma separated, with or without spaces after the
		// commas: "PG101,PG113" and "PG101, PG113" alike.
		last := 1
		spec := fields[1]
		for strings.HasSuffix(spec, ",") && last+1 < len(fields) {
			last++
			spec += fields[last]
		}
		var codes []string
		for _, code := range strings.Split(spec, ",") {
			if code != "" {
				codes = append(codes, code)
			}
		}
		d := &directive{comment: c, file: kind == "ignore-file", codes: codes}
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
		if len(fields) <= last+1 {
			bad(c, fmt.Sprintf("fluxlint:%s %s has no reason: say why the finding does not apply", kind, strings.Join(codes, ",")))
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
			if !d.used && !d.squawk {
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
