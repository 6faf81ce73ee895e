package mysql

import (
	"fmt"

	"github.com/fluxlint/fluxlint/analyzers/catalog"
	"github.com/fluxlint/fluxlint/analyzers/ir"
	"github.com/fluxlint/fluxlint/rules"
	"github.com/fluxlint/fluxlint/rules/sqlgen/mysqlgen"
)

var notNullWithoutDefault = &rules.Rule{
	Code: "MY206", Name: "add-not-null-column-without-default", Engine: ir.MySQL, Severity: rules.Error,
	Doc: rules.Doc{
		Title: "ADD COLUMN ... NOT NULL without a DEFAULT on an existing table",
		Why: "Unlike PostgreSQL, the server accepts it: existing rows silently get the type's implicit default (0, " +
			"'', '0000-00-00'). But the column has no default for new rows, so every INSERT from the code still " +
			"deployed, which does not know the column, fails with error 1364 (Field doesn't have a default value) " +
			"under strict mode, the default since MySQL 5.7 and MariaDB 10.2.4, from the moment the migration runs " +
			"until the new code is everywhere.",
		Bad: "ALTER TABLE users ADD COLUMN plan VARCHAR(20) NOT NULL;",
		Good: "Add the column with an explicit DEFAULT (instant), deploy the code that writes it, then drop the " +
			"default if the column must always be given.",
		Versions: "Verified on " + Verified + " (the INSERT fails with 1364 after the statement and succeeds after " +
			"the plan's first step). MySQL 5.7 and later behave the same in strict mode; without strict mode the " +
			"INSERT stores the implicit default with a warning.",
	},
	Check: func(p *rules.Pass) {
		rules.AlterCmds(p, func(table ir.QName, c ir.AddColumn) {
			col := c.Column
			if !col.NotNull || col.Default != nil || col.AutoIncrement || col.Generated != nil || p.Catalog.Table(table) == nil {
				return
			}
			msg := fmt.Sprintf("ADD COLUMN %q NOT NULL without a DEFAULT on existing table %s: existing rows silently get the implicit default, and every INSERT from code still deployed, which omits the column, fails with error 1364 until the new code is everywhere",
				col.Name, tableLabel(table))
			p.Report(msg, defaultFirstPlan(p, table, c))
		})
	},
}

// defaultFirstPlan adds the column with the implicit default made
// explicit, so old code keeps inserting; the code deploy writes it; then
// the default goes.
func defaultFirstPlan(p *rules.Pass, table ir.QName, a ir.AddColumn) *rules.Plan {
	zero, ok := mysqlgen.ZeroValue(a.Column.Type)
	if !ok {
		return nil
	}
	t, col := mysqlgen.Name(table), mysqlgen.Ident(a.Column.Name)
	def := catalog.ColumnOf(a.Column)
	def.Default = &ir.Expr{SQL: zero, Volatility: ir.Immutable}
	pos := ""
	switch {
	case a.Position.First:
		pos = " FIRST"
	case a.Position.After != "":
		pos = " AFTER " + mysqlgen.Ident(a.Position.After)
	}
	add := migration(p, fmt.Sprintf("add %s with the DEFAULT %s, so inserts that omit it keep working (instant)", a.Column.Name, zero),
		withLockWait(p, fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s%s;", t, mysqlgen.ColumnDef(def), pos)),
		withLockWait(p, fmt.Sprintf("ALTER TABLE %s DROP COLUMN %s;", t, col)), rules.MySQLMetadata)
	deploy := rules.Step{Kind: rules.StepCodeDeploy, SeparateDeploy: true,
		Title: fmt.Sprintf("deploy code that writes %s on every insert", a.Column.Name),
		Note:  fmt.Sprintf("Existing rows hold %s; backfill them in batches first if that is not a real value.", zero)}
	drop := migration(p, "drop the default once no deployed code omits the column",
		withLockWait(p, fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s DROP DEFAULT;", t, col)),
		withLockWait(p, fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s SET DEFAULT %s;", t, col, zero)), rules.MySQLMetadata)
	drop.SeparateDeploy = true
	return &rules.Plan{Title: fmt.Sprintf("add %s with an explicit default, deploy the code, then drop the default", a.Column.Name),
		Steps: []rules.Step{add, deploy, drop}}
}
