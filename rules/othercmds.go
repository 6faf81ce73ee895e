package rules

import (
	"fmt"
	"slices"
	"strings"

	"github.com/fluxlint/fluxlint/analyzers/ir"
	"github.com/fluxlint/fluxlint/analyzers/pg"
	"github.com/fluxlint/fluxlint/analyzers/split"
	"github.com/fluxlint/fluxlint/rules/sqlgen"
)

// withOtherCmds keeps the rest of an ALTER TABLE in a plan that replaces
// one of its subcommands: a plan for `ADD COLUMN a ..., ADD CONSTRAINT k
// UNIQUE (b)` that builds k's index concurrently must still add a, or the
// statement's other changes are lost when the plan replaces it. The other
// subcommands run as written, in the statement's order: those before the
// replaced one in a step before the plan's steps, those after it in a step
// after them (a Prisma drop-and-add re-adds the name a DROP frees). The
// plan is changed in place and returned.
func (p *Pass) withOtherCmds(plan *Plan) *Plan {
	op, ok := p.Op.(ir.AlterTable)
	if !ok || plan.KeepsStatement || plan.Whole || p.cmd < 0 || len(op.Cmds) < 2 {
		return plan
	}
	plan.cmd, plan.composable = p.cmd, true
	var before, after []int
	for i := range op.Cmds {
		switch {
		case i < p.cmd:
			before = append(before, i)
		case i > p.cmd:
			after = append(after, i)
		}
	}
	var first, last []Step
	for _, part := range [][]int{before, after} {
		if len(part) == 0 {
			continue
		}
		step, ok := p.otherCmdsStep(op, part)
		if !ok {
			if len(plan.Steps) > 0 {
				plan.Steps[0].Note = JoinNotes(plan.Steps[0].Note, "The statement's other subcommands are not in this plan: run them as written.")
			}
			plan.composable = false
			return plan
		}
		step.Title = "run the statement's other subcommands as written (this plan replaces only one of them)"
		step.Note = JoinNotes("If another finding on this statement plans one of these subcommands, run its plan instead of that subcommand.", step.Note)
		if part[0] < p.cmd {
			first = append(first, step)
		} else {
			last = append(last, step)
		}
	}
	plan.own = [2]int{len(first), len(first) + len(plan.Steps)}
	plan.Steps = append(append(first, plan.Steps...), last...)
	return plan
}

// withOtherStatements keeps the rest of a statement that holds several SQL
// statements (a goose StatementBegin ... StatementEnd block, sent as one) in
// a plan that replaces the one holding the pass's op: the others run as
// written, those before it in a step before the plan's steps, those after
// it in a step after them. Without them, a plan for the block's CHECK would
// lose the ADD COLUMN before it, and fail for want of the column.
func (p *Pass) withOtherStatements(plan *Plan) *Plan {
	if plan.KeepsStatement || plan.Whole {
		return plan
	}
	parts, at := p.blockParts()
	if parts == nil {
		return plan
	}
	var first, last []Step
	if at > 0 {
		first = []Step{p.asWrittenStep(parts[:at], true, "run the block's statements before the one this plan replaces, as written")}
	}
	if at+1 < len(parts) {
		last = []Step{p.asWrittenStep(parts[at+1:], false, "run the block's statements after the one this plan replaces, as written")}
	}
	// For ComposeBlock: where the statement's own steps are, and each later
	// statement as written on its own (the gap before another finding's).
	b := &blockPlan{at: at, own: [2]int{len(first), len(first) + len(plan.Steps)}}
	for _, part := range parts[at+1:] {
		b.after = append(b.after, p.asWrittenStep([]blockPart{part}, false, "run the block's statements that no finding replaces, as written"))
	}
	plan.block = b
	plan.own = [2]int{plan.own[0] + len(first), plan.own[1] + len(first)}
	plan.Steps = append(append(first, plan.Steps...), last...)
	return plan
}

// blockPlan places a plan that withOtherStatements completed in its block:
// it replaces the block's statement at, Steps[own[0]:own[1]] are that
// statement's steps, and after holds, for each statement after it, a step
// that runs that one as written.
type blockPlan struct {
	at    int
	own   [2]int
	after []Step
}

// ComposeBlock gives the findings on the statements of one block (a goose
// StatementBegin ... End, sent as one) whose plans each replace one of them
// a single plan: alone, each runs the others as written, so run one after
// the other they would run a statement twice, or as written the very one
// another plan makes safe. Together: the statements before the first as
// written, then each replaced statement's own steps with, between them, the
// statements no finding replaces, as written, then the rest as written.
// Findings whose plans cannot be placed so (two plans for one statement, a
// plan that keeps the statement) are left as they are.
func ComposeBlock(found []*Finding) {
	var plans []*Plan
	seen := map[*Plan]bool{}
	for _, f := range found {
		pl := f.Plan
		if pl == nil || pl.KeepsStatement || seen[pl] {
			continue
		}
		if pl.block == nil {
			return
		}
		seen[pl] = true
		plans = append(plans, pl)
	}
	if len(plans) < 2 {
		return
	}
	slices.SortStableFunc(plans, func(a, b *Plan) int { return a.block.at - b.block.at })
	steps := slices.Clone(plans[0].Steps[:plans[0].block.own[1]])
	titles := []string{plans[0].Title}
	for i, pl := range plans[1:] {
		prev := plans[i].block
		if pl.block.at == prev.at {
			return
		}
		steps = append(steps, prev.after[:pl.block.at-prev.at-1]...)
		steps = append(steps, pl.Steps[pl.block.own[0]:pl.block.own[1]]...)
		titles = append(titles, pl.Title)
	}
	last := plans[len(plans)-1]
	steps = append(steps, last.Steps[last.block.own[1]:]...)
	plan := &Plan{Title: fmt.Sprintf("one plan for the block's %d findings (%s)", len(plans), strings.Join(titles, "; then ")), Steps: steps, Whole: true}
	for _, f := range found {
		if seen[f.Plan] {
			f.Plan, f.Rewrite = plan, ""
		}
	}
}

// asWrittenStep runs statements of the block as written, with their
// reverse where fluxlint knows one for each: ALTER TABLE subcommands that
// undoCmds undoes, a created table or named index dropped again; INSERT,
// UPDATE and DELETE change no schema, and their rows are not restored.
// The catalog a pass sees has the block's statements before its op
// applied, so for those (before) a previous default cannot be read from it.
func (p *Pass) asWrittenStep(parts []blockPart, before bool, title string) Step {
	var texts, undo []string
	how, why, writes := undoable, "", false
	for _, part := range slices.Backward(parts) {
		texts = append([]string{part.text}, texts...)
		if len(part.ops) != 1 {
			how, why = max(how, unknown), "fluxlint cannot reverse every statement"
			continue
		}
		switch op := part.ops[0].(type) {
		case ir.AlterTable:
			all := make([]int, len(op.Cmds))
			for i := range all {
				all[i] = i
				if _, ok := op.Cmds[i].(ir.SetDefault); ok && before {
					how, why = max(how, unknown), "the default a SET DEFAULT replaced is not known here"
				}
			}
			sql, h := undoCmds(p, op, all)
			if h == unknown {
				why = "a subcommand has no known reverse"
			}
			how = max(how, h)
			undo = append(undo, sql)
		case ir.CreateTable:
			undo = append(undo, fmt.Sprintf("DROP TABLE IF EXISTS %s;", sqlgen.Name(op.Table)))
		case ir.CreateIndex:
			if op.Index.Name == "" {
				how, why = max(how, unknown), "an index without a name"
			}
			undo = append(undo, sqlgen.DropIndex(ir.QName{Schema: op.Index.Table.Schema, Name: op.Index.Name}, false))
		case ir.Write:
			writes = true
		default:
			how, why = max(how, unknown), "fluxlint cannot reverse every statement"
		}
	}
	step := p.asWritten(strings.Join(texts, ";\n")+";", strings.Join(undo, "\n"), how, why)
	step.Title = title
	step.Note = JoinNotes("If another finding is about one of these statements, run its plan instead of that statement.", step.Note)
	if writes && step.Rollback != "" {
		step.Note = JoinNotes(step.Note, "The rollback reverses their schema changes; rows they inserted, updated or deleted stay as they are.")
	}
	return step
}

// asWritten is a migration step that runs sql, under the plans'
// lock_timeout, with the reverse that undoCmds' verdict how allows: rollback,
// none (a point of no return) when something drops data, or none and a note
// saying why.
func (p *Pass) asWritten(sql, rollback string, how int, why string) Step {
	lockTimeout := sqlgen.SetLockTimeout(p.Thresholds.LockTimeout) + "\n"
	step := Step{Kind: StepMigration, Forward: lockTimeout + sql}
	switch how {
	case undoable:
		if rollback != "" {
			step.Rollback = lockTimeout + rollback
		}
	case destroys:
		step.Irreversible = true
		step.Note = "They drop data, which no rollback brings back: undo the rest by hand."
	default:
		step.ManualRollback = true
		step.Note = "Their rollback is not written (" + why + "): undo them by hand."
	}
	return step
}

// blockPart is one SQL statement of a block, with its ops.
type blockPart struct {
	text string
	ops  []ir.Op
}

// blockParts splits a statement that holds several SQL statements into
// them, and says which holds the pass's op; nil for a single statement, or
// when the parts do not account for the statement's ops. Parsed once per
// pass: every plan of the op asks.
func (p *Pass) blockParts() ([]blockPart, int) {
	if len(p.Stmt.Ops) < 2 {
		return nil, 0
	}
	type split struct {
		parts []blockPart
		at    int
	}
	b := p.Memo("block-parts", func() any { parts, at := p.splitBlock(); return split{parts, at} }).(split)
	return b.parts, b.at
}

func (p *Pass) splitBlock() (parts []blockPart, at int) {
	res := split.Split([]byte(p.Stmt.Text), ir.Postgres)
	if len(res.Segments) < 2 {
		return nil, 0
	}
	n := 0
	for i, seg := range res.Segments {
		if seg.Client != "" || seg.Err != "" {
			return nil, 0
		}
		text := p.Stmt.Text[seg.Start:seg.End]
		ops, err := pg.Parse(text)
		if err != nil {
			return nil, 0
		}
		if p.OpIndex >= n && p.OpIndex < n+len(ops) {
			at = i
		}
		parts = append(parts, blockPart{text, ops})
		n += len(ops)
	}
	if n != len(p.Stmt.Ops) {
		return nil, 0
	}
	return parts, at
}

// opText is the SQL statement that holds the pass's op: the statement's
// text, or its part in a block of several.
func (p *Pass) opText() string {
	if parts, at := p.blockParts(); parts != nil {
		return parts[at].text
	}
	return p.Stmt.Text
}

// otherCmdsStep is the step that runs the statement's subcommands at keep
// as written.
func (p *Pass) otherCmdsStep(op ir.AlterTable, keep []int) (Step, bool) {
	sql, ok := pg.AlterSubset(p.opText(), len(op.Cmds), keep)
	if !ok {
		return Step{}, false
	}
	rollback, how := undoCmds(p, op, keep)
	step := p.asWritten(sql, rollback, how, "fluxlint cannot reverse every subcommand")
	step.Lock = "ACCESS EXCLUSIVE"
	return step, true
}

// Compose gives the findings on one ALTER TABLE whose plans each replace
// one of its subcommands a single plan. Alone, each plan runs the other
// subcommands as written, so that run one after the other they would apply
// those twice, or apply as written the very subcommand another plan makes
// safe. Together: each replaced subcommand's own steps and, between them,
// the subcommands no finding replaces, as written, in the statement's
// order (its subcommands apply in that order too). Every one of those
// findings then carries the same plan. Findings whose plans cannot be
// split by subcommand (a plan for the whole statement, two plans for one
// subcommand) are left as they are.
func (p *Pass) Compose(found []*Finding) {
	op, ok := p.Op.(ir.AlterTable)
	if !ok {
		return
	}
	by := map[int]*Finding{}
	var fs []*Finding
	for _, f := range found {
		pl := f.Plan
		if pl == nil || pl.KeepsStatement {
			continue
		}
		if !pl.composable || by[pl.cmd] != nil {
			return
		}
		by[pl.cmd] = f
		fs = append(fs, f)
	}
	if len(fs) < 2 {
		return
	}
	var steps []Step
	var titles []string
	var run []int
	flush := func() bool {
		if len(run) == 0 {
			return true
		}
		st, ok := p.otherCmdsStep(op, run)
		if !ok {
			return false
		}
		st.Title = "run the statement's subcommands that no finding replaces, as written"
		steps, run = append(steps, st), nil
		return true
	}
	for i := range op.Cmds {
		f := by[i]
		if f == nil {
			run = append(run, i)
			continue
		}
		if !flush() {
			return
		}
		steps = append(steps, f.Plan.Steps[f.Plan.own[0]:f.Plan.own[1]]...)
		titles = append(titles, f.Rule.Code+": "+f.Plan.Title)
	}
	if !flush() {
		return
	}
	plan := p.withOtherStatements(&Plan{Title: fmt.Sprintf("one plan for the statement's %d findings (%s)", len(fs), strings.Join(titles, "; then ")), Steps: steps})
	plan.Whole = true
	plan.setLockRetries(p.Thresholds.LockRetries)
	for _, f := range fs {
		f.Plan, f.Rewrite = plan, ""
	}
}

// What undoCmds can do, from best to worst (max of two is the worse):
// dropping data outranks a missing reverse, since it makes the step a point
// of no return.
const (
	undoable = iota
	unknown  // a subcommand has no known reverse
	destroys // a subcommand drops data
)

// undoCmds writes what reverses the subcommands at keep, last first, from
// the catalog before the statement, or says why it cannot.
func undoCmds(p *Pass, op ir.AlterTable, keep []int) (string, int) {
	t := sqlgen.Name(op.Table)
	var out []string
	for _, i := range slices.Backward(keep) {
		switch c := op.Cmds[i].(type) {
		case ir.DropColumn, ir.DropConstraint:
			return "", destroys
		case ir.AddColumn:
			if tab := p.Catalog.Table(op.Table); c.IfNotExists && tab != nil && tab.Column(c.Column.Name) != nil {
				continue // it was there already: the statement added nothing to take away
			}
			out = append(out, fmt.Sprintf("ALTER TABLE %s DROP COLUMN IF EXISTS %s;", t, sqlgen.Ident(c.Column.Name)))
		case ir.AddConstraint:
			out = append(out, fmt.Sprintf("ALTER TABLE %s DROP CONSTRAINT IF EXISTS %s;", t, sqlgen.Ident(c.Constraint.Name)))
		case ir.SetNotNull:
			out = append(out, fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s DROP NOT NULL;", t, sqlgen.Ident(c.Column)))
		case ir.DropNotNull:
			out = append(out, fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s SET NOT NULL;", t, sqlgen.Ident(c.Column)))
		case ir.SetDefault:
			tab := p.Catalog.Table(op.Table)
			if tab == nil || tab.Column(c.Column) == nil {
				return "", unknown
			}
			if prev := tab.Column(c.Column).Default; prev != nil {
				out = append(out, fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s SET DEFAULT %s;", t, sqlgen.Ident(c.Column), prev.SQL))
			} else {
				out = append(out, fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s DROP DEFAULT;", t, sqlgen.Ident(c.Column)))
			}
		default:
			return "", unknown
		}
	}
	return strings.Join(out, "\n"), undoable
}
