package pg

import (
	"fmt"
	"strings"

	"github.com/fluxlint/fluxlint/analyzers/catalog"
	"github.com/fluxlint/fluxlint/analyzers/ir"
	"github.com/fluxlint/fluxlint/rules"
	"github.com/fluxlint/fluxlint/rules/sqlgen"
)

// viewReplaces reports whether the migration creates a view (a
// materialized one, with materialized) under the name after the statement:
// the safe way to rename a table, and how a view is redefined.
func viewReplaces(p *rules.Pass, old ir.QName, materialized bool) bool {
	found := false
	p.OnTable(old, func(ref rules.OpRef, rel int) bool {
		v, ok := ref.Op.(ir.CreateView)
		found = rel >= 0 && ok && v.Materialized == materialized && catalog.Resolve(v.Name) == catalog.Resolve(old)
		return found
	})
	return found
}

var renameTable = &rules.Rule{
	Code: "PG304", Name: "rename-table", Engine: ir.Postgres, Severity: rules.Error, Destructive: true,
	WithRefs: rules.AttachRefs,
	Doc: rules.Doc{
		Title: "RENAME TABLE on an existing table (or view), SET SCHEMA, or a schema renamed",
		Why: "Deployed code still uses the old name: every query of it fails the moment the rename commits, until " +
			"the new code is everywhere. The rename itself is instant but takes ACCESS EXCLUSIVE. Renaming a view or " +
			"materialized view, moving a table to another schema (ALTER TABLE ... SET SCHEMA) and renaming a schema " +
			"that holds existing tables (ALTER SCHEMA ... RENAME) break it the same way.",
		Bad: "ALTER TABLE users RENAME TO accounts;",
		Good: "In one migration, rename the table and create a view under the old name (SELECT * FROM the new name): " +
			"a simple view is updatable, so old code keeps reading and writing through it. Deploy code that uses the " +
			"new name, then drop the view in a separate migration.",
		Versions: "All supported versions. The view's columns are fixed when it is created: add no columns to the table until the view is gone.",
	},
	Check: func(p *rules.Pass) {
		if op, ok := p.Op.(ir.RenameSchema); ok {
			renameSchema(p, op)
			return
		}
		rules.AlterCmds(p, func(table ir.QName, r ir.RenameTable) {
			renameRelation(p, table, ir.QName{Schema: table.Schema, Name: r.New}, fmt.Sprintf("RENAME TO %s", sqlgen.Ident(r.New)))
		})
		rules.AlterCmds(p, func(table ir.QName, s ir.SetSchema) {
			renameRelation(p, table, ir.QName{Schema: s.Schema, Name: table.Name}, fmt.Sprintf("SET SCHEMA %s", sqlgen.Ident(s.Schema)))
		})
	},
}

// renameSchema reports ALTER SCHEMA ... RENAME of a schema with existing
// tables: every deployed query that names the schema breaks. It locks no
// table. There is no plan: keeping the old name working would take a view
// per table in a schema of the old name.
func renameSchema(p *rules.Pass, op ir.RenameSchema) {
	var names []string
	var claim *rules.Claim
	for _, t := range p.Catalog.TablesIn(op.Old) {
		if p.Existing(t.Name) {
			names = append(names, t.Name.String())
			if claim == nil {
				claim = rules.Takes("", t.Name) // instant, and no table is locked
			}
		}
	}
	if len(names) == 0 {
		return
	}
	p.Report(fmt.Sprintf("renaming schema %q to %q breaks deployed code that names it (%s): ship code that uses the new name first, or keep the schema's name; the rename itself is instant and locks no table",
		op.Old, op.New, strings.Join(names, ", ")), nil).Claims(claim)
}

// renameRelation reports a table, view or materialized view renamed or
// moved to another schema (alter: the ALTER TABLE action that does it),
// with the plan that keeps the old name working through a view.
func renameRelation(p *rules.Pass, old, renamed ir.QName, alter string) {
	if viewReplaces(p, old, false) {
		return
	}
	kind, relkind := "table", "r"
	if t := p.Catalog.Table(old); t != nil && t.Kind != ir.KindTable {
		kind, relkind = string(t.Kind), "v"
		if t.Kind == ir.KindMatView {
			relkind = "m"
		}
	}
	back := fmt.Sprintf("RENAME TO %s", sqlgen.Ident(old.Name))
	if renamed.Schema != old.Schema {
		back = fmt.Sprintf("SET SCHEMA %s", sqlgen.Ident(catalog.Resolve(old).Schema))
	}
	view := fmt.Sprintf("CREATE VIEW %s AS SELECT * FROM %s;", sqlgen.Name(old), sqlgen.Name(renamed))
	dropView := fmt.Sprintf("DROP VIEW IF EXISTS %s;", sqlgen.Name(old))
	forward := fmt.Sprintf("ALTER TABLE %s %s;\n%s", sqlgen.Name(old), alter, view)
	rollback := fmt.Sprintf("%s\nALTER TABLE %s %s;", dropView, sqlgen.Name(renamed), back)
	restoreView := view
	if op, _ := p.Op.(ir.AlterTable); op.IfExists {
		// IF EXISTS: where the relation is missing, the plan does
		// nothing either, and its rollbacks find nothing to undo.
		forward = sqlgen.IfRelation(old, relkind, forward)
		rollback = sqlgen.IfRelation(old, "v", rollback)
		restoreView = sqlgen.IfRelation(renamed, relkind, view)
	}
	swap := migration(p, fmt.Sprintf("rename the %s and keep the old name working through a view, in one transaction", kind),
		withLockTimeout(p, forward), withLockTimeout(p, rollback), "ACCESS EXCLUSIVE", false)
	swap.Note = "Old code reads and writes through the view; the table's defaults, constraints and triggers still apply."
	if kind != "table" {
		swap.Note = fmt.Sprintf("Old code reads through the view of the renamed %s.", kind)
		if relkind == "m" {
			swap.Note += " REFRESH MATERIALIZED VIEW must name the new name."
		}
	}
	deploy := rules.Step{Kind: rules.StepCodeDeploy, SeparateDeploy: true,
		Title: fmt.Sprintf("deploy code that uses %s instead of %s", renamed, old)}
	drop := migration(p, "drop the compatibility view", withLockTimeout(p, dropView), restoreView, "ACCESS EXCLUSIVE", false)
	drop.SeparateDeploy = true
	msg := fmt.Sprintf("renaming existing %s %s to %q breaks deployed code that still uses the old name", kind, tableLabel(old), renamed.Name)
	if renamed.Schema != old.Schema {
		msg = fmt.Sprintf("moving existing %s %s to schema %q breaks deployed code that still uses the old name", kind, tableLabel(old), renamed.Schema)
	}
	p.Report(msg, &rules.Plan{Title: "rename behind a compatibility view", Steps: []rules.Step{swap, deploy, drop}}).
		Claims(rules.Takes(rules.AccessExclusive, old)).Uses = &rules.Uses{Table: old}
}

var renameColumn = &rules.Rule{
	Code: "PG303", Name: "rename-column", Engine: ir.Postgres, Severity: rules.Error, Destructive: true,
	WithRefs: rules.AttachRefs,
	Doc: rules.Doc{
		Title: "RENAME COLUMN on an existing table",
		Why: "Deployed code still uses the old name: every query that names the column fails the moment the rename " +
			"commits, until the new code is everywhere.",
		Bad: "ALTER TABLE users RENAME COLUMN name TO full_name;",
		Good: "Expand and contract: add the new column; keep both in sync with a trigger (writes to either reach the " +
			"other) while old and new code overlap; backfill in batches and check parity; build its indexes " +
			"concurrently; deploy code that uses only the new name; then drop the trigger and the old column, the " +
			"point of no return. Each migration and deploy is separate.",
		Versions: "All supported versions. Renaming two columns into each other's places in one migration (a swap) is not flagged.",
	},
	Check: func(p *rules.Pass) {
		rules.AlterCmds(p, func(table ir.QName, r ir.RenameColumn) {
			if p.Catalog.IsNewColumn(table, r.Old) || rules.SwappedColumns(p, table, r.Old, r.New) {
				return
			}
			var col *catalog.Column
			if t := p.Catalog.Table(table); t != nil {
				col = t.Column(r.Old)
			}
			msg := fmt.Sprintf("renaming column %q of existing table %s to %q breaks deployed code that still uses the old name", r.Old, tableLabel(table), r.New)
			uses := rules.ColumnUses(p, table, r.Old)
			if col == nil {
				p.Report(msg+"; the column's definition is not in the migrations fluxlint read, so no plan can be written", nil).
					Claims(rules.Takes(rules.AccessExclusive, table)).Uses = uses
				return
			}
			plan, why := renameColumnPlan(p, table, col, r.New)
			if plan == nil {
				msg += "; " + why
			}
			p.Report(msg, plan).Claims(rules.Takes(rules.AccessExclusive, table)).Uses = uses
		})
	},
}

// renameColumnPlan moves a column to its new name through a second column
// that a trigger keeps in sync both ways while old and new code overlap.
func renameColumnPlan(p *rules.Pass, table ir.QName, col *catalog.Column, newName string) (*rules.Plan, string) {
	indexes, why := movableColumn(p, table, col)
	if why != "" {
		return nil, why
	}
	tab := p.Catalog.Table(table)
	t, oldq, newq := sqlgen.Name(table), sqlgen.Ident(col.Name), sqlgen.Ident(newName)
	syncSQL, dropSync := syncTrigger(p, table, col.Name, fmt.Sprintf(`  -- Whichever name the writer used wins; the other follows.
  IF TG_OP = 'INSERT' THEN
    IF NEW.%[1]s IS NULL THEN NEW.%[1]s := NEW.%[2]s; ELSE NEW.%[2]s := NEW.%[1]s; END IF;
  ELSIF NEW.%[1]s IS DISTINCT FROM OLD.%[1]s THEN
    NEW.%[2]s := NEW.%[1]s;
  ELSE
    NEW.%[1]s := NEW.%[2]s;
  END IF;`, newq, oldq))

	// The new column starts without a default, so that the trigger can tell
	// which name an insert used; the default moves over at the end.
	shadow := &catalog.Column{Name: newName, Type: col.Type, Collation: col.Collation}
	steps := []rules.Step{
		migration(p, fmt.Sprintf("add the column %s (instant, brief lock)", newName),
			withLockTimeout(p, fmt.Sprintf("ALTER TABLE %s ADD COLUMN IF NOT EXISTS %s;", t, sqlgen.ColumnDef(shadow, false))),
			withLockTimeout(p, fmt.Sprintf("ALTER TABLE %s DROP COLUMN IF EXISTS %s;", t, newq)), "ACCESS EXCLUSIVE", false),
		migration(p, "keep both columns in sync on every insert and update (dual write by trigger)",
			withLockTimeout(p, syncSQL), withLockTimeout(p, dropSync), "SHARE ROW EXCLUSIVE", false),
	}
	steps = append(steps, copySteps(p, table, tab.PrimaryKey(), newq, oldq)...)
	if col.NotNull {
		steps = append(steps, notNullSteps(p, table, newName)...)
	}
	var renames, unrenames []string
	for _, i := range indexes {
		tmpName := suffixed(i.Def.Name, "_new")
		steps = append(steps, buildIndexPlan(p, onColumn(i.Def, tmpName, col.Name, newName)).Steps...)
		renames = append(renames, fmt.Sprintf("ALTER INDEX %s RENAME TO %s;", sqlgen.Name(sqlgen.Sibling(table, tmpName)), sqlgen.Ident(i.Def.Name)))
		unrenames = append(unrenames, fmt.Sprintf("ALTER INDEX %s RENAME TO %s;", sqlgen.Name(sqlgen.Sibling(table, i.Def.Name)), sqlgen.Ident(tmpName)))
	}
	steps = append(steps, rules.Step{Kind: rules.StepCodeDeploy, SeparateDeploy: true,
		Title: fmt.Sprintf("deploy code that reads and writes %s only, never %s", newName, col.Name),
		Note:  "Until this deploy is everywhere, the trigger keeps old and new code consistent."})
	finish := []string{dropSync}
	unfinish := []string{}
	if col.Default != nil {
		finish = append(finish, fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s SET DEFAULT %s;", t, newq, col.Default.SQL))
		unfinish = append(unfinish, fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s DROP DEFAULT;", t, newq))
	}
	unfinish = append(unfinish, syncSQL)
	stop := migration(p, "stop syncing: drop the trigger (and move the default to the new column)",
		withLockTimeout(p, strings.Join(finish, "\n")), withLockTimeout(p, strings.Join(unfinish, "\n")), "ACCESS EXCLUSIVE", false)
	stop.SeparateDeploy = true

	restore, note := recreateColumn(p, table, col.Name)
	drop := migration(p, fmt.Sprintf("drop the old column %s: the point of no return", col.Name),
		withLockTimeout(p, strings.Join(append([]string{fmt.Sprintf("ALTER TABLE %s DROP COLUMN IF EXISTS %s;", t, oldq)}, renames...), "\n")),
		withLockTimeout(p, strings.Join(append(unrenames, restore), "\n")), "ACCESS EXCLUSIVE", false)
	drop.Irreversible, drop.SeparateDeploy, drop.Note = true, true, note
	steps = append(steps, stop, drop)
	return &rules.Plan{Title: fmt.Sprintf("move %s to %s by expand and contract", col.Name, newName), Steps: steps}, ""
}

// copySteps backfill column to = from in batches, then check parity.
func copySteps(p *rules.Pass, table ir.QName, pk []*catalog.Column, to, from string) []rules.Step {
	t := sqlgen.Name(table)
	fill := rules.Step{Kind: rules.StepBackfill, NoTransaction: true, SeparateDeploy: true, Lock: "ROW EXCLUSIVE",
		Title:   fmt.Sprintf("copy existing values in batches of %d", p.Thresholds.BatchSize),
		Forward: sqlgen.BatchedUpdate(batching(p), table, pk, fmt.Sprintf("%s = %s", to, from), fmt.Sprintf("%s IS DISTINCT FROM %s", to, from)) + "\nANALYZE " + t + ";",
		Note:    "Nothing to roll back: dropping the new column undoes it."}
	inToolFile(p, &fill)
	check := rules.Step{Kind: rules.StepCheckpoint, Title: "check parity: every row has the same value under both names",
		Forward: fmt.Sprintf("SELECT count(*) AS mismatches FROM %s WHERE %s IS DISTINCT FROM %s;", t, to, from), Expect: "0"}
	return []rules.Step{fill, check}
}

// syncTrigger renders a BEFORE INSERT OR UPDATE row trigger on the table
// whose PL/pgSQL body (statements before RETURN NEW) keeps a column's
// replacement in sync, and the SQL that removes it.
func syncTrigger(p *rules.Pass, table ir.QName, column, body string) (string, string) {
	t := sqlgen.Name(table)
	fn := sqlgen.Name(sqlgen.Sibling(table, suffixed(table.Name+"_"+column, "_sync")))
	trg := sqlgen.Ident(suffixed(table.Name+"_"+column, "_sync"))
	exec := "FUNCTION"
	if p.Version < 11 {
		exec = "PROCEDURE" // EXECUTE FUNCTION arrived in PostgreSQL 11
	}
	create := fmt.Sprintf(`CREATE OR REPLACE FUNCTION %[1]s() RETURNS trigger LANGUAGE plpgsql AS $fluxlint$
BEGIN
%[2]s
  RETURN NEW;
END
$fluxlint$;
CREATE TRIGGER %[3]s BEFORE INSERT OR UPDATE ON %[4]s FOR EACH ROW EXECUTE %[5]s %[1]s();`, fn, body, trg, t, exec)
	return create, fmt.Sprintf("DROP TRIGGER IF EXISTS %s ON %s;\nDROP FUNCTION IF EXISTS %s();", trg, t, fn)
}

var renameEnumValue = &rules.Rule{
	Code: "PG306", Name: "rename-enum-value", Engine: ir.Postgres, Severity: rules.Error,
	Doc: rules.Doc{
		Title: "ALTER TYPE ... RENAME VALUE of an enum in use",
		Why: "Deployed code still writes and compares the old label: from the moment the rename commits, every " +
			"write of it fails (SQLSTATE 22P02, invalid input value for enum) and every read that filters on it finds " +
			"nothing, until the new code is everywhere. The rename itself is instant and locks no table.",
		Bad: "ALTER TYPE order_status RENAME VALUE 'shipped' TO 'dispatched';",
		Good: "Add the new label next to the old one (ALTER TYPE order_status ADD VALUE 'dispatched' AFTER 'shipped'), deploy " +
			"code that reads both and writes the new one, then update the rows in batches " +
			"(UPDATE orders SET status = 'dispatched' WHERE status = 'shipped'). PostgreSQL cannot drop an enum " +
			"label: the old one stays, unused, unless the type is rebuilt.",
		Versions: "PostgreSQL 10 and later (RENAME VALUE is new in 10).",
	},
	Check: func(p *rules.Pass) {
		op, ok := p.Op.(ir.RenameEnumValue)
		if !ok {
			return
		}
		var users []string
		var claim *rules.Claim
		for _, u := range p.Catalog.EnumUsers(op.Name) {
			if p.Existing(u.Table) {
				users = append(users, strings.TrimPrefix(u.Table.String(), "public.")+"."+u.Column)
				if claim == nil {
					claim = rules.Takes("", u.Table) // instant: no table lock, no rewrite, no scan
				}
			}
		}
		if len(users) == 0 && p.Catalog.Enum(op.Name) != nil && p.Catalog.IsNewEnum(op.Name) {
			return // a type this migration creates, which no existing table uses: no deployed code knows it
		}
		where := ""
		if len(users) > 0 {
			where = " in " + strings.Join(users, ", ")
		}
		msg := fmt.Sprintf("renaming label %q of enum %s to %q breaks deployed code that still writes or compares %q%s: add %q next to it (ALTER TYPE ... ADD VALUE %s AFTER %s), deploy code that reads both and writes the new one, then update the rows in batches; PostgreSQL cannot drop the old label",
			op.Old, tableLabel(op.Name), op.New, op.Old, where, op.New, sqlgen.Literal(op.New), sqlgen.Literal(op.Old))
		p.Report(msg, nil).Claims(claim)
	},
}
