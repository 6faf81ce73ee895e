package pg

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/fluxlint/fluxlint/analyzers/catalog"
	"github.com/fluxlint/fluxlint/analyzers/ir"
	"github.com/fluxlint/fluxlint/rules"
	"github.com/fluxlint/fluxlint/rules/sqlgen"
)

var addRequiredColumn = &rules.Rule{
	Code: "PG201", Name: "add-not-null-column-without-default", Engine: ir.Postgres, Severity: rules.Error,
	Doc: rules.Doc{
		Title: "ADD COLUMN ... NOT NULL without a DEFAULT on an existing table",
		Why: "Existing rows would hold NULL in the new column, so on a table with rows the statement fails " +
			"(SQLSTATE 23502) after taking an ACCESS EXCLUSIVE lock. Even on an empty table, code that is still " +
			"deployed inserts rows without the column and starts failing the moment the migration runs.",
		Bad: "ALTER TABLE users ADD COLUMN tenant_id bigint NOT NULL;",
		Good: "Expand and contract: add the column nullable; deploy code that writes it; backfill existing rows " +
			"in batches keyed on the primary key; add CHECK (col IS NOT NULL) NOT VALID; VALIDATE it (no write " +
			"lock); SET NOT NULL, which PostgreSQL 12+ proves from the validated check without a scan; drop the " +
			"helper check.\nIf one constant value suits every existing row, ADD COLUMN ... NOT NULL DEFAULT <constant> " +
			"is instant on PostgreSQL 11+.",
		Versions: "PostgreSQL 12+ skips the SET NOT NULL scan when a validated CHECK (col IS NOT NULL) exists; before 12 that step scans the table under ACCESS EXCLUSIVE.",
	},
	Check: func(p *rules.Pass) {
		filledNewTable(p)
		rules.AlterCmds(p, func(table ir.QName, add ir.AddColumn) {
			c := add.Column
			if !nullsEveryRow(c) {
				return
			}
			if slices.ContainsFunc(c.Constraints, func(k ir.Constraint) bool { return k.Kind == ir.PrimaryKey }) {
				return // PG108 reports the new key column
			}
			if _, ok := dropAndAdd(p); ok {
				return // PG301 reports the pair: a rename or a type change, with the plan that keeps the data
			}
			msg := fmt.Sprintf("ADD COLUMN %q NOT NULL without a DEFAULT on existing table %s fails if the table has rows, and breaks deployed code that inserts without it",
				c.Name, tableLabel(table))
			p.Report(msg, requiredColumnPlan(p, table, c)).Claims(rules.Fails("23502", table))
		})
	},
}

// nullsEveryRow reports a NOT NULL column added with nothing to fill the
// existing rows (no default, identity, generation or serial): the ADD
// fails on a table with rows.
func nullsEveryRow(c ir.ColumnDef) bool {
	return c.NotNull && c.Default == nil && c.Identity == "" && c.Generated == nil && !c.Serial
}

// filledNewTable reports ADD COLUMN ... NOT NULL without a DEFAULT on a
// table created in this change from a query: nobody uses it yet, but it
// has rows, so the statement fails. The fix needs no care for locks.
func filledNewTable(p *rules.Pass) {
	op, ok := p.Op.(ir.AlterTable)
	if !ok || !p.Catalog.IsNew(op.Table) || p.Catalog.IsNewAndEmpty(op.Table) {
		return
	}
	for _, cmd := range op.Cmds {
		add, ok := cmd.(ir.AddColumn)
		c := add.Column
		if !ok || !nullsEveryRow(c) {
			continue
		}
		msg := fmt.Sprintf("ADD COLUMN %q NOT NULL without a DEFAULT fails on table %s: it was created in this change from a query, so it already has rows, each NULL in the new column (SQLSTATE 23502)", c.Name, tableLabel(op.Table))
		var plan *rules.Plan
		if value, known := sqlgen.ZeroValue(c.Type, p.Catalog.Enum(ir.QName{Name: c.Type.Name})); known {
			t, col := sqlgen.Name(op.Table), sqlgen.Ident(c.Name)
			nullable := &catalog.Column{Name: c.Name, Type: c.Type, Collation: c.Collation}
			step := migration(p, "add the column nullable, fill the rows, then make it NOT NULL: nobody uses the new table yet, so locks and the rewrite cost nothing",
				fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s;\nUPDATE %s SET %s = %s;\nALTER TABLE %s ALTER COLUMN %s SET NOT NULL;", t, sqlgen.ColumnDef(nullable, false), t, col, value, t, col),
				fmt.Sprintf("ALTER TABLE %s DROP COLUMN IF EXISTS %s;", t, col), "", false)
			step.Note = fmt.Sprintf("%s is a neutral value: put the value each row should hold in the UPDATE.", value)
			plan = &rules.Plan{Title: "fill the new column before NOT NULL", Steps: []rules.Step{step}}
		}
		p.Report(msg, plan).Claims(rules.Fails("23502", op.Table))
	}
}

// requiredColumnPlan is the expand/contract sequence for a NOT NULL column.
func requiredColumnPlan(p *rules.Pass, table ir.QName, def ir.ColumnDef) *rules.Plan {
	t := sqlgen.Name(table)
	col := sqlgen.Ident(def.Name)
	nullable := &catalog.Column{Name: def.Name, Type: def.Type, Collation: def.Collation}

	value, known := sqlgen.ZeroValue(def.Type, p.Catalog.Enum(ir.QName{Name: def.Type.Name}))
	var pk []*catalog.Column
	if tab := p.Catalog.Table(table); tab != nil {
		pk = tab.PrimaryKey()
	}
	backfill := rules.Step{Kind: rules.StepBackfill, NoTransaction: true, SeparateDeploy: true, Lock: "ROW EXCLUSIVE",
		Title: fmt.Sprintf("backfill existing rows with %s in batches of %d", value, p.Thresholds.BatchSize)}
	if known {
		backfill.Forward = sqlgen.BatchedUpdate(batching(p), table, pk, fmt.Sprintf("%s = %s", col, value), col+" IS NULL") +
			"\nANALYZE " + t + ";"
	}
	switch {
	case !known:
		backfill.Title = "backfill existing rows in batches"
		backfill.Note = fmt.Sprintf("fluxlint knows no neutral value of type %s: write the backfill with the value each row needs before the next step.", def.Type.SQL)
	case len(pk) == 0:
		backfill.Note = fmt.Sprintf("The table's primary key is not in the migrations fluxlint read, so batches go by ctid. %s is a neutral value: change it if existing rows need something else.", value)
	default:
		backfill.Note = fmt.Sprintf("Walks the primary key (%s), commits after each batch and pauses %v between batches. %s is a neutral value: change it if existing rows need something else. Nothing to roll back: step 1's rollback drops the column.", pkNames(pk), p.Thresholds.BatchPause, value)
	}

	inToolFile(p, &backfill)
	steps := []rules.Step{
		migration(p, "add the column as nullable (instant: no rewrite, brief lock)",
			withLockTimeout(p, fmt.Sprintf("ALTER TABLE %s ADD COLUMN IF NOT EXISTS %s;", t, sqlgen.ColumnDef(nullable, false))),
			withLockTimeout(p, fmt.Sprintf("ALTER TABLE %s DROP COLUMN IF EXISTS %s;", t, col)), "ACCESS EXCLUSIVE", false),
		{Kind: rules.StepCodeDeploy, SeparateDeploy: true,
			Title: fmt.Sprintf("deploy code that writes %s on every insert and update, and accepts NULL when reading", def.Name),
			Note:  "From now on no new row gets NULL, so the backfill below finishes the job."},
		backfill,
		{Kind: rules.StepCheckpoint, Title: "confirm no row is left without a value",
			Forward: fmt.Sprintf("SELECT count(*) AS rows_left FROM %s WHERE %s IS NULL;", t, col), Expect: "0"},
	}
	return &rules.Plan{Title: fmt.Sprintf("add %s as NOT NULL by expand and contract", def.Name), Steps: append(steps, notNullSteps(p, table, def.Name)...)}
}

// notNullSteps make a column NOT NULL without a long lock: a CHECK (col IS
// NOT NULL) added NOT VALID (brief lock, no scan), validated in its own
// migration (scans with reads and writes going on), SET NOT NULL (which
// PostgreSQL 12+ proves from the check without a scan), then the helper
// check dropped. Each step has its rollback.
func notNullSteps(p *rules.Pass, table ir.QName, column string) []rules.Step {
	t := sqlgen.Name(table)
	col := sqlgen.Ident(column)
	check := sqlgen.Ident(freeCheckName(p, table, column))
	addCheck := withLockTimeout(p, fmt.Sprintf("ALTER TABLE %s ADD CONSTRAINT %s CHECK (%s IS NOT NULL) NOT VALID;", t, check, col))
	dropCheck := withLockTimeout(p, fmt.Sprintf("ALTER TABLE %s DROP CONSTRAINT IF EXISTS %s;", t, check))
	steps := []rules.Step{
		migration(p, "add the NOT NULL rule as a CHECK constraint, not validated yet (brief lock, no scan)", addCheck, dropCheck, "ACCESS EXCLUSIVE", false),
		migration(p, "validate the check in a separate migration (scans, but reads and writes continue)",
			fmt.Sprintf("ALTER TABLE %s VALIDATE CONSTRAINT %s;", t, check), "", "SHARE UPDATE EXCLUSIVE", false),
	}
	steps[1].SeparateDeploy = true
	if p.Version < 12 {
		// Before 12, SET NOT NULL scans under ACCESS EXCLUSIVE even with the
		// check: the validated check is the NOT NULL guarantee.
		steps[1].Note = fmt.Sprintf("On PostgreSQL %d SET NOT NULL would scan the whole table under ACCESS EXCLUSIVE even with this check, so the validated check stays as the guarantee; after upgrading to 12+, SET NOT NULL and drop the check.", p.Version)
		return steps
	}
	return append(steps,
		migration(p, "set NOT NULL (PostgreSQL 12+ uses the validated check and skips the scan)",
			withLockTimeout(p, fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s SET NOT NULL;", t, col)),
			withLockTimeout(p, fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s DROP NOT NULL;", t, col)), "ACCESS EXCLUSIVE", false),
		migration(p, "drop the helper check, now redundant", dropCheck, addCheck, "ACCESS EXCLUSIVE", false))
}

// pgCheckName names the helper check constraint for a column.
func pgCheckName(table, column string) string {
	name := table + "_" + column + "_not_null"
	if len(name) > 63 {
		name = name[:63]
	}
	return name
}

// freeCheckName is pgCheckName made unique among the table's constraints
// and those the statement adds (a migration may have added a check by that
// name already; adding it again fails with 42710), as PostgreSQL numbers
// its own: name, name1, name2...
func freeCheckName(p *rules.Pass, table ir.QName, column string) string {
	taken := func(n string) bool {
		if t := p.Catalog.Table(table); t != nil && t.Constraint(n) != nil {
			return true
		}
		found := false
		rules.AlterCmds(p, func(_ ir.QName, a ir.AddConstraint) { found = found || a.Constraint.Name == n })
		return found
	}
	base := pgCheckName(table.Name, column)
	name := base
	for i := 1; taken(name); i++ {
		suffix := strconv.Itoa(i)
		name = base[:min(len(base), 63-len(suffix))] + suffix
	}
	return name
}

func pkNames(pk []*catalog.Column) string {
	names := make([]string, len(pk))
	for i, c := range pk {
		names[i] = c.Name
	}
	return strings.Join(names, ", ")
}

var dropColumn = &rules.Rule{
	Code: "PG301", Name: "drop-column", Engine: ir.Postgres, Severity: rules.Warning, Destructive: true,
	WithRefs: rules.AttachRefs,
	Doc: rules.Doc{
		Title: "DROP COLUMN on an existing table",
		Why: "Deployed code that still selects, inserts or updates the column fails the moment the column is " +
			"gone, and ORMs that list every column in their queries fail even if the code never uses it. " +
			"The data is lost: a rollback can recreate the column but not its values.",
		Bad: "ALTER TABLE users DROP COLUMN legacy_flag;",
		Good: "First deploy code that no longer reads or writes the column (for ORMs, mark it ignored, e.g. " +
			"ActiveRecord ignored_columns). Then drop it in a separate migration, the point of no return.",
		Versions: "All supported versions. The drop itself only marks the column dropped (no rewrite) but takes ACCESS EXCLUSIVE briefly. A DROP COLUMN and an ADD COLUMN in one statement, as ORMs such as Prisma write them, are reported as what they most likely are: a rename (same type, new name; the rename plan), or a type change that loses every value (same name; the shadow-column plan).",
	},
	Check: func(p *rules.Pass) {
		rules.AlterCmds(p, func(table ir.QName, d ir.DropColumn) {
			if p.Catalog.IsNewColumn(table, d.Column) || !d.Cascade && len(usedByViews(p, table, d.Column)) > 0 {
				return // new, or the statement fails (PG120)
			}
			msg := fmt.Sprintf("DROP COLUMN %q on existing table %s breaks deployed code that still uses it, and its data cannot be restored", d.Column, tableLabel(table))
			plan := dropColumnPlan(p, table, d.Column)
			claim := rules.Takes(rules.AccessExclusive, table)
			if add, ok := dropAndAdd(p); ok {
				msg, plan = dropAndAddPlan(p, table, d.Column, add)
				if nullsEveryRow(add) {
					msg += "; as written it also fails on a table with rows (SQLSTATE 23502: the new NOT NULL column has no DEFAULT)"
					claim = rules.Fails("23502", table)
				}
			}
			f := p.Report(msg, plan).Claims(claim)
			if add, ok := dropAndAdd(p); !ok || add.Name != d.Column {
				// Dropped and re-added under its own name, the column
				// still exists: the code's uses of it are not the problem.
				f.Uses = rules.ColumnUses(p, table, d.Column)
			}
		})
	},
}

// dropAndAdd returns the column an ALTER TABLE adds when it drops exactly
// one existing column and adds exactly one: the shape ORMs such as Prisma
// write for a rename (DROP COLUMN "a", ADD COLUMN "b" of the same type) and
// for a type change (DROP COLUMN x, ADD COLUMN x of a new type).
func dropAndAdd(p *rules.Pass) (ir.ColumnDef, bool) {
	op, ok := p.Op.(ir.AlterTable)
	if !ok || !p.Existing(op.Table) {
		return ir.ColumnDef{}, false
	}
	var drops []string
	var adds []ir.ColumnDef
	for _, c := range op.Cmds {
		switch x := c.(type) {
		case ir.DropColumn:
			drops = append(drops, x.Column)
		case ir.AddColumn:
			adds = append(adds, x.Column)
		}
	}
	if len(drops) != 1 || len(adds) != 1 || p.Catalog.IsNewColumn(op.Table, drops[0]) {
		return ir.ColumnDef{}, false
	}
	t := p.Catalog.Table(op.Table)
	if t == nil || t.Column(drops[0]) == nil {
		return ir.ColumnDef{}, false
	}
	old, add := t.Column(drops[0]), adds[0]
	if add.Name == old.Name || add.Type.SQL == old.Type.SQL {
		return add, true
	}
	return ir.ColumnDef{}, false
}

// dropAndAddPlan says what a drop-and-add really does, and offers the
// plan that keeps the data: a rename, or a type change.
// The plan stands for both subcommands (Plan.Whole).
func dropAndAddPlan(p *rules.Pass, table ir.QName, dropped string, add ir.ColumnDef) (string, *rules.Plan) {
	msg, plan := dropOrRename(p, table, dropped, add)
	if plan != nil {
		plan.Whole = true
	}
	return msg, plan
}

func dropOrRename(p *rules.Pass, table ir.QName, dropped string, add ir.ColumnDef) (string, *rules.Plan) {
	col := p.Catalog.Table(table).Column(dropped)
	if add.Name == dropped {
		msg := fmt.Sprintf("DROP COLUMN %q, ADD COLUMN %q %s in one statement on existing table %s is a type change that loses every value of the column (ORMs such as Prisma write a type change this way): deployed code sees it empty at once",
			dropped, add.Name, add.Type.SQL, tableLabel(table))
		// The column that results has the added one's default, not the
		// dropped one's, which a type change would keep.
		plan, why := shadowColumnPlan(p, table, col, ir.AlterColumnType{Column: dropped, Type: add.Type}, add.Default)
		if plan == nil {
			msg += "; " + why
		} else {
			msg += ". If the values should be kept, change the type the online way instead (the plan)"
			if add.NotNull && !col.NotNull {
				msg += "; the plan keeps the column nullable: make it NOT NULL afterwards as PG104's plan does"
			}
		}
		return msg, plan
	}
	msg := fmt.Sprintf("DROP COLUMN %q, ADD COLUMN %q of the same type in one statement on existing table %s is most likely a rename (ORMs such as Prisma write a rename this way): as written every value of %q is lost, and filling %q with a neutral value would blank the data. If it is a rename, rename the online way instead (the plan)",
		dropped, add.Name, tableLabel(table), dropped, add.Name)
	plan, why := renameColumnPlan(p, table, col, add.Name)
	if plan == nil {
		msg += "; " + why
	}
	return msg, plan
}

func dropColumnPlan(p *rules.Pass, table ir.QName, column string) *rules.Plan {
	t := sqlgen.Name(table)
	deploy := rules.Step{Kind: rules.StepCodeDeploy, SeparateDeploy: true,
		Title: fmt.Sprintf("deploy code that no longer reads or writes %s.%s", table.Name, column),
		Note:  "For ORMs that select every column, mark it ignored first (e.g. ActiveRecord ignored_columns)."}
	drop := migration(p, "drop the column: the point of no return",
		withLockTimeout(p, fmt.Sprintf("ALTER TABLE %s DROP COLUMN IF EXISTS %s;", t, sqlgen.Ident(column))), "", "ACCESS EXCLUSIVE", false)
	drop.Irreversible = true
	drop.SeparateDeploy = true
	rollback, note := recreateColumn(p, table, column)
	if rollback != "" {
		drop.Rollback = withLockTimeout(p, rollback)
	}
	drop.Note = note
	return &rules.Plan{Title: fmt.Sprintf("stop using %s, then drop it", column), Steps: []rules.Step{deploy, drop}}
}

// recreateColumn writes SQL that recreates a dropped column with its type,
// nullability and default, and the indexes and constraints that went with
// it; the caller gives it its lock_timeout.
func recreateColumn(p *rules.Pass, table ir.QName, column string) (string, string) {
	tab := p.Catalog.Table(table)
	var col *catalog.Column
	if tab != nil {
		col = tab.Column(column)
	}
	if col == nil {
		return "", "The column's definition is not in the migrations fluxlint read, so no rollback can be written: the data and the column are gone."
	}
	t := sqlgen.Name(table)
	note := "The rollback recreates the column's structure; its data is not restored"
	var sqls []string
	switch {
	case col.NotNull && col.Default == nil && col.Identity == "" && col.Generated == nil:
		value, ok := sqlgen.ZeroValue(col.Type, p.Catalog.Enum(ir.QName{Name: col.Type.Name}))
		if !ok {
			sqls = append(sqls, fmt.Sprintf("ALTER TABLE %s ADD COLUMN IF NOT EXISTS %s;", t, sqlgen.ColumnDef(col, false)))
			note += fmt.Sprintf(", and NOT NULL is not restored: fluxlint knows no neutral value of type %s to fill existing rows with", col.Type.SQL)
			break
		}
		sqls = append(sqls,
			fmt.Sprintf("ALTER TABLE %s ADD COLUMN IF NOT EXISTS %s NOT NULL DEFAULT %s;", t, sqlgen.ColumnDef(col, false), value),
			fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s DROP DEFAULT;", t, sqlgen.Ident(col.Name)))
		note += fmt.Sprintf(": existing rows get %s", value)
	default:
		sqls = append(sqls, fmt.Sprintf("ALTER TABLE %s ADD COLUMN IF NOT EXISTS %s;", t, sqlgen.ColumnDef(col, true)))
		if col.Default != nil {
			note += fmt.Sprintf(": existing rows get the default %s", col.Default.SQL)
		} else if !col.NotNull {
			note += ": existing rows get NULL"
		}
	}
	for _, k := range tab.Constraints {
		if slices.Contains(k.Columns, column) && k.Kind != ir.PrimaryKey {
			if sql := sqlgen.AddConstraint(table, k.Constraint, !k.Validated); sql != "" {
				sqls = append(sqls, sql)
			}
		}
	}
	for _, i := range p.Catalog.IndexesOn(table) {
		if i.Constraint == "" && slices.Contains(i.Def.Refs, column) {
			sqls = append(sqls, sqlgen.CreateIndex(i.Def, false))
		}
	}
	return strings.Join(sqls, "\n"), note + ". The column comes back as the table's last column."
}

var dropNotNull = &rules.Rule{
	Code: "PG308", Name: "drop-not-null", Engine: ir.Postgres, Severity: rules.Warning, Destructive: true,
	WithRefs: nullableRefs,
	Doc: rules.Doc{
		Title: "DROP NOT NULL on an existing column",
		Why: "Code deployed before the change reads the column as never null. Once a NULL is written there (by the " +
			"new code, a backfill, an import), that code breaks where it reads the row: Go's database/sql cannot scan " +
			"NULL into a string or an int, a non-optional field fails to decode in Rust's sqlx or diesel, and " +
			"TypeScript types promise a value that is not there. The change itself is instant but takes an ACCESS " +
			"EXCLUSIVE lock; undoing it (SET NOT NULL) scans the whole table and fails once any NULL is there.",
		Bad:      "ALTER TABLE users ALTER COLUMN email DROP NOT NULL;",
		Good:     "First deploy code that reads the column as nullable (sql.NullString or a pointer in Go, Option<T> in Rust, T | null in TypeScript). Then drop NOT NULL under lock_timeout, and write NULLs only in a later deploy.",
		Versions: "All supported versions.",
	},
	Check: func(p *rules.Pass) {
		rules.AlterCmds(p, func(table ir.QName, d ir.DropNotNull) {
			t := p.Catalog.Table(table)
			if t == nil || !p.Existing(table) || p.Catalog.IsNewColumn(table, d.Column) {
				return
			}
			col := t.Column(d.Column)
			if col == nil || !col.NotNull || col.Identity != "" || slices.Contains(t.PrimaryKey(), col) {
				return // unknown, nullable already, or the statement fails (an identity or primary key column)
			}
			msg := fmt.Sprintf("DROP NOT NULL on %q of existing table %s: code deployed now reads it as never null, and breaks on the first NULL written to it", d.Column, tableLabel(table))
			f := p.Report(msg, dropNotNullPlan(p, table, d.Column)).Claims(rules.Takes(rules.AccessExclusive, table))
			f.Uses = rules.ColumnUses(p, table, d.Column)
		})
	},
}

// dropNotNullPlan makes the readers ready for NULL before the column
// accepts it, and writes NULL only after.
func dropNotNullPlan(p *rules.Pass, table ir.QName, column string) *rules.Plan {
	t, c := sqlgen.Name(table), sqlgen.Ident(column)
	read := rules.Step{Kind: rules.StepCodeDeploy, SeparateDeploy: true,
		Title: fmt.Sprintf("deploy code that reads %s.%s as nullable", table.Name, column),
		Note:  "Every read of the column must accept NULL: sql.NullString or a pointer in Go, Option<T> in Rust, T | null in TypeScript. What writes NULL waits for step 3."}
	drop := migration(p, "drop NOT NULL",
		withLockTimeout(p, fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s DROP NOT NULL;", t, c)),
		withLockTimeout(p, fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s SET NOT NULL;", t, c)), rules.AccessExclusive, false)
	drop.SeparateDeploy = true
	drop.Note = "The rollback works only while no row holds NULL, and scans the whole table under its ACCESS EXCLUSIVE lock (PG104 has the plan without the long lock)."
	write := rules.Step{Kind: rules.StepCodeDeploy, SeparateDeploy: true,
		Title: fmt.Sprintf("deploy the code that writes NULL to %s.%s", table.Name, column)}
	return &rules.Plan{Title: "read it as nullable first, then drop NOT NULL", Steps: []rules.Step{read, drop, write}}
}

// nullableRefs lists where the code uses the column, each to be checked
// for reading NULL safely; none of them is an error by itself.
func nullableRefs(f *rules.Finding, refs []rules.Related, ignored bool) {
	f.Related = refs
	if len(refs) == 0 || f.Plan == nil {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Check that each place that uses it reads NULL safely (%d):", len(refs))
	rules.ListRefs(&b, refs)
	f.Plan.Steps[0].Note = rules.JoinNotes(b.String(), f.Plan.Steps[0].Note)
}
