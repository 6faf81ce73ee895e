package mysql

import (
	"fmt"
	"slices"
	"strings"

	"github.com/fluxlint/fluxlint/analyzers/catalog"
	"github.com/fluxlint/fluxlint/analyzers/ir"
	"github.com/fluxlint/fluxlint/rules"
	"github.com/fluxlint/fluxlint/rules/sqlgen/mysqlgen"
)

var dropColumn = &rules.Rule{
	Code: "MY301", Name: "drop-column", Engine: ir.MySQL, Severity: rules.Warning, Destructive: true,
	WithRefs: rules.AttachRefs,
	Doc: rules.Doc{
		Title: "DROP COLUMN on an existing table",
		Why: "Deployed code that still selects, inserts or updates the column fails the moment it is gone, and ORMs " +
			"that list every column fail even if the code never uses it. The data is lost: a rollback can recreate " +
			"the column but not its values.",
		Bad: "ALTER TABLE users DROP COLUMN legacy_flag;",
		Good: "First deploy code that no longer reads or writes the column (for ORMs, mark it ignored, e.g. ActiveRecord " +
			"ignored_columns). Then drop it in a separate migration, the point of no return, with lock_wait_timeout set " +
			"and ALGORITHM=INPLACE, LOCK=NONE so that the server refuses rather than copies the table under a lock.",
		Versions: "Verified on " + Verified + ", where the drop is instant. MySQL 8.0.29 and later drop instantly too; earlier " +
			"versions rebuild the table in place with reads and writes continuing.",
	},
	Check: func(p *rules.Pass) {
		rules.AlterCmds(p, func(table ir.QName, d ir.DropColumn) {
			if p.Catalog.IsNewColumn(table, d.Column) {
				return
			}
			msg := fmt.Sprintf("DROP COLUMN %q on existing table %s breaks deployed code that still uses it, and its data cannot be restored", d.Column, tableLabel(table))
			plan, why := dropColumnPlan(p, table, d.Column)
			if plan == nil {
				msg += "; " + why
			}
			f := p.Report(msg, plan)
			if !readded(p, d.Column) {
				// Dropped and re-added under its own name, the column
				// still exists: the code's uses of it are not the problem.
				f.Uses = rules.ColumnUses(p, table, d.Column)
			}
		})
	},
}

// readded reports whether the pass's ALTER TABLE adds back a column of the
// name it drops.
func readded(p *rules.Pass, column string) bool {
	op, _ := p.Op.(ir.AlterTable)
	for _, c := range op.Cmds {
		if a, ok := c.(ir.AddColumn); ok && strings.EqualFold(a.Column.Name, column) {
			return true
		}
	}
	return false
}

func dropColumnPlan(p *rules.Pass, table ir.QName, column string) (*rules.Plan, string) {
	tab := p.Catalog.Table(table)
	if tab != nil {
		if refs := referencedBy(p.Catalog, table, []string{column}); len(refs) > 0 {
			return nil, fmt.Sprintf("foreign keys of other tables reference it (%s): drop those first, in their own migration, and the server refuses the drop until then", strings.Join(refs, ", "))
		}
		if slices.ContainsFunc(tab.PrimaryKey(), func(c *catalog.Column) bool { return c.Name == column }) {
			return nil, "it is part of the primary key: dropping it rebuilds the table on a new clustered key, which needs a plan of its own (a new table filled in batches, then swapped in)"
		}
	}
	deploy := rules.Step{Kind: rules.StepCodeDeploy, SeparateDeploy: true,
		Title: fmt.Sprintf("deploy code that no longer reads or writes %s.%s", table.Name, column),
		Note:  "For ORMs that select every column, mark it ignored first (e.g. ActiveRecord ignored_columns)."}
	var clauses []string
	if tab != nil {
		for _, k := range tab.Constraints {
			if k.Kind == ir.ForeignKey && slices.Contains(k.Columns, column) {
				clauses = append(clauses, "DROP FOREIGN KEY "+mysqlgen.Ident(k.Name))
			}
		}
	}
	clauses = append(clauses, "DROP COLUMN "+mysqlgen.Ident(column))
	drop := migration(p, "drop the column: the point of no return",
		withLockWait(p, fmt.Sprintf("ALTER TABLE %s %s, %s;", mysqlgen.Name(table), strings.Join(clauses, ", "), mysqlgen.Online)), "", rules.MySQLNone)
	drop.Irreversible, drop.SeparateDeploy = true, true
	restore, note := recreateColumn(p, table, column, true)
	if restore != nil {
		drop.Rollback = withLockWait(p, strings.Join(restore, "\n"))
	}
	drop.Note = note
	return &rules.Plan{Title: fmt.Sprintf("stop using %s, then drop it", column), Steps: []rules.Step{deploy, drop}}, ""
}

// recreateColumn writes the statements that bring a dropped column back, in
// its place, with its definition and the keys, indexes and foreign keys it
// was part of. shrunk says the column went by a plain DROP COLUMN, after
// which the server keeps a multi-column index with the column taken out:
// such an index is rebuilt whole.
func recreateColumn(p *rules.Pass, table ir.QName, column string, shrunk bool) ([]string, string) {
	tab := p.Catalog.Table(table)
	var col *catalog.Column
	if tab != nil && !tab.Unknown {
		col = tab.Column(column)
	}
	if col == nil {
		return nil, "The column's definition is not in the migrations fluxlint read, so no rollback can be written: the data and the column are gone."
	}
	clauses := []string{"ADD COLUMN " + mysqlgen.ColumnDef(col) + mysqlgen.Position(tab, column)}
	var fks []string
	for _, k := range tab.Constraints {
		if !slices.Contains(k.Columns, column) {
			continue
		}
		switch {
		case k.Kind == ir.ForeignKey:
			fks = append(fks, "ADD "+mysqlgen.ConstraintClause(k.Constraint))
		case k.Kind == ir.Check:
			clauses = append(clauses, "ADD "+mysqlgen.ConstraintClause(k.Constraint))
		case len(k.Columns) > 1 && shrunk:
			clauses = append(clauses, "DROP INDEX "+mysqlgen.Ident(k.Name), "ADD "+mysqlgen.ConstraintClause(k.Constraint))
		default:
			clauses = append(clauses, "ADD "+mysqlgen.ConstraintClause(k.Constraint))
		}
	}
	for _, i := range p.Catalog.IndexesOn(table) {
		if i.Constraint != "" || !slices.Contains(i.Def.Refs, column) || tab.Constraint(i.Def.Name) != nil {
			continue
		}
		if len(i.Def.Columns) > 1 && shrunk {
			clauses = append(clauses, "DROP INDEX "+mysqlgen.Ident(i.Def.Name))
		}
		clauses = append(clauses, "ADD "+mysqlgen.IndexClause(i.Def))
	}
	note := "The rollback recreates the column in its place with its keys; its data is not restored"
	switch {
	case col.Default != nil:
		note += fmt.Sprintf(": existing rows get the default %s", col.Default.SQL)
	case !col.NotNull:
		note += ": existing rows get NULL"
	default:
		note += ": existing rows get the type's implicit default (0, '' or the first ENUM value)"
	}
	online := ", " + mysqlgen.Online
	if col.AutoIncrement || col.Default != nil && col.Default.Volatility == ir.VolatilityUnknown || slices.ContainsFunc(tab.Constraints, func(k *catalog.Constraint) bool {
		return k.Kind == ir.Check && slices.Contains(k.Columns, column)
	}) {
		online = "" // such a column (or check) can only be added by copying the table
		note += ". Adding it back copies the table under a shared lock (writes wait)"
	}
	sqls := []string{fmt.Sprintf("ALTER TABLE %s %s%s;", mysqlgen.Name(table), strings.Join(clauses, ", "), online)}
	if len(fks) > 0 {
		// Without checking existing rows (which hold NULL here), a foreign
		// key is added in place.
		sqls = append(sqls, "SET SESSION foreign_key_checks = 0;",
			fmt.Sprintf("ALTER TABLE %s %s, %s;", mysqlgen.Name(table), strings.Join(fks, ", "), mysqlgen.Online),
			"SET SESSION foreign_key_checks = 1;")
	}
	return sqls, note + "."
}

var dropTable = &rules.Rule{
	Code: "MY302", Name: "drop-table", Engine: ir.MySQL, Severity: rules.Warning, Destructive: true,
	WithRefs: rules.AttachRefs,
	Doc: rules.Doc{
		Title: "DROP TABLE on an existing table",
		Why: "Deployed code that still reads or writes the table fails the moment it is gone, and its data is lost: a " +
			"rollback can recreate the table but not its rows. With foreign keys of other tables pointing at it, the " +
			"server refuses the drop.",
		Bad:      "DROP TABLE legacy_events;",
		Good:     "First deploy code that no longer uses the table. Then drop it in a separate migration, the point of no return, with lock_wait_timeout set, after the foreign keys that reference it.",
		Versions: "Verified on " + Verified + ". All supported versions.",
	},
	Check: func(p *rules.Pass) {
		op, ok := p.Op.(ir.Drop)
		if !ok || op.Kind != ir.KindTable {
			return
		}
		for _, name := range op.Names {
			if !p.Existing(name) {
				continue
			}
			msg := fmt.Sprintf("DROP TABLE %s deletes its data and breaks deployed code that still uses it", tableLabel(name))
			deploy := rules.Step{Kind: rules.StepCodeDeploy, SeparateDeploy: true,
				Title: fmt.Sprintf("deploy code that no longer reads or writes %s", name)}
			var sqls []string
			for _, in := range incomingKeys(p.Catalog, name) {
				sqls = append(sqls, fmt.Sprintf("ALTER TABLE %s DROP FOREIGN KEY %s, %s;", mysqlgen.Name(in.Table), mysqlgen.Ident(in.Key.Name), mysqlgen.Online))
			}
			sqls = append(sqls, fmt.Sprintf("DROP TABLE IF EXISTS %s;", mysqlgen.Name(name)))
			drop := migration(p, "drop the table: the point of no return", withLockWait(p, strings.Join(sqls, "\n")), "", rules.MySQLMetadata)
			drop.Irreversible, drop.SeparateDeploy = true, true
			drop.Rollback, drop.Note = recreateTable(p, name)
			if len(sqls) > 1 {
				drop.Note = rules.JoinNotes("The foreign keys of other tables that reference it are dropped first: the server refuses the drop while they exist.", drop.Note)
			}
			p.Report(msg, &rules.Plan{Title: fmt.Sprintf("stop using %s, then drop it", name), Steps: []rules.Step{deploy, drop}}).Uses = &rules.Uses{Table: name}
		}
	},
}

// recreateTable writes SQL that recreates a dropped table with its columns,
// keys and indexes, and the foreign keys other tables had to it.
func recreateTable(p *rules.Pass, name ir.QName) (string, string) {
	t := p.Catalog.Table(name)
	if t == nil {
		return "", "The table's definition is not in the migrations fluxlint read, so no rollback can be written."
	}
	sql, ok := mysqlgen.CreateTable(p.Catalog, t)
	if !ok {
		return "", "The migrations fluxlint read do not fully define this table, so no faithful rollback can be written."
	}
	var fks []string
	for _, in := range incomingKeys(p.Catalog, name) {
		fks = append(fks, fmt.Sprintf("ALTER TABLE %s ADD %s, %s;", mysqlgen.Name(in.Table), mysqlgen.ConstraintClause(in.Key), mysqlgen.Online))
	}
	if len(fks) > 0 {
		// The recreated table is empty: the other tables' rows cannot be
		// checked against it, so the keys come back unchecked, in place.
		sql += "\nSET SESSION foreign_key_checks = 0;\n" + strings.Join(fks, "\n") + "\nSET SESSION foreign_key_checks = 1;"
	}
	return withLockWait(p, sql), "The rollback recreates the table's structure; its rows are not restored."
}
