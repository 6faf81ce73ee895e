package pg

import (
	"fmt"
	"slices"
	"strings"

	"github.com/fluxlint/fluxlint/analyzers/catalog"
	"github.com/fluxlint/fluxlint/analyzers/ir"
	pganalyzer "github.com/fluxlint/fluxlint/analyzers/pg"
	"github.com/fluxlint/fluxlint/rules"
	"github.com/fluxlint/fluxlint/rules/sqlgen"
)

var dropTable = &rules.Rule{
	Code: "PG302", Name: "drop-table", Engine: ir.Postgres, Severity: rules.Warning, Destructive: true,
	WithRefs: rules.AttachRefs,
	Doc: rules.Doc{
		Title: "DROP TABLE (or VIEW, MATERIALIZED VIEW) on an existing one",
		Why: "Deployed code that still reads or writes the table fails the moment it is gone, and its data is lost: " +
			"a rollback can recreate the table but not its rows. The drop takes ACCESS EXCLUSIVE, and with CASCADE it " +
			"also drops foreign keys and views of other tables that depend on it. A view holds no data, but code " +
			"that reads it breaks just the same.",
		Bad:      "DROP TABLE legacy_events;",
		Good:     "First deploy code that no longer uses the table. Then drop it in a separate migration, the point of no return, with lock_timeout set.",
		Versions: "All supported versions.",
	},
	Check: func(p *rules.Pass) {
		op, ok := p.Op.(ir.Drop)
		if !ok || (op.Kind != ir.KindTable && op.Kind != ir.KindView && op.Kind != ir.KindMatView) {
			return
		}
		what := strings.ToUpper(string(op.Kind))
		for _, name := range op.Names {
			if !p.Existing(name) || op.Kind != ir.KindTable && viewReplaces(p, name, op.Kind == ir.KindMatView) || len(blockingViews(p, op, name)) > 0 {
				continue // a view dropped to be defined anew in the same migration, or a drop that fails (PG120)
			}
			msg := fmt.Sprintf("DROP %s %s deletes its data and breaks deployed code that still uses it", what, tableLabel(name))
			if op.Kind == ir.KindView {
				msg = fmt.Sprintf("DROP VIEW %s breaks deployed code that still reads it", tableLabel(name))
			}
			if op.Cascade {
				msg += "; CASCADE also drops the foreign keys and views that depend on it"
			}
			if op.IfExists && p.Catalog.Table(name) == nil {
				// Made before the migrations began, or by hand: it may be
				// there, and then all of the above holds.
				msg += " (if it exists: no migration fluxlint read creates it)"
			}
			deploy := rules.Step{Kind: rules.StepCodeDeploy, SeparateDeploy: true,
				Title: fmt.Sprintf("deploy code that no longer reads or writes %s", name)}
			if op.Kind != ir.KindTable {
				deploy.Title = fmt.Sprintf("deploy code that no longer reads %s", name)
			}
			cascade := ""
			if op.Cascade {
				cascade = " CASCADE"
			}
			title := "drop the table: the point of no return"
			if op.Kind != ir.KindTable {
				title = fmt.Sprintf("drop the %s", op.Kind)
			}
			drop := migration(p, title,
				withLockTimeout(p, fmt.Sprintf("DROP %s IF EXISTS %s%s;", what, sqlgen.Name(name), cascade)), "", "ACCESS EXCLUSIVE", false)
			drop.Irreversible, drop.SeparateDeploy = op.Kind == ir.KindTable, true // a view's rollback recreates all of it
			if op.Kind == ir.KindTable {
				drop.Rollback, drop.Note = recreateTable(p, name)
				if t := p.Catalog.Table(name); drop.Rollback != "" && t != nil && t.OpenPartitions {
					// What made them is not SQL fluxlint can repeat.
					drop.ManualRollback = true
					drop.Note += " A function or hidden statement in the migrations may have created other partitions of it, which the rollback cannot name: recreate them as whatever manages the partitions does (the same function, pg_partman)."
				}
			} else {
				drop.Rollback, drop.Note = recreateView(p, name)
				// Without its definition nothing can bring the view back:
				// for this plan, dropping it is the point of no return.
				drop.Irreversible = drop.Rollback == ""
			}
			if deps := p.Catalog.Dependents(name); op.Cascade && len(deps) > 0 && drop.Rollback != "" {
				// CASCADE drops the views that read it: they come back too.
				if _, creates, ok := recreateViews(p, deps); ok {
					drop.Rollback += "\n" + creates
					drop.Note += fmt.Sprintf(" CASCADE drops view %s too; the rollback creates them again.", viewNames(deps))
				} else {
					drop.Note += fmt.Sprintf(" CASCADE drops view %s too, whose definitions are not all in the migrations fluxlint read: the rollback does not restore them.", viewNames(deps))
				}
			}
			f := p.Report(msg, &rules.Plan{Title: fmt.Sprintf("stop using %s, then drop it", name), Steps: []rules.Step{deploy, drop}}).
				Claims(rules.Takes(rules.AccessExclusive, name))
			f.Uses = &rules.Uses{Table: name}
		}
	},
}

// recreateView is the CREATE statement of a dropped view, as the migration
// that created it wrote it.
func recreateView(p *rules.Pass, name ir.QName) (string, string) {
	t := p.Catalog.Table(name)
	if t == nil || t.Definition == "" {
		return "", "fluxlint does not know the view's definition (it is not in the migrations fluxlint read), so no rollback can be written."
	}
	note := "The rollback recreates the view as the migration that created it defined it."
	def := t.Definition
	if t.Reads.Star {
		// Its * stands for the columns read when it was created, not for
		// the ones added since.
		if expanded, ok := pganalyzer.ExpandStar(def, t.StarColumns); ok {
			def = expanded
			note += " Its * is written as the columns it selected then."
		}
	}
	if len(t.Renames) > 0 {
		var ok bool
		if def, ok = pganalyzer.RenameRelations(def, t.Renames); !ok {
			return "", "The view reads tables or columns renamed since, and fluxlint could not rewrite its definition to follow them (a column rename is followed through joins, not through subqueries, functions, JOIN ... USING or set operations), so no rollback can be written."
		}
		note = "The rollback recreates the view as the migration that created it defined it, with the tables and columns renamed since under their new names."
	}
	sql := def + ";"
	if t.Kind == ir.KindMatView {
		note += " A materialized view's rows are computed again from its query."
		for _, i := range p.Catalog.IndexesOn(name) {
			sql += "\n" + sqlgen.CreateIndex(i.Def, false)
		}
	}
	return sql, note
}

// recreateTable writes SQL that recreates a dropped table with its columns,
// constraints and indexes, and the foreign keys other tables had to it.
func recreateTable(p *rules.Pass, name ir.QName) (string, string) {
	c := p.Catalog
	t := c.Table(name)
	if t == nil {
		return "", "The table's definition is not in the migrations fluxlint read, so no rollback can be written."
	}
	sql, ok := sqlgen.CreateTable(c, t)
	if !ok {
		return "", "The migrations fluxlint read do not fully define this table, so no faithful rollback can be written."
	}
	// Dropping a partitioned table drops its partitions: they come back,
	// each level after its parent.
	note := "The rollback recreates the table's structure; its rows are not restored."
	for level := []*catalog.Table{t}; len(level) > 0; {
		var next []*catalog.Table
		for _, parent := range level {
			if parent.PartitionBy == nil {
				continue
			}
			parts := c.Partitions(parent.Name)
			if len(parts) > 0 {
				note += fmt.Sprintf(" Partitions of %s come back too: %s.", parent.Name, tableNames(parts))
			}
			for _, part := range parts {
				psql, ok := sqlgen.CreateTable(c, part)
				if !ok {
					return "", fmt.Sprintf("The migrations fluxlint read do not fully define partition %s, so no faithful rollback can be written.", part.Name)
				}
				sql += "\n" + psql
			}
			next = append(next, parts...)
		}
		level = next
	}
	for _, other := range c.TablesReferencing(name) {
		for _, k := range other.Constraints {
			if k.Kind == ir.ForeignKey && catalog.Resolve(k.RefTable) == catalog.Resolve(name) && other.Name != t.Name {
				sql += "\n" + sqlgen.AddConstraint(other.Name, k.Constraint, !k.Validated)
			}
		}
	}
	return withLockTimeout(p, sql), note
}

// tableNames lists tables by name, for a note.
func tableNames(ts []*catalog.Table) string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = t.Name.String()
	}
	return strings.Join(names, ", ")
}

var truncate = &rules.Rule{
	Code: "PG305", Name: "truncate", Engine: ir.Postgres, Severity: rules.Warning, Destructive: true,
	Doc: rules.Doc{
		Title: "TRUNCATE on an existing table",
		Why: "TRUNCATE deletes every row at once under an ACCESS EXCLUSIVE lock: reads and writes block while it " +
			"waits for and holds the lock, and the rows cannot be brought back. CASCADE empties every table with a " +
			"foreign key to it as well, which is rarely what a migration means.",
		Bad:      "TRUNCATE sessions CASCADE;",
		Good:     "Delete in batches (a DO block that commits after each batch), which only takes row locks; or, when the data really must go at once, TRUNCATE without CASCADE, with lock_timeout set, at a quiet time.",
		Versions: "All supported versions. Reported as an error with CASCADE.",
	},
	Check: func(p *rules.Pass) {
		op, ok := p.Op.(ir.Truncate)
		if !ok {
			return
		}
		var steps []rules.Step
		var names, cascaded []string
		var claim *rules.Claim
		for _, name := range op.Tables {
			if p.Existing(name) {
				names = append(names, tableLabel(name))
				if claim == nil {
					claim = rules.Takes(rules.AccessExclusive, name) // new, empty storage: no rewrite, no scan
				}
			}
		}
		if len(names) == 0 {
			return
		}
		emptied := truncated(p.Catalog, op)
		for _, name := range emptied {
			if !p.Existing(name) {
				continue
			}
			s := rules.Step{Kind: rules.StepBackfill, Title: fmt.Sprintf("delete the rows of %s in batches, committing after each", name),
				Forward: sqlgen.BatchedDelete(batching(p), name), Lock: "ROW EXCLUSIVE", NoTransaction: true, Irreversible: true, DeletesRows: true,
				Note: "The rows are gone for good. The tables whose foreign keys reference this one are emptied in the steps before it, as TRUNCATE ... CASCADE would."}
			inToolFile(p, &s)
			steps = append(steps, s)
			if !slices.ContainsFunc(op.Tables, func(q ir.QName) bool { return p.Catalog.Same(q, name) }) {
				cascaded = append(cascaded, tableLabel(name))
			}
		}
		msg := fmt.Sprintf("TRUNCATE %s deletes every row under an ACCESS EXCLUSIVE lock: reads and writes block while it waits and runs", joinList(names))
		if op.Cascade {
			msg += ", and CASCADE empties every table that references it too"
			if len(cascaded) > 0 {
				msg += fmt.Sprintf(" (%s)", joinList(cascaded))
			}
		}
		for _, name := range emptied {
			if p.Existing(name) {
				steps = append(steps, rowsLeft(name))
			}
		}
		f := p.Report(msg, &rules.Plan{Title: "delete in batches instead", Steps: steps}).Claims(claim)
		if op.Cascade {
			f.Severity = rules.Error
		}
	},
}

// truncated lists the tables a TRUNCATE empties, in an order that batched
// deletes can follow: with CASCADE, every table whose foreign key
// references one of them, transitively; each referencing table before the
// tables it references, so no delete waits on a foreign key.
func truncated(c *catalog.Catalog, op ir.Truncate) []ir.QName {
	var order []ir.QName
	done := map[ir.QName]bool{}
	var visit func(q ir.QName)
	visit = func(q ir.QName) {
		key := catalog.Resolve(q)
		if done[key] {
			return
		}
		done[key] = true
		for _, t := range c.TablesReferencing(q) {
			listed := slices.ContainsFunc(op.Tables, func(n ir.QName) bool { return c.Same(n, t.Name) })
			if op.Cascade || listed {
				visit(unqualified(t.Name, q))
			}
		}
		order = append(order, q)
	}
	for _, q := range op.Tables {
		visit(q)
	}
	return order
}

// unqualified renders a catalog name the way the statement wrote its
// tables: without the default schema when the statement's name had none.
func unqualified(name, like ir.QName) ir.QName {
	if like.Schema == "" && name.Schema == "public" {
		name.Schema = ""
	}
	return name
}

var reindex = &rules.Rule{
	Code: "PG110", Name: "reindex-without-concurrently", Engine: ir.Postgres, Severity: rules.Error, Sized: true,
	Doc: rules.Doc{
		Title: "REINDEX without CONCURRENTLY",
		Why: "A plain REINDEX takes an ACCESS EXCLUSIVE lock on each index it rebuilds and a SHARE lock on the " +
			"table: writes block, and so do the reads that would use the index, for the whole rebuild.",
		Bad:      "REINDEX INDEX users_email_idx;",
		Good:     "REINDEX INDEX CONCURRENTLY users_email_idx; outside a transaction (PostgreSQL 12+).",
		Versions: "REINDEX CONCURRENTLY exists from PostgreSQL 12. Before that, build a replacement index concurrently, drop the old one concurrently and rename. PostgreSQL 14.0 to 14.3 can corrupt indexes rebuilt concurrently: run 14.4 or later.",
	},
	Check: func(p *rules.Pass) {
		op, ok := p.Op.(ir.Reindex)
		if !ok || op.Concurrently || op.Kind == "system" {
			return
		}
		if op.Kind == "index" && p.Catalog.IsNewIndex(op.Name) || op.Kind == "table" && !p.Existing(op.Name) {
			return
		}
		what := fmt.Sprintf("%s %s", op.Kind, op.Name)
		msg := fmt.Sprintf("REINDEX %s without CONCURRENTLY locks out writes, and reads that use the index, until the rebuild ends", what)
		// The table is locked SHARE (writes wait) and read in full; the
		// index itself ACCESS EXCLUSIVE (reads that would use it wait).
		var claim *rules.Claim
		switch op.Kind {
		case "table":
			claim = rules.Takes(rules.Share, op.Name).Scanning()
		case "index":
			if table, idx := ownerTable(p.Catalog, op.Name); idx != nil {
				claim = rules.Takes(rules.Share, table).Scanning()
			}
		}
		if p.Version < 12 {
			p.Report(msg+fmt.Sprintf("; PostgreSQL %d has no REINDEX CONCURRENTLY: build a replacement index concurrently, drop the old one concurrently, then rename it", p.Version), nil).Claims(claim)
			return
		}
		kind := map[string]string{"index": "INDEX", "table": "TABLE", "schema": "SCHEMA", "database": "DATABASE"}[op.Kind]
		step := migration(p, "rebuild concurrently, in its own migration outside a transaction",
			fmt.Sprintf("REINDEX %s CONCURRENTLY %s;", kind, sqlgen.Name(op.Name)), "", "SHARE UPDATE EXCLUSIVE", true)
		step.Note = rules.JoinNotes("Nothing to roll back: the rebuilt index has the same definition. If it fails, an INVALID copy named *_ccnew is left: drop it with DROP INDEX CONCURRENTLY.", version14Note(p))
		p.Report(msg, &rules.Plan{Title: "rebuild without blocking", Steps: []rules.Step{step}}).Claims(claim)
	},
}

// version14Note warns about the PostgreSQL 14.0-14.3 bug that could corrupt
// indexes built or rebuilt CONCURRENTLY.
func version14Note(p *rules.Pass) string {
	if p.Version != 14 {
		return ""
	}
	return "PostgreSQL 14.0 to 14.3 can corrupt indexes built or rebuilt CONCURRENTLY: make sure the server runs 14.4 or later."
}

var refreshMatView = &rules.Rule{
	Code: "PG111", Name: "refresh-materialized-view-without-concurrently", Engine: ir.Postgres, Severity: rules.Warning, Sized: true,
	Doc: rules.Doc{
		Title: "REFRESH MATERIALIZED VIEW without CONCURRENTLY",
		Why: "A plain refresh rewrites the view under an ACCESS EXCLUSIVE lock: every read of the view blocks until " +
			"the query behind it has run in full.",
		Bad:      "REFRESH MATERIALIZED VIEW user_scores;",
		Good:     "REFRESH MATERIALIZED VIEW CONCURRENTLY user_scores; which lets reads continue. It needs a unique index on the view that covers every row (plain columns, no WHERE).",
		Versions: "All supported versions.",
	},
	Check: func(p *rules.Pass) {
		op, ok := p.Op.(ir.Refresh)
		if !ok || op.Concurrently || op.WithNoData || !p.Existing(op.View) {
			return
		}
		msg := fmt.Sprintf("REFRESH MATERIALIZED VIEW %s without CONCURRENTLY blocks every read of it until the refresh ends", tableLabel(op.View))
		step := migration(p, "refresh concurrently: reads continue",
			fmt.Sprintf("REFRESH MATERIALIZED VIEW CONCURRENTLY %s;", sqlgen.Name(op.View)), "", "EXCLUSIVE", false)
		step.Note = "Nothing to roll back. CONCURRENTLY needs a unique index on the view covering every row (plain columns, no WHERE)."
		claim := rules.Takes(rules.AccessExclusive, op.View).Rewriting()
		if v := p.Catalog.Table(op.View); v != nil && v.Kind == ir.KindMatView && !hasPlainUniqueIndex(p.Catalog, op.View) {
			// CONCURRENTLY would fail (SQLSTATE 55000) until the view has
			// such an index, and which columns identify a row is the
			// view's own business.
			p.Report(msg+"; CONCURRENTLY needs a unique index on plain columns covering every row, and the view has none: create one first (CREATE UNIQUE INDEX CONCURRENTLY on the columns that identify a row), then refresh concurrently", nil).Claims(claim)
			return
		}
		p.Report(msg, &rules.Plan{Title: "refresh without blocking reads", Steps: []rules.Step{step}}).Claims(claim)
	},
}

func hasPlainUniqueIndex(c *catalog.Catalog, view ir.QName) bool {
	for _, i := range c.IndexesOn(view) {
		if i.Def.Unique && i.Def.Where == "" && (len(i.Def.Elems) == 0 || len(i.Def.Elems) == len(i.Def.Columns)) {
			return true
		}
	}
	return false
}

var rebuild = &rules.Rule{
	Code: "PG112", Name: "vacuum-full-or-cluster", Engine: ir.Postgres, Severity: rules.Error, Sized: true,
	Doc: rules.Doc{
		Title: "VACUUM FULL or CLUSTER on an existing table",
		Why: "Both rewrite the whole table and all its indexes under an ACCESS EXCLUSIVE lock: reads and writes " +
			"block for the whole rewrite, minutes to hours on a large table.",
		Bad:  "VACUUM FULL events;",
		Good: "Plain VACUUM (ANALYZE) reclaims dead rows for reuse without blocking. To return the space to the operating system, or to reorder rows like CLUSTER, use pg_repack or pg_squeeze, which rewrite online. There is no in-place SQL equivalent of CLUSTER.",
	},
	Check: func(p *rules.Pass) {
		op, ok := p.Op.(ir.Rebuild)
		if !ok {
			return
		}
		var targets []ir.QName
		for _, t := range op.Tables {
			if p.Existing(t) {
				targets = append(targets, t)
			}
		}
		if len(op.Tables) > 0 && len(targets) == 0 {
			return
		}
		what := "every table of the database"
		if len(targets) > 0 {
			names := make([]string, len(targets))
			for i, t := range targets {
				names[i] = tableLabel(t)
			}
			what = joinList(names)
		}
		msg := fmt.Sprintf("%s rewrites %s under an ACCESS EXCLUSIVE lock: reads and writes block for the whole rewrite", op.Kind, what)
		var claim *rules.Claim
		if len(targets) > 0 {
			claim = rules.Takes(rules.AccessExclusive, targets[0]).Rewriting()
		}
		if op.Kind == "CLUSTER" {
			p.Report(msg+"; there is no safe in-place SQL equivalent: reorder online with pg_repack --order-by, or drop the statement", nil).Claims(claim)
			return
		}
		var steps []rules.Step
		for _, t := range targets {
			steps = append(steps, migration(p, fmt.Sprintf("vacuum %s without blocking: dead rows become reusable space", t),
				fmt.Sprintf("VACUUM (ANALYZE) %s;", sqlgen.Name(t)), "", "SHARE UPDATE EXCLUSIVE", true))
		}
		if len(targets) == 0 {
			steps = append(steps, migration(p, "vacuum every table without blocking", "VACUUM (ANALYZE);", "", "SHARE UPDATE EXCLUSIVE", true))
		}
		steps[len(steps)-1].Note = "Nothing to roll back. To hand space back to the operating system online, run pg_repack (an external tool) instead of VACUUM FULL."
		p.Report(msg, &rules.Plan{Title: "vacuum without the rewrite", Steps: steps}).Claims(claim)
	},
}

var pg14Concurrent = &rules.Rule{
	Code: "PG119", Name: "concurrent-index-on-pg14", Engine: ir.Postgres, Severity: rules.Warning,
	Doc: rules.Doc{
		Title: "CREATE INDEX CONCURRENTLY or REINDEX CONCURRENTLY on PostgreSQL 14",
		Why: "PostgreSQL 14.0 to 14.3 have a bug that can corrupt indexes built or rebuilt CONCURRENTLY (rows " +
			"missing from the index, silently). It is fixed in 14.4; indexes built on an affected minor release " +
			"must be rebuilt after upgrading.",
		Bad:      "CREATE INDEX CONCURRENTLY users_email_idx ON users (email);  -- on 14.0-14.3",
		Good:     "Make sure the server runs 14.4 or later before building indexes concurrently; check with SELECT current_setting('server_version_num').",
		Versions: "Only with --server-version 14.",
	},
	Check: func(p *rules.Pass) {
		if p.Version != 14 {
			return
		}
		switch op := p.Op.(type) {
		case ir.CreateIndex:
			if !op.Concurrently {
				return
			}
		case ir.Reindex:
			if !op.Concurrently {
				return
			}
		default:
			return
		}
		check := rules.Step{Kind: rules.StepCheckpoint, Title: "confirm the server runs 14.4 or later before the build",
			Forward: "SELECT current_setting('server_version_num')::int >= 140004 AS fixed_release;", Expect: "true",
			Note: "If it returns false, upgrade to the latest 14.x first; indexes already built concurrently on 14.0-14.3 need REINDEX after the upgrade."}
		p.Report("PostgreSQL 14.0 to 14.3 can corrupt indexes built or rebuilt CONCURRENTLY: make sure the server runs 14.4 or later", &rules.Plan{Title: "check the minor release first", KeepsStatement: true, Before: true, Steps: []rules.Step{check}})
	},
}
