package sqlgen_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/fluxlint/fluxlint/analyzers/pg"
	"github.com/fluxlint/fluxlint/internal/pgtest"
	"github.com/fluxlint/fluxlint/rules/sqlgen"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.StopShared()
	os.Exit(code)
}

// TestWithLockRetryFallsBack checks that SQL a PL/pgSQL block cannot run
// (CONCURRENTLY, a SELECT) and zero retries keep the plain SET
// lock_timeout.
func TestWithLockRetryFallsBack(t *testing.T) {
	r := sqlgen.LockRetry{Timeout: 50 * time.Millisecond, Retries: 3}
	for _, sql := range []string{
		"CREATE INDEX CONCURRENTLY i ON t (a);",
		"SELECT setval('s', 1);",
		"ALTER TABLE t ADD COLUMN b int;\nCOMMIT;",
	} {
		if got := sqlgen.WithLockRetry(r, sql); got != "SET lock_timeout = '50ms';\n"+sql {
			t.Errorf("%q: got\n%s\nwant the plain SET lock_timeout before it", sql, got)
		}
	}
	if got := sqlgen.WithLockRetry(sqlgen.LockRetry{Timeout: time.Second}, "ALTER TABLE t ADD COLUMN b int;"); !strings.HasPrefix(got, "SET lock_timeout = '1000ms';") {
		t.Errorf("no retries: got %s", got)
	}
	// A body that uses the block's own quote tag gets another one.
	if got := sqlgen.WithLockRetry(r, "COMMENT ON TABLE t IS $retry$x$retry$;"); !strings.Contains(got, "DO $retry_retry$") {
		t.Errorf("tag clash: got %s", got)
	}
}

// TestWithLockRetryOnPostgres runs the retry block on the real server
// behind a transaction that holds a conflicting lock, and checks what the
// plans promise: the step succeeds once the blocker ends, after retries;
// while it pauses between attempts, other sessions write to the table
// (the timed-out attempt released its lock); it gives up with SQLSTATE
// 55P03 when the retries run out; and in a transaction that has already
// written it fails at the first timeout, without pausing.
func TestWithLockRetryOnPostgres(t *testing.T) {
	srv := pgtest.Shared(t)
	ctx := context.Background()
	conn := srv.FreshDB(t)
	if err := pgtest.ExecScript(ctx, conn, "CREATE TABLE accounts (id bigint PRIMARY KEY, note text); INSERT INTO accounts SELECT g FROM generate_series(1, 100) g;"); err != nil {
		t.Fatal(err)
	}
	db := conn.Config().Database
	open := func() *pgx.Conn {
		c, err := srv.Connect(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close(ctx) })
		return c
	}
	blocker, writer, migrator := open(), open(), open()
	var notices atomic.Int32
	cfg := migrator.Config()
	cfg.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) {
		if strings.Contains(n.Message, "lock not granted") {
			notices.Add(1)
		}
	}
	mc, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer mc.Close(ctx)
	hold := func() {
		t.Helper()
		if err := pgtest.ExecScript(ctx, blocker, "BEGIN; SELECT 1 FROM accounts LIMIT 1;"); err != nil {
			t.Fatal(err)
		}
	}
	release := func() {
		t.Helper()
		if err := pgtest.ExecScript(ctx, blocker, "COMMIT"); err != nil {
			t.Fatal(err)
		}
	}
	step := sqlgen.WithLockRetry(sqlgen.LockRetry{Timeout: 50 * time.Millisecond, Retries: 10}, "ALTER TABLE accounts ADD COLUMN tenant_id bigint;")

	// Succeeds after the blocker ends; writes go on during the pauses.
	hold()
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- pgtest.ExecScript(ctx, mc, step) }()
	time.Sleep(150 * time.Millisecond)
	var worst time.Duration
	for i := 0; time.Since(start) < 700*time.Millisecond; i++ {
		w := time.Now()
		if _, err := writer.Exec(ctx, "UPDATE accounts SET note = $1 WHERE id = 1", fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
		worst = max(worst, time.Since(w))
		time.Sleep(5 * time.Millisecond)
	}
	release()
	if err := <-done; err != nil {
		t.Fatalf("the step failed after the blocker ended: %v", err)
	}
	t.Logf("%d retries; the longest write took %v", notices.Load(), worst)
	if n := notices.Load(); n < 1 {
		t.Errorf("the step took its lock without a retry (%d notices): the blocker did not block it", n)
	}
	// A write waits for at most one attempt's lock_timeout (50 ms), plus
	// scheduling slack on a busy test machine.
	if worst > 400*time.Millisecond {
		t.Errorf("a write waited %v while the step retried: the pauses hold the lock", worst)
	}
	var cols int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'accounts' AND column_name = 'tenant_id'").Scan(&cols); err != nil || cols != 1 {
		t.Fatalf("tenant_id not added (%d, %v)", cols, err)
	}

	// Gives up with 55P03 when the retries run out.
	notices.Store(0)
	hold()
	few := sqlgen.WithLockRetry(sqlgen.LockRetry{Timeout: 20 * time.Millisecond, Retries: 2}, "ALTER TABLE accounts DROP COLUMN tenant_id;")
	err = pgtest.ExecScript(ctx, mc, few)
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "55P03" {
		t.Errorf("retries exhausted: got %v, want SQLSTATE 55P03", err)
	}
	if n := notices.Load(); n != 2 {
		t.Errorf("retries exhausted: %d retries announced, want 2", n)
	}

	// After a write in the same transaction: one attempt, no pause.
	notices.Store(0)
	start = time.Now()
	err = pgtest.ExecScript(ctx, mc, "BEGIN; UPDATE accounts SET note = 'x' WHERE id = 2; "+step+" COMMIT;")
	if !errors.As(err, &pe) || pe.Code != "55P03" {
		t.Errorf("after a write: got %v, want SQLSTATE 55P03 at once", err)
	}
	if n := notices.Load(); n != 0 || time.Since(start) > time.Second {
		t.Errorf("after a write: %d retries in %v, want none (its locks would be held through the pauses)", n, time.Since(start))
	}
	_ = pgtest.ExecScript(ctx, mc, "ROLLBACK")
	release()
}

// TestRunsInBlockAgreesWithTheParser checks the cheap classification that
// WithLockRetry uses against the parser's on the kinds of SQL plans build
// and on the kinds that must stay outside a block.
func TestRunsInBlockAgreesWithTheParser(t *testing.T) {
	for _, sql := range []string{
		"ALTER TABLE t ADD COLUMN b int;",
		"ALTER TABLE t ADD CONSTRAINT k CHECK (a > 0) NOT VALID;\nALTER TABLE t VALIDATE CONSTRAINT k;",
		"CREATE INDEX i ON t (a);\nALTER TABLE t ADD CONSTRAINT u UNIQUE USING INDEX i;",
		"CREATE OR REPLACE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $fluxlint$ BEGIN SELECT 1; RETURN NEW; END $fluxlint$;\nCREATE TRIGGER g BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION f();",
		"DROP TRIGGER IF EXISTS g ON t;\nDROP FUNCTION IF EXISTS f();",
		"UPDATE t SET a = 0 WHERE a IS NULL;",
		"UPDATE t SET a = 0 RETURNING id;",
		"LOCK TABLE t IN ACCESS EXCLUSIVE MODE;\nALTER TABLE t RENAME TO u;",
		"SELECT setval('s', 1);",
		"ALTER TABLE t ADD COLUMN b int;\nSELECT 1;",
		"WITH x AS (SELECT 1) SELECT * FROM x;",
		"CREATE INDEX CONCURRENTLY i ON t (a);",
		"DROP INDEX CONCURRENTLY IF EXISTS i;",
		"REINDEX INDEX CONCURRENTLY i;",
		"ALTER TABLE p DETACH PARTITION c CONCURRENTLY;",
		"COMMENT ON COLUMN t.a IS 'done concurrently';",
		"BEGIN;\nALTER TABLE t ADD COLUMN b int;\nCOMMIT;",
		"VACUUM t;",
		"CREATE DATABASE d;",
		"DO $$ BEGIN PERFORM 1; END $$;",
	} {
		if fast, exact := sqlgen.RunsInBlock(sql), pg.RunsInBlock(sql); fast != exact {
			t.Errorf("%q: the cheap check says %v, the parser %v", sql, fast, exact)
		}
	}
}

// TestExpandRetry checks how a plan's short form is written out: SQL after
// SET lock_timeout goes into the retry block with that timeout (a repeated
// SET of the same timeout inside it dropped); other SQL, no retries, or SQL
// a block cannot run stays as it is.
func TestExpandRetry(t *testing.T) {
	short := "SET lock_timeout = '50ms';\nDROP INDEX IF EXISTS i;\nSET lock_timeout = '50ms';\nCREATE INDEX IF NOT EXISTS i ON ONLY p (a);"
	want := sqlgen.WithLockRetry(sqlgen.LockRetry{Timeout: 50 * time.Millisecond, Retries: 10}, "DROP INDEX IF EXISTS i;\nCREATE INDEX IF NOT EXISTS i ON ONLY p (a);")
	if got := sqlgen.ExpandRetry(short, 10); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	for _, c := range []struct {
		sql     string
		retries int
	}{
		{short, 0},
		{"ALTER TABLE t ADD COLUMN b int;", 10},
		{"SET lock_timeout = '50ms';", 10},
		{"SET lock_timeout = '50ms';\nCREATE INDEX CONCURRENTLY i ON t (a);", 10},
		{"SET SESSION lock_wait_timeout = 1;\nALTER TABLE t ADD COLUMN b int;", 10},
	} {
		if got := sqlgen.ExpandRetry(c.sql, c.retries); got != c.sql {
			t.Errorf("%q with %d retries: got\n%s\nwant it unchanged", c.sql, c.retries, got)
		}
	}
}
