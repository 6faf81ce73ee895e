// Package sizing turns a finding generic to every table into one for the
// real table, from live facts (a database or a stats file): it states the
// table's size, drops a finding about how long a lock or rewrite lasts to
// info on a small table (with the statement itself under a lock timeout as
// the plan), estimates how long each step that reads or rewrites the table
// takes, and chooses batch sizes from the table's rows and write rate.
package sizing

import (
	"fmt"
	"time"

	"github.com/fluxlint/fluxlint/analyzers/ir"
	"github.com/fluxlint/fluxlint/analyzers/livestats"
	"github.com/fluxlint/fluxlint/rules"
	"github.com/fluxlint/fluxlint/rules/sqlgen"
	"github.com/fluxlint/fluxlint/rules/sqlgen/mysqlgen"
)

// Table is the live table a finding is about, or nil.
func Table(f *rules.Finding, live *livestats.Facts) *livestats.Table {
	if live == nil {
		return nil
	}
	q := f.Table
	if f.Claim != nil && f.Claim.Table.Name != "" {
		q = f.Claim.Table
	}
	if q.Name == "" {
		return nil
	}
	return live.Table(q)
}

// Small reports whether a table is small by the thresholds: at most
// SmallRows rows (as the server estimates) and SmallBytes bytes.
func Small(t *livestats.Table, th rules.Thresholds) bool {
	return t.Rows >= 0 && t.Rows <= th.SmallRows && t.Bytes <= th.SmallBytes
}

// Apply refines a finding with the facts of its table: the size in the
// message; on a small table, for a rule about how long a lock or rewrite
// lasts, info severity and the statement itself under a lock timeout as
// the plan; and a duration estimate on every step that reads or rewrites a
// table the facts know.
func Apply(f *rules.Finding, live *livestats.Facts, th rules.Thresholds, engine ir.Engine) {
	t := Table(f, live)
	if t == nil {
		return
	}
	f.Size = t.Size()
	f.Message += fmt.Sprintf(" (%s: %s)", t.Name, f.Size)
	if f.Rule.Sized && (f.Claim == nil || f.Claim.Fails == "") && Small(t, th) {
		f.Severity = rules.Info
		f.Message += ": small enough to run as it is, with a lock timeout"
		f.Rewrite = ""
		f.Plan = &rules.Plan{Title: "Run the statement as it is: the table is small", KeepsStatement: true, Before: true, Steps: []rules.Step{{
			Kind: rules.StepMigration, Title: "Set a lock timeout before the statement, so that it fails fast instead of queueing traffic behind a long transaction",
			Forward: lockTimeout(engine, th.LockTimeout),
			Note: fmt.Sprintf("%s holds %s (at most %d rows and %s count as small, thresholds.small_table_rows and small_table_size): "+
				"the lock lasts milliseconds, so the online plan is not worth its steps. Retry the migration if it times out.",
				t.Name, f.Size, th.SmallRows, livestats.Bytes(th.SmallBytes)),
		}}}
	}
	if f.Plan != nil {
		for i := range f.Plan.Steps {
			estimate(&f.Plan.Steps[i], live, engine, th, t)
		}
	}
}

func lockTimeout(engine ir.Engine, d time.Duration) string {
	if engine == ir.MySQL {
		return mysqlgen.LockWaitTimeout(d)
	}
	return sqlgen.SetLockTimeout(d)
}

// Batching chooses a backfill's batch size and pause for a table from its
// rows and write rate, unless the config set them: each batch should take
// about 100 ms at the measured update rate (at most 10,000 rows: real
// servers are slower than the model's), a busy table gets smaller batches
// and longer pauses (each batch's row locks compete with the application's
// writes), and a small table is done in one batch.
func Batching(th rules.Thresholds, t *livestats.Table, engine ir.Engine) rules.Thresholds {
	if th.BatchSet || t == nil || t.Rows < 0 {
		return th
	}
	m := ModelFor(engine)
	size := min(int64(m.UpdateRowsPerSec/10), 10_000) // ~100 ms a batch
	pause := 50 * time.Millisecond
	switch w := t.WritesPerSecond; {
	case w >= 1000:
		size, pause = size/4, 500*time.Millisecond
	case w >= 100:
		size, pause = size/2, 200*time.Millisecond
	}
	size = max(size, 500)
	if t.Rows < size {
		size = max(t.Rows, 1)
	}
	// Round to a number people read easily.
	if size > 1000 {
		size = size / 1000 * 1000
	}
	th.BatchSize, th.BatchPause = int(size), pause
	return th
}
