//go:build bench

package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/fluxlint/fluxlint/analyzers/ir"
	"github.com/fluxlint/fluxlint/analyzers/split"
	"github.com/fluxlint/fluxlint/internal/report"
	"github.com/fluxlint/fluxlint/rules"
)

// mark is a moment of a migration, drawn on the chart.
type mark struct {
	At      time.Duration `json:"at"`
	Label   string        `json:"label"`
	Retries int           `json:"retries,omitempty"`
}

// result is one run of a scenario: naive or plan.
type result struct {
	Variant    string           `json:"variant"` // naive or plan
	Workload   stats            `json:"workload"`
	Wall       time.Duration    `json:"migration_wall_time"`
	Err        string           `json:"migration_error,omitempty"`
	Retries    int              `json:"lock_timeout_retries"`
	RowsBefore int64            `json:"rows_before"`
	RowsAfter  int64            `json:"rows_after"`
	SumBefore  string           `json:"checksum_before"`
	SumAfter   string           `json:"checksum_after"`
	Preserved  bool             `json:"data_preserved"`
	Marks      []mark           `json:"marks"`
	LongTx     [2]time.Duration `json:"long_transaction"` // from, to
	From, To   time.Duration    `json:"-"`
	Ops        []op             `json:"-"`
}

// retryPause is how long a step waits before it is rerun after it failed
// on lock_timeout (its own retries, if it has them, ran out), as the
// plans' checklist says to.
const retryPause = time.Second

// blockRetries counts the retries the plans' retry blocks announce.
var blockRetries atomic.Int64

// maxRetries bounds the retries of one step.
const maxRetries = 60

// runPlan runs a fluxlint plan's steps in order on conn: migrations and
// backfills (statement by statement when a step must run outside a
// transaction), each retried after its lock_timeout fires; checkpoints
// checked against what they expect; code deploys applied to the workload.
func runPlan(ctx context.Context, conn *pgx.Conn, plan *report.JSONPlan, w *workload, sc scenario, r *result) error {
	for i, s := range plan.Steps {
		label := fmt.Sprintf("%d %s", i+1, strings.ReplaceAll(string(s.Kind), "_", " "))
		m := mark{At: w.since(), Label: label}
		switch s.Kind {
		case rules.StepCodeDeploy:
			if sc.Deploy != nil {
				deploy(w, sc.Deploy)
			}
		case rules.StepCheckpoint:
			var got string
			if err := conn.QueryRow(ctx, "SELECT ("+strings.TrimSuffix(strings.TrimSpace(s.Forward), ";")+")::text").Scan(&got); err != nil {
				return fmt.Errorf("step %d (%s): %w", i+1, s.Title, err)
			}
			if s.Expect != "" && got != s.Expect {
				return fmt.Errorf("step %d (%s): checkpoint returned %q, want %q", i+1, s.Title, got, s.Expect)
			}
		default:
			before := blockRetries.Load()
			retries, err := withRetry(ctx, func() error { return runSQL(ctx, conn, s.Forward, s.NoTransaction) })
			retries += int(blockRetries.Load() - before)
			m.Retries = retries
			r.Retries += retries
			if err != nil {
				return fmt.Errorf("step %d (%s): %w", i+1, s.Title, err)
			}
		}
		r.Marks = append(r.Marks, m)
	}
	return nil
}

// withRetry runs fn again after retryPause while it fails on lock_timeout
// (SQLSTATE 55P03), and reports how many retries it took.
func withRetry(ctx context.Context, fn func() error) (int, error) {
	for retries := 0; ; retries++ {
		err := fn()
		var pe *pgconn.PgError
		if err == nil || !errors.As(err, &pe) || pe.Code != "55P03" || retries == maxRetries {
			return retries, err
		}
		select {
		case <-ctx.Done():
			return retries, ctx.Err()
		case <-time.After(retryPause):
		}
	}
}

// runSQL runs a step's SQL as a migration tool would: as one script (an
// implicit transaction), or statement by statement in autocommit.
func runSQL(ctx context.Context, conn *pgx.Conn, sql string, noTx bool) error {
	if !noTx {
		_, err := conn.PgConn().Exec(ctx, sql).ReadAll()
		return err
	}
	src := []byte(sql)
	for _, seg := range split.Split(src, ir.Postgres).Segments {
		if _, err := conn.PgConn().Exec(ctx, string(src[seg.Start:seg.End])).ReadAll(); err != nil {
			return err
		}
	}
	return nil
}

// deploy switches the application's queries, as a code deploy does.
func deploy(w *workload, change func(*columns)) {
	c := *w.cols.Load()
	change(&c)
	w.cols.Store(&c)
}
