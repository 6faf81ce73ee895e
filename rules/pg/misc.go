package pg

import (
	"fmt"
	"slices"

	"github.com/fluxlint/fluxlint/analyzers/ir"
	pganalyzer "github.com/fluxlint/fluxlint/analyzers/pg"
	"github.com/fluxlint/fluxlint/rules"
	"github.com/fluxlint/fluxlint/rules/sqlgen"
)

var enumAddValue = &rules.Rule{
	Code: "PG116", Name: "enum-add-value-in-transaction", Engine: ir.Postgres, Severity: rules.Error,
	Doc: rules.Doc{
		Title: "ALTER TYPE ... ADD VALUE inside a transaction before PostgreSQL 12, or used in the same transaction",
		Why: "Before PostgreSQL 12, ALTER TYPE ... ADD VALUE cannot run inside a transaction block (SQLSTATE 25001). " +
			"On every version, the new value cannot be used until the transaction that added it commits: a statement " +
			"in the same transaction that uses it fails with SQLSTATE 55P04, and the migration with it.",
		Bad:      "BEGIN;\nALTER TYPE mood ADD VALUE 'happy';\nUPDATE users SET mood = 'happy' WHERE ...;\nCOMMIT;",
		Good:     "Add the value in its own migration, committed before any migration that uses it (outside a transaction before PostgreSQL 12). Enum values cannot be removed: there is no rollback.",
		Versions: "ADD VALUE runs inside a transaction from PostgreSQL 12; the new value stays unusable until commit on every version, except, from PostgreSQL 17, in the transaction that created the type.",
	},
	Check: func(p *rules.Pass) {
		op, ok := p.Op.(ir.AddEnumValue)
		if !ok || !p.Stmt.InTx {
			return
		}
		var msg string
		var claim *rules.Claim
		newType := enumNewInTx(p, op.Name)
		switch {
		case p.Version < 12:
			msg = fmt.Sprintf("ALTER TYPE %s ADD VALUE cannot run inside a transaction block on PostgreSQL %d, and %s: the migration fails with SQLSTATE 25001", op.Name, p.Version, txWhy(p))
			claim = rules.Fails("25001", op.Name)
		case usedLaterInTx(p, op.Value) && (p.Version < 17 || !newType):
			msg = fmt.Sprintf("the new value %q of type %s is used later in the same transaction, before the ADD VALUE commits: that statement fails with SQLSTATE 55P04", op.Value, op.Name)
			claim = rules.FailsLater("55P04", op.Name)
		default:
			return
		}
		step := migration(p, "add the value in its own migration, committed before anything uses it",
			fmt.Sprintf("ALTER TYPE %s ADD VALUE IF NOT EXISTS %s;", sqlgen.Name(op.Name), sqlgen.Literal(op.Value)), "", "EXCLUSIVE on the type", p.Version < 12)
		step.SeparateDeploy, step.Irreversible = true, true
		step.Note = rules.JoinNotes(step.Note, "Enum values cannot be removed, so there is no rollback; an unused value is harmless.")
		if newType {
			step.Note = rules.JoinNotes(step.Note, fmt.Sprintf("%s is created in this transaction: listing %s in its CREATE TYPE instead needs no migration of its own.", op.Name, sqlgen.Literal(op.Value)))
		}
		p.Report(msg, &rules.Plan{Title: "commit the new value first", Steps: []rules.Step{step}}).Claims(claim)
	},
}

// enumNewInTx reports whether the enum type was created earlier in the
// pass's transaction. From PostgreSQL 17 that transaction may use the
// values it adds to the type; 15 refuses them too, as the truth test shows.
func enumNewInTx(p *rules.Pass, name ir.QName) bool {
	created, _ := p.Fold("enums-new-in-tx", func(acc any, ref rules.OpRef) any {
		if _, ok := ref.Op.(ir.TxControl); ok || !ref.Stmt.InTx {
			return nil
		}
		set, _ := acc.([]ir.QName)
		if e, ok := ref.Op.(ir.CreateEnum); ok {
			set = append(slices.Clone(set), e.Name)
		}
		return set
	}).([]ir.QName)
	return slices.ContainsFunc(created, func(q ir.QName) bool { return p.Catalog.Same(q, name) })
}

// usedLaterInTx reports whether a later statement of the same transaction
// uses value as a string constant.
func usedLaterInTx(p *rules.Pass, value string) bool {
	after := false
	for _, s := range p.File.Stmts {
		if s == p.Stmt {
			after = true
			continue
		}
		if !after || s.Down != p.Stmt.Down {
			continue
		}
		if s.IsTxControl() || !s.InTx {
			return false // the transaction ended
		}
		if slices.Contains(pganalyzer.StringLiterals(s.Text), value) {
			return true
		}
	}
	return false
}

var excludeConstraint = &rules.Rule{
	Code: "PG117", Name: "exclude-constraint", Engine: ir.Postgres, Severity: rules.Error, Sized: true,
	Doc: rules.Doc{
		Title: "ADD CONSTRAINT ... EXCLUDE on an existing table",
		Why: "An exclusion constraint builds its index under an ACCESS EXCLUSIVE lock: reads and writes block for the " +
			"whole build. Unlike UNIQUE, it cannot be attached to an index built CONCURRENTLY (no USING INDEX), and " +
			"unlike CHECK it has no NOT VALID form: there is no safe online path.",
		Bad:  "ALTER TABLE bookings ADD CONSTRAINT no_overlap EXCLUDE USING gist (room WITH =, during WITH &&);",
		Good: "Add it when the table is created, or at a quiet time on a small table. For a large live table, enforce the rule in a new table created with the constraint and move the rows over in batches.",
	},
	Check: func(p *rules.Pass) {
		rules.AlterCmds(p, func(table ir.QName, a ir.AddConstraint) {
			if a.Constraint.Kind != ir.Exclude {
				return
			}
			p.Report(fmt.Sprintf("ADD CONSTRAINT %q EXCLUDE on existing table %s builds its index under an ACCESS EXCLUSIVE lock, and there is no safe online path: no CONCURRENTLY, no USING INDEX, no NOT VALID", a.Constraint.Name, tableLabel(table)), nil).
				Claims(rules.Takes(rules.AccessExclusive, table).Scanning())
		})
	},
}

var setLogged = &rules.Rule{
	Code: "PG205", Name: "set-logged-or-unlogged", Engine: ir.Postgres, Severity: rules.Error, Sized: true,
	Doc: rules.Doc{
		Title: "ALTER TABLE ... SET LOGGED or SET UNLOGGED on an existing table",
		Why: "Both rewrite the whole table and its indexes under an ACCESS EXCLUSIVE lock: reads and writes block " +
			"until the rewrite ends. SET LOGGED also writes the whole table to the WAL.",
		Bad:  "ALTER TABLE events SET UNLOGGED;",
		Good: "There is no online way to change it in place. Create the new table with the wanted persistence and move the rows over in batches, or run it at a quiet time.",
	},
	Check: func(p *rules.Pass) {
		rules.AlterCmds(p, func(table ir.QName, o ir.OtherAlter) {
			if o.Kind != "SetLogged" && o.Kind != "SetUnLogged" {
				return
			}
			what := map[string]string{"SetLogged": "SET LOGGED", "SetUnLogged": "SET UNLOGGED"}[o.Kind]
			p.Report(fmt.Sprintf("%s rewrites existing table %s under an ACCESS EXCLUSIVE lock, and there is no online way to do it in place", what, tableLabel(table)), nil).
				Claims(rules.Takes(rules.AccessExclusive, table).Rewriting())
		})
	},
}

var strongLocks = &rules.Rule{
	Code: "PG118", Name: "several-strong-locks-in-transaction", Engine: ir.Postgres, Severity: rules.Warning,
	Doc: rules.Doc{
		Title: "ACCESS EXCLUSIVE locks on several existing tables in one transaction",
		Why: "Each lock is held until the transaction commits. While the migration waits for the lock on the " +
			"second table (behind a long transaction, say), it already holds the first: traffic on both tables " +
			"queues, and the order of locks invites deadlocks with the application.",
		Bad: "BEGIN;\nALTER TABLE users ADD COLUMN a int;\nALTER TABLE orders ADD COLUMN b int;\nCOMMIT;",
		Good: "Put the changes to each table in its own migration (its own transaction), each with lock_timeout set. " +
			"Where the tool applies every pending migration in one transaction (drizzle's migrator), separate files are not enough: " +
			"the locks an earlier pending file took are still held, and this check counts them: deploy such changes apart.",
	},
	Check: func(p *rules.Pass) {
		table, ok := accessExclusiveIn(p.Catalog, p.Op)
		if !ok || !p.Stmt.InTx || !p.Existing(table) {
			return
		}
		held, earlier := heldInTx(p)
		switch {
		case len(held) == 0, slices.Contains(held, table):
			return
		case len(held) > 1:
			return // reported at the second table already
		}
		where := ""
		if earlier > 0 {
			where = fmt.Sprintf(" (taken in an earlier pending migration: %s applies them all in one transaction)", p.File.Tool)
		}
		p.Report(fmt.Sprintf("this transaction already holds an ACCESS EXCLUSIVE lock on %s%s while it takes one on %s: waiting for the second lock blocks traffic on both, until commit",
			tableLabel(held[0]), where, tableLabel(table)), nil).Claims(rules.HeldBy(rules.AccessExclusive, held[0]))
	},
}
