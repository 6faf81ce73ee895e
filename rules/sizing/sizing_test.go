package sizing

import (
	"strings"
	"testing"
	"time"

	"github.com/fluxlint/fluxlint/analyzers/ir"
	"github.com/fluxlint/fluxlint/analyzers/livestats"
	"github.com/fluxlint/fluxlint/rules"
)

// TestBatching: batches follow the table's rows and write rate, and the
// config's choice wins.
func TestBatching(t *testing.T) {
	for _, c := range []struct {
		rows   int64
		writes float64
		set    bool
		size   int
		pause  time.Duration
	}{
		{rows: 100, size: 100, pause: 50 * time.Millisecond},
		{rows: 2_000_000, size: 10_000, pause: 50 * time.Millisecond},
		{rows: 2_000_000, writes: 500, size: 5000, pause: 200 * time.Millisecond},
		{rows: 2_000_000, writes: 5000, size: 2000, pause: 500 * time.Millisecond},
		{rows: 2_000_000, writes: 5000, set: true, size: 5000, pause: 100 * time.Millisecond},
	} {
		th := rules.DefaultThresholds
		th.BatchSet = c.set
		got := Batching(th, &livestats.Table{Rows: c.rows, WritesPerSecond: c.writes}, ir.Postgres)
		if got.BatchSize != c.size || got.BatchPause != c.pause {
			t.Errorf("%d rows, %v writes/s, set %v: batch %d, pause %v; want %d, %v", c.rows, c.writes, c.set, got.BatchSize, got.BatchPause, c.size, c.pause)
		}
	}
}

// TestEstimate: a step's SQL is parsed to find what it does to which
// table, and the model gives its duration.
func TestEstimate(t *testing.T) {
	live := &livestats.Facts{Engine: "postgres", Tables: []livestats.Table{{Schema: "public", Name: "users", Rows: 80_000_000, Bytes: 41e9, IndexBytes: 9e9}}}
	for _, c := range []struct {
		step rules.Step
		want string
	}{
		{rules.Step{Kind: rules.StepMigration, Forward: "SET lock_timeout = '500ms';\nCREATE INDEX CONCURRENTLY i ON users (email);"}, "indexes concurrently 32 GB of users"},
		{rules.Step{Kind: rules.StepMigration, Forward: "ALTER TABLE users VALIDATE CONSTRAINT c;"}, "scans 32 GB of users"},
		{rules.Step{Kind: rules.StepMigration, Forward: "ALTER TABLE users ALTER COLUMN id TYPE bigint;"}, "rewrites 41 GB of users"},
		{rules.Step{Kind: rules.StepMigration, Forward: "ALTER TABLE users ADD COLUMN x int;"}, ""},
		{rules.Step{Kind: rules.StepMigration, Forward: "CREATE INDEX CONCURRENTLY i ON other (email);"}, ""},
	} {
		s := c.step
		estimate(&s, live, ir.Postgres, rules.DefaultThresholds, &live.Tables[0])
		if c.want == "" && s.Estimate != "" || !strings.Contains(s.Estimate, c.want) {
			t.Errorf("%s: estimate %q, want it to say %q", c.step.Forward, s.Estimate, c.want)
		}
	}
	back := rules.Step{Kind: rules.StepBackfill}
	estimate(&back, live, ir.Postgres, rules.DefaultThresholds, &live.Tables[0])
	if !strings.Contains(back.Estimate, "80M rows") || !strings.Contains(back.Estimate, "16000 batches of 5000") {
		t.Errorf("backfill estimate: %q", back.Estimate)
	}
}
