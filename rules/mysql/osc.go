package mysql

import (
	"fmt"
	"strings"

	"github.com/fluxlint/fluxlint/analyzers/catalog"
	"github.com/fluxlint/fluxlint/analyzers/ir"
	"github.com/fluxlint/fluxlint/rules"
	"github.com/fluxlint/fluxlint/rules/sqlgen/mysqlgen"
)

// An online schema change tool copies the table in chunks while writes
// continue, captures the writes made meanwhile (gh-ost from the binlog,
// pt-online-schema-change with triggers), and swaps the copy in with a
// brief lock. It is the way to run a change the server can only do by
// copying under a lock. Each tool has preconditions, checked here from the
// catalog.

// toolPlan runs the statement through gh-ost, or pt-online-schema-change
// where gh-ost cannot run; why says why neither can, when plan is nil.
func toolPlan(p *rules.Pass, v verdict) (plan *rules.Plan, why string) {
	tab := v.tab
	if tab.Unknown || len(v.op.Clauses) == 0 {
		return nil, ""
	}
	for _, c := range v.op.Cmds {
		switch x := c.(type) {
		case ir.RenameTable, ir.SetSchema, ir.RenameColumn:
			return nil, "the statement renames, which the tools refuse"
		case ir.ModifyColumn:
			if x.From() != x.Column.Name {
				return nil, "the statement renames a column, which the tools refuse"
			}
		}
	}
	target := p.Target
	if target.Tool == "none" {
		return nil, "online schema change tools are turned off (--osc-tool none)"
	}
	clauses := strings.Join(v.op.Clauses, ", ")
	reverse, reversible := reverseClauses(tab, v.op)
	incoming := incomingKeys(p.Catalog, v.op.Table)
	outgoing := false
	for _, k := range tab.Constraints {
		outgoing = outgoing || k.Kind == ir.ForeignKey
	}
	var ghostNo, ptNo []string
	switch {
	case !hasUniqueNotNull(tab):
		ghostNo = append(ghostNo, "gh-ost needs a primary key or a unique key on NOT NULL columns")
	case outgoing || len(incoming) > 0:
		ghostNo = append(ghostNo, "gh-ost refuses tables with foreign keys, to or from them")
	}
	if len(tab.PrimaryKey()) == 0 && !hasUnique(tab) {
		ptNo = append(ptNo, "pt-online-schema-change needs a primary key or a unique index")
	}
	switch p.Target.Tool {
	case "gh-ost":
		ptNo = append(ptNo, "--osc-tool gh-ost")
	case "pt-online-schema-change":
		ghostNo = append(ghostNo, "--osc-tool pt-online-schema-change")
	}
	t := mysqlgen.Name(v.op.Table)
	triggers := len(tab.Triggers) > 0
	ghost := func(c string) string { return mysqlgen.Ghost(target, v.op.Table, c, p.Thresholds.BatchSize, triggers) }
	pt := func(c string) string {
		return mysqlgen.PTOSC(target, v.op.Table, c, p.Thresholds.BatchSize, len(incoming) > 0, triggers)
	}
	step := rules.Step{Kind: rules.StepOnlineSchemaChange, SeparateDeploy: true, Lock: rules.MySQLMetadata,
		Tool: &rules.ToolRun{Alter: fmt.Sprintf("ALTER TABLE %s %s;", t, clauses)}}
	if reversible {
		step.Tool.RollbackAlter = fmt.Sprintf("ALTER TABLE %s %s;", t, reverse)
	}
	switch {
	case len(ghostNo) == 0:
		step.Tool.Name, step.Forward, step.Tool.Cleanup = "gh-ost", ghost(clauses), mysqlgen.GhostCleanup(v.op.Table)
		if reversible {
			step.Rollback = ghost(reverse)
		}
		if len(ptNo) == 0 {
			step.Tool.Alternative = pt(clauses)
		}
		step.Note = "gh-ost reads the binlog (binlog_format=ROW; --switch-to-rbr sets it), copies in chunks and throttles on load and replica lag; " +
			"it waits before the cut-over until /tmp/gh-ost.*.postpone is removed, so the swap happens while someone watches. " +
			"The old table stays as _" + v.op.Table.Name + "_del until the cleanup drops it."
		if triggers {
			step.Note += fmt.Sprintf(" The table's triggers (%s) are recreated on the new table (--include-triggers).", strings.Join(tab.Triggers, ", "))
		}
	case len(ptNo) == 0:
		step.Tool.Name, step.Forward, step.Tool.Cleanup = "pt-online-schema-change", pt(clauses), mysqlgen.PTOSCCleanup(target, v.op.Table)
		if reversible {
			step.Rollback = pt(reverse)
		}
		step.Note = strings.Join(ghostNo, "; ") + ", so this uses pt-online-schema-change: it copies in chunks through triggers on the table, throttles on load and replica lag, and swaps the copy in with RENAME TABLE."
		if len(incoming) > 0 {
			step.Note += " Other tables' foreign keys reference it: --alter-foreign-keys-method=auto rebuilds them to point at the new table (rebuild_constraints, an ALTER of each child) or, for large children, swaps with drop_swap, which leaves a moment with no table: read the tool's documentation before running it."
		}
		if triggers {
			step.Note += fmt.Sprintf(" The table's own triggers (%s) move to the new table (--preserve-triggers, MySQL 5.7.2+ and MariaDB).", strings.Join(tab.Triggers, ", "))
		}
	default:
		return nil, strings.Join(append(ghostNo, ptNo...), "; ")
	}
	step.Title = fmt.Sprintf("change %s with %s: a copy is built while reads and writes continue, then swapped in", v.op.Table.Name, step.Tool.Name)
	if !reversible {
		step.Note += " There is no automatic reverse of this change: undoing it is a new change."
	}
	step.Note += " If a run stops halfway, run the cleanup SQL: " + step.Tool.Cleanup
	checkpoint := rules.Step{Kind: rules.StepCheckpoint, Title: "confirm the tool finished: the table has the change, its helper tables are gone",
		Forward: fmt.Sprintf("SELECT COUNT(*) AS leftovers FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN (%s);", leftoverNames(step.Tool.Name, v.op.Table)),
		Expect:  "0"}
	if step.Tool.Name == "gh-ost" {
		checkpoint.Title = "confirm the tool finished (the _gho and _ghc tables are gone), then drop the old table"
		checkpoint.Note = "The old table _" + v.op.Table.Name + "_del is kept by gh-ost: drop it with the cleanup SQL once the change has proved itself."
	}
	step.Note = "This replaces the statement: take it out of the migration (the tool makes the change). " + step.Note
	return &rules.Plan{Title: fmt.Sprintf("change the table online with %s", step.Tool.Name), Steps: []rules.Step{step, checkpoint}}, ""
}

// leftoverNames lists, as SQL strings, the helper tables a finished run
// no longer has.
func leftoverNames(tool string, table ir.QName) string {
	var names []string
	if tool == "gh-ost" {
		names = []string{"_" + table.Name + "_gho", "_" + table.Name + "_ghc"}
	} else {
		names = []string{"_" + table.Name + "_new"}
	}
	for i, n := range names {
		names[i] = mysqlgen.Literal(n)
	}
	return strings.Join(names, ", ")
}

func hasUnique(t *catalog.Table) bool {
	for _, k := range t.Constraints {
		if k.Kind == ir.Unique || k.Kind == ir.PrimaryKey {
			return true
		}
	}
	return false
}

// hasUniqueNotNull reports whether the table has a primary key, or a
// unique key whose columns are all NOT NULL: gh-ost's shared key.
func hasUniqueNotNull(t *catalog.Table) bool {
	if len(t.PrimaryKey()) > 0 {
		return true
	}
	for _, k := range t.Constraints {
		if k.Kind != ir.Unique {
			continue
		}
		all := true
		for _, name := range k.Columns {
			c := t.Column(name)
			all = all && c != nil && c.NotNull
		}
		if all {
			return true
		}
	}
	return false
}

// reverseClauses are the ALTER TABLE clauses that undo the statement,
// from the table's definition before it; ok is false when a subcommand
// has no undo fluxlint can write.
func reverseClauses(tab *catalog.Table, op ir.AlterTable) (string, bool) {
	var out []string
	for i := len(op.Cmds) - 1; i >= 0; i-- {
		switch c := op.Cmds[i].(type) {
		case ir.ModifyColumn:
			col := tab.Column(c.Column.Name)
			if col == nil || c.From() != c.Column.Name {
				return "", false
			}
			out = append(out, "MODIFY COLUMN "+mysqlgen.ColumnDef(col)+mysqlgen.Position(tab, col.Name))
		case ir.AddColumn:
			out = append(out, "DROP COLUMN "+mysqlgen.Ident(c.Column.Name))
		case ir.AddIndex:
			out = append(out, "DROP INDEX "+mysqlgen.Ident(c.Index.Name))
		case ir.AddConstraint:
			switch c.Constraint.Kind {
			case ir.Check:
				out = append(out, "DROP CONSTRAINT "+mysqlgen.Ident(c.Constraint.Name))
			case ir.ForeignKey:
				out = append(out, "DROP FOREIGN KEY "+mysqlgen.Ident(c.Constraint.Name))
			case ir.Unique:
				out = append(out, "DROP INDEX "+mysqlgen.Ident(c.Constraint.Name))
			default:
				return "", false
			}
		case ir.OtherAlter:
			if c.Kind != "FORCE" && c.Kind != "table option ENGINE" {
				return "", false
			}
		default:
			return "", false
		}
	}
	if len(out) == 0 {
		return "", false
	}
	return strings.Join(out, ", "), true
}
