package rules

import (
	"github.com/fluxlint/fluxlint/analyzers/catalog"
	"github.com/fluxlint/fluxlint/analyzers/ir"
	"github.com/fluxlint/fluxlint/analyzers/migrations"
)

// Rules that look at the rest of the file (is lock_timeout SET earlier, is
// this the first strong lock, does a later statement create the view) would
// rescan the file for every op, which is quadratic in the statements of a
// file. The file keeps, per section (up or down), its ops in order, an index
// of them by the table they name, and the running results of the backward
// scans, so that every lookup costs the ops it really needs.

// OpRef is one op of the file, with its statement.
type OpRef struct {
	Stmt  *ir.Stmt
	Index int // the op's index in Stmt.Ops
	Op    ir.Op
}

// section is one section's ops in file order.
type section struct {
	ops     []OpRef
	first   map[*ir.Stmt]int    // a statement's first op in ops
	byTable map[ir.QName][]int  // indexes into ops, in order, by the table an op names
	folds   map[string]*foldAcc // the running backward scans, by key
}

type foldAcc struct {
	upto int // ops[:upto] are folded into acc
	acc  any
}

// section returns the file's up or down section, built on first use.
func (f *File) section(down bool) *section {
	if f.sections == nil {
		f.sections = map[bool]*section{}
	}
	if sec := f.sections[down]; sec != nil {
		return sec
	}
	sec := &section{first: map[*ir.Stmt]int{}, byTable: map[ir.QName][]int{}, folds: map[string]*foldAcc{}}
	for _, s := range f.Stmts {
		if s.Down != down {
			continue
		}
		sec.first[s] = len(sec.ops)
		for i, op := range s.Ops {
			for _, t := range ir.TablesOf(op) {
				t = resolveName(t)
				if n := sec.byTable[t]; len(n) == 0 || n[len(n)-1] != len(sec.ops) {
					sec.byTable[t] = append(n, len(sec.ops))
				}
			}
			sec.ops = append(sec.ops, OpRef{Stmt: s, Index: i, Op: op})
		}
	}
	f.sections[down] = sec
	return sec
}

// resolveName qualifies a name the way the catalog compares PostgreSQL
// names; MySQL names have no schema, and so compare as written.
func resolveName(q ir.QName) ir.QName {
	if q.Schema == "" {
		q.Schema = "public"
	}
	return q
}

// at is the index of the pass's op among its section's ops.
func (p *Pass) at() (*section, int) {
	sec := p.File.section(p.Stmt.Down)
	first, ok := sec.first[p.Stmt]
	if !ok {
		return sec, 0 // a statement not in the file (a plan's own SQL)
	}
	return sec, first + p.OpIndex
}

// Fold runs a backward scan: the result of fn folded over every op before
// the pass's op in its section, in order, starting from nil. Passes come in
// file order, so each key's scan resumes where the last pass left it and
// the whole file is scanned once per key. fn sees each op once, with the
// catalog of the pass that happens to fold it: the same section's lineage.
func (p *Pass) Fold(key string, fn func(acc any, ref OpRef) any) any {
	sec, at := p.at()
	st := sec.folds[key]
	if st == nil || st.upto > at {
		st = &foldAcc{}
		sec.folds[key] = st
	}
	for ; st.upto < at; st.upto++ {
		st.acc = fn(st.acc, sec.ops[st.upto])
	}
	return st.acc
}

// FoldEnd is Fold over the whole up section of f, an earlier file whose
// last transaction goes on in the pass's file (File.Prev, and its Prev):
// what that file left, such as the locks its transaction holds.
func (p *Pass) FoldEnd(f *File, key string, fn func(acc any, ref OpRef) any) any {
	sec := f.section(false)
	st := sec.folds[key]
	if st == nil {
		st = &foldAcc{}
		sec.folds[key] = st
	}
	for ; st.upto < len(sec.ops); st.upto++ {
		st.acc = fn(st.acc, sec.ops[st.upto])
	}
	return st.acc
}

// OnTable calls fn for the ops of the pass's section that name the table
// (or rename a table to its name), in file order, with each op's distance
// from the pass's op: negative before it, 0 for the op itself, positive
// after it. It returns early when fn returns true.
func (p *Pass) OnTable(table ir.QName, fn func(ref OpRef, rel int) (stop bool)) {
	sec, at := p.at()
	for _, i := range sec.byTable[resolveName(table)] {
		if fn(sec.ops[i], i-at) {
			return
		}
	}
}

// TxOps is how many ops right before the pass's op run in its transaction:
// back to the last BEGIN, COMMIT or statement outside a transaction.
func (p *Pass) TxOps() int {
	n, _ := p.Fold("tx-ops", func(acc any, ref OpRef) any {
		if _, ok := ref.Op.(ir.TxControl); ok || !ref.Stmt.InTx {
			return 0
		}
		n, _ := acc.(int)
		return n + 1
	}).(int)
	return n
}

// BeganBefore reports whether an explicit BEGIN comes before the pass's op
// in its section.
func (p *Pass) BeganBefore() bool {
	return p.Fold("began", func(acc any, ref OpRef) any {
		if t, ok := ref.Op.(ir.TxControl); ok && t.Kind == ir.TxBegin {
			return true
		}
		return acc
	}) != nil
}

// TxOpenBefore reports whether a transaction the file opened with BEGIN is
// still open just before the pass's op (not counting the tool's own).
func (p *Pass) TxOpenBefore() bool {
	return p.Fold("open", func(acc any, ref OpRef) any {
		if t, ok := ref.Op.(ir.TxControl); ok {
			switch t.Kind {
			case ir.TxBegin:
				return true
			case ir.TxCommit, ir.TxRollback:
				return nil
			}
		}
		return acc
	}) != nil
}

// After calls fn for the ops after the pass's op in its section, in
// order, until fn returns true.
func (p *Pass) After(fn func(ref OpRef) (stop bool)) {
	sec, at := p.at()
	if _, ok := sec.first[p.Stmt]; !ok {
		return // a plan's own SQL: nothing of the file comes after it
	}
	for _, ref := range sec.ops[at+1:] {
		if fn(ref) {
			return
		}
	}
}

// ToolTx is how the tool runs the pass's section (File.ToolTx).
func (p *Pass) ToolTx() migrations.TxMode {
	if p.Stmt.Down {
		return p.File.ToolTx[1]
	}
	return p.File.ToolTx[0]
}

// InUp reports whether an op of the file's up section matches: for
// findings reported once per migration, up and down together.
func (p *Pass) InUp(match func(ir.Op) bool) bool {
	for _, ref := range p.File.section(false).ops {
		if match(ref.Op) {
			return true
		}
	}
	return false
}

// Recreates returns the table an unconditional CREATE TABLE names when
// the migrations before already created it, so that the server refuses the
// statement; nil otherwise. Only where the schema before the statement is
// known: not in a rollback (the schema split down files start from is the
// up's only if every later migration was rolled back exactly) nor in a
// file whose order is a guess (File.Unordered); and a temporary table
// neither clashes with a table nor lasts past its session.
func (p *Pass) Recreates(op ir.CreateTable) *catalog.Table {
	if !p.KnownBefore() || op.IfNotExists || op.Temp {
		return nil
	}
	if t := p.Catalog.Table(op.Table); t != nil && !t.Temp {
		return t
	}
	return nil
}

// KnownBefore reports whether the schema the catalog holds before the
// pass's statement is the one the server has then, as far as the
// migrations tell: see Recreates.
func (p *Pass) KnownBefore() bool { return !p.Stmt.Down && !p.File.Unordered }
