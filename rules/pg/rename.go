package pg

import (
	"fmt"

	"github.com/fluxlint/fluxlint/analyzers/catalog"
	"github.com/fluxlint/fluxlint/analyzers/ir"
	"github.com/fluxlint/fluxlint/rules"
	"github.com/fluxlint/fluxlint/rules/sqlgen"
)

// viewReplaces reports whether the migration creates a view under the old
// name after the statement: the safe way to rename a table.
func viewReplaces(p *rules.Pass, old ir.QName) bool {
	after := false
	for _, s := range p.File.Stmts {
		after = after || s == p.Stmt
		if !after || s.Down != p.Stmt.Down {
			continue
		}
		for _, op := range s.Ops {
			if v, ok := op.(ir.CreateView); ok && !v.Materialized && catalog.Resolve(v.Name) == catalog.Resolve(old) {
				return true
			}
		}
	}
	return false
}

var renameTable = &rules.Rule{
	Code: "PG304", Name: "rename-table", Engine: ir.Postgres, Severity: rules.Error, Destructive: true,
	Doc: rules.Doc{
		Title: "RENAME TABLE on an existing table",
		Why: "Deployed code still uses the old name: every query of it fails the moment the rename commits, until " +
			"the new code is everywhere. The rename itself is instant but takes ACCESS EXCLUSIVE.",
		Bad: "ALTER TABLE users RENAME TO accounts;",
		Good: "In one migration, rename the table and create a view under the old name (SELECT * FROM the new name): " +
			"a simple view is updatable, so old code keeps reading and writing through it. Deploy code that uses the " +
			"new name, then drop the view in a separate migration.",
		Versions: "All supported versions. The view's columns are fixed when it is created: add no columns to the table until the view is gone.",
	},
	Check: func(p *rules.Pass) {
		op, ok := p.Op.(ir.AlterTable)
		if !ok || !p.Existing(op.Table) {
			return
		}
		for _, cmd := range op.Cmds {
			r, ok := cmd.(ir.RenameTable)
			if !ok || viewReplaces(p, op.Table) {
				continue
			}
			old, renamed := op.Table, ir.QName{Schema: op.Table.Schema, Name: r.New}
			view := fmt.Sprintf("CREATE VIEW %s AS SELECT * FROM %s;", sqlgen.Name(old), sqlgen.Name(renamed))
			dropView := fmt.Sprintf("DROP VIEW IF EXISTS %s;", sqlgen.Name(old))
			swap := migration(p, "rename the table and keep the old name working through a view, in one transaction",
				withLockTimeout(fmt.Sprintf("ALTER TABLE %s RENAME TO %s;\n%s", sqlgen.Name(old), sqlgen.Ident(r.New), view)),
				withLockTimeout(fmt.Sprintf("%s\nALTER TABLE %s RENAME TO %s;", dropView, sqlgen.Name(renamed), sqlgen.Ident(old.Name))),
				"ACCESS EXCLUSIVE", false)
			swap.Note = "Old code reads and writes through the view; the table's defaults, constraints and triggers still apply."
			deploy := rules.Step{Kind: rules.StepCodeDeploy, SeparateDeploy: true,
				Title: fmt.Sprintf("deploy code that uses %s instead of %s", r.New, old.Name)}
			drop := migration(p, "drop the compatibility view", withLockTimeout(dropView), view, "ACCESS EXCLUSIVE", false)
			drop.SeparateDeploy = true
			msg := fmt.Sprintf("renaming existing table %s to %q breaks deployed code that still uses the old name", tableLabel(old), r.New)
			p.Report(msg, &rules.Plan{Title: "rename behind a compatibility view", Steps: []rules.Step{swap, deploy, drop}})
		}
	},
}
