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

var renameColumn = &rules.Rule{
	Code: "MY303", Name: "rename-column", Engine: ir.MySQL, Severity: rules.Error, Destructive: true,
	WithRefs: rules.AttachRefs,
	Doc: rules.Doc{
		Title: "RENAME COLUMN (or CHANGE to a new name) on an existing table",
		Why: "Deployed code still uses the old name: every query that names the column fails the moment the rename " +
			"runs, until the new code is everywhere. The rename itself is instant.",
		Bad: "ALTER TABLE users RENAME COLUMN name TO full_name;",
		Good: "Expand and contract: add the new column; keep both in sync with triggers (writes to either reach the " +
			"other) while old and new code overlap; copy existing values in batches and check parity; build its " +
			"indexes; deploy code that uses only the new name; then drop the triggers and, separately, the old " +
			"column, the point of no return.",
		Versions: "Verified on " + Verified + ". Several triggers per table and event need MySQL 5.7.2 or MariaDB 10.2.3.",
	},
	Check: func(p *rules.Pass) {
		rules.AlterCmds(p, func(table ir.QName, r ir.RenameColumn) {
			check(p, table, r.Old, r.New, nil)
		})
		rules.AlterCmds(p, func(table ir.QName, m ir.ModifyColumn) {
			if m.From() != m.Column.Name {
				check(p, table, m.Old, m.Column.Name, &m.Column)
			}
		})
	},
}

// check reports a rename of column old to new; def is the new definition
// when the statement gives one (CHANGE), else the column keeps its own.
func check(p *rules.Pass, table ir.QName, old, new string, def *ir.ColumnDef) {
	if p.Catalog.IsNewColumn(table, old) || rules.SwappedColumns(p, table, old, new) {
		return
	}
	msg := fmt.Sprintf("renaming column %q of existing table %s to %q breaks deployed code that still uses the old name", old, tableLabel(table), new)
	uses := rules.ColumnUses(p, table, old)
	tab := p.Catalog.Table(table)
	var col *catalog.Column
	if tab != nil && !tab.Unknown {
		col = tab.Column(old)
	}
	if col == nil {
		p.Report(msg+"; the column's definition is not in the migrations fluxlint read, so no plan can be written", nil).Uses = uses
		return
	}
	target := *col
	target.Name = new
	if def != nil {
		target = *catalog.ColumnOf(*def)
	}
	plan, why := renameColumnPlan(p, tab, col, &target)
	if plan == nil {
		msg += "; " + why
	}
	p.Report(msg, plan).Uses = uses
}

// renameColumnPlan moves a column to its new name through a second column
// that triggers keep in sync both ways while old and new code overlap.
func renameColumnPlan(p *rules.Pass, tab *catalog.Table, col, target *catalog.Column) (*rules.Plan, string) {
	table := tab.Name
	pk := tab.PrimaryKey()
	switch {
	case len(pk) == 0:
		return nil, "the table has no primary key to copy values in batches by"
	case slices.ContainsFunc(pk, func(k *catalog.Column) bool { return k.Name == col.Name }):
		return nil, "it is the primary key"
	case col.AutoIncrement || col.Generated != nil:
		return nil, "it is an AUTO_INCREMENT or generated column, which a trigger cannot keep in sync"
	}
	for _, k := range tab.Constraints {
		if slices.Contains(k.Columns, col.Name) && k.Kind != ir.PrimaryKey {
			return nil, fmt.Sprintf("it is part of %s %q, which would need moving too", k.Kind, k.Name)
		}
	}
	if refs := referencedBy(p.Catalog, table, []string{col.Name}); len(refs) > 0 {
		return nil, fmt.Sprintf("foreign keys of other tables reference it (%s)", strings.Join(refs, ", "))
	}
	var indexes []*catalog.Index
	for _, i := range p.Catalog.IndexesOn(table) {
		if slices.Contains(i.Def.Refs, col.Name) {
			if len(i.Def.Elems) > 0 {
				return nil, fmt.Sprintf("index %q uses it in an expression or prefix fluxlint cannot rewrite", i.Def.Name)
			}
			indexes = append(indexes, i)
		}
	}
	t, oldq, newq := mysqlgen.Name(table), mysqlgen.Ident(col.Name), mysqlgen.Ident(target.Name)
	// The new column starts nullable and without a default, so that the
	// insert trigger can tell which name a writer used; its definition is
	// completed at the end.
	shadow := *target
	shadow.NotNull, shadow.Default, shadow.OnUpdate = false, nil, ""
	steps := []rules.Step{migration(p, fmt.Sprintf("add the column %s next to %s", target.Name, col.Name),
		withLockWait(p, fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s AFTER %s, %s;", t, mysqlgen.ColumnDef(&shadow), oldq, mysqlgen.Online)),
		withLockWait(p, fmt.Sprintf("ALTER TABLE %s DROP COLUMN %s, %s;", t, newq, mysqlgen.Online)), rules.MySQLNone)}

	ins, upd := mysqlgen.Ident(prefixName(table.Name, col.Name, "sync_insert")), mysqlgen.Ident(prefixName(table.Name, col.Name, "sync_update"))
	// Whichever name a writer used wins; the other follows.
	triggers := fmt.Sprintf("CREATE TRIGGER %[1]s BEFORE INSERT ON %[3]s FOR EACH ROW SET NEW.%[4]s = COALESCE(NEW.%[4]s, NEW.%[5]s), NEW.%[5]s = NEW.%[4]s;\n"+
		"CREATE TRIGGER %[2]s BEFORE UPDATE ON %[3]s FOR EACH ROW SET NEW.%[5]s = IF(NEW.%[4]s <=> OLD.%[4]s, NEW.%[5]s, NEW.%[4]s), NEW.%[4]s = NEW.%[5]s;",
		ins, upd, t, newq, oldq)
	dropTriggers := fmt.Sprintf("DROP TRIGGER IF EXISTS %s;\nDROP TRIGGER IF EXISTS %s;", ins, upd)
	sync := migration(p, "keep both columns in sync on every insert and update (dual write by triggers)",
		withLockWait(p, triggers), withLockWait(p, dropTriggers), rules.MySQLMetadata)
	steps = append(steps, sync)
	if col.NotNull && col.Default == nil {
		// New code will insert without the old name: a NOT NULL column
		// without a default would refuse that before the trigger fills it.
		zero, ok := mysqlgen.ZeroValue(col.Type)
		if !ok {
			return nil, fmt.Sprintf("it is NOT NULL without a default, and fluxlint knows no neutral default for type %s to let new code insert without it", col.Type.SQL)
		}
		steps = append(steps, migration(p, fmt.Sprintf("give %s a default, so that inserts without it reach the trigger", col.Name),
			withLockWait(p, fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s SET DEFAULT %s, %s;", t, oldq, zero, mysqlgen.Online)),
			withLockWait(p, fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s DROP DEFAULT, %s;", t, oldq, mysqlgen.Online)), rules.MySQLNone))
	}
	proc := prefixName("fluxlint", table.Name, target.Name, "copy")
	fill := rules.Step{Kind: rules.StepBackfill, SeparateDeploy: true, Lock: rules.MySQLRows,
		Title:   fmt.Sprintf("copy existing values in batches of %d", p.Thresholds.BatchSize),
		Forward: mysqlgen.BatchedUpdate(batching(p), table, pk[0], fmt.Sprintf("%s = %s", newq, oldq), fmt.Sprintf("NOT (%s <=> %s)", newq, oldq), proc),
		Note:    "Nothing to roll back: dropping the new column undoes it. The batches commit one by one and walk the primary key."}
	fill.File = mysqlgen.MigrationFile(p.File.Tool, fill.Forward, "")
	check := rules.Step{Kind: rules.StepCheckpoint, Title: "check parity: every row has the same value under both names",
		Forward: fmt.Sprintf("SELECT COUNT(*) AS mismatches FROM %s WHERE NOT (%s <=> %s);", t, newq, oldq), Expect: "0"}
	steps = append(steps, fill, check)

	var renames, unrenames, dropIndexes []string
	for _, i := range indexes {
		dropIndexes = append(dropIndexes, fmt.Sprintf("DROP INDEX %s, ", mysqlgen.Ident(i.Def.Name)))
		def := i.Def
		def.Name = prefixName(i.Def.Name, "new")
		def.Columns = slices.Clone(def.Columns)
		for j, c := range def.Columns {
			if c == col.Name {
				def.Columns[j] = target.Name
			}
		}
		steps = append(steps, migration(p, fmt.Sprintf("build index %s on the new column (reads and writes continue)", def.Name),
			withLockWait(p, fmt.Sprintf("ALTER TABLE %s ADD %s, %s;", t, mysqlgen.IndexClause(def), mysqlgen.Online)),
			withLockWait(p, fmt.Sprintf("ALTER TABLE %s DROP INDEX %s, %s;", t, mysqlgen.Ident(def.Name), mysqlgen.Online)), rules.MySQLNone))
		renames = append(renames, fmt.Sprintf("RENAME INDEX %s TO %s", mysqlgen.Ident(def.Name), mysqlgen.Ident(i.Def.Name)))
		unrenames = append(unrenames, fmt.Sprintf("RENAME INDEX %s TO %s", mysqlgen.Ident(i.Def.Name), mysqlgen.Ident(def.Name)))
	}
	steps = append(steps, rules.Step{Kind: rules.StepCodeDeploy, SeparateDeploy: true,
		Title: fmt.Sprintf("deploy code that reads and writes %s only, never %s", target.Name, col.Name),
		Note:  "Until this deploy is everywhere, the triggers keep old and new code consistent."})

	finish, unfinish := []string{dropTriggers}, []string{}
	if final := mysqlgen.ColumnDef(target); final != mysqlgen.ColumnDef(&shadow) {
		finish = append(finish, fmt.Sprintf("ALTER TABLE %s MODIFY COLUMN %s, %s;", t, final, mysqlgen.Online))
		unfinish = append(unfinish, fmt.Sprintf("ALTER TABLE %s MODIFY COLUMN %s, %s;", t, mysqlgen.ColumnDef(&shadow), mysqlgen.Online))
	}
	unfinish = append(unfinish, triggers)
	stop := migration(p, fmt.Sprintf("stop syncing: drop the triggers and give %s its final definition", target.Name),
		withLockWait(p, strings.Join(finish, "\n")), withLockWait(p, strings.Join(unfinish, "\n")), rules.MySQLNone)
	stop.SeparateDeploy = true
	stop.Note = "Making the column NOT NULL rebuilds the table in place; reads and writes continue."

	// The old column's indexes go with it explicitly: the server would keep a
	// multi-column one, shrunk, under the name its replacement takes.
	restore, note := recreateColumn(p, table, col.Name, false)
	dropSQL := []string{fmt.Sprintf("ALTER TABLE %s %sDROP COLUMN %s, %s;", t, strings.Join(dropIndexes, ""), oldq, mysqlgen.Online)}
	if len(renames) > 0 {
		dropSQL = append(dropSQL, fmt.Sprintf("ALTER TABLE %s %s, %s;", t, strings.Join(renames, ", "), mysqlgen.Online))
		restore = append([]string{fmt.Sprintf("ALTER TABLE %s %s, %s;", t, strings.Join(unrenames, ", "), mysqlgen.Online)}, restore...)
	}
	drop := migration(p, fmt.Sprintf("drop the old column %s: the point of no return", col.Name),
		withLockWait(p, strings.Join(dropSQL, "\n")), withLockWait(p, strings.Join(restore, "\n")), rules.MySQLNone)
	drop.Irreversible, drop.SeparateDeploy, drop.Note = true, true, note
	steps = append(steps, stop, drop)
	return &rules.Plan{Title: fmt.Sprintf("move %s to %s by expand and contract", col.Name, target.Name), Steps: steps}, ""
}

var renameTable = &rules.Rule{
	Code: "MY304", Name: "rename-table", Engine: ir.MySQL, Severity: rules.Error, Destructive: true,
	WithRefs: rules.AttachRefs,
	Doc: rules.Doc{
		Title: "RENAME TABLE on an existing table",
		Why: "Deployed code still uses the old name: every query of it fails the moment the rename runs, until the new " +
			"code is everywhere. The rename itself is instant.",
		Bad: "RENAME TABLE users TO accounts;",
		Good: "Create a view under the new name (SELECT * FROM the table): a simple view is updatable, so new code can " +
			"read and write through it. Deploy code that uses the new name. Then swap in one atomic RENAME TABLE: the " +
			"view steps aside and the table takes the new name, and nothing ever sees neither.",
		Versions: "Verified on " + Verified + ". The view's columns are fixed when it is created: add no columns to the table until the swap.",
	},
	Check: func(p *rules.Pass) {
		rules.AlterCmds(p, func(table ir.QName, r ir.RenameTable) {
			if swappedTables(p, table, r.New) {
				return
			}
			renamed := ir.QName{Schema: table.Schema, Name: r.New}
			view := fmt.Sprintf("CREATE VIEW %s AS SELECT * FROM %s;", mysqlgen.Name(renamed), mysqlgen.Name(table))
			dropView := fmt.Sprintf("DROP VIEW IF EXISTS %s;", mysqlgen.Name(renamed))
			aside := ir.QName{Schema: table.Schema, Name: prefixName(r.New, "fluxlint_view")}
			expose := migration(p, fmt.Sprintf("create the view %s over %s, updatable, for new code", r.New, table.Name), view, dropView, "")
			deploy := rules.Step{Kind: rules.StepCodeDeploy, SeparateDeploy: true,
				Title: fmt.Sprintf("deploy code that uses %s instead of %s", r.New, table.Name),
				Note:  "It reads and writes the table through the view; the table's defaults, keys and triggers still apply."}
			swap := migration(p, "swap: the table takes the new name in one atomic rename, then the old view goes",
				withLockWait(p, fmt.Sprintf("RENAME TABLE %s TO %s, %s TO %s;\nDROP VIEW IF EXISTS %s;", mysqlgen.Name(renamed), mysqlgen.Name(aside), mysqlgen.Name(table), mysqlgen.Name(renamed), mysqlgen.Name(aside))),
				withLockWait(p, fmt.Sprintf("RENAME TABLE %s TO %s;\n%s", mysqlgen.Name(renamed), mysqlgen.Name(table), view)), rules.MySQLMetadata)
			swap.SeparateDeploy = true
			swap.Note = "The rollback renames the table back and recreates the view: between those two statements the new name briefly does not exist."
			msg := fmt.Sprintf("renaming existing table %s to %q breaks deployed code that still uses the old name", tableLabel(table), r.New)
			p.Report(msg, &rules.Plan{Title: "rename through a view and an atomic swap", Steps: []rules.Step{expose, deploy, swap}}).Uses = &rules.Uses{Table: table}
		})
	},
}

// swappedTables reports whether a rename is part of tables trading names in
// the same migration (a cut-over such as RENAME TABLE a TO a_old, a_new TO
// a): another rename fills the old name, or takes this one's new name.
func swappedTables(p *rules.Pass, table ir.QName, newName string) bool {
	swapped := false
	check := func(ref rules.OpRef, _ int) bool {
		if a, ok := ref.Op.(ir.AlterTable); ok {
			for _, cmd := range a.Cmds {
				r, ok := cmd.(ir.RenameTable)
				if ok && (a.Table != table || r.New != newName) && (r.New == table.Name || a.Table.Name == newName) {
					swapped = true
				}
			}
		}
		return swapped
	}
	p.OnTable(table, check) // renames of the table, and to its name
	if !swapped {
		p.OnTable(ir.QName{Schema: table.Schema, Name: newName}, check) // renames of what holds the new name
	}
	return swapped
}
