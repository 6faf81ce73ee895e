package pg

import (
	"fmt"
	"slices"
	"strings"

	"github.com/fluxlint/fluxlint/analyzers/catalog"
	"github.com/fluxlint/fluxlint/analyzers/ir"
	"github.com/fluxlint/fluxlint/analyzers/migrations"
	"github.com/fluxlint/fluxlint/rules"
	"github.com/fluxlint/fluxlint/rules/sqlgen"
)

const invalidIndexNote = "If the build fails or is cancelled (deadlock, a unique violation, lock_timeout, a restart), " +
	"PostgreSQL leaves an INVALID index behind: it is maintained on every write but never used, and " +
	"IF NOT EXISTS will silently skip it on a retry. Check the index is valid; if it is not, " +
	"run the rollback (DROP INDEX CONCURRENTLY IF EXISTS) and run this step again."

var createIndex = &rules.Rule{
	Code: "PG101", Name: "require-concurrent-index-creation", Engine: ir.Postgres, Severity: rules.Error, Sized: true,
	Doc: rules.Doc{
		Title: "CREATE INDEX without CONCURRENTLY on an existing table",
		Why: "CREATE INDEX takes a SHARE lock on the table for the whole build: reads continue, but every " +
			"INSERT, UPDATE and DELETE waits until the index is built, minutes on a large table. " +
			"CREATE INDEX CONCURRENTLY takes SHARE UPDATE EXCLUSIVE instead, which lets writes continue, " +
			"at the price of two table scans and running outside a transaction. After an earlier statement of the " +
			"same transaction took ACCESS EXCLUSIVE on the table (an ALTER TABLE, a DROP INDEX), that lock lasts " +
			"through the build: reads block too.",
		Bad:      "CREATE INDEX users_email_idx ON users (email);",
		Good:     "In its own migration, outside a transaction:\nCREATE INDEX CONCURRENTLY IF NOT EXISTS users_email_idx ON users (email);\nthen confirm pg_index.indisvalid is true. " + invalidIndexNote,
		Versions: "All supported versions. Tables created in the same change set are exempt: they hold no rows yet.",
	},
	Check: func(p *rules.Pass) {
		op, ok := p.Op.(ir.CreateIndex)
		if !ok || op.Concurrently || op.Only || !p.Existing(op.Index.Table) {
			return
		}
		if op.IfNotExists && p.Catalog.Index(ir.QName{Schema: op.Index.Table.Schema, Name: op.Index.Name}) != nil {
			return // the index exists: the statement does nothing
		}
		kind := "CREATE INDEX"
		if op.Index.Unique {
			kind = "CREATE UNIQUE INDEX"
		}
		msg := fmt.Sprintf("%s on existing table %s takes a SHARE lock: writes block until the build ends", kind, tableLabel(op.Index.Table))
		claim := rules.Takes(rules.Share, op.Index.Table).Scanning()
		if held, _ := heldInTx(p); slices.Contains(held, op.Index.Table) {
			// An earlier statement's lock lasts through the build.
			msg += "; and this transaction already holds an ACCESS EXCLUSIVE lock on it, so reads block too, for the whole build"
			claim = rules.HeldBy(rules.AccessExclusive, op.Index.Table).Scanning()
		}
		p.Report(msg, buildIndexPlan(p, op.Index)).Claims(claim)
	},
}

// buildIndexPlan builds an index concurrently and checks it is valid; on a
// partitioned table, where CONCURRENTLY is refused, partition by partition.
func buildIndexPlan(p *rules.Pass, def ir.IndexDef) *rules.Plan {
	if t := p.Catalog.Table(def.Table); t != nil && t.PartitionBy != nil {
		return partitionedIndexPlan(p, def)
	}
	index := sqlgen.Sibling(def.Table, def.Name)
	build := migration(p, "build the index concurrently, in its own migration outside a transaction",
		sqlgen.CreateIndex(def, true), sqlgen.DropIndex(index, true), "SHARE UPDATE EXCLUSIVE", true)
	build.Note = rules.JoinNotes(rules.JoinNotes(invalidIndexNote, version14Note(p)), build.Note)
	if def.Unique {
		build.Note = rules.JoinNotes(build.Note, "A duplicate value already in the table, or written during the build, makes the build fail and leaves the index INVALID.")
	}
	check := rules.Step{Kind: rules.StepCheckpoint, Title: "confirm the index is valid before relying on it",
		Forward: sqlgen.IndexValid(index), Expect: "true", Note: "If it returns false, roll back step 1 and run it again."}
	return &rules.Plan{Title: "build the index without blocking writes", Steps: []rules.Step{build, check}}
}

// partitionedIndexPlan builds an index on a partitioned table without
// blocking writes: the parent's index ON ONLY the parent (invalid, no
// build), each partition's index concurrently, each attached to it; the
// parent's index is valid once every partition's is attached.
func partitionedIndexPlan(p *rules.Pass, def ir.IndexDef) *rules.Plan {
	parent := sqlgen.Sibling(def.Table, def.Name)
	only := sqlgen.CreateIndex(def, false)
	only = strings.Replace(only, " ON "+sqlgen.Name(def.Table), " ON ONLY "+sqlgen.Name(def.Table), 1)
	dropParent := withLockTimeout(p, sqlgen.DropIndex(parent, false))
	steps := []rules.Step{migration(p, "create the index on the parent only: no build, it stays invalid until every partition's index is attached",
		withLockTimeout(p, only), dropParent, "SHARE on the parent, briefly", false)}
	parts := p.Catalog.Partitions(def.Table)
	for _, part := range parts {
		pdef := def
		pdef.Table = part.Name
		// PostgreSQL's own name for a partition's index, where it is known
		// (plain columns); else one after the parent's index.
		pdef.Name = pgIndexName(part.Name.Name, def.Columns)
		if len(def.Elems) > 0 && len(def.Elems) != len(def.Columns) {
			pdef.Name = suffixed(part.Name.Name+"_"+def.Name, "")
		}
		pidx := sqlgen.Sibling(part.Name, pdef.Name)
		build := migration(p, fmt.Sprintf("build the index on partition %s concurrently, outside a transaction", part.Name),
			sqlgen.CreateIndex(pdef, true), sqlgen.DropIndex(pidx, true), "SHARE UPDATE EXCLUSIVE on "+part.Name.String(), true)
		build.Note = invalidIndexNote
		attach := migration(p, "attach it to the parent's index",
			fmt.Sprintf("ALTER INDEX %s ATTACH PARTITION %s;", sqlgen.Name(parent), sqlgen.Name(pidx)),
			// An attached index cannot be detached: dropping the parent's
			// index drops every index attached to it.
			dropParent+"\n"+withLockTimeout(p, only), "brief catalog lock", false)
		attach.Note = "Rolling back an attach drops the parent's index with every partition index attached so far, and creates the parent's index afresh."
		steps = append(steps, build, attach)
	}
	// Partitions made by a function, pg_partman or the application are
	// on the server but not in the migrations.
	suffix := pgIndexName("", def.Columns) // "_col_idx", as PostgreSQL names them
	if len(def.Elems) > 0 && len(def.Elems) != len(def.Columns) || len(suffix) > 40 {
		suffix = "_" + def.Name[:min(len(def.Name), 40)]
	}
	others := migration(p, "build and attach the index on every partition the migrations do not name, if any",
		withLockTimeout(p, sqlgen.IndexOtherPartitions(def, parent, suffix)), dropParent+"\n"+withLockTimeout(p, only),
		"SHARE on each partition the migrations do not name, while its index builds (none when they name them all)", false)
	others.Note = "Partitions created by a function, pg_partman or the application exist on the server but not in the migrations, so no step above builds their index. A DO block cannot build concurrently: to avoid blocking writes to them, build their indexes with CREATE INDEX CONCURRENTLY and attach them before this step, which then finds nothing to do."
	steps = append(steps, others)
	check := rules.Step{Kind: rules.StepCheckpoint, Title: "confirm the parent's index is valid: every partition has its index attached",
		Forward: sqlgen.IndexValid(parent), Expect: "true", Note: "If it returns false, a partition lacks its index (one created after the plan was written, say): build and attach it as above."}
	return &rules.Plan{Title: "build the index partition by partition without blocking writes", Steps: append(steps, check)}
}

// concurrentDrops drops each index concurrently, one statement each, with
// the index recreated concurrently on rollback where its definition is known.
func concurrentDrops(p *rules.Pass, names []ir.QName, where string) []rules.Step {
	var steps []rules.Step
	for _, name := range names {
		rollback := ""
		if _, idx := ownerTable(p.Catalog, name); idx != nil {
			rollback = sqlgen.CreateIndex(idx.Def, true)
		}
		steps = append(steps, migration(p, fmt.Sprintf("drop index %s concurrently, %s", name, where),
			sqlgen.DropIndex(name, true), rollback, "SHARE UPDATE EXCLUSIVE", true))
	}
	return steps
}

// txWhy says why the statement runs inside a transaction, in the terms of
// the file's migration tool.
func txWhy(p *rules.Pass) string {
	if p.BeganBefore() {
		return "an explicit BEGIN earlier in the file opened one"
	}
	switch p.File.Tool {
	case migrations.GolangMigrate, migrations.Prisma:
		return fmt.Sprintf("%s sends the file as one multi-statement query, which PostgreSQL runs as one transaction", p.File.Tool)
	case migrations.Flyway:
		return "Flyway runs this script in a transaction, not knowing the statement as one that must run outside one (executeInTransaction=false in the script's .conf runs it outside)"
	case migrations.Goose:
		return "goose runs this file in a transaction (no -- +goose NO TRANSACTION)"
	case migrations.Dbmate:
		return "dbmate runs this section in a transaction (no transaction:false)"
	}
	return fmt.Sprintf("%s runs this file in a transaction", p.File.Tool)
}

var dropIndex = &rules.Rule{
	Code: "PG102", Name: "require-concurrent-index-deletion", Engine: ir.Postgres, Severity: rules.Warning, Sized: true,
	Doc: rules.Doc{
		Title: "DROP INDEX without CONCURRENTLY on an existing table",
		Why: "DROP INDEX takes an ACCESS EXCLUSIVE lock on the index's table. The drop itself is quick, but the " +
			"lock request waits behind any running query on the table, and every query that arrives meanwhile " +
			"queues behind it: reads and writes stall. DROP INDEX CONCURRENTLY waits without blocking them.",
		Bad:      "DROP INDEX users_email_idx;",
		Good:     "In its own migration, outside a transaction:\nDROP INDEX CONCURRENTLY IF EXISTS users_email_idx;\nCONCURRENTLY drops one index per statement and does not take CASCADE. A partitioned table's index cannot be dropped concurrently (SQLSTATE 0A000): drop it under a short lock_timeout, which is then no finding.",
		Versions: "All supported versions.",
	},
	Check: func(p *rules.Pass) {
		op, ok := p.Op.(ir.Drop)
		if !ok || op.Kind != ir.KindIndex || op.Concurrently {
			return
		}
		var steps []rules.Step
		var names []string
		var claim *rules.Claim
		for _, name := range op.Names {
			table, idx := ownerTable(p.Catalog, name)
			if idx != nil && (p.Catalog.IsNewIndex(name) || !p.Existing(table)) {
				continue
			}
			if idx != nil && claim == nil {
				claim = rules.Takes(rules.AccessExclusive, table)
			}
			if idx != nil && partitioned(p.Catalog, table) {
				// No concurrent drop exists: under a short lock_timeout
				// the statement is as good as it gets.
				if !lockTimeoutSet(p) {
					names = append(names, fmt.Sprintf("%q", name.String()))
					steps = append(steps, partitionedDrop(p, name, idx))
				}
				continue
			}
			names = append(names, fmt.Sprintf("%q", name.String()))
			rollback := ""
			step := migration(p, fmt.Sprintf("drop index %s concurrently, in its own migration outside a transaction", name), sqlgen.DropIndex(name, true), "", "SHARE UPDATE EXCLUSIVE", true)
			if idx != nil {
				rollback = sqlgen.CreateIndex(idx.Def, true)
				step = migration(p, step.Title, step.Forward, rollback, step.Lock, true)
				if idx.Constraint != "" {
					step.Note = rules.JoinNotes(step.Note, fmt.Sprintf("The index backs constraint %q: drop the constraint instead (ALTER TABLE ... DROP CONSTRAINT), which PostgreSQL requires.", idx.Constraint))
				}
			} else {
				step.Note = rules.JoinNotes(step.Note, "The index's definition is not in the migrations fluxlint read, so the rollback cannot recreate it: copy it from pg_indexes before dropping.")
			}
			steps = append(steps, step)
		}
		if len(steps) == 0 {
			return
		}
		msg := fmt.Sprintf("DROP INDEX %s takes an ACCESS EXCLUSIVE lock on its table: queries queue behind it while it waits", joinList(names))
		p.Report(msg, &rules.Plan{Title: "drop the index without blocking queries", Steps: steps}).Claims(claim)
	},
}

// partitioned reports whether table is a partitioned table.
func partitioned(c *catalog.Catalog, table ir.QName) bool {
	t := c.Table(table)
	return t != nil && t.PartitionBy != nil
}

// partitionedDrop drops a partitioned table's index, which PostgreSQL
// cannot drop concurrently (SQLSTATE 0A000): with a short lock_timeout,
// since the lock is brief once granted (the drop is a catalog change and
// unlinked files) but queues every query on the table and its partitions
// while it waits.
func partitionedDrop(p *rules.Pass, name ir.QName, idx *catalog.Index) rules.Step {
	step := migration(p, fmt.Sprintf("drop index %s with a short lock_timeout (a partitioned table's index cannot be dropped concurrently)", name),
		withLockTimeout(p, sqlgen.DropIndex(name, false)), withLockTimeout(p, sqlgen.CreateIndex(idx.Def, false)), "ACCESS EXCLUSIVE on the table and its partitions", false)
	step.Note = "DROP INDEX CONCURRENTLY fails on a partitioned table's index (SQLSTATE 0A000). The rollback builds the index again on every partition under a SHARE lock that blocks writes while it builds: run it at a quiet time, or rebuild it partition by partition (CREATE INDEX ... ON ONLY the table, CREATE INDEX CONCURRENTLY on each partition, ALTER INDEX ... ATTACH PARTITION)."
	if idx.Constraint != "" {
		step.Note = rules.JoinNotes(step.Note, fmt.Sprintf("The index backs constraint %q: drop the constraint instead (ALTER TABLE ... DROP CONSTRAINT), which PostgreSQL requires.", idx.Constraint))
	}
	return step
}

var concurrentlyInTx = &rules.Rule{
	Code: "PG103", Name: "concurrently-in-transaction", Engine: ir.Postgres, Severity: rules.Error,
	Doc: rules.Doc{
		Title: "CONCURRENTLY, VACUUM or another statement refused in a transaction block, inside one",
		Why: "CREATE INDEX CONCURRENTLY and DROP INDEX CONCURRENTLY cannot run inside a transaction block, nor can " +
			"REINDEX CONCURRENTLY, DETACH PARTITION CONCURRENTLY, VACUUM, CLUSTER without a table, CREATE and DROP " +
			"DATABASE or TABLESPACE, and ALTER SYSTEM: " +
			"PostgreSQL rejects them with SQLSTATE 25001 and the migration fails. Tools that wrap each file in a " +
			"transaction (goose and dbmate by default, diesel, drizzle, Flyway when the file mixes statements) " +
			"or send a multi-statement file as one query (golang-migrate, Prisma) put them in one.",
		Bad:      "-- +goose Up\nCREATE INDEX CONCURRENTLY users_email_idx ON users (email);",
		Good:     "-- +goose NO TRANSACTION\n-- +goose Up\nCREATE INDEX CONCURRENTLY IF NOT EXISTS users_email_idx ON users (email);\n\nFor golang-migrate and Prisma, put the statement alone in its own migration.",
		Versions: "All supported versions.",
	},
	Check: func(p *rules.Pass) {
		if !p.Stmt.InTx {
			return
		}
		what := ir.NoTxBlock(p.Op)
		if what == "" {
			return
		}
		msg := what + " cannot run inside a transaction block, and " + txWhy(p) + ": the migration fails with SQLSTATE 25001"
		plan := outsideTxPlan(p)
		if plan == nil {
			msg += "; run it in a migration of its own outside a transaction"
		}
		var table ir.QName // the table or index it is about, where it names one
		if names := ir.TablesOf(p.Op); len(names) > 0 {
			table = names[0]
		}
		p.Report(msg, plan).Claims(rules.Fails("25001", table))
	},
}

// outsideTxPlan moves the pass's statement, one that must run outside a
// transaction, to a migration of its own that runs outside one, where its
// rollback is known: nil for the statements on databases, tablespaces and
// the server's configuration, and for DETACH PARTITION (PG115 plans it).
func outsideTxPlan(p *rules.Pass) *rules.Plan {
	switch op := p.Op.(type) {
	case ir.CreateIndex:
		if op.Concurrently {
			return buildIndexPlan(p, op.Index)
		}
	case ir.Drop:
		if op.Kind == ir.KindIndex && op.Concurrently {
			return &rules.Plan{Title: "move the drop outside the transaction", Steps: concurrentDrops(p, op.Names, "in its own migration outside a transaction")}
		}
	}
	switch ir.NoTxBlock(p.Op) {
	case "REINDEX CONCURRENTLY", "VACUUM":
		// Neither changes the schema: nothing to undo.
		return &rules.Plan{Title: "move the statement outside the transaction", Steps: []rules.Step{
			migration(p, "in its own migration outside a transaction", p.Stmt.Text+";", "", "", true)}}
	}
	return nil
}

func joinList(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	out := items[0]
	for _, s := range items[1 : len(items)-1] {
		out += ", " + s
	}
	return out + " and " + items[len(items)-1]
}
