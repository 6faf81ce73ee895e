//go:build bench

// Command downtime measures what fluxlint is for: it runs each scenario's
// naive migration and then fluxlint's plan for it (taken from fluxlint
// --format json) on a fresh copy of a table of N rows, on a private
// PostgreSQL, under an application-like workload and a long transaction
// holding a weak lock, and compares the workload's latency, its longest
// write stall, errors and timeouts, the migration's wall time and whether
// the data was kept.
//
//	go run -tags bench ./bench/downtime                   # N = 1,000,000, every scenario
//	go run -tags bench ./bench/downtime -rows 200000 -only create-index,rename-column
//
// It prints a table per scenario and writes it to bench/downtime/out/
// results.txt (and results.md, for README), the same figures to
// results.json (durations in nanoseconds), and one SVG chart per scenario
// (latency over time, the plan's steps marked).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fluxlint/fluxlint/internal/pgtest"
	"github.com/fluxlint/fluxlint/internal/report"
)

type config struct {
	rows          int64
	rate          int
	timeout       time.Duration
	longTx        time.Duration
	warmup        time.Duration
	cooldown      time.Duration
	rollingDeploy time.Duration
	out           string
}

func main() {
	var c config
	flag.Int64Var(&c.rows, "rows", 1_000_000, "rows in the table")
	flag.IntVar(&c.rate, "rate", 200, "workload queries per second (60% point SELECT, 30% UPDATE, 10% INSERT)")
	flag.DurationVar(&c.timeout, "timeout", 5*time.Second, "client-side timeout of each workload query")
	flag.DurationVar(&c.longTx, "long-tx", 3*time.Second, "how long a transaction holding ACCESS SHARE on the table stays open as each migration starts")
	flag.DurationVar(&c.warmup, "warmup", 2*time.Second, "workload before each migration")
	flag.DurationVar(&c.cooldown, "cooldown", 2*time.Second, "workload after each migration")
	flag.DurationVar(&c.rollingDeploy, "rolling-deploy", 2*time.Second, "naive runs: how long after the migration the new code reaches every instance")
	flag.StringVar(&c.out, "out", "bench/downtime/out", "directory for results.json and the charts")
	only := flag.String("only", "", "comma-separated scenario names (default: all)")
	flag.Parse()
	if err := run(c, *only); err != nil {
		fmt.Fprintln(os.Stderr, "downtime:", err)
		os.Exit(1)
	}
}

func run(c config, only string) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	if err := os.Chdir(root); err != nil {
		return err
	}
	chosen := scenarios
	if only != "" {
		chosen = nil
		for _, sc := range scenarios {
			if strings.Contains(","+only+",", ","+sc.Name+",") {
				chosen = append(chosen, sc)
			}
		}
	}
	fmt.Printf("building fluxlint; starting PostgreSQL; filling %d rows...\n", c.rows)
	bin, err := buildFluxlint()
	if err != nil {
		return err
	}
	srv, err := pgtest.Start()
	if err != nil {
		return err
	}
	defer srv.Stop()
	ctx := context.Background()
	if err := makeTemplate(ctx, srv, c.rows); err != nil {
		return err
	}
	type outcome struct {
		Scenario scenario `json:"scenario"`
		Plan     string   `json:"plan"`
		Naive    result   `json:"naive"`
		Planned  result   `json:"plan_run"`
	}
	var all []outcome
	if err := os.MkdirAll(c.out, 0o755); err != nil {
		return err
	}
	table, err := os.Create(filepath.Join(c.out, "results.txt"))
	if err != nil {
		return err
	}
	defer table.Close()
	fmt.Fprintf(table, "%s, %d rows, %d queries/s, a %v transaction holding ACCESS SHARE as each migration starts\n",
		time.Now().UTC().Format("2006-01-02"), c.rows, c.rate, c.longTx)
	for _, sc := range chosen {
		plan, err := fluxlintPlan(bin, sc)
		if err != nil {
			return fmt.Errorf("%s: %w", sc.Name, err)
		}
		naive, err := runOnce(ctx, srv, c, sc, nil)
		if err != nil {
			return fmt.Errorf("%s naive: %w", sc.Name, err)
		}
		planned, err := runOnce(ctx, srv, c, sc, plan)
		if err != nil {
			return fmt.Errorf("%s plan: %w", sc.Name, err)
		}
		printScenario(os.Stdout, sc, plan, naive, planned)
		printScenario(table, sc, plan, naive, planned)
		all = append(all, outcome{sc, plan.Title, naive, planned})
		if err := os.WriteFile(filepath.Join(c.out, sc.Name+".svg"), chart(sc, naive, planned), 0o644); err != nil {
			return err
		}
	}
	var md strings.Builder
	md.WriteString("| scenario | run | p50 | p99 | max | longest write stall | errors | timeouts | migration | lock_timeout retries | data |\n")
	md.WriteString("|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, o := range all {
		for _, r := range []result{o.Naive, o.Planned} {
			name, retries := "", fmt.Sprint(r.Retries)
			if r.Variant == "naive" {
				name, retries = fmt.Sprintf("%s (%s)", o.Scenario.Name, o.Scenario.Code), ""
			}
			data := "kept"
			if !r.Preserved {
				data = "CHANGED"
			}
			w := r.Workload
			fmt.Fprintf(&md, "| %s | %s | %s | %s | %s | **%s** | %d | %d | %s | %s | %s |\n", name, r.Variant, ms(w.P50), ms(w.P99), ms(w.Max),
				ms(w.LongestStall), w.Errors, w.Timeouts, ms(r.Wall), retries, data)
		}
	}
	if err := os.WriteFile(filepath.Join(c.out, "results.md"), []byte(md.String()), 0o644); err != nil {
		return err
	}
	data, err := json.MarshalIndent(struct {
		Date     string    `json:"date"`
		Rows     int64     `json:"rows"`
		Server   string    `json:"server"`
		Rate     int       `json:"rate"`
		LongTx   string    `json:"long_transaction"`
		Outcomes []outcome `json:"scenarios"`
	}{time.Now().UTC().Format(time.RFC3339), c.rows, srv.Version, c.rate, c.longTx.String(), all}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(c.out, "results.json"), data, 0o644)
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory: run from the fluxlint repository")
		}
		dir = parent
	}
}

func buildFluxlint() (string, error) {
	bin := filepath.Join(os.TempDir(), "fluxlint-downtime")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/fluxlint").CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %w\n%s", err, out)
	}
	return bin, nil
}

// fluxlintPlan lints the scenario's statement after the schema's history
// and returns the plan of the scenario's rule, as fluxlint --format json
// writes it.
func fluxlintPlan(bin string, sc scenario) (*report.JSONPlan, error) {
	dir, err := os.MkdirTemp("", "downtime-migrations-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "0001_schema.sql"), []byte(schema), 0o644); err != nil {
		return nil, err
	}
	target := filepath.Join(dir, "0002_"+strings.ReplaceAll(sc.Name, "-", "_")+".sql")
	if err := os.WriteFile(target, []byte(sc.Statement+"\n"), 0o644); err != nil {
		return nil, err
	}
	out, err := exec.Command(bin, "--format", "json", "--fail-level", "none", "--code-path", "none", target).Output()
	if err != nil {
		return nil, fmt.Errorf("fluxlint: %w", err)
	}
	var rep report.JSONReport
	if err := json.Unmarshal(out, &rep); err != nil {
		return nil, err
	}
	for _, f := range rep.Findings {
		if f.Code == sc.Code && f.Plan != nil {
			return f.Plan, nil
		}
	}
	return nil, fmt.Errorf("fluxlint reported no %s plan for %q", sc.Code, sc.Statement)
}

// makeTemplate builds the table of n rows once, as a template database
// each run copies.
func makeTemplate(ctx context.Context, srv *pgtest.Server, n int64) error {
	admin, err := srv.Connect(ctx, "postgres")
	if err != nil {
		return err
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE downtime_template"); err != nil {
		return err
	}
	conn, err := srv.Connect(ctx, "downtime_template")
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	if _, err := conn.PgConn().Exec(ctx, schema+fmt.Sprintf(fill, n, n+1)).ReadAll(); err != nil {
		return err
	}
	_, err = conn.Exec(ctx, "VACUUM ANALYZE")
	return err
}

var runs int

// runOnce runs one variant of a scenario on a fresh copy of the table:
// plan nil runs the naive migration.
func runOnce(ctx context.Context, srv *pgtest.Server, c config, sc scenario, plan *report.JSONPlan) (result, error) {
	runs++
	db := fmt.Sprintf("downtime_%d", runs)
	r := result{Variant: "naive"}
	if plan != nil {
		r.Variant = "plan"
	}
	admin, err := srv.Connect(ctx, "postgres")
	if err != nil {
		return r, err
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+db+" TEMPLATE downtime_template"); err != nil {
		return r, err
	}
	defer func() { _, _ = admin.Exec(ctx, "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)") }()
	cfg, err := pgxpool.ParseConfig(srv.ConnString(db))
	if err != nil {
		return r, err
	}
	cfg.MaxConns = 32
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return r, err
	}
	defer pool.Close()
	// The plan's retry blocks announce each retry with a notice.
	mcfg, err := pgx.ParseConfig(srv.ConnString(db))
	if err != nil {
		return r, err
	}
	mcfg.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) {
		if strings.HasPrefix(n.Message, "lock not granted") {
			blockRetries.Add(1)
		}
	}
	migrate, err := pgx.ConnectConfig(ctx, mcfg)
	if err != nil {
		return r, err
	}
	defer migrate.Close(ctx)
	longTx, err := srv.Connect(ctx, db)
	if err != nil {
		return r, err
	}
	defer longTx.Close(ctx)

	if r.RowsBefore, r.SumBefore, err = checksum(ctx, migrate, sc.Kept[0], c.rows); err != nil {
		return r, err
	}
	w := newWorkload(pool, c.rows, c.rate, c.timeout)
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); w.run(wctx) }()
	time.Sleep(c.warmup)

	// A transaction that read the table and stays open: every strong lock
	// queues behind it, and every query after that behind the lock.
	held := make(chan error, 1)
	if _, err := longTx.PgConn().Exec(ctx, "BEGIN; SELECT 1 FROM accounts LIMIT 1").ReadAll(); err != nil {
		return r, err
	}
	r.LongTx[0] = w.since()
	go func() {
		time.Sleep(c.longTx)
		_, err := longTx.Exec(ctx, "COMMIT")
		held <- err
	}()

	r.From = w.since()
	start := time.Now()
	var merr error
	if plan == nil {
		_, merr = migrate.PgConn().Exec(ctx, naiveSQL(sc)).ReadAll()
		r.Marks = append(r.Marks, mark{At: r.From, Label: "naive migration"})
	} else {
		merr = runPlan(ctx, migrate, plan, w, sc, &r)
	}
	r.Wall = time.Since(start)
	r.To = w.since()
	if merr != nil {
		r.Err = merr.Error()
	}
	if plan == nil && sc.Deploy != nil {
		if sc.RollingDeploy {
			time.Sleep(c.rollingDeploy) // old code keeps running until the deploy reaches it
		}
		deploy(w, sc.Deploy)
		r.Marks = append(r.Marks, mark{At: w.since(), Label: "code deploy"})
	}
	if err := <-held; err != nil {
		return r, err
	}
	r.LongTx[1] = r.LongTx[0] + c.longTx
	time.Sleep(c.cooldown)
	stop()
	wg.Wait()
	r.Workload = w.window(r.From, r.To)
	r.Ops = w.snapshot()
	if r.RowsAfter, r.SumAfter, err = checksum(ctx, migrate, sc.Kept[1], c.rows); err != nil {
		return r, err
	}
	r.Preserved = r.RowsAfter == r.RowsBefore && r.SumAfter == r.SumBefore
	return r, nil
}

func naiveSQL(sc scenario) string {
	if sc.Naive != "" {
		return sc.Naive
	}
	return sc.Statement
}

// checksum counts the original rows and hashes the columns that must
// survive (the workload inserts rows beyond them and updates only counter).
func checksum(ctx context.Context, conn *pgx.Conn, cols string, n int64) (int64, string, error) {
	var count int64
	var sum *string
	q := fmt.Sprintf("SELECT count(*), md5(string_agg(concat_ws('|', %s), ',' ORDER BY id)) FROM accounts WHERE id <= %d", cols, n)
	if err := conn.QueryRow(ctx, q).Scan(&count, &sum); err != nil {
		return 0, "", err
	}
	if sum == nil {
		return count, "", nil
	}
	return count, *sum, nil
}

func printScenario(w io.Writer, sc scenario, plan *report.JSONPlan, naive, planned result) {
	fmt.Fprintf(w, "\n%s (%s): %s\n  plan: %s, %d steps\n", sc.Name, sc.Code, oneLine(sc.Statement), plan.Title, len(plan.Steps))
	fmt.Fprintf(w, "  %-6s %9s %9s %9s %12s %7s %9s %9s %8s %s\n", "", "p50", "p99", "max", "write stall", "errors", "timeouts", "wall", "retries", "data")
	for _, r := range []result{naive, planned} {
		data := "kept"
		if !r.Preserved {
			data = fmt.Sprintf("CHANGED (%d -> %d rows)", r.RowsBefore, r.RowsAfter)
		}
		fmt.Fprintf(w, "  %-6s %9s %9s %9s %12s %7d %9d %9s %8d %s\n", r.Variant, ms(r.Workload.P50), ms(r.Workload.P99), ms(r.Workload.Max),
			ms(r.Workload.LongestStall), r.Workload.Errors, r.Workload.Timeouts, ms(r.Wall), r.Retries, data)
		if r.Err != "" {
			fmt.Fprintf(w, "         migration failed: %s\n", r.Err)
		}
	}
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// ms renders a duration compactly for the table.
func ms(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	case d >= 10*time.Millisecond:
		return fmt.Sprintf("%dms", d.Milliseconds())
	}
	return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000)
}
