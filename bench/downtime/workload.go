//go:build bench

package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// op is one workload query as the client saw it.
type op struct {
	Kind    string        `json:"kind"` // select, update, insert
	Start   time.Duration `json:"start"`
	Latency time.Duration `json:"latency"`
	Err     string        `json:"err,omitempty"`
	Timeout bool          `json:"timeout,omitempty"`
}

// columns are the names the application's queries use; a simulated code
// deploy swaps them while the workload runs.
type columns struct {
	payload  string // the text column SELECT reads and INSERT writes
	tenantID bool   // INSERT also writes tenant_id
}

// workload issues point SELECTs by id, UPDATEs and INSERTs at a fixed rate
// from several goroutines (open loop: a blocked query does not slow the
// schedule, it only adds to the queries waiting), each with a client-side
// timeout, and records every one.
type workload struct {
	pool    *pgxpool.Pool
	rows    int64
	rate    int // queries per second, all kinds together
	timeout time.Duration
	t0      time.Time
	cols    atomic.Pointer[columns]
	nextID  atomic.Int64 // for unique emails of inserted rows

	mu  sync.Mutex
	ops []op
}

func newWorkload(pool *pgxpool.Pool, rows int64, rate int, timeout time.Duration) *workload {
	w := &workload{pool: pool, rows: rows, rate: rate, timeout: timeout, t0: time.Now()}
	w.cols.Store(&columns{payload: "payload"})
	return w
}

// since is the time since the run began.
func (w *workload) since() time.Duration { return time.Since(w.t0) }

// run issues queries until ctx ends, then waits for those in flight.
func (w *workload) run(ctx context.Context) {
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second / time.Duration(w.rate))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case <-tick.C:
			wg.Add(1)
			go func() {
				defer wg.Done()
				w.one()
			}()
		}
	}
}

func (w *workload) one() {
	cols := w.cols.Load()
	id := 1 + rand.Int64N(w.rows)
	var kind, sql string
	var args []any
	switch r := rand.IntN(10); {
	case r < 6:
		kind, sql, args = "select", fmt.Sprintf("SELECT email, %s FROM accounts WHERE id = $1", cols.payload), []any{id}
	case r < 9:
		kind, sql, args = "update", "UPDATE accounts SET counter = counter + 1 WHERE id = $1", []any{id}
	default:
		n := w.nextID.Add(1)
		kind = "insert"
		if cols.tenantID {
			sql = fmt.Sprintf("INSERT INTO accounts (owner_id, email, balance, %s, tenant_id) VALUES ($1, $2, $3, $4, 0)", cols.payload)
		} else {
			sql = fmt.Sprintf("INSERT INTO accounts (owner_id, email, balance, %s) VALUES ($1, $2, $3, $4)", cols.payload)
		}
		args = []any{1 + n%1000, fmt.Sprintf("w%d@example.com", n), n % 10000, "inserted"}
	}
	ctx, cancel := context.WithTimeout(context.Background(), w.timeout)
	defer cancel()
	start := w.since()
	_, err := w.pool.Exec(ctx, sql, args...)
	o := op{Kind: kind, Start: start, Latency: w.since() - start}
	if err != nil {
		o.Err = errorCode(err)
		o.Timeout = errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil
	}
	w.mu.Lock()
	w.ops = append(w.ops, o)
	w.mu.Unlock()
}

// errorCode names an error by SQLSTATE when the server sent one.
func errorCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code + " " + pe.Message
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "client timeout"
	}
	return err.Error()
}

// stats are the workload's figures over a migration's window.
type stats struct {
	Queries      int           `json:"queries"`
	P50          time.Duration `json:"p50"`
	P99          time.Duration `json:"p99"`
	Max          time.Duration `json:"max"`
	LongestStall time.Duration `json:"longest_write_stall"`
	Errors       int           `json:"errors"`
	Timeouts     int           `json:"timeouts"`
}

// window summarises the queries that started in [from, to), and the longest
// stretch from `from` in which no write completed, up to the first write
// that completes after `to` (writes held up by the migration land then).
func (w *workload) window(from, to time.Duration) stats {
	w.mu.Lock()
	defer w.mu.Unlock()
	var lat []time.Duration
	var writesDone []time.Duration
	s := stats{}
	for _, o := range w.ops {
		end := o.Start + o.Latency
		if (o.Kind == "update" || o.Kind == "insert") && o.Err == "" && end >= from {
			writesDone = append(writesDone, end)
		}
		if o.Start < from || o.Start >= to {
			continue
		}
		s.Queries++
		lat = append(lat, o.Latency)
		switch {
		case o.Timeout:
			s.Timeouts++
		case o.Err != "":
			s.Errors++
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if n := len(lat); n > 0 {
		s.P50, s.P99, s.Max = lat[n/2], lat[min(n-1, n*99/100)], lat[n-1]
	}
	sort.Slice(writesDone, func(i, j int) bool { return writesDone[i] < writesDone[j] })
	prev, closed := from, false
	for _, t := range writesDone {
		s.LongestStall = max(s.LongestStall, t-prev)
		prev = t
		if t >= to {
			closed = true
			break
		}
	}
	if !closed { // no write completed after the migration: the stall runs on
		s.LongestStall = max(s.LongestStall, w.since()-prev)
	}
	return s
}

// snapshot copies the recorded queries.
func (w *workload) snapshot() []op {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]op(nil), w.ops...)
}
