package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fluxlint/fluxlint/internal/mytest"
	"github.com/fluxlint/fluxlint/internal/pgtest"
	"github.com/fluxlint/fluxlint/internal/report"
)

// The live-facts tests run fluxlint against a real PostgreSQL that holds a
// small and a large table, as a user would with --database-url.

// liveHistory is the migrations' history: both tables as the database has
// them (001), and the change under review (002, after the baseline).
const liveHistory = `CREATE TABLE small (id bigint PRIMARY KEY, email text);
CREATE TABLE big (id bigint PRIMARY KEY, email text);
`

const liveChange = `CREATE INDEX small_email ON small (email);
CREATE INDEX big_email ON big (email);
ALTER TABLE small ADD COLUMN score int NOT NULL;
ALTER TABLE big ADD COLUMN score int NOT NULL;
`

// liveProject writes a migrations directory with the history as baseline
// and returns its path.
func liveProject(t *testing.T, change string) string {
	t.Helper()
	dir := t.TempDir()
	mig := filepath.Join(dir, "migrations")
	must(t, os.MkdirAll(mig, 0o755))
	must(t, os.WriteFile(filepath.Join(mig, "001_init.sql"), []byte(liveHistory), 0o644))
	must(t, os.WriteFile(filepath.Join(mig, "002_change.sql"), []byte(change), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, ".fluxlint.yml"), []byte("baseline: \"001\"\n"), 0o644))
	return mig
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// liveDB creates the two tables with 100 and 2,000,000 rows, analyzed, and
// returns the database's URL.
func liveDB(t *testing.T) (string, *pgtest.Server) {
	t.Helper()
	srv := pgtest.Shared(t)
	conn := srv.FreshDB(t)
	ctx := context.Background()
	must(t, pgtest.ExecScript(ctx, conn, liveHistory+`
		INSERT INTO small SELECT g, 'u' || g || '@example.com' FROM generate_series(1, 100) g;
		INSERT INTO big SELECT g, 'u' || g || '@example.com' FROM generate_series(1, 2000000) g;
		ANALYZE small; ANALYZE big;`))
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", srv.Port, conn.Config().Database), srv
}

// lintJSON runs fluxlint with args and decodes its JSON report.
func lintJSON(t *testing.T, args ...string) (report.JSONReport, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(append([]string{"--format", "json", "--code-path", "none"}, args...), &stdout, &stderr)
	var rep report.JSONReport
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("exit %d, output is not JSON: %v\n%s\n%s", code, err, stdout.String(), stderr.String())
	}
	return rep, stderr.String()
}

// sameFromStats exports the database's facts to a file and checks that
// linting with it gives exactly the findings the live connection gave.
func sameFromStats(t *testing.T, url, mig string, live report.JSONReport) {
	t.Helper()
	stats := filepath.Join(t.TempDir(), "fluxlint-stats.json")
	var out, errb bytes.Buffer
	if code := run([]string{"stats", "export", "--database-url", url, "--output", stats}, &out, &errb); code != 0 {
		t.Fatalf("stats export: exit %d: %s", code, errb.String())
	}
	fromFile, _ := lintJSON(t, "--stats", stats, mig)
	a, _ := json.Marshal(live.Findings)
	b, _ := json.Marshal(fromFile.Findings)
	if !bytes.Equal(a, b) {
		t.Errorf("--stats gives other findings than --database-url:\nlive:  %s\nstats: %s", a, b)
	}
}

// find returns the finding with the code whose message names the table.
func find(rep report.JSONReport, code, table string) *report.JSONFinding {
	for i, f := range rep.Findings {
		if f.Code == code && strings.Contains(f.Message, `"`+table+`"`) {
			return &rep.Findings[i]
		}
	}
	return nil
}

// TestLiveFactsSizeTheVerdict: the same statements get another severity,
// plan and batch size on a 100-row table than on a 2,000,000-row one, the
// message states the size, steps that read the big table carry an
// estimate, and a stats file exported from the database gives exactly the
// findings the live connection gives.
func TestLiveFactsSizeTheVerdict(t *testing.T) {
	url, _ := liveDB(t)
	mig := liveProject(t, liveChange)
	rep, stderr := lintJSON(t, "--database-url", url, mig)
	for _, table := range []string{"small", "big"} {
		if find(rep, "PG101", table) == nil || find(rep, "PG201", table) == nil {
			t.Fatalf("want PG101 and PG201 on %s; got %+v\nstderr: %s", table, rep.Findings, stderr)
		}
	}
	small, big := find(rep, "PG101", "small"), find(rep, "PG101", "big")
	if small.Severity != "info" || big.Severity != "error" {
		t.Errorf("PG101 severity: small %s, big %s; want info and error", small.Severity, big.Severity)
	}
	if !strings.Contains(small.Message, "small: ~100 rows") || !strings.Contains(big.Message, "big: ~2M rows") {
		t.Errorf("messages do not state the sizes:\n%s\n%s", small.Message, big.Message)
	}
	if !small.Plan.KeepsStatement || len(small.Plan.Steps) != 1 || !strings.Contains(small.Plan.Steps[0].Forward, "SET lock_timeout") {
		t.Errorf("small table's plan should be the statement under lock_timeout: %+v", small.Plan)
	}
	if big.Plan.KeepsStatement || !strings.Contains(big.Plan.Steps[0].Forward, "CONCURRENTLY") {
		t.Errorf("big table's plan should build the index concurrently: %+v", big.Plan)
	}
	if e := big.Plan.Steps[0].Estimate; !strings.Contains(e, "estimate") || !strings.Contains(e, "of big") {
		t.Errorf("the concurrent build on big has no estimate: %q", e)
	}
	batch := func(f *report.JSONFinding) string {
		for _, s := range f.Plan.Steps {
			if s.Kind == "backfill" {
				return s.Title
			}
		}
		return ""
	}
	sb, bb := batch(find(rep, "PG201", "small")), batch(find(rep, "PG201", "big"))
	if !strings.Contains(sb, "batches of 100") || strings.Contains(bb, "batches of 100") || bb == "" {
		t.Errorf("backfill batches: small %q, big %q; want one batch of 100 on small and larger batches on big", sb, bb)
	}
	// The same run with the facts from a stats file.
	sameFromStats(t, url, mig, rep)
	// A server version given that is not the database's is a warning.
	if _, stderr := lintJSON(t, "--database-url", url, "--server-version", "14", mig); !strings.Contains(stderr, "the server version given (14) is not the database's (postgres 15.") {
		t.Errorf("no warning for --server-version 14 on a PostgreSQL 15 database: %s", stderr)
	}
	// Without facts, both tables get the same verdict.
	plain, _ := lintJSON(t, mig)
	if s, b := find(plain, "PG101", "small"), find(plain, "PG101", "big"); s.Severity != b.Severity {
		t.Errorf("without facts the verdicts differ: %s vs %s", s.Severity, b.Severity)
	}
}

// TestLiveFactsDrift: each kind of drift between the history and the
// database is reported on the first statement of the change that touches
// the table, with the leftovers of interrupted plans and tools, and the
// checks use the database's schema.
func TestLiveFactsDrift(t *testing.T) {
	srv := pgtest.Shared(t)
	conn := srv.FreshDB(t)
	ctx := context.Background()
	history := `CREATE TABLE drifted (id bigint PRIMARY KEY, name text NOT NULL, gone text, kind varchar(10), code text);
CREATE INDEX drifted_name_idx ON drifted (name);
`
	// The database: "gone" dropped by hand, "extra" added, "kind" widened,
	// "name" made nullable, the index never built, an INVALID index left by
	// a failed concurrent build, and a NOT VALID check.
	must(t, pgtest.ExecScript(ctx, conn, `CREATE TABLE drifted (id bigint PRIMARY KEY, name text, kind varchar(20), code text, extra int);
		INSERT INTO drifted VALUES (1, 'a', 'x', 'dup', 1), (2, 'b', 'y', 'dup', 2);
		ALTER TABLE drifted ADD CONSTRAINT drifted_extra_check CHECK (extra > 0) NOT VALID;
		CREATE FUNCTION drifted_name_sync() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
		CREATE TRIGGER drifted_name_sync BEFORE INSERT ON drifted FOR EACH ROW EXECUTE FUNCTION drifted_name_sync();
		CREATE TABLE _drifted_gho (id bigint);`))
	if _, err := conn.Exec(ctx, "CREATE UNIQUE INDEX CONCURRENTLY drifted_code_key ON drifted (code)"); err == nil {
		t.Fatal("the unique concurrent build on duplicates should fail and leave an INVALID index")
	}
	url := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", srv.Port, conn.Config().Database)
	dir := t.TempDir()
	mig := filepath.Join(dir, "migrations")
	must(t, os.MkdirAll(mig, 0o755))
	must(t, os.WriteFile(filepath.Join(mig, "001_init.sql"), []byte(history), 0o644))
	// extra is not in the history: without the database's schema this
	// would be "column does not exist" (PG120's 42703) or no finding.
	must(t, os.WriteFile(filepath.Join(mig, "002_change.sql"), []byte("ALTER TABLE drifted ALTER COLUMN extra SET NOT NULL;\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, ".fluxlint.yml"), []byte("baseline: \"001\"\n"), 0o644))
	rep, stderr := lintJSON(t, "--database-url", url, mig)
	var drift *report.JSONFinding
	for i, f := range rep.Findings {
		if f.Code == "FL005" {
			drift = &rep.Findings[i]
		}
	}
	if drift == nil {
		t.Fatalf("no FL005 drift finding: %+v\n%s", rep.Findings, stderr)
	}
	for _, want := range []string{
		`column "gone" is in the migrations but not in the database`,
		`column "extra" (integer) is in the database but no migration adds it`,
		`column "kind" is character varying(20) in the database, varchar(10) in the migrations`,
		`column "name" is nullable in the database, NOT NULL in the migrations`,
		`index "drifted_name_idx" is in the migrations but not in the database`,
		`index "drifted_code_key" is INVALID in the database`,
		`constraint "drifted_extra_check" is NOT VALID in the database`,
		// Leftovers of interrupted runs: a fluxlint sync trigger, a gh-ost ghost table.
		`trigger drifted_name_sync is left over from an interrupted fluxlint run`,
		`table _drifted_gho is left over from an interrupted gh-ost run`,
	} {
		if !strings.Contains(drift.Message, want) {
			t.Errorf("drift finding lacks %q:\n%s", want, drift.Message)
		}
	}
	if find(rep, "PG104", "drifted") == nil {
		t.Errorf("SET NOT NULL on the database's column extra should be PG104: %+v", rep.Findings)
	}
}

// TestLiveFactsMariaDB: on MariaDB too, the sizes come from the database,
// a small table's copy becomes info with the statement as its plan, the
// server version is the database's, and a stats file gives the same
// findings as the connection.
func TestLiveFactsMariaDB(t *testing.T) {
	srv := mytest.Shared(t)
	db := srv.FreshDB(t)
	ctx := context.Background()
	history := `CREATE TABLE small (id bigint PRIMARY KEY, email varchar(100));
CREATE TABLE big (id bigint PRIMARY KEY, email varchar(100));
CREATE TABLE drifted (id bigint PRIMARY KEY, a int NOT NULL, gone int);
`
	must(t, mytest.ExecScript(ctx, db, strings.Replace(history, "a int NOT NULL, gone int", "a bigint, extra int", 1)+`
		INSERT INTO small SELECT seq, concat('u', seq, '@example.com') FROM seq_1_to_100;
		INSERT INTO big SELECT seq, concat('u', seq, '@example.com') FROM seq_1_to_2000000;
		ANALYZE TABLE small, big;
		CREATE TABLE events (id bigint PRIMARY KEY) PARTITION BY HASH (id) PARTITIONS 2;`))
	var name string
	must(t, db.QueryRowContext(ctx, "SELECT DATABASE()").Scan(&name))
	url := fmt.Sprintf("mysql://root@localhost/%s?socket=%s", name, srv.Socket())
	dir := t.TempDir()
	mig := filepath.Join(dir, "migrations")
	must(t, os.MkdirAll(mig, 0o755))
	must(t, os.WriteFile(filepath.Join(mig, "001_init.sql"), []byte(history), 0o644))
	must(t, os.WriteFile(filepath.Join(mig, "002_change.sql"), []byte("ALTER TABLE small MODIFY email varchar(100) NOT NULL;\nALTER TABLE big MODIFY email varchar(100) NOT NULL;\nALTER TABLE drifted ADD COLUMN z int;\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, ".fluxlint.yml"), []byte("baseline: \"001\"\n"), 0o644))
	rep, stderr := lintJSON(t, "--database-url", url, mig)
	var small, big *report.JSONFinding
	for i, f := range rep.Findings {
		switch {
		case strings.Contains(f.Message, "(small: ~100 rows"):
			small = &rep.Findings[i]
		case strings.Contains(f.Message, "(big: ~2M rows") && f.Code != "MY113":
			big = &rep.Findings[i]
		}
	}
	if small == nil || big == nil {
		t.Fatalf("want findings on small and big stating their sizes: %+v\n%s", rep.Findings, stderr)
	}
	if small.Severity != "info" || big.Severity == "info" || !small.Plan.KeepsStatement || big.Plan.KeepsStatement {
		t.Errorf("small: %s %+v\nbig: %s %+v\nwant info with the statement kept on small, the full plan on big", small.Severity, small.Plan, big.Severity, big.Plan)
	}
	if !strings.Contains(big.Message, "[MariaDB 10.11.") {
		t.Errorf("the verdict should be for the database's version, with its patch: %s", big.Message)
	}
	var drift string
	for _, f := range rep.Findings {
		if f.Code == "FL005" {
			drift = f.Message
		}
	}
	for _, want := range []string{`column "gone" is in the migrations but not in the database`, `column "extra" (int(11)) is in the database but no migration adds it`,
		`column "a" is bigint(20) in the database, int in the migrations`, `column "a" is nullable in the database, NOT NULL in the migrations`} {
		if !strings.Contains(drift, want) {
			t.Errorf("MariaDB drift lacks %q: %s", want, drift)
		}
	}
	sameFromStats(t, url, mig, rep)
	var out, errb bytes.Buffer
	if code := run([]string{"stats", "export", "--database-url", url}, &out, &errb); code != 0 || !strings.Contains(out.String(), `"partitions": [`) {
		t.Errorf("the stats file should list the partitions of events: exit %d\n%s", code, errb.String())
	}
}

// TestLiveFactsNeverLeaksPassword: no password appears in an error, in verbose output or in the
// stats file, on both engines.
func TestLiveFactsNeverLeaksPassword(t *testing.T) {
	const secret = "s3cret-Pw"
	pg := pgtest.Shared(t)
	pg.CreatePasswordRole(t, "fluxlint_reader", secret)
	conn := pg.FreshDB(t)
	pgURL := fmt.Sprintf("postgres://fluxlint_reader:%s@127.0.0.1:%d/%s?sslmode=disable", secret, pg.Port, conn.Config().Database)
	wrongPG := strings.Replace(pgURL, secret, secret+"-wrong", 1)

	my := mytest.Shared(t)
	db := my.FreshDB(t)
	var name string
	must(t, db.QueryRow("SELECT DATABASE()").Scan(&name))
	for _, host := range []string{"localhost", "127.0.0.1"} {
		if _, err := db.Exec(fmt.Sprintf("CREATE USER IF NOT EXISTS 'fluxlint_reader'@'%s' IDENTIFIED BY '%s'", host, secret)); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(fmt.Sprintf("GRANT ALL ON *.* TO 'fluxlint_reader'@'%s'", host)); err != nil {
			t.Fatal(err)
		}
	}
	must(t, mytest.ExecScript(context.Background(), db, "CREATE TABLE t (id int PRIMARY KEY)"))
	myURL := fmt.Sprintf("mysql://fluxlint_reader:%s@localhost/%s?socket=%s", secret, name, my.Socket())
	wrongMy := strings.Replace(myURL, secret, secret+"-wrong", 1)

	for _, url := range []string{pgURL, myURL} {
		var out, errb bytes.Buffer
		if code := run([]string{"stats", "export", "--database-url", url}, &out, &errb); code != 0 {
			t.Fatalf("stats export: exit %d: %s", code, errb.String())
		}
		if strings.Contains(out.String()+errb.String(), secret) {
			t.Errorf("the stats file or stderr holds the password:\n%s%s", out.String(), errb.String())
		}
		// A report made with the right password does not hold it either.
		for _, format := range []string{"html", "json", "sarif"} {
			out.Reset()
			errb.Reset()
			stdin = strings.NewReader("ALTER TABLE t ADD COLUMN c int;")
			code := run([]string{"--format", format, "--database-url", url, "-"}, &out, &errb)
			if code > exitFindings || strings.Contains(out.String()+errb.String(), secret) {
				t.Errorf("%s report: exit %d, or it holds the password: %s", format, code, errb.String())
			}
		}
		stdin = os.Stdin
	}
	for _, url := range []string{wrongPG, wrongMy} {
		for _, args := range [][]string{{"stats", "export", "--database-url", url}, {"-v", "--database-url", url, "-"}, {"--format", "html", "--database-url", url, "-"}} {
			var out, errb bytes.Buffer
			code := run(args, &out, &errb)
			if code != exitUsage || !strings.Contains(errb.String(), "connecting") {
				t.Errorf("%v: exit %d, want 2 with a connection error: %s", args, code, errb.String())
			}
			if strings.Contains(out.String()+errb.String(), secret) {
				t.Errorf("%v: the password is printed:\n%s%s", args, out.String(), errb.String())
			}
		}
	}
}

// TestPreflight: a transaction holding a lock on the table makes preflight
// exit 1 and name the session; once it ends, preflight passes. On MariaDB
// without metadata_locks, any open transaction counts.
func TestPreflight(t *testing.T) {
	ctx := context.Background()
	pg := pgtest.Shared(t)
	conn := pg.FreshDB(t)
	must(t, pgtest.ExecScript(ctx, conn, "CREATE TABLE accounts (id bigint PRIMARY KEY); INSERT INTO accounts VALUES (1);"))
	url := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", pg.Port, conn.Config().Database)
	dir := t.TempDir()
	mig := filepath.Join(dir, "migrations")
	must(t, os.MkdirAll(mig, 0o755))
	must(t, os.WriteFile(filepath.Join(mig, "001_init.sql"), []byte("CREATE TABLE accounts (id bigint PRIMARY KEY);\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(mig, "002_change.sql"), []byte("ALTER TABLE accounts ADD COLUMN note text;\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, ".fluxlint.yml"), []byte("baseline: \"001\"\n"), 0o644))

	holder, err := pg.Connect(ctx, conn.Config().Database)
	must(t, err)
	defer holder.Close(ctx)
	tx, err := holder.Begin(ctx)
	must(t, err)
	if _, err := tx.Exec(ctx, "SELECT count(*) FROM accounts /* nightly report */"); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code := run([]string{"preflight", "--database-url", url, mig}, &out, &errb)
	if code != exitFindings || !strings.Contains(out.String(), "holds ACCESS SHARE on public.accounts") || !strings.Contains(out.String(), "nightly report") {
		t.Errorf("with a reader in an open transaction: exit %d, want 1 naming it\n%s%s", code, out.String(), errb.String())
	}
	must(t, tx.Commit(ctx))
	out.Reset()
	errb.Reset()
	if code := run([]string{"preflight", "--database-url", url, mig}, &out, &errb); code != exitOK {
		t.Errorf("after the transaction ended: exit %d, want 0\n%s%s", code, out.String(), errb.String())
	}

	my := mytest.Shared(t)
	db := my.FreshDB(t)
	must(t, mytest.ExecScript(ctx, db, "CREATE TABLE accounts (id bigint PRIMARY KEY); INSERT INTO accounts VALUES (1);"))
	var name string
	must(t, db.QueryRow("SELECT DATABASE()").Scan(&name))
	myURL := fmt.Sprintf("mysql://root@localhost/%s?socket=%s", name, my.Socket())
	other, err := sql.Open("mysql", my.DSN(name))
	must(t, err)
	defer other.Close()
	mtx, err := other.BeginTx(ctx, nil)
	must(t, err)
	if _, err := mtx.ExecContext(ctx, "SELECT id FROM accounts FOR UPDATE"); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	errb.Reset()
	code = run([]string{"preflight", "--engine", "mariadb", "--max-transaction-age", "0s", "--database-url", myURL, mig}, &out, &errb)
	if code != exitFindings || !strings.Contains(out.String(), "metadata lock") {
		t.Errorf("MariaDB with an open transaction: exit %d, want 1\n%s%s", code, out.String(), errb.String())
	}
	must(t, mtx.Commit())
	// InnoDB refreshes what INNODB_TRX shows at most every 100 ms.
	time.Sleep(150 * time.Millisecond)
	out.Reset()
	errb.Reset()
	if code := run([]string{"preflight", "--engine", "mariadb", "--max-transaction-age", "0s", "--database-url", myURL, mig}, &out, &errb); code != exitOK {
		t.Errorf("MariaDB after the transaction ended: exit %d, want 0\n%s%s", code, out.String(), errb.String())
	}
}
