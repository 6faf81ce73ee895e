// Package lint runs the pipeline: discover migrations, split and parse them,
// replay history into the catalog, run the rules on the files under review
// and apply suppression directives.
package lint

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"unicode/utf8"

	"github.com/fluxlint/fluxlint/analyzers/catalog"
	"github.com/fluxlint/fluxlint/analyzers/ir"
	"github.com/fluxlint/fluxlint/analyzers/migrations"
	"github.com/fluxlint/fluxlint/analyzers/pg"
	"github.com/fluxlint/fluxlint/analyzers/split"
	"github.com/fluxlint/fluxlint/rules"
)

// Options configure a run.
type Options struct {
	Engine  ir.Engine
	Version int           // server major version
	Rules   []*rules.Rule // the enabled checks
	// Severity overrides a rule's severity, by code.
	Severity map[string]rules.Severity
	Refs     rules.References
}

// FileInfo is what discovery and splitting learned about a file.
type FileInfo struct {
	Path       string            `json:"path"`
	Tool       migrations.Tool   `json:"tool"`
	UpTx       migrations.TxMode `json:"up_tx"`
	DownTx     migrations.TxMode `json:"down_tx"`
	Down       bool              `json:"down"`
	Statements int               `json:"statements"`
	Target     bool              `json:"target"`
}

// Result is a run's outcome.
type Result struct {
	Findings []*rules.Finding
	Errors   []error // input errors that stopped a file or an argument
	Files    []FileInfo
}

// Run lints the migrations named by args.
func Run(args []string, opt Options) *Result {
	res := &Result{}
	sets, errs := migrations.Discover(args)
	for _, e := range errs {
		res.Errors = append(res.Errors, e)
	}
	for _, set := range sets {
		lintSet(set, opt, res)
	}
	sortFindings(res.Findings)
	return res
}

// ParseFile splits and parses one migration's source.
func ParseFile(m *migrations.Migration, engine ir.Engine) ([]*ir.Stmt, []ir.Comment, error) {
	if err := checkText(m.Src); err != nil {
		return nil, nil, err
	}
	sp := split.Split(m.Src, engine)
	mk := sp.Markers
	m.TxFromMarkers(mk.GooseNoTx, mk.DbmateUpNoTx, mk.DbmateDownNoTx)
	stmts := make([]*ir.Stmt, 0, len(sp.Segments))
	for _, seg := range sp.Segments {
		s := &ir.Stmt{Pos: sp.Lines.Pos(seg.Start), End: sp.Lines.Pos(seg.End), Text: string(m.Src[seg.Start:seg.End]), Down: seg.Down || m.Down}
		switch {
		case seg.Err != "":
			s.Err = &ir.Error{Pos: sp.Lines.Pos(seg.ErrAt), Msg: seg.Err}
		case seg.Client != "":
			if engine != ir.MySQL || seg.Client != "DELIMITER" {
				s.Err = &ir.Error{Pos: s.Pos, Msg: fmt.Sprintf("%s is a client command, not SQL: %s rejects it", seg.Client, engineName(engine))}
			}
		default:
			ops, err := parse(engine, s.Text)
			if err != nil {
				s.Err = &ir.Error{Pos: s.Pos, Msg: err.Error()}
				var se *pg.SyntaxError
				if errors.As(err, &se) {
					s.Err.Pos = sp.Lines.Pos(seg.Start + se.Offset)
				}
			}
			s.Ops = ops
		}
		stmts = append(stmts, s)
	}
	markTransactions(stmts, m)
	return stmts, sp.Comments, nil
}

func engineName(e ir.Engine) string {
	if e == ir.MySQL {
		return "MySQL"
	}
	return "PostgreSQL"
}

func parse(engine ir.Engine, text string) ([]ir.Op, error) {
	if engine != ir.Postgres {
		return nil, fmt.Errorf("engine %s is not supported yet", engine)
	}
	return pg.Parse(text)
}

// checkText rejects input that is not text: binary files and invalid UTF-8.
func checkText(src []byte) error {
	head := src
	if len(head) > 8000 {
		head = head[:8000]
	}
	if bytes.IndexByte(head, 0) >= 0 {
		return &ir.Error{Pos: ir.Pos{Line: 1, Col: 1}, Msg: "binary file (contains NUL bytes), not a SQL migration"}
	}
	if !utf8.Valid(src) {
		off := 0
		for off < len(src) {
			r, size := utf8.DecodeRune(src[off:])
			if r == utf8.RuneError && size <= 1 {
				break
			}
			off += size
		}
		return &ir.Error{Pos: split.NewLines(src).Pos(off), Msg: "not valid UTF-8: save the file as UTF-8"}
	}
	return nil
}

// markTransactions decides, for every statement, whether it runs inside a
// transaction: from the tool's mode for its section and explicit BEGIN/COMMIT.
func markTransactions(stmts []*ir.Stmt, m *migrations.Migration) {
	for _, down := range []bool{false, true} {
		var section []*ir.Stmt
		for _, s := range stmts {
			if s.Down == down {
				section = append(section, s)
			}
		}
		mode := m.UpTx
		if down {
			mode = m.DownTx
		}
		wrapped := false
		switch mode {
		case migrations.TxWrapped:
			wrapped = true
		case migrations.TxImplicit:
			wrapped = len(section) > 1
		case migrations.TxAuto:
			wrapped = !allNonTransactional(section)
		}
		explicit := false
		for _, s := range section {
			kind, isTx := txKind(s)
			if isTx && kind == ir.TxBegin {
				explicit = true
			}
			s.InTx = wrapped || explicit
			if isTx && (kind == ir.TxCommit || kind == ir.TxRollback) {
				explicit = false
			}
		}
	}
}

func txKind(s *ir.Stmt) (ir.TxKind, bool) {
	for _, op := range s.Ops {
		if t, ok := op.(ir.TxControl); ok {
			return t.Kind, true
		}
	}
	return 0, false
}

// allNonTransactional reports whether every statement must run outside a
// transaction block, which is when Flyway runs a file without one.
func allNonTransactional(stmts []*ir.Stmt) bool {
	if len(stmts) == 0 {
		return false
	}
	for _, s := range stmts {
		if !nonTransactional(s) {
			return false
		}
	}
	return true
}

func nonTransactional(s *ir.Stmt) bool {
	for _, op := range s.Ops {
		switch o := op.(type) {
		case ir.CreateIndex:
			if o.Concurrently {
				return true
			}
		case ir.Drop:
			if o.Concurrently {
				return true
			}
		}
	}
	return false
}

func lintSet(set *migrations.Set, opt Options, res *Result) {
	cat := catalog.New()
	unit := ""
	for _, m := range set.Migrations {
		if m.Unit() != unit {
			cat.BeginChange()
			unit = m.Unit()
		}
		stmts, comments, err := ParseFile(m, opt.Engine)
		res.Files = append(res.Files, FileInfo{Path: m.Path, Tool: m.Tool, UpTx: m.UpTx, DownTx: m.DownTx, Down: m.Down, Statements: len(stmts), Target: m.Target})
		if err != nil {
			if m.Target {
				pos := ir.Pos{Line: 1, Col: 1}
				var ie *ir.Error
				if errors.As(err, &ie) {
					pos, err = ie.Pos, errors.New(ie.Msg)
				}
				res.Findings = append(res.Findings, rules.NewFinding(rules.InputError, m.Path, pos, pos, err.Error()))
			}
			continue
		}
		f := &rules.File{Path: m.Path, Tool: m.Tool, Stmts: stmts}
		var found []*rules.Finding
		report := func(fd *rules.Finding) { found = append(found, fd) }
		var downCat *catalog.Catalog
		for _, s := range stmts {
			c := cat
			if s.Down {
				// A rollback is evaluated on the schema its up produced and
				// never becomes part of the history that follows.
				if downCat == nil {
					downCat = cat.Clone()
				}
				c = downCat
			}
			if m.Target && s.Err != nil {
				report(rules.NewFinding(rules.SyntaxError, f.Path, s.Err.Pos, s.End, s.Err.Msg))
			}
			// Each op is checked on the schema left by the ops before it, so
			// a table created earlier in the same statement block counts as new.
			for _, op := range s.Ops {
				if m.Target {
					checkOp(f, s, op, c, opt, report)
				}
				c.Apply(op)
			}
		}
		if m.Target {
			found = suppress(f, comments, found, opt)
			res.Findings = append(res.Findings, found...)
		}
	}
}

// checkOp runs every enabled rule on one op of a statement.
func checkOp(f *rules.File, s *ir.Stmt, op ir.Op, c *catalog.Catalog, opt Options, report func(*rules.Finding)) {
	for _, r := range opt.Rules {
		if r.Check == nil || (r.Destructive && s.Down) {
			continue
		}
		r.Check(rules.NewPass(r, f, s, op, c, opt.Version, opt.Refs, func(fd *rules.Finding) {
			if sev, ok := opt.Severity[r.Code]; ok {
				fd.Severity = sev
			}
			report(fd)
		}))
	}
}

func sortFindings(fs []*rules.Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		if a.Pos.Offset != b.Pos.Offset {
			return a.Pos.Offset < b.Pos.Offset
		}
		return a.Rule.Code < b.Rule.Code
	})
}
