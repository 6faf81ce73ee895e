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

var lockTimeout = &rules.Rule{
	Code: "PG113", Name: "lock-timeout-missing", Engine: ir.Postgres, Severity: rules.Info, Reminder: "lock_timeout",
	Doc: rules.Doc{
		Title: "lock that blocks writes on an existing table without lock_timeout",
		Why: "Even a statement that holds its lock for a millisecond must first wait for it: behind a long " +
			"transaction that touched the table, the statement queues, and the queries that conflict with its lock " +
			"queue behind it. An ACCESS EXCLUSIVE lock (most ALTER TABLE forms, DROP, TRUNCATE, LOCK TABLE) queues " +
			"every query, reads too; SHARE (CREATE INDEX, ALTER DOMAIN ... ADD CONSTRAINT), SHARE ROW EXCLUSIVE " +
			"(CREATE TRIGGER, ENABLE/DISABLE TRIGGER, ADD FOREIGN KEY) and EXCLUSIVE queue every write. Locks that " +
			"block no write (SHARE UPDATE EXCLUSIVE: CONCURRENTLY, VALIDATE CONSTRAINT, ANALYZE) are not reported. " +
			"lock_timeout makes the statement give up quickly instead, so the migration can be retried.",
		Bad:  "ALTER TABLE users ADD COLUMN nickname text;",
		Good: "SET lock_timeout = '50ms'; at the top of the migration (thresholds.lock_timeout), and rerun it when it times out. Reported once per migration (up and down together), at the first lock that blocks writes, never where another finding's plan for the statement sets lock_timeout already, at info severity, since many teams set it on the migration role or in the tool; raise it in .fluxlint.yaml (severity: {PG113: warning}), or declare it set (assume_lock_timeout: true).",
	},
	Check: func(p *rules.Pass) {
		match := func(op ir.Op) (ir.QName, bool) {
			t, _, ok := blocksWrites(p.Catalog, op, p.Existing)
			return t, ok
		}
		table, mode, ok := blocksWrites(p.Catalog, p.Op, p.Existing)
		if !ok || !p.Existing(table) || lockTimeoutSet(p) {
			return
		}
		if !p.FirstOf("blocks-writes", match) {
			return // reported once per file, at the first one
		}
		if p.Stmt.Down && p.InUp(func(op ir.Op) bool { t, ok := match(op); return ok && p.Existing(t) }) {
			return // the up migration's finding covers the file
		}
		step := migration(p, "set lock_timeout at the top of this migration, before the first strong lock", sqlgen.SetLockTimeout(p.Thresholds.LockTimeout), "", "", false)
		step.Note = "If a statement then fails with SQLSTATE 55P03 (lock timeout), run the migration again later: nothing was changed."
		queued := "every query on the table queues behind it"
		if mode != rules.AccessExclusive {
			queued = "every write to the table queues behind it (reads go on)"
		}
		msg := fmt.Sprintf("this statement waits for %s %s lock on existing table %s with no lock_timeout: behind a long transaction, %s", article(mode), mode, tableLabel(table), queued)
		p.Report(msg, &rules.Plan{Title: "fail fast instead of queueing", KeepsStatement: true, Before: true, Steps: []rules.Step{step}}).Claims(&rules.Claim{Table: table, Lock: mode})
	},
}

// article is "an" before a lock mode starting with a vowel sound.
func article(mode string) string {
	if strings.HasPrefix(mode, "A") || strings.HasPrefix(mode, "E") {
		return "an"
	}
	return "a"
}

// blocksWrites returns the strongest lock that blocks writes (SHARE or
// stronger) an op takes on a table, and the table, as the reference
// measurements on PostgreSQL 15 show. ALTER DOMAIN names the first existing
// table with a column of the domain.
func blocksWrites(c *catalog.Catalog, op ir.Op, existing func(ir.QName) bool) (ir.QName, string, bool) {
	// DROP INDEX without CONCURRENTLY locks the index's table ACCESS
	// EXCLUSIVE too (the reference measurements).
	if t, ok := accessExclusiveIn(c, op); ok {
		return t, rules.AccessExclusive, true
	}
	switch o := op.(type) {
	case ir.CreateIndex:
		if !o.Concurrently {
			return o.Index.Table, rules.Share, true
		}
	case ir.Reindex:
		if o.Concurrently {
			break
		}
		if o.Kind == "table" {
			return o.Name, rules.Share, true
		}
		if i := c.Index(o.Name); o.Kind == "index" && i != nil {
			return i.Def.Table, rules.Share, true
		}
	case ir.CreateTrigger:
		return o.Table, rules.ShareRowExclusive, true
	case ir.CreateTable:
		// A foreign key locks the table it references.
		for _, k := range o.Constraints {
			if k.Kind == ir.ForeignKey {
				return k.RefTable, rules.ShareRowExclusive, true
			}
		}
		for _, col := range o.Columns {
			for _, k := range col.Constraints {
				if k.Kind == ir.ForeignKey {
					return k.RefTable, rules.ShareRowExclusive, true
				}
			}
		}
	case ir.AlterTable:
		// Only commands weaker than ACCESS EXCLUSIVE are left here.
		for _, cmd := range o.Cmds {
			switch c := cmd.(type) {
			case ir.AddConstraint:
				if c.Constraint.Kind == ir.ForeignKey {
					return o.Table, rules.ShareRowExclusive, true
				}
			case ir.OtherAlter:
				if strings.Contains(c.Kind, "Trig") {
					return o.Table, rules.ShareRowExclusive, true
				}
			}
		}
	case ir.LockTable:
		if slices.Index(rules.LockModes, o.Mode) >= slices.Index(rules.LockModes, rules.Share) && len(o.Tables) > 0 {
			return o.Tables[0], o.Mode, true
		}
	case ir.AlterDomain:
		if !domainScans(o) {
			break
		}
		for _, u := range c.DomainUsers(o.Name) {
			if existing(u.Table) {
				return u.Table, rules.Share, true
			}
		}
	}
	return ir.QName{}, "", false
}

// stmtLock is the lock the pass's statement takes on table, when a
// subcommand's own lock is mode: an ALTER TABLE takes the strongest lock
// any of its subcommands needs, for all of them (ADD COLUMN beside ADD
// FOREIGN KEY makes the key's scan run under ACCESS EXCLUSIVE).
func stmtLock(p *rules.Pass, mode string, table ir.QName) string {
	t, m, ok := blocksWrites(p.Catalog, p.Op, p.Existing)
	if ok && p.Catalog.Same(t, table) && slices.Index(rules.LockModes, m) > slices.Index(rules.LockModes, mode) {
		return m
	}
	return mode
}

// domainScans reports whether an ALTER DOMAIN checks the values stored in
// every column of the domain, under a SHARE lock on each table.
func domainScans(o ir.AlterDomain) bool {
	switch o.Kind {
	case "ADD CONSTRAINT":
		return !o.NotValid
	case "VALIDATE CONSTRAINT", "SET NOT NULL":
		return true
	}
	return false
}

// lockTimeoutSet reports whether lock_timeout is in force for the statement:
// SET earlier in the migration (to a value that is not off), or, when the
// migration does not set it, declared set in the config.
func lockTimeoutSet(p *rules.Pass) bool {
	v, set := p.SetBefore("lock_timeout")
	if set {
		// RESET, DEFAULT and zero (in any unit) turn the timeout off.
		v = strings.ToLower(strings.Trim(v, "' "))
		off := v == "" || v == "default" || strings.TrimLeft(strings.TrimRight(v, "msinhd"), "0") == ""
		return !off
	}
	return p.LockTimeoutSet
}

// weakAlters are ALTER TABLE subcommands that take less than ACCESS EXCLUSIVE.
var weakAlters = map[string]bool{"SetStatistics": true, "SetOptions": true, "ResetOptions": true, "SetRelOptions": true,
	"ResetRelOptions": true, "ClusterOn": true, "DropCluster": true, "AttachPartition": true, "EnableTrig": true,
	"DisableTrig": true, "EnableTrigAll": true, "DisableTrigAll": true, "EnableTrigUser": true, "DisableTrigUser": true,
	"EnableAlwaysTrig": true, "EnableReplicaTrig": true}

// accessExclusiveIn is accessExclusive with the catalog's help: a DROP
// INDEX (not concurrent) locks its table too, which the catalog still
// knows after the drop.
func accessExclusiveIn(c *catalog.Catalog, op ir.Op) (ir.QName, bool) {
	if d, ok := op.(ir.Drop); ok && d.Kind == ir.KindIndex && !d.Concurrently && len(d.Names) > 0 {
		return c.IndexTable(d.Names[0])
	}
	return accessExclusive(op)
}

// accessExclusive returns the table an op locks in ACCESS EXCLUSIVE mode
// (for DROP INDEX and REINDEX, the index's table is named by the index).
func accessExclusive(op ir.Op) (ir.QName, bool) {
	switch o := op.(type) {
	case ir.AlterTable:
		for _, cmd := range o.Cmds {
			switch c := cmd.(type) {
			case ir.ValidateConstraint:
			case ir.AddConstraint:
				if c.Constraint.Kind != ir.ForeignKey {
					return o.Table, true
				}
			case ir.OtherAlter:
				if !weakAlters[c.Kind] {
					return o.Table, true
				}
			case ir.DetachPartition:
				if c.Concurrently {
					return c.Partition, true // the parent gets SHARE UPDATE EXCLUSIVE
				}
				return o.Table, true
			default:
				return o.Table, true
			}
		}
	case ir.Drop:
		switch o.Kind {
		case ir.KindTable, ir.KindView, ir.KindMatView, ir.KindTrigger:
			if len(o.Names) > 0 {
				return o.Names[0], true
			}
		}
	case ir.LockTable:
		if o.Mode == rules.AccessExclusive && len(o.Tables) > 0 {
			return o.Tables[0], true
		}
	case ir.Truncate:
		if len(o.Tables) > 0 {
			return o.Tables[0], true
		}
	case ir.Rebuild:
		if len(o.Tables) > 0 {
			return o.Tables[0], true
		}
	case ir.Refresh:
		if !o.Concurrently {
			return o.View, true
		}
	}
	return ir.QName{}, false
}

var unbatchedDML = &rules.Rule{
	Code: "PG204", Name: "unbatched-update-or-delete", Engine: ir.Postgres, Severity: rules.Warning, Sized: true,
	Doc: rules.Doc{
		Title: "UPDATE or DELETE of a whole existing table in one statement",
		Why: "One statement over every row locks all of them until the migration commits, so concurrent writes to " +
			"any of them wait; it writes the whole table to the WAL at once (replicas fall behind) and leaves as many " +
			"dead rows behind. Inside a migration transaction, the DDL locks taken with it are held just as long.",
		Bad:  "UPDATE users SET plan = 'free';",
		Good: "Walk the primary key in batches, committing after each batch and pausing between them, outside the migration's transaction; check progress with a query; ANALYZE at the end.",
	},
	Check: func(p *rules.Pass) {
		op, ok := p.Op.(ir.Write)
		if !ok || op.HasWhere || op.Kind == "insert" || !p.Existing(op.Table) {
			return
		}
		verb := "UPDATE"
		if op.Kind == "delete" {
			verb = "DELETE"
		}
		msg := fmt.Sprintf("%s of every row of existing table %s in one statement locks all of them until the migration commits, and writes the whole table to the WAL at once", verb, tableLabel(op.Table))
		held := lockHeldInTx(p)
		if held != nil {
			// DDL and large DML in one transaction: the DDL's lock lasts as
			// long as the whole DML.
			msg += fmt.Sprintf("; and this transaction already holds an ACCESS EXCLUSIVE lock on %s, which stays held until all of it is done", tableLabel(*held))
		}
		report := func(msg string, plan *rules.Plan) {
			if f := p.Report(msg, plan).Claims(rules.Takes(rules.RowExclusive, op.Table).Scanning()); held != nil {
				f.Severity = rules.Error
			}
		}
		if op.Kind == "delete" {
			s := rules.Step{Kind: rules.StepBackfill, Title: fmt.Sprintf("delete the rows of %s in batches, committing after each", op.Table),
				Forward: sqlgen.BatchedDelete(batching(p), op.Table), Lock: "ROW EXCLUSIVE", NoTransaction: true, Irreversible: true, DeletesRows: true}
			inToolFile(p, &s)
			report(msg, &rules.Plan{Title: "delete in batches", Steps: []rules.Step{s, rowsLeft(op.Table)}})
			return
		}
		var pk []*catalog.Column
		if t := p.Catalog.Table(op.Table); t != nil {
			pk = t.PrimaryKey()
		}
		switch {
		case op.Set == "":
			report(msg+"; fluxlint cannot batch this form (multi-column SET or FROM): batch it by primary key by hand", nil)
			return
		case len(pk) == 0:
			report(msg+"; the table's primary key is not in the migrations fluxlint read, so no batched plan can be written", nil)
			return
		}
		s := rules.Step{Kind: rules.StepBackfill, Title: fmt.Sprintf("update %s in batches along its primary key, committing after each", op.Table),
			Forward: sqlgen.BatchedUpdate(batching(p), op.Table, pk, op.Set, "") + "\nANALYZE " + sqlgen.Name(op.Table) + ";",
			Lock:    "ROW EXCLUSIVE", NoTransaction: true, Irreversible: true,
			Note: fmt.Sprintf("Walks %s %d rows at a time; the values it overwrites are not kept. Progress: the batches run in key order.", pkNames(pk), p.Thresholds.BatchSize)}
		inToolFile(p, &s)
		progress := rules.Step{Kind: rules.StepCheckpoint, Title: "progress: the loop reports the last key done (NOTICE); this is the key range it walks",
			Forward: fmt.Sprintf("SELECT count(*) AS rows_total FROM %s;", sqlgen.Name(op.Table)),
			Note:    "Compare the last key in the NOTICEs with the key range; after the loop, check the updated column holds what the migration meant."}
		report(msg, &rules.Plan{Title: "update in batches", Steps: []rules.Step{s, progress}})
	},
}

// rowsLeft is a progress checkpoint for a batched delete of every row.
func rowsLeft(table ir.QName) rules.Step {
	return rules.Step{Kind: rules.StepCheckpoint, Title: "progress: rows still to delete (run it while the batches go on)",
		Forward: fmt.Sprintf("SELECT count(*) AS rows_left FROM %s;", sqlgen.Name(table)), Expect: "0"}
}

// lockHeldInTx returns an existing table the statement's transaction already
// holds an ACCESS EXCLUSIVE lock on, or nil.
func lockHeldInTx(p *rules.Pass) *ir.QName {
	if held, _ := heldInTx(p); len(held) > 0 {
		return &held[0]
	}
	return nil
}

// heldInTx lists the existing tables the statement's transaction already
// holds ACCESS EXCLUSIVE locks on, in the order taken; the first earlier of
// them were taken in earlier files of the same transaction.
func heldInTx(p *rules.Pass) (held []ir.QName, earlier int) {
	if !p.Stmt.InTx {
		return nil, 0
	}
	fold := func(acc any, ref rules.OpRef) any {
		h, _ := acc.(*heldLocks)
		if _, ok := ref.Op.(ir.TxControl); ok || !ref.Stmt.InTx {
			return txBoundary
		}
		if t, ok := accessExclusiveIn(p.Catalog, ref.Op); ok && p.Existing(t) && (h == nil || !h.set[t]) {
			h = h.with(t)
		}
		if a, ok := ref.Op.(ir.AlterTable); ok && h != nil && h.set[a.Table] {
			for _, c := range a.Cmds {
				if r, ok := c.(ir.RenameTable); ok { // the same lock under its new name
					to := ir.QName{Schema: a.Table.Schema, Name: r.New}
					h.list[slices.Index(h.list, a.Table)] = to
					delete(h.set, a.Table)
					h.set[to] = true
				}
			}
		}
		return h
	}
	h, _ := p.Fold("held-in-tx", fold).(*heldLocks)
	if h != nil {
		held = h.list
	}
	// Where the transaction began in an earlier file, its locks are held
	// too (earliest first).
	for f := p.File.Prev; (h == nil || !h.crossed) && f != nil && !p.Stmt.Down; f = f.Prev {
		h, _ = p.FoldEnd(f, "held-in-tx", fold).(*heldLocks)
		if h != nil {
			var before []ir.QName
			for _, t := range h.list {
				if !slices.Contains(held, t) {
					before = append(before, t)
				}
			}
			held, earlier = append(before, held...), earlier+len(before)
		}
	}
	return held, earlier
}

// txBoundary is the fold's value at a transaction boundary: no lock held,
// and none from before it either. Never written (with copies first).
var txBoundary = &heldLocks{crossed: true}

// with adds a table to the locks held, copying the shared boundary value.
func (h *heldLocks) with(t ir.QName) *heldLocks {
	if h == nil || h == txBoundary {
		h = &heldLocks{set: map[ir.QName]bool{}, crossed: h != nil}
	}
	h.set[t] = true
	h.list = append(h.list, t)
	return h
}

// heldLocks are the tables a transaction holds ACCESS EXCLUSIVE locks on.
type heldLocks struct {
	list []ir.QName
	set  map[ir.QName]bool
	// crossed: a transaction boundary came before, so no lock of an
	// earlier file is held.
	crossed bool
}

// LockOf is the lock an op waits for on an existing table, for preflight:
// the write-blocking locks, and SHARE UPDATE EXCLUSIVE for the concurrent
// builds and validations that also queue behind conflicting holders.
func LockOf(c *catalog.Catalog, op ir.Op) (ir.QName, string, bool) {
	existing := func(q ir.QName) bool { return !c.IsNew(q) }
	if t, mode, ok := blocksWrites(c, op, existing); ok && existing(t) {
		return t, mode, true
	}
	switch o := op.(type) {
	case ir.CreateIndex:
		if existing(o.Index.Table) {
			return o.Index.Table, rules.ShareUpdateExclusive, true
		}
	case ir.AlterTable:
		if existing(o.Table) {
			return o.Table, rules.ShareUpdateExclusive, true
		}
	}
	return ir.QName{}, "", false
}
