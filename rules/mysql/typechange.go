package mysql

import (
	"fmt"
	"slices"

	"github.com/fluxlint/fluxlint/analyzers/catalog"
	"github.com/fluxlint/fluxlint/analyzers/ir"
	"github.com/fluxlint/fluxlint/rules"
	"github.com/fluxlint/fluxlint/rules/sqlgen/mysqlgen"
)

// typeChangePlan changes a column's type by expand and contract, for teams
// that run no online schema change tool: a shadow column of the new type,
// kept equal to the old one by a trigger while existing rows are copied in
// batches, then swapped in under the old name in one brief locked moment.
// Code keeps using the one name throughout; the old values stay in a
// renamed column until the last step drops it.
func typeChangePlan(p *rules.Pass, tab *catalog.Table, m ir.ModifyColumn) (*rules.Plan, string) {
	if m.From() != m.Column.Name {
		return nil, "the statement also renames the column"
	}
	col := tab.Column(m.Column.Name)
	pk := tab.PrimaryKey()
	switch {
	case col == nil:
		return nil, "the column's definition is not in the migrations fluxlint read"
	case len(pk) == 0:
		return nil, "the table has no primary key to copy values in batches by"
	case slices.ContainsFunc(pk, func(k *catalog.Column) bool { return k.Name == col.Name }):
		return nil, "it is part of the primary key"
	case col.AutoIncrement || col.Generated != nil || m.Column.AutoIncrement || m.Column.Generated != nil:
		return nil, "it is an AUTO_INCREMENT or generated column, which a trigger cannot keep in sync"
	case m.Position.First || m.Position.After != "":
		return nil, "the statement also moves the column"
	}
	for _, k := range tab.Constraints {
		if slices.Contains(k.Columns, col.Name) {
			return nil, fmt.Sprintf("it is part of %s %q, which would need moving too", k.Kind, k.Name)
		}
	}
	for _, i := range p.Catalog.IndexesOn(tab.Name) {
		if slices.Contains(i.Def.Refs, col.Name) {
			return nil, fmt.Sprintf("index %q uses it, which would need rebuilding on the new column", i.Def.Name)
		}
	}
	if refs := referencedBy(p.Catalog, tab.Name, []string{col.Name}); len(refs) > 0 {
		return nil, fmt.Sprintf("foreign keys of other tables reference it (%s)", fmt.Sprint(refs))
	}
	t, c := mysqlgen.Name(tab.Name), mysqlgen.Ident(col.Name)
	shadowName, oldName := prefixName(col.Name, "new"), prefixName(col.Name, "old")
	shadowQ, oldQ := mysqlgen.Ident(shadowName), mysqlgen.Ident(oldName)
	final := catalog.ColumnOf(m.Column)
	shadow := *final
	shadow.Name, shadow.NotNull, shadow.Default, shadow.OnUpdate = shadowName, false, nil, ""

	add := migration(p, fmt.Sprintf("add %s, of the new type, next to %s (instant)", shadowName, col.Name),
		withLockWait(p, fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s AFTER %s, %s;", t, mysqlgen.ColumnDef(&shadow), c, mysqlgen.Online)),
		withLockWait(p, fmt.Sprintf("ALTER TABLE %s DROP COLUMN %s, %s;", t, shadowQ, mysqlgen.Online)), rules.MySQLNone)

	ins, upd := mysqlgen.Ident(prefixName(tab.Name.Name, col.Name, "copy_insert")), mysqlgen.Ident(prefixName(tab.Name.Name, col.Name, "copy_update"))
	triggers := fmt.Sprintf("CREATE TRIGGER %[1]s BEFORE INSERT ON %[3]s FOR EACH ROW SET NEW.%[4]s = NEW.%[5]s;\n"+
		"CREATE TRIGGER %[2]s BEFORE UPDATE ON %[3]s FOR EACH ROW SET NEW.%[4]s = NEW.%[5]s;", ins, upd, t, shadowQ, c)
	dropTriggers := fmt.Sprintf("DROP TRIGGER IF EXISTS %s;\nDROP TRIGGER IF EXISTS %s;", ins, upd)
	sync := migration(p, fmt.Sprintf("copy every write of %s into %s (triggers)", col.Name, shadowName),
		withLockWait(p, triggers), withLockWait(p, dropTriggers), rules.MySQLMetadata)
	sync.Note = fmt.Sprintf("A value the new type cannot hold makes the write fail (strict mode): the checkpoint below finds rows that differ. Code keeps writing %s alone.", col.Name)

	proc := prefixName("fluxlint", tab.Name.Name, shadowName, "copy")
	fill := rules.Step{Kind: rules.StepBackfill, SeparateDeploy: true, Lock: rules.MySQLRows,
		Title:   fmt.Sprintf("copy existing values in batches of %d", p.Thresholds.BatchSize),
		Forward: mysqlgen.BatchedUpdate(batching(p), tab.Name, pk[0], fmt.Sprintf("%s = %s", shadowQ, c), fmt.Sprintf("NOT (%s <=> %s)", shadowQ, c), proc),
		Note:    "Nothing to roll back: dropping the new column undoes it. The batches commit one by one and walk the primary key."}
	fill.File = mysqlgen.MigrationFile(p.File.Tool, fill.Forward, "")
	parity := rules.Step{Kind: rules.StepCheckpoint, Title: "check parity: every row holds the same value in both columns",
		Forward: fmt.Sprintf("SELECT COUNT(*) AS mismatches FROM %s WHERE NOT (%s <=> %s);", t, shadowQ, c), Expect: "0"}
	deploy := rules.Step{Kind: rules.StepCodeDeploy, SeparateDeploy: true,
		Title: fmt.Sprintf("deploy code that accepts %s as %s (the name stays)", col.Name, final.Type.SQL),
		Note:  "An ORM model or a typed client that maps the column must take the new type before the swap."}

	// The swap: no write may land between dropping the triggers and the
	// renames, so the table is write-locked for the moment they take.
	swap := migration(p, fmt.Sprintf("swap: %s takes the name %s, the old column becomes %s (a brief write lock)", shadowName, col.Name, oldName),
		withLockWait(p, fmt.Sprintf("LOCK TABLES %s WRITE;\n%s\nALTER TABLE %s RENAME COLUMN %s TO %s, RENAME COLUMN %s TO %s;\nUNLOCK TABLES;", t, dropTriggers, t, c, oldQ, shadowQ, c)),
		withLockWait(p, fmt.Sprintf("LOCK TABLES %s WRITE;\nALTER TABLE %s RENAME COLUMN %s TO %s, RENAME COLUMN %s TO %s;\n%s\nUNLOCK TABLES;", t, t, c, shadowQ, oldQ, c, triggers)),
		rules.MySQLExclusive)
	swap.SeparateDeploy = true
	swap.Note = "LOCK TABLES ... WRITE holds reads and writes for the renames, which change metadata only."
	steps := []rules.Step{add, sync, fill, parity, deploy, swap}
	swapped := shadow // the shadow column under the old name, after the swap
	swapped.Name = col.Name
	if def, sh := mysqlgen.ColumnDef(final), mysqlgen.ColumnDef(&swapped); def != sh {
		finish := migration(p, fmt.Sprintf("give %s its final definition (NOT NULL or a default rebuild the table in place; reads and writes continue)", col.Name),
			withLockWait(p, fmt.Sprintf("ALTER TABLE %s MODIFY COLUMN %s, %s;", t, def, mysqlgen.Online)),
			withLockWait(p, fmt.Sprintf("ALTER TABLE %s MODIFY COLUMN %s, %s;", t, sh, mysqlgen.Online)), rules.MySQLNone)
		steps = append(steps, finish)
	}
	old := *col
	old.Name = oldName
	drop := migration(p, fmt.Sprintf("drop %s, the old values: the point of no return", oldName),
		withLockWait(p, fmt.Sprintf("ALTER TABLE %s DROP COLUMN %s, %s;", t, oldQ, mysqlgen.Online)),
		withLockWait(p, fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s%s, %s;", t, mysqlgen.ColumnDef(&old), mysqlgen.Position(tab, col.Name), mysqlgen.Online)), rules.MySQLNone)
	drop.Irreversible, drop.SeparateDeploy = true, true
	drop.Note = "The rollback brings the column back empty: keep it until the new type has proved itself."
	steps = append(steps, drop)
	return &rules.Plan{Title: fmt.Sprintf("change %s to %s by expand and contract", col.Name, final.Type.SQL), Steps: steps}, ""
}
