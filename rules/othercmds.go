package rules

import (
	"fmt"
	"slices"
	"strings"

	"github.com/fluxlint/fluxlint/analyzers/ir"
	"github.com/fluxlint/fluxlint/analyzers/pg"
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

// otherCmdsStep is the step that runs the statement's subcommands at keep
// as written.
func (p *Pass) otherCmdsStep(op ir.AlterTable, keep []int) (Step, bool) {
	sql, ok := pg.AlterSubset(p.Stmt.Text, len(op.Cmds), keep)
	if !ok {
		return Step{}, false
	}
	lockTimeout := sqlgen.SetLockTimeout(p.Thresholds.LockTimeout) + "\n"
	step := Step{Kind: StepMigration, Forward: lockTimeout + sql, Lock: "ACCESS EXCLUSIVE"}
	rollback, undo := undoCmds(p, op, keep)
	switch undo {
	case undoable:
		step.Rollback = lockTimeout + rollback
	case destroys:
		step.Irreversible = true
		step.Note = JoinNotes(step.Note, "They drop data, which no rollback brings back: undo the rest by hand.")
	default:
		step.Note = JoinNotes(step.Note, "Their rollback is not written (fluxlint cannot reverse every subcommand): undo them by hand.")
	}
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
	for i := range steps {
		steps[i].LockRetries = p.Thresholds.LockRetries
	}
	plan := &Plan{Title: fmt.Sprintf("one plan for the statement's %d findings (%s)", len(fs), strings.Join(titles, "; then ")), Whole: true, Steps: steps}
	for _, f := range fs {
		f.Plan, f.Rewrite = plan, ""
	}
}

// What undoCmds can do.
const (
	undoable = iota
	destroys // a subcommand drops data
	unknown  // a subcommand has no known reverse
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
