package mysql

import (
	"fmt"
	"strings"

	"github.com/fluxlint/fluxlint/analyzers/catalog"
	"github.com/fluxlint/fluxlint/analyzers/ir"
	"github.com/fluxlint/fluxlint/rules"
	"github.com/fluxlint/fluxlint/rules/sqlgen/mysqlgen"
)

var lockWaitTimeout = &rules.Rule{
	Code: "MY113", Name: "lock-wait-timeout-missing", Engine: ir.MySQL, Severity: rules.Info, Reminder: "lock_wait_timeout",
	Doc: rules.Doc{
		Title: "DDL on an existing table without lock_wait_timeout",
		Why: "Every ALTER, RENAME, DROP and TRUNCATE takes an exclusive metadata lock, at least briefly. Behind a " +
			"transaction that touched the table and is still open, it waits, and every query on the table queues " +
			"behind it. lock_wait_timeout defaults to a year: set it low so the migration gives up and can be retried.",
		Bad: "ALTER TABLE users ADD COLUMN nickname VARCHAR(50) NULL;",
		Good: "SET SESSION lock_wait_timeout = 1; at the top of the migration, and retry it when it times out (error " +
			"1205). Reported once per migration (up and down together), never where another finding's plan for the statement sets it already, at info severity, since teams often set it on the migration user; raise it " +
			"in .fluxlint.yaml (severity: {MY113: warning}), or declare it set (assume_lock_timeout: true).",
		Versions: "Verified on " + Verified + ". All supported versions.",
	},
	Check: func(p *rules.Pass) {
		table, ok := metadataLocked(p.Op)
		if !ok || !p.Existing(table) || lockWaitSet(p) {
			return
		}
		if !p.FirstOf("metadata-locked", metadataLocked) {
			return // reported once per file, at the first one
		}
		if p.Stmt.Down && p.InUp(func(op ir.Op) bool { t, ok := metadataLocked(op); return ok && p.Existing(t) }) {
			return // the up migration's finding covers the file
		}
		step := migration(p, "set lock_wait_timeout at the top of this migration, before the first DDL", mysqlgen.LockWaitTimeout(p.Thresholds.LockTimeout), "", "")
		step.Note = "If a statement then fails with error 1205 (lock wait timeout exceeded), run the migration again later."
		msg := fmt.Sprintf("this statement waits for an exclusive metadata lock on existing table %s with lock_wait_timeout at its default of a year: behind a long transaction, every query on the table queues behind it", tableLabel(table))
		p.Report(msg, &rules.Plan{Title: "fail fast instead of queueing", KeepsStatement: true, Before: true, Steps: []rules.Step{step}})
	},
}

// metadataLocked returns the table DDL takes an exclusive metadata lock on.
func metadataLocked(op ir.Op) (ir.QName, bool) {
	switch o := op.(type) {
	case ir.AlterTable:
		return o.Table, true
	case ir.Drop:
		if o.Kind == ir.KindTable && len(o.Names) > 0 {
			return o.Names[0], true
		}
	case ir.Truncate:
		if len(o.Tables) > 0 {
			return o.Tables[0], true
		}
	}
	return ir.QName{}, false
}

// lockWaitSet reports whether lock_wait_timeout is in force: declared set
// in the config, or SET earlier in the migration.
func lockWaitSet(p *rules.Pass) bool {
	_, set := p.SetBefore("lock_wait_timeout")
	return set || p.LockTimeoutSet
}

var unbatchedDML = &rules.Rule{
	Code: "MY204", Name: "unbatched-update-or-delete", Engine: ir.MySQL, Severity: rules.Warning, Sized: true,
	Doc: rules.Doc{
		Title: "UPDATE or DELETE of a whole existing table in one statement",
		Why: "One statement over every row holds a row lock on each until it commits: writes to those rows wait for " +
			"the whole run, the undo log grows with the table, and replicas fall behind by as long as it takes.",
		Bad:      "UPDATE users SET score = 0;",
		Good:     "Walk the primary key in batches, committing after each and pausing between them (a procedure the plan creates, calls and drops), so locks are held for one batch at a time.",
		Versions: "Verified on " + Verified + ". All supported versions.",
	},
	Check: func(p *rules.Pass) {
		op, ok := p.Op.(ir.Write)
		if !ok || op.Kind == "insert" || op.HasWhere || !p.Existing(op.Table) {
			return
		}
		msg := fmt.Sprintf("%s of every row of existing table %s in one statement locks each row until the end: writes to them wait that long, and replicas lag behind", strings.ToUpper(op.Kind), tableLabel(op.Table))
		t := p.Catalog.Table(op.Table)
		var pk []string
		if t != nil {
			for _, c := range t.PrimaryKey() {
				pk = append(pk, c.Name)
			}
		}
		if len(pk) == 0 || op.Kind == "update" && op.Set == "" {
			p.Report(msg+"; no primary key (or no plain SET list) is known to batch it by", nil)
			return
		}
		// A composite key batches by its leading column, which its index
		// orders: a batch holds every row of the leading values it covers.
		key := t.PrimaryKey()[0]
		proc := prefixName("fluxlint", op.Table.Name, "batched", op.Kind)
		// The values it overwrites (or the rows it deletes) are gone, as
		// with the statement: the step is the point of no return.
		s := rules.Step{Kind: rules.StepBackfill, Lock: rules.MySQLRows, Irreversible: true,
			Title: fmt.Sprintf("%s in batches of %d, committing after each", op.Kind, p.Thresholds.BatchSize)}
		if op.Kind == "update" {
			s.Forward = mysqlgen.BatchedUpdate(batching(p), op.Table, key, op.Set, "", proc)
			s.Note = fmt.Sprintf("Walks %s; the values it overwrites are not kept, as with the statement itself.", key.Name)
		} else {
			s.Forward = mysqlgen.BatchedDelete(batching(p), op.Table, key, proc)
			s.DeletesRows = true
			s.Note = "The rows are gone for good, as with the statement itself."
		}
		s.File = mysqlgen.MigrationFile(p.File.Tool, s.Forward, "")
		count := rules.Step{Kind: rules.StepCheckpoint, Title: "watch progress: rows in the table",
			Forward: fmt.Sprintf("SELECT COUNT(*) AS row_count FROM %s;", mysqlgen.Name(op.Table))}
		p.Report(msg, &rules.Plan{Title: op.Kind + " in batches", Steps: []rules.Step{s, count}})
	},
}

// LockOf is the lock a statement's op waits for on an existing table, for
// preflight: every DDL takes an exclusive metadata lock on its table.
func LockOf(c *catalog.Catalog, op ir.Op) (ir.QName, string, bool) {
	t, ok := metadataLocked(op)
	if !ok || c.IsNew(t) {
		return ir.QName{}, "", false
	}
	return t, "metadata", true
}
