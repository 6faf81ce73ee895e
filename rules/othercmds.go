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
// subcommands run as written, in a step of their own, before the plan's
// steps when any of them comes first in the statement (a later subcommand
// may use what they add), after them otherwise. The plan is changed in
// place and returned.
func (p *Pass) withOtherCmds(plan *Plan) *Plan {
	op, ok := p.Op.(ir.AlterTable)
	if !ok || plan.KeepsStatement || plan.Whole || p.cmd < 0 || len(op.Cmds) < 2 {
		return plan
	}
	var keep []int
	for i := range op.Cmds {
		if i != p.cmd {
			keep = append(keep, i)
		}
	}
	sql, ok := pg.AlterSubset(p.Stmt.Text, len(op.Cmds), keep)
	if !ok {
		if len(plan.Steps) > 0 {
			plan.Steps[0].Note = JoinNotes(plan.Steps[0].Note, "The statement's other subcommands are not in this plan: run them as written.")
		}
		return plan
	}
	lockTimeout := sqlgen.SetLockTimeout(p.Thresholds.LockTimeout) + "\n"
	step := Step{Kind: StepMigration, Title: "run the statement's other subcommands as written (this plan replaces only one of them)",
		Forward: lockTimeout + sql, Lock: "ACCESS EXCLUSIVE",
		Note: "If another finding on this statement plans one of these subcommands, run its plan instead of that subcommand."}
	if rollback, ok := undoCmds(p, op, keep); ok {
		step.Rollback = lockTimeout + rollback
	} else {
		step.Note = JoinNotes(step.Note, "Their rollback is not written (fluxlint cannot reverse every subcommand): undo them by hand.")
	}
	if keep[0] < p.cmd {
		plan.Steps = append([]Step{step}, plan.Steps...)
	} else {
		plan.Steps = append(plan.Steps, step)
	}
	return plan
}

// undoCmds writes what reverses the subcommands at keep, last first, from
// the catalog before the statement; ok is false when one of them has no
// known reverse.
func undoCmds(p *Pass, op ir.AlterTable, keep []int) (string, bool) {
	t := sqlgen.Name(op.Table)
	var out []string
	for _, i := range slices.Backward(keep) {
		switch c := op.Cmds[i].(type) {
		case ir.AddColumn:
			out = append(out, fmt.Sprintf("ALTER TABLE %s DROP COLUMN IF EXISTS %s;", t, sqlgen.Ident(c.Column.Name)))
		case ir.AddConstraint:
			out = append(out, fmt.Sprintf("ALTER TABLE %s DROP CONSTRAINT IF EXISTS %s;", t, sqlgen.Ident(c.Constraint.Name)))
		case ir.SetNotNull:
			out = append(out, fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s DROP NOT NULL;", t, sqlgen.Ident(c.Column)))
		case ir.SetDefault:
			tab := p.Catalog.Table(op.Table)
			if tab == nil || tab.Column(c.Column) == nil {
				return "", false
			}
			if prev := tab.Column(c.Column).Default; prev != nil {
				out = append(out, fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s SET DEFAULT %s;", t, sqlgen.Ident(c.Column), prev.SQL))
			} else {
				out = append(out, fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s DROP DEFAULT;", t, sqlgen.Ident(c.Column)))
			}
		default:
			return "", false
		}
	}
	return strings.Join(out, "\n"), true
}
