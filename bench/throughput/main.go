//go:build bench

// Command throughput measures the constants of fluxlint's duration model
// (rules/sizing): how fast the test tooling's PostgreSQL and MariaDB
// rewrite a table, build an index (plain and online), read a table in
// full, and update it in batches, on a table of N rows.
//
//	go run -tags bench ./bench/throughput              # N = 1,000,000, 3 runs each, median
//	go run -tags bench ./bench/throughput -rows 200000 -runs 1
//
// It prints each measurement and the Model values to put in
// rules/sizing/estimate.go.
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"os"
	"runtime"
	"sort"
	"time"

	"github.com/fluxlint/fluxlint/internal/mytest"
	"github.com/fluxlint/fluxlint/internal/pgtest"
)

func main() {
	rows := flag.Int("rows", 1_000_000, "rows in the table")
	runs := flag.Int("runs", 3, "runs of each measurement (the median is kept)")
	batch := flag.Int("batch", 5000, "rows per batched UPDATE")
	flag.Parse()
	fmt.Printf("throughput: %d rows, %d runs, median; %d cores, %s\n\n", *rows, *runs, runtime.NumCPU(), time.Now().Format("2006-01-02"))
	if err := postgres(*rows, *runs, *batch); err != nil {
		fmt.Fprintln(os.Stderr, "postgres:", err)
		os.Exit(1)
	}
	if err := mariadb(*rows, *runs, *batch); err != nil {
		fmt.Fprintln(os.Stderr, "mariadb:", err)
		os.Exit(1)
	}
}

// median runs fn runs times (setup before each, untimed) and returns the
// median duration.
func median(runs int, setup func() error, fn func() error) (time.Duration, error) {
	var ds []time.Duration
	for range runs {
		if setup != nil {
			if err := setup(); err != nil {
				return 0, err
			}
		}
		start := time.Now()
		if err := fn(); err != nil {
			return 0, err
		}
		ds = append(ds, time.Since(start))
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[len(ds)/2], nil
}

func rate(what string, amount float64, unit string, d time.Duration) float64 {
	r := amount / d.Seconds()
	fmt.Printf("  %-40s %8.2f s  %10.1f %s/s\n", what, d.Seconds(), r/map[string]float64{"MB": 1e6, "rows": 1}[unit], unit)
	return r
}

func postgres(rows, runs, batch int) error {
	srv, err := pgtest.Start()
	if err != nil {
		return err
	}
	defer srv.Stop()
	ctx := context.Background()
	conn, err := srv.Connect(ctx, "postgres")
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	exec := func(sql string) error { _, err := conn.Exec(ctx, sql); return err }
	if err := exec(fmt.Sprintf(`CREATE TABLE t (id bigint PRIMARY KEY, email text NOT NULL, n int NOT NULL, at timestamptz NOT NULL);
		INSERT INTO t SELECT g, 'user' || g || '@example.com', g %% 1000, now() FROM generate_series(1, %d) g;`, rows)); err != nil {
		return err
	}
	if err := exec("VACUUM ANALYZE t"); err != nil {
		return err
	}
	var heap, total float64
	if err := conn.QueryRow(ctx, "SELECT pg_relation_size('t'), pg_total_relation_size('t')").Scan(&heap, &total); err != nil {
		return err
	}
	fmt.Printf("PostgreSQL %s: table of %.0f MB heap, %.0f MB with indexes\n", srv.Version, heap/1e6, total/1e6)
	drop := func() error { return exec("DROP INDEX IF EXISTS t_email") }
	d, err := median(runs, drop, func() error { return exec("CREATE INDEX t_email ON t (email)") })
	if err != nil {
		return err
	}
	index := rate("CREATE INDEX (heap bytes)", heap, "MB", d)
	d, err = median(runs, drop, func() error { return exec("CREATE INDEX CONCURRENTLY t_email ON t (email)") })
	if err != nil {
		return err
	}
	concurrent := rate("CREATE INDEX CONCURRENTLY (heap bytes)", heap, "MB", d)
	_ = drop()
	d, err = median(runs, func() error {
		return exec("ALTER TABLE t DROP CONSTRAINT IF EXISTS t_n_check; ALTER TABLE t ADD CONSTRAINT t_n_check CHECK (n >= 0) NOT VALID")
	}, func() error { return exec("ALTER TABLE t VALIDATE CONSTRAINT t_n_check") })
	if err != nil {
		return err
	}
	scan := rate("VALIDATE CONSTRAINT (heap bytes)", heap, "MB", d)
	types := []string{"bigint", "int"}
	i := 0
	d, err = median(runs, nil, func() error {
		i++
		return exec("ALTER TABLE t ALTER COLUMN n TYPE " + types[i%2])
	})
	if err != nil {
		return err
	}
	rewrite := rate("ALTER COLUMN TYPE rewrite (all bytes)", total, "MB", d)
	updated := 0
	d, err = median(runs, nil, func() error {
		for b := range 20 {
			lo := (updated+b)*batch%max(rows-batch, 1) + 1
			if _, err := conn.Exec(ctx, "UPDATE t SET n = n + 1 WHERE id >= $1 AND id < $2", lo, lo+batch); err != nil {
				return err
			}
		}
		updated += 20
		return nil
	})
	if err != nil {
		return err
	}
	update := rate(fmt.Sprintf("batched UPDATE, %d rows a batch", batch), float64(20*batch), "rows", d)
	fmt.Printf("  Model{RewriteBytesPerSec: %.0fe6, IndexBytesPerSec: %.0fe6, ConcurrentIndexBytesPerSec: %.0fe6, ScanBytesPerSec: %.0fe6, UpdateRowsPerSec: %.0fe3}\n\n",
		rewrite/1e6, index/1e6, concurrent/1e6, scan/1e6, update/1e3)
	return nil
}

func mariadb(rows, runs, batch int) error {
	srv, err := mytest.Start()
	if err != nil {
		return err
	}
	defer srv.Stop()
	ctx := context.Background()
	db, err := sql.Open("mysql", srv.DSN(""))
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	exec := func(q string) error { _, err := db.ExecContext(ctx, q); return err }
	if err := exec(fmt.Sprintf(`CREATE DATABASE bench; USE bench;
		CREATE TABLE t (id bigint PRIMARY KEY, email varchar(100) NOT NULL, n int NOT NULL, at datetime NOT NULL);
		INSERT INTO t SELECT seq, concat('user', seq, '@example.com'), seq %% 1000, now() FROM seq_1_to_%d;
		ANALYZE TABLE t;`, rows)); err != nil {
		return err
	}
	var data, total float64
	if err := db.QueryRowContext(ctx, "SELECT DATA_LENGTH, DATA_LENGTH + INDEX_LENGTH FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'bench' AND TABLE_NAME = 't'").Scan(&data, &total); err != nil {
		return err
	}
	fmt.Printf("MariaDB %s: table of %.0f MB data, %.0f MB with indexes\n", srv.Version, data/1e6, total/1e6)
	drop := func() error {
		var n int
		_ = db.QueryRowContext(ctx, "SELECT count(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = 'bench' AND INDEX_NAME = 't_email'").Scan(&n)
		if n > 0 {
			return exec("ALTER TABLE t DROP INDEX t_email")
		}
		return nil
	}
	d, err := median(runs, drop, func() error { return exec("ALTER TABLE t ADD INDEX t_email (email), ALGORITHM=INPLACE, LOCK=NONE") })
	if err != nil {
		return err
	}
	index := rate("ADD INDEX, INPLACE, LOCK=NONE (data bytes)", data, "MB", d)
	_ = drop()
	d, err = median(runs, nil, func() error {
		var c int64
		return db.QueryRowContext(ctx, "SELECT count(*) FROM t IGNORE INDEX (PRIMARY) WHERE n >= 0").Scan(&c)
	})
	if err != nil {
		return err
	}
	scan := rate("full read (data bytes)", data, "MB", d)
	types := []string{"bigint", "int"}
	i := 0
	d, err = median(runs, nil, func() error {
		i++
		return exec("ALTER TABLE t MODIFY n " + types[i%2] + " NOT NULL, ALGORITHM=COPY")
	})
	if err != nil {
		return err
	}
	rewrite := rate("ALGORITHM=COPY type change (all bytes)", total, "MB", d)
	updated := 0
	d, err = median(runs, nil, func() error {
		for b := range 20 {
			lo := (updated+b)*batch%max(rows-batch, 1) + 1
			if _, err := db.ExecContext(ctx, "UPDATE t SET n = n + 1 WHERE id >= ? AND id < ?", lo, lo+batch); err != nil {
				return err
			}
		}
		updated += 20
		return nil
	})
	if err != nil {
		return err
	}
	update := rate(fmt.Sprintf("batched UPDATE, %d rows a batch", batch), float64(20*batch), "rows", d)
	fmt.Printf("  Model{RewriteBytesPerSec: %.0fe6, IndexBytesPerSec: %.0fe6, ConcurrentIndexBytesPerSec: %.0fe6, ScanBytesPerSec: %.0fe6, UpdateRowsPerSec: %.0fe3}\n",
		rewrite/1e6, index/1e6, index/1e6, scan/1e6, update/1e3)
	return nil
}
