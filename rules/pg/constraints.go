package pg

import (
	"fmt"
	"slices"
	"strings"

	"github.com/fluxlint/fluxlint/analyzers/catalog"
	"github.com/fluxlint/fluxlint/analyzers/ir"
	"github.com/fluxlint/fluxlint/rules"
	"github.com/fluxlint/fluxlint/rules/sqlgen"
)

var setNotNull = &rules.Rule{
	Code: "PG104", Name: "set-not-null", Engine: ir.Postgres, Severity: rules.Error, Sized: true,
	Doc: rules.Doc{
		Title: "SET NOT NULL on an existing column",
		Why: "SET NOT NULL takes an ACCESS EXCLUSIVE lock and scans the whole table to prove there is no NULL: " +
			"reads and writes block for the length of the scan. On PostgreSQL 12+ a validated CHECK (col IS NOT NULL) " +
			"on that same column lets it skip the scan.",
		Bad:      "ALTER TABLE users ALTER COLUMN email SET NOT NULL;",
		Good:     "Add CHECK (email IS NOT NULL) NOT VALID (brief lock), VALIDATE it in a separate migration (no write lock), then SET NOT NULL (no scan on 12+), then drop the check.",
		Versions: "Not flagged on PostgreSQL 12+ when a validated CHECK (col IS NOT NULL) for that column exists; before 12 SET NOT NULL always scans. Not flagged on a column already NOT NULL, or in a table created in the same change set. A column added in the same change to an existing table has rows like any other: with a DEFAULT it is scanned, without one (and no UPDATE in between) every row holds NULL and the statement fails with SQLSTATE 23502.",
	},
	Check: func(p *rules.Pass) {
		rules.AlterCmds(p, func(table ir.QName, c ir.SetNotNull) {
			if p.Version >= 12 && hasNotNullCheck(p, table, c.Column) || alreadyNotNull(p, table, c.Column) {
				return
			}
			// A column added in this change to an existing table is no
			// emptier than its table: every row holds its default, or NULL.
			if col := newColumn(p, table, c.Column); col != nil && col.Default == nil && col.Identity == "" && col.Generated == nil && col.Serial == "" && !updatedBefore(p, table) {
				msg := fmt.Sprintf("SET NOT NULL on %q, added to existing table %s in this change without a DEFAULT: every existing row holds NULL in it, so the statement fails (SQLSTATE 23502) if the table has rows",
					c.Column, tableLabel(table))
				def := ir.ColumnDef{Name: col.Name, Type: col.Type, Collation: col.Collation, NotNull: true}
				steps := requiredColumnPlan(p, table, def).Steps[1:] // the ADD COLUMN before it stays
				for i := range steps {
					if steps[i].Kind == rules.StepBackfill && steps[i].Forward != "" {
						// The column held only NULL before the plan: emptying
						// it again undoes the backfill.
						steps[i].Rollback = resetColumn(p, table, col.Name)
					}
				}
				p.Report(msg, &rules.Plan{Title: fmt.Sprintf("fill %s in batches, then make it NOT NULL through a validated check", c.Column), Steps: steps}).
					Claims(rules.Fails("23502", table))
				return
			}
			msg := fmt.Sprintf("SET NOT NULL on %q of existing table %s scans the whole table under an ACCESS EXCLUSIVE lock: reads and writes block until it ends",
				c.Column, tableLabel(table))
			p.Report(msg, &rules.Plan{Title: fmt.Sprintf("make %s NOT NULL through a validated check", c.Column), Steps: notNullSteps(p, table, c.Column)}).
				Claims(rules.Takes(rules.AccessExclusive, table).Scanning())
		})
	},
}

// primaryKeyUsingIndex reports ADD PRIMARY KEY USING INDEX over nullable
// columns: PostgreSQL scans the table under ACCESS EXCLUSIVE to prove them
// NOT NULL. The plan proves it first, through validated checks.
func primaryKeyUsingIndex(p *rules.Pass, table ir.QName, k ir.Constraint) {
	t, idx := p.Catalog.Table(table), p.Catalog.IndexOn(table, k.UsingIndex)
	if t == nil || t.Unknown || idx == nil {
		return
	}
	var nullable []string
	for _, name := range idx.Def.Columns {
		if col := t.Column(name); col != nil && !col.NotNull {
			nullable = append(nullable, name)
		}
	}
	if len(nullable) == 0 {
		return
	}
	var steps []rules.Step
	for _, name := range nullable {
		steps = append(steps, notNullSteps(p, table, name)...)
	}
	tn := sqlgen.Name(table)
	add := migration(p, "add the primary key using the index: no scan, now that its columns are NOT NULL",
		withLockTimeout(p, fmt.Sprintf("ALTER TABLE %s ADD CONSTRAINT %s PRIMARY KEY USING INDEX %s;", tn, sqlgen.Ident(k.Name), sqlgen.Ident(k.UsingIndex))),
		// The key takes the index over (and its name): dropping the key
		// drops the index, so the rollback builds it again.
		withLockTimeout(p, fmt.Sprintf("ALTER TABLE %s DROP CONSTRAINT IF EXISTS %s;\n%s", tn, sqlgen.Ident(k.Name), sqlgen.CreateIndex(idx.Def, false))),
		"ACCESS EXCLUSIVE", false)
	add.Note = "The rollback rebuilds the index without CONCURRENTLY (it runs in the same transaction as the drop): writes wait for the build."
	msg := fmt.Sprintf("ADD PRIMARY KEY USING INDEX %q on existing table %s scans the whole table under an ACCESS EXCLUSIVE lock to prove %s NOT NULL: reads and writes block until it ends",
		k.UsingIndex, tableLabel(table), joinList(quoteAll(nullable)))
	p.Report(msg, &rules.Plan{Title: "prove the columns NOT NULL first, then add the key", Steps: append(steps, add)}).
		Claims(rules.Takes(rules.AccessExclusive, table).Scanning())
}

func quoteAll(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = fmt.Sprintf("%q", n)
	}
	return out
}

// inlineConstraints calls fn for each constraint of the kind written inside
// an ADD COLUMN on an existing table (ADD COLUMN c text UNIQUE): it is
// added with the column, under the column's ACCESS EXCLUSIVE lock.
func inlineConstraints(p *rules.Pass, kind ir.ConstraintKind, fn func(table ir.QName, col ir.ColumnDef, k ir.Constraint)) {
	rules.AlterCmds(p, func(table ir.QName, add ir.AddColumn) {
		if rewritesOnAdd(p, add.Column) {
			return // PG202's plan adds the constraints too
		}
		for _, k := range add.Column.Constraints {
			if k.Kind == kind && !k.NotValid {
				fn(table, add.Column, k)
			}
		}
	})
}

// addBareColumn adds a column without its constraints: instant, since it
// takes no value that needs checking (NOT NULL only with a DEFAULT).
func addBareColumn(p *rules.Pass, table ir.QName, col ir.ColumnDef) rules.Step {
	bare := &catalog.Column{Name: col.Name, Type: col.Type, Collation: col.Collation, Default: col.Default, NotNull: col.NotNull && col.Default != nil}
	return migration(p, "add the column without its constraint (instant: no scan, brief lock)",
		withLockTimeout(p, fmt.Sprintf("ALTER TABLE %s ADD COLUMN IF NOT EXISTS %s;", sqlgen.Name(table), sqlgen.ColumnDef(bare, true))),
		withLockTimeout(p, fmt.Sprintf("ALTER TABLE %s DROP COLUMN IF EXISTS %s;", sqlgen.Name(table), sqlgen.Ident(col.Name))), "ACCESS EXCLUSIVE", false)
}

// updatedBefore reports an UPDATE of the table earlier in the section (a
// backfill, most likely): the rows may hold values by now.
func updatedBefore(p *rules.Pass, table ir.QName) bool {
	found := false
	p.OnTable(table, func(ref rules.OpRef, rel int) bool {
		if w, ok := ref.Op.(ir.Write); ok && rel < 0 && w.Kind == "update" {
			found = true
		}
		return rel >= 0 || found
	})
	return found
}

// resetColumn sets a column back to NULL in batches.
func resetColumn(p *rules.Pass, table ir.QName, column string) string {
	var pk []*catalog.Column
	if t := p.Catalog.Table(table); t != nil {
		pk = t.PrimaryKey()
	}
	col := sqlgen.Ident(column)
	return sqlgen.BatchedUpdate(batching(p), table, pk, col+" = NULL", col+" IS NOT NULL")
}

// newColumn is the column if this change added it to the (existing) table.
func newColumn(p *rules.Pass, table ir.QName, column string) *catalog.Column {
	if !p.Catalog.IsNewColumn(table, column) {
		return nil
	}
	return p.Catalog.Table(table).Column(column)
}

// alreadyNotNull reports a column the catalog knows is NOT NULL already:
// SET NOT NULL then changes nothing and scans nothing.
func alreadyNotNull(p *rules.Pass, table ir.QName, column string) bool {
	t := p.Catalog.Table(table)
	if t == nil || t.Unknown {
		return false
	}
	col := t.Column(column)
	return col != nil && col.NotNull
}

// hasNotNullCheck reports whether the table has a validated CHECK (col IS
// NOT NULL) for exactly that column: only that constraint lets SET NOT NULL
// skip its scan.
func hasNotNullCheck(p *rules.Pass, table ir.QName, column string) bool {
	t := p.Catalog.Table(table)
	if t == nil {
		return false
	}
	want := sqlgen.Ident(column) + " IS NOT NULL"
	for _, k := range t.Constraints {
		if k.Kind == ir.Check && k.Validated && k.Expr == want {
			return true
		}
	}
	return false
}

var addCheck = &rules.Rule{
	Code: "PG105", Name: "add-check-constraint-without-not-valid", Engine: ir.Postgres, Severity: rules.Error, Sized: true,
	Doc: rules.Doc{
		Title: "ADD CONSTRAINT ... CHECK without NOT VALID on an existing table",
		Why: "Adding a CHECK constraint scans the whole table to validate it while holding an ACCESS EXCLUSIVE lock: " +
			"reads and writes block for the length of the scan.",
		Bad:      "ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total > 0);",
		Good:     "ADD the constraint NOT VALID (brief lock, no scan; new rows are checked from then on), then VALIDATE CONSTRAINT in a separate migration: it scans under SHARE UPDATE EXCLUSIVE, so reads and writes continue. A CHECK written inside ADD COLUMN scans too: add the column plain, then the check the same way.",
		Versions: "All supported versions.",
	},
	Check: func(p *rules.Pass) {
		inlineConstraints(p, ir.Check, func(table ir.QName, col ir.ColumnDef, k ir.Constraint) {
			msg := fmt.Sprintf("ADD COLUMN %q with CHECK %q on existing table %s scans the whole table under an ACCESS EXCLUSIVE lock: reads and writes block until it ends",
				col.Name, k.Name, tableLabel(table))
			steps := append([]rules.Step{addBareColumn(p, table, col)}, notValidSteps(p, table, k)...)
			p.Report(msg, &rules.Plan{Title: "add the column plain, then the check NOT VALID, then validate it", Steps: steps}).
				Claims(rules.Takes(rules.AccessExclusive, table).Scanning())
		})
		rules.AlterCmds(p, func(table ir.QName, a ir.AddConstraint) {
			if a.Constraint.Kind != ir.Check || a.Constraint.NotValid {
				return
			}
			msg := fmt.Sprintf("ADD CONSTRAINT %q CHECK on existing table %s scans the whole table under an ACCESS EXCLUSIVE lock: reads and writes block until it ends",
				a.Constraint.Name, tableLabel(table))
			p.Report(msg, &rules.Plan{Title: "add the check NOT VALID, then validate it", Steps: notValidSteps(p, table, a.Constraint)}).
				Claims(rules.Takes(rules.AccessExclusive, table).Scanning())
		})
	},
}

// notValidSteps add a CHECK or FOREIGN KEY constraint NOT VALID (brief lock,
// no scan), then validate it in a separate migration (no write lock).
func notValidSteps(p *rules.Pass, table ir.QName, k ir.Constraint) []rules.Step {
	if parts := p.Catalog.Partitions(table); k.Kind == ir.ForeignKey && len(parts) > 0 && p.Version < 18 {
		return partitionedFKSteps(p, table, k, parts)
	}
	lock, validateLock := "ACCESS EXCLUSIVE", "SHARE UPDATE EXCLUSIVE"
	if k.Kind == ir.ForeignKey {
		lock = fmt.Sprintf("SHARE ROW EXCLUSIVE on %s and on %s", table, k.RefTable)
		validateLock = fmt.Sprintf("SHARE UPDATE EXCLUSIVE on %s, ROW SHARE on %s", table, k.RefTable)
	}
	add := migration(p, "add the constraint NOT VALID: new and updated rows are checked from now on (brief lock, no scan)",
		withLockTimeout(p, sqlgen.AddConstraint(table, k, true)), withLockTimeout(p, sqlgen.DropConstraint(table, k.Name)), lock, false)
	validate := migration(p, "validate it in a separate migration: it scans, but reads and writes continue",
		fmt.Sprintf("ALTER TABLE %s VALIDATE CONSTRAINT %s;", sqlgen.Name(table), sqlgen.Ident(k.Name)), "", validateLock, false)
	validate.SeparateDeploy = true
	validate.Note = "If validation fails, existing rows break the rule: fix them, then run it again. The NOT VALID constraint keeps guarding new rows meanwhile."
	return []rules.Step{add, validate}
}

// attachesValidated reports whether a foreign key added to a partitioned
// table finds an equal, validated key on every partition: the server then
// attaches those instead of creating and validating new ones, so nothing
// is scanned (the last step of partitionedFKSteps).
func attachesValidated(p *rules.Pass, table ir.QName, k ir.Constraint) bool {
	parts := p.Catalog.Partitions(table)
	if len(parts) == 0 {
		return false
	}
	for _, part := range parts {
		if !slices.ContainsFunc(part.Constraints, func(pk *catalog.Constraint) bool {
			return pk.Kind == ir.ForeignKey && pk.Validated && slices.Equal(pk.Columns, k.Columns) &&
				p.Catalog.Same(pk.RefTable, k.RefTable) && slices.Equal(pk.RefColumns, k.RefColumns)
		}) {
			return false
		}
	}
	return true
}

// partitionedFKSteps add a foreign key to a partitioned table before
// PostgreSQL 18, which refuses NOT VALID there: each partition gets the key
// NOT VALID and validated on its own, then the parent's ADD finds an equal
// validated key on every partition and attaches it instead of scanning.
func partitionedFKSteps(p *rules.Pass, table ir.QName, k ir.Constraint, parts []*catalog.Table) []rules.Step {
	var adds, validates []rules.Step
	for _, part := range parts {
		name := unqualified(part.Name, table)
		adds = append(adds, migration(p, fmt.Sprintf("add the key to partition %s NOT VALID (brief lock, no scan)", name),
			withLockTimeout(p, sqlgen.AddConstraint(name, k, true)), withLockTimeout(p, sqlgen.DropConstraint(name, k.Name)),
			fmt.Sprintf("SHARE ROW EXCLUSIVE on %s and on %s", name, k.RefTable), false))
		v := migration(p, fmt.Sprintf("validate it on partition %s: it scans, but reads and writes continue", name),
			fmt.Sprintf("ALTER TABLE %s VALIDATE CONSTRAINT %s;", sqlgen.Name(name), sqlgen.Ident(k.Name)), "",
			fmt.Sprintf("SHARE UPDATE EXCLUSIVE on %s, ROW SHARE on %s", name, k.RefTable), false)
		v.Note = "If validation fails, existing rows break the rule: fix them, then run it again."
		validates = append(validates, v)
	}
	validates[0].SeparateDeploy = true
	parent := migration(p, "add the key to the parent: it attaches each partition's validated key, with no scan",
		withLockTimeout(p, sqlgen.AddConstraint(table, k, false)), withLockTimeout(p, sqlgen.DropConstraint(table, k.Name)),
		fmt.Sprintf("SHARE ROW EXCLUSIVE on %s, its partitions and %s, briefly", table, k.RefTable), false)
	parent.Note = fmt.Sprintf("PostgreSQL %d refuses ADD FOREIGN KEY ... NOT VALID on a partitioned table (18 allows it), hence the keys per partition.", p.Version)
	return append(append(adds, validates...), parent)
}

var addForeignKey = &rules.Rule{
	Code: "PG106", Name: "add-foreign-key-without-not-valid", Engine: ir.Postgres, Severity: rules.Error, Sized: true,
	Doc: rules.Doc{
		Title: "FOREIGN KEY added without NOT VALID, or locking an existing referenced table",
		Why: "Adding a foreign key takes SHARE ROW EXCLUSIVE on both the table and the table it references, and " +
			"without NOT VALID scans the whole table while holding them: writes to both tables block for the length " +
			"of the scan. Even with NOT VALID, or from a brand-new table, the lock on the referenced table blocks its " +
			"writes while it is held or waited for, so it needs a short lock_timeout.",
		Bad:      "ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id);",
		Good:     "ADD the foreign key NOT VALID with lock_timeout set (brief locks, no scan), then VALIDATE CONSTRAINT in a separate migration: it takes SHARE UPDATE EXCLUSIVE and ROW SHARE, so writes continue. ADD COLUMN ... REFERENCES becomes ADD COLUMN, then the same two steps.",
		Versions: "All supported versions. A foreign key from a table created in the same change set to an existing table is reported at info severity: only the brief lock on the referenced table matters.",
	},
	Check: checkForeignKeys,
}

func checkForeignKeys(p *rules.Pass) {
	switch op := p.Op.(type) {
	case ir.CreateTable:
		var refs []ir.Constraint
		for _, c := range op.Columns {
			refs = append(refs, foreignKeys(c.Constraints)...)
		}
		refs = append(refs, foreignKeys(op.Constraints)...)
		reportNewTableFKs(p, op.Table, refs, fmt.Sprintf("DROP TABLE IF EXISTS %s;", sqlgen.Name(op.Table)))
	case ir.AlterTable:
		rules.EachCmd(p, op, func(cmd ir.AlterCmd) {
			switch c := cmd.(type) {
			case ir.AddConstraint:
				if c.Constraint.Kind != ir.ForeignKey {
					return
				}
				if !p.Existing(op.Table) {
					reportNewTableFKs(p, op.Table, []ir.Constraint{c.Constraint}, withLockTimeout(p, sqlgen.DropConstraint(op.Table, c.Constraint.Name)))
					return
				}
				if c.Constraint.NotValid || attachesValidated(p, op.Table, c.Constraint) {
					return
				}
				mode := stmtLock(p, rules.ShareRowExclusive, op.Table)
				msg := fmt.Sprintf("ADD FOREIGN KEY %q on existing table %s scans it while holding SHARE ROW EXCLUSIVE on %s and on referenced table %s: writes to both block until the scan ends",
					c.Constraint.Name, tableLabel(op.Table), tableLabel(op.Table), tableLabel(c.Constraint.RefTable))
				if mode != rules.ShareRowExclusive {
					msg = fmt.Sprintf("ADD FOREIGN KEY %q on existing table %s scans it while holding %s on it (the statement's other subcommands need that lock) and SHARE ROW EXCLUSIVE on referenced table %s: every query on %s and every write to %s block until the scan ends",
						c.Constraint.Name, tableLabel(op.Table), mode, tableLabel(c.Constraint.RefTable), tableLabel(op.Table), tableLabel(c.Constraint.RefTable))
				}
				p.Report(msg, &rules.Plan{Title: "add the foreign key NOT VALID, then validate it", Steps: notValidSteps(p, op.Table, c.Constraint)}).
					Claims(rules.Takes(mode, op.Table).Scanning())
			case ir.AddColumn:
				fks := foreignKeys(c.Column.Constraints)
				if len(fks) == 0 || p.Existing(op.Table) && rewritesOnAdd(p, c.Column) {
					return // PG202's plan adds the foreign keys too
				}
				if !p.Existing(op.Table) {
					reportNewTableFKs(p, op.Table, fks, withLockTimeout(p, fmt.Sprintf("ALTER TABLE %s DROP COLUMN IF EXISTS %s;", sqlgen.Name(op.Table), sqlgen.Ident(c.Column.Name))))
					return
				}
				col := c.Column
				bare := &catalog.Column{Name: col.Name, Type: col.Type, Collation: col.Collation, Default: col.Default}
				add := migration(p, "add the column without the foreign key",
					withLockTimeout(p, fmt.Sprintf("ALTER TABLE %s ADD COLUMN IF NOT EXISTS %s;", sqlgen.Name(op.Table), sqlgen.ColumnDef(bare, false))),
					withLockTimeout(p, fmt.Sprintf("ALTER TABLE %s DROP COLUMN IF EXISTS %s;", sqlgen.Name(op.Table), sqlgen.Ident(col.Name))), "ACCESS EXCLUSIVE", false)
				steps := []rules.Step{add}
				for _, fk := range fks {
					steps = append(steps, notValidSteps(p, op.Table, fk)...)
				}
				msg := fmt.Sprintf("ADD COLUMN %q REFERENCES %s locks existing table %s and referenced table %s together: writes to both block while the locks are held or waited for",
					col.Name, tableLabel(fks[0].RefTable), tableLabel(op.Table), tableLabel(fks[0].RefTable))
				p.Report(msg, &rules.Plan{Title: "add the column, then the foreign key NOT VALID, then validate it", Steps: steps}).
					Claims(rules.Takes(rules.AccessExclusive, op.Table))
			}
		})
	}
}

func foreignKeys(cs []ir.Constraint) []ir.Constraint {
	var out []ir.Constraint
	for _, c := range cs {
		if c.Kind == ir.ForeignKey {
			out = append(out, c)
		}
	}
	return out
}

// reportNewTableFKs reports, at info severity, foreign keys from a table new
// in this change set to existing tables: the referenced table is locked
// (SHARE ROW EXCLUSIVE) while the statement runs, so it needs lock_timeout.
func reportNewTableFKs(p *rules.Pass, table ir.QName, fks []ir.Constraint, rollback string) {
	var existing []string
	var first ir.QName
	for _, fk := range fks {
		ref := fk.RefTable
		if p.Existing(ref) && ref != table && !slices.Contains(existing, tableLabel(ref)) {
			if len(existing) == 0 {
				first = ref
			}
			existing = append(existing, tableLabel(ref))
		}
	}
	if len(existing) == 0 || lockTimeoutSet(p) {
		return
	}
	msg := fmt.Sprintf("foreign key to existing table %s takes SHARE ROW EXCLUSIVE on it: its writes block while the lock is held, and queue behind it while it waits", joinList(existing))
	step := migration(p, "run the statement with a short lock_timeout, and retry it if it times out", withLockTimeout(p, p.Stmt.Text+";"), rollback, "SHARE ROW EXCLUSIVE on "+joinList(existing), false)
	f := p.Report(msg, &rules.Plan{Title: "bound the lock on the referenced table", Steps: []rules.Step{step}}).Claims(rules.Takes(rules.ShareRowExclusive, first))
	f.Severity = rules.Info
}

var validateSameTx = &rules.Rule{
	Code: "PG107", Name: "validate-in-same-transaction", Engine: ir.Postgres, Severity: rules.Error,
	Doc: rules.Doc{
		Title: "VALIDATE CONSTRAINT in the same transaction as its ADD ... NOT VALID",
		Why: "NOT VALID exists so that the validating scan runs without the ACCESS EXCLUSIVE (or, for foreign keys, " +
			"SHARE ROW EXCLUSIVE) lock that ADD CONSTRAINT takes. In the same transaction that lock is still held " +
			"through the scan, so reads (or writes) block exactly as without NOT VALID.",
		Bad: "BEGIN;\nALTER TABLE orders ADD CONSTRAINT c CHECK (total > 0) NOT VALID;\nALTER TABLE orders VALIDATE CONSTRAINT c;\nCOMMIT;",
		Good: "Commit the ADD ... NOT VALID first, and VALIDATE in a separate migration (a separate transaction). " +
			"With drizzle, whose migrator applies every pending migration in one transaction, a separate file is not " +
			"enough while both are pending: deploy the ADD first (reported across files there, checked with drizzle-orm's own migrator).",
		Versions: "All supported versions.",
	},
	Check: func(p *rules.Pass) {
		rules.AlterCmds(p, func(table ir.QName, v ir.ValidateConstraint) {
			added, earlier := addedNotValidInTx(p, table, v.Name), ""
			if added == nil && p.Stmt.InTx {
				// An earlier file of the same transaction added it.
				if k := p.Catalog.NotValidInTx(table, v.Name); k != nil {
					added = &ir.AddConstraint{Constraint: k.Constraint}
					earlier = " (in an earlier migration: drizzle's migrator applies every pending migration in one transaction)"
				}
			}
			if added == nil {
				return
			}
			t := p.Catalog.Table(table)
			k := added.Constraint
			msg := fmt.Sprintf("VALIDATE CONSTRAINT %q runs in the same transaction as its ADD ... NOT VALID%s: the lock taken by the ADD is held through the validating scan", v.Name, earlier)
			step := migration(p, "validate in a separate migration, after the ADD ... NOT VALID has committed",
				fmt.Sprintf("ALTER TABLE %s VALIDATE CONSTRAINT %s;", sqlgen.Name(table), sqlgen.Ident(v.Name)),
				// Validation cannot be undone in place: re-adding the
				// constraint NOT VALID restores the state before it.
				withLockTimeout(p, sqlgen.DropConstraint(table, k.Name)+"\n"+sqlgen.AddConstraint(table, k, true)), "SHARE UPDATE EXCLUSIVE", false)
			step.SeparateDeploy = true
			if earlier != "" {
				step.Note = "A later migration file is not enough while both are pending: drizzle applies them together. " +
					"Deploy (migrate) the ADD ... NOT VALID first, and add this migration in a later deploy."
			}
			if t == nil {
				step.Rollback = ""
			}
			// The lock the ADD took, or a stronger one an earlier statement
			// of the transaction holds, lasts through the scan.
			lock := rules.AccessExclusive
			if held, _ := heldInTx(p); k.Kind == ir.ForeignKey && !slices.Contains(held, table) && !createdInTx(p, table) {
				lock = rules.ShareRowExclusive
			}
			p.Report(msg, &rules.Plan{Title: "validate in its own transaction", Steps: []rules.Step{step}}).
				Claims(rules.HeldBy(lock, table).Scanning())
		})
	},
}

// createdInTx reports whether the table was created earlier in the pass's
// transaction (its CREATE TABLE holds ACCESS EXCLUSIVE until commit).
func createdInTx(p *rules.Pass, table ir.QName) bool {
	if !p.Stmt.InTx {
		return false
	}
	created, inTx := false, p.TxOps()
	p.OnTable(table, func(ref rules.OpRef, rel int) bool {
		if rel >= 0 {
			return true
		}
		if _, ok := ref.Op.(ir.CreateTable); ok && -rel <= inTx {
			created = true
		}
		return false
	})
	return created
}

// addedNotValidInTx finds the ADD CONSTRAINT ... NOT VALID of the named
// constraint earlier in the same transaction as the pass's statement.
func addedNotValidInTx(p *rules.Pass, table ir.QName, name string) *ir.AddConstraint {
	if !p.Stmt.InTx {
		return nil
	}
	var found *ir.AddConstraint
	inTx := p.TxOps()
	p.OnTable(table, func(ref rules.OpRef, rel int) bool {
		if rel >= 0 {
			return true
		}
		if o, ok := ref.Op.(ir.AlterTable); ok && -rel <= inTx {
			for _, cmd := range o.Cmds {
				if a, ok := cmd.(ir.AddConstraint); ok && a.Constraint.Name == name && a.Constraint.NotValid {
					found = &a
				}
			}
		}
		return false
	})
	return found
}

var addUniqueOrPK = &rules.Rule{
	Code: "PG108", Name: "add-unique-constraint-without-index", Engine: ir.Postgres, Severity: rules.Error, Sized: true,
	Doc: rules.Doc{
		Title: "ADD UNIQUE or PRIMARY KEY constraint on an existing table without USING INDEX",
		Why: "ADD CONSTRAINT ... UNIQUE / PRIMARY KEY builds its index while holding an ACCESS EXCLUSIVE lock: " +
			"reads and writes block for the whole build. A PRIMARY KEY also sets its columns NOT NULL, which scans " +
			"the table under the same lock when they are nullable.",
		Bad: "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);",
		Good: "CREATE UNIQUE INDEX CONCURRENTLY (outside a transaction), then ADD CONSTRAINT ... UNIQUE USING INDEX, " +
			"which only takes a brief lock. For a PRIMARY KEY, first make nullable columns NOT NULL through a " +
			"validated CHECK (col IS NOT NULL), or USING INDEX scans the table under ACCESS EXCLUSIVE.",
		Versions: "All supported versions; the NOT NULL steps skip their scan on PostgreSQL 12+. UNIQUE written inside ADD COLUMN builds its index the same way (plan: add the column plain, then the index concurrently); PRIMARY KEY inside ADD COLUMN fails on a table with rows (SQLSTATE 23502 without a default, 23505 with one).",
	},
	Check: func(p *rules.Pass) {
		inlineConstraints(p, ir.Unique, func(table ir.QName, col ir.ColumnDef, k ir.Constraint) {
			msg := fmt.Sprintf("ADD COLUMN %q UNIQUE on existing table %s builds its index under an ACCESS EXCLUSIVE lock: reads and writes block until the build ends",
				col.Name, tableLabel(table))
			steps := append([]rules.Step{addBareColumn(p, table, col)}, uniqueViaIndexPlan(p, table, k).Steps...)
			p.Report(msg, &rules.Plan{Title: "add the column plain, then its unique index concurrently, then the constraint using it", Steps: steps}).
				Claims(rules.Takes(rules.AccessExclusive, table).Scanning())
		})
		inlineConstraints(p, ir.PrimaryKey, func(table ir.QName, col ir.ColumnDef, k ir.Constraint) {
			why, state := "every existing row gets NULL in it, and a key cannot be NULL", "23502"
			if col.Default != nil && col.Default.SQL != "NULL" {
				why, state = "every existing row gets the same default, and a key must be unique", "23505"
			}
			msg := fmt.Sprintf("ADD COLUMN %q PRIMARY KEY on existing table %s fails if the table has rows (SQLSTATE %s): %s. Add the column, fill it with unique values in batches, then add the key USING INDEX",
				col.Name, tableLabel(table), state, why)
			p.Report(msg, nil).Claims(rules.Fails(state, table))
		})
		rules.AlterCmds(p, func(table ir.QName, a ir.AddConstraint) {
			k := a.Constraint
			if k.Kind == ir.PrimaryKey && k.UsingIndex != "" {
				primaryKeyUsingIndex(p, table, k)
				return
			}
			if (k.Kind != ir.Unique && k.Kind != ir.PrimaryKey) || k.UsingIndex != "" || k.Kind == ir.PrimaryKey && hasPrimaryKey(p, table) {
				return // (a second primary key fails: PG120)
			}
			msg := fmt.Sprintf("ADD CONSTRAINT %q %s on existing table %s builds its index under an ACCESS EXCLUSIVE lock: reads and writes block until the build ends",
				k.Name, strings.ToUpper(string(k.Kind)), tableLabel(table))
			p.Report(msg, uniqueViaIndexPlan(p, table, k)).Claims(rules.Takes(rules.AccessExclusive, table).Scanning())
		})
	},
}

// uniqueViaIndexPlan builds the unique index concurrently and attaches it.
func uniqueViaIndexPlan(p *rules.Pass, table ir.QName, k ir.Constraint) *rules.Plan {
	def := ir.IndexDef{Name: k.Name, Table: table, Unique: true, Columns: k.Columns}
	steps := buildIndexPlan(p, def).Steps
	var note string
	if k.Kind == ir.PrimaryKey {
		t := p.Catalog.Table(table)
		for _, name := range k.Columns {
			var col *catalog.Column
			if t != nil {
				col = t.Column(name)
			}
			switch {
			case col == nil:
				note = rules.JoinNotes(note, fmt.Sprintf("Whether %s is nullable is not in the migrations fluxlint read: if it is, make it NOT NULL first (see fluxlint explain PG104), or attaching the key scans the table under ACCESS EXCLUSIVE.", name))
			case !col.NotNull:
				steps = append(steps, notNullSteps(p, table, name)...)
			}
		}
	}
	kind := "UNIQUE"
	if k.Kind == ir.PrimaryKey {
		kind = "PRIMARY KEY"
	}
	attach := migration(p, fmt.Sprintf("attach the index as the %s constraint (brief lock)", kind),
		withLockTimeout(p, fmt.Sprintf("ALTER TABLE %s ADD CONSTRAINT %s %s USING INDEX %s;", sqlgen.Name(table), sqlgen.Ident(k.Name), kind, sqlgen.Ident(k.Name))),
		withLockTimeout(p, sqlgen.DropConstraint(table, k.Name)), "ACCESS EXCLUSIVE", false)
	attach.Note = rules.JoinNotes(note, "The rollback drops the constraint and, with it, its index.")
	return &rules.Plan{Title: fmt.Sprintf("build the unique index concurrently, then attach it as the %s constraint", kind), Steps: append(steps, attach)}
}

var foreignKeyWithoutIndex = &rules.Rule{
	Code: "PG109", Name: "foreign-key-without-index", Engine: ir.Postgres, Severity: rules.Warning,
	Doc: rules.Doc{
		Title: "foreign key whose referencing columns have no index",
		Why: "Every DELETE on the referenced table, and every UPDATE of its key, looks up the referencing rows: " +
			"without an index on the referencing columns that is a scan of the whole referencing table, under row " +
			"locks, for each parent row.",
		Bad:      "ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;",
		Good:     "CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_user_id_idx ON orders (user_id); in its own migration, outside a transaction.",
		Versions: "All supported versions. An index created later in the same file counts.",
	},
	Check: func(p *rules.Pass) {
		var table ir.QName
		var fks []ir.Constraint
		switch op := p.Op.(type) {
		case ir.CreateTable:
			table = op.Table
			for _, c := range op.Columns {
				fks = append(fks, foreignKeys(c.Constraints)...)
			}
			fks = append(fks, foreignKeys(op.Constraints)...)
		case ir.AlterTable:
			table = op.Table
			for _, cmd := range op.Cmds {
				switch c := cmd.(type) {
				case ir.AddConstraint:
					fks = append(fks, foreignKeys([]ir.Constraint{c.Constraint})...)
				case ir.AddColumn:
					fks = append(fks, foreignKeys(c.Column.Constraints)...)
				}
			}
		}
		for _, fk := range fks {
			if indexed(p, table, fk.Columns) {
				continue
			}
			def := ir.IndexDef{Name: pgIndexName(table.Name, fk.Columns), Table: table, Columns: fk.Columns}
			msg := fmt.Sprintf("foreign key %q has no index on %s(%s): every delete from %s scans %s", fk.Name, tableLabel(table),
				strings.Join(fk.Columns, ", "), tableLabel(fk.RefTable), tableLabel(table))
			plan := buildIndexPlan(p, def)
			plan.Title = "index the referencing columns"
			plan.KeepsStatement = true
			p.Report(msg, plan).Claims(rules.ScannedOnDelete(table, fk.RefTable))
		}
	},
}

func pgIndexName(table string, columns []string) string {
	name := table + "_" + strings.Join(columns, "_") + "_idx"
	if len(name) > 63 {
		name = name[:63]
	}
	return name
}

// indexed reports whether an index (or primary key or unique constraint)
// leads with exactly these columns, now or created later in the same file.
func indexed(p *rules.Pass, table ir.QName, cols []string) bool {
	leads := func(idx []string) bool {
		if len(idx) < len(cols) {
			return false
		}
		lead := slices.Clone(idx[:len(cols)])
		want := slices.Clone(cols)
		slices.Sort(lead)
		slices.Sort(want)
		return slices.Equal(lead, want)
	}
	for _, i := range p.Catalog.IndexesOn(table) {
		if len(i.Def.Elems) == len(i.Def.Columns) || len(i.Def.Elems) == 0 {
			if leads(i.Def.Columns) {
				return true
			}
		}
	}
	found := false
	p.OnTable(table, func(ref rules.OpRef, rel int) bool {
		if rel < 0 {
			return false
		}
		switch o := ref.Op.(type) {
		case ir.CreateIndex:
			found = leads(o.Index.Columns)
		case ir.CreateTable:
			for _, k := range append(slices.Clone(o.Constraints), columnConstraints(o.Columns)...) {
				if (k.Kind == ir.PrimaryKey || k.Kind == ir.Unique) && leads(k.Columns) {
					found = true
				}
			}
		case ir.AlterTable:
			for _, cmd := range o.Cmds {
				if a, ok := cmd.(ir.AddConstraint); ok && catalog.Resolve(o.Table) == catalog.Resolve(table) &&
					(a.Constraint.Kind == ir.PrimaryKey || a.Constraint.Kind == ir.Unique) && leads(a.Constraint.Columns) {
					found = true
				}
			}
		}
		return found
	})
	return found
}

func columnConstraints(cols []ir.ColumnDef) []ir.Constraint {
	var out []ir.Constraint
	for _, c := range cols {
		out = append(out, c.Constraints...)
	}
	return out
}
