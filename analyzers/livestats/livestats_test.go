package livestats

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fluxlint/fluxlint/analyzers/migrations"
	"github.com/fluxlint/fluxlint/internal/mytest"
	"github.com/fluxlint/fluxlint/internal/pgtest"
)

// TestMain stops the private database servers the tests started.
func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.StopShared()
	mytest.StopShared()
	os.Exit(code)
}

// TestSessionIsReadOnly: a write attempted on the session fluxlint opens
// fails, on PostgreSQL and on MariaDB, even as a superuser.
func TestSessionIsReadOnly(t *testing.T) {
	ctx := context.Background()
	pg := pgtest.Shared(t)
	conn := pg.FreshDB(t)
	src, err := ParseURL(fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", pg.Port, conn.Config().Database))
	if err != nil {
		t.Fatal(err)
	}
	session, err := connectPostgres(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	defer session.Close(ctx)
	// Every transaction of the session defaults to read-only (an explicit
	// BEGIN READ WRITE could override it; fluxlint sends none).
	for _, write := range []string{"CREATE TABLE written (id int)", "BEGIN; CREATE TABLE written (id int); COMMIT", "SELECT pg_catalog.set_config('search_path', 'x', false); CREATE TABLE written (id int)"} {
		_, err = session.Exec(ctx, write)
		if err == nil || !strings.Contains(err.Error(), "read-only transaction") {
			t.Errorf("PostgreSQL: %s on fluxlint's session: %v, want a read-only error", write, err)
		}
		_, _ = session.Exec(ctx, "ROLLBACK")
	}

	my := mytest.Shared(t)
	db := my.FreshDB(t)
	var name string
	if err := db.QueryRow("SELECT DATABASE()").Scan(&name); err != nil {
		t.Fatal(err)
	}
	msrc, err := ParseURL(fmt.Sprintf("mysql://root@localhost/%s?socket=%s", name, my.Socket()))
	if err != nil {
		t.Fatal(err)
	}
	mconn, done, _, err := connectMySQL(ctx, msrc)
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	for _, write := range []string{"CREATE TABLE written (id int)", "INSERT INTO mysql.help_topic (help_topic_id, name) VALUES (999999, 'x')"} {
		if _, err := mconn.ExecContext(ctx, write); err == nil || !strings.Contains(err.Error(), "READ ONLY") {
			t.Errorf("MariaDB: %s on fluxlint's session: %v, want a read-only error", write, err)
		}
	}
}

// TestURLErrorsHideThePassword: a URL that does not parse, or names an
// unknown scheme, is an error that never repeats its password.
func TestURLErrorsHideThePassword(t *testing.T) {
	for _, raw := range []string{"postgres://u:hunter2@host:notaport/db", "redis://u:hunter2@host/db", "mysql://u:hunter2@%zz/db"} {
		_, err := ParseURL(raw)
		if err == nil {
			t.Errorf("%s: no error", raw)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: error shows the password: %v", raw, err)
		}
	}
}

// TestConflict follows PostgreSQL's lock conflict table.
func TestConflict(t *testing.T) {
	for _, c := range []struct {
		want, held string
		conflict   bool
	}{
		{"ACCESS EXCLUSIVE", "AccessShareLock", true},
		{"SHARE", "RowExclusiveLock", true},
		{"SHARE", "AccessShareLock", false},
		{"SHARE UPDATE EXCLUSIVE", "RowExclusiveLock", false},
		{"SHARE UPDATE EXCLUSIVE", "ShareUpdateExclusiveLock", true},
	} {
		if got := Conflict(c.want, c.held); got != c.conflict {
			t.Errorf("Conflict(%s, %s) = %v, want %v", c.want, c.held, got, c.conflict)
		}
	}
}

// TestApplied reads the tools' version tables: goose's and drizzle's
// (which records a migration by its journal entry's "when").
func TestApplied(t *testing.T) {
	ctx := context.Background()
	pg := pgtest.Shared(t)
	conn := pg.FreshDB(t)
	if err := pgtest.ExecScript(ctx, conn, `CREATE TABLE goose_db_version (id serial, version_id bigint, is_applied boolean, tstamp timestamp DEFAULT now());
		INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, true), (20240101000000, true);
		CREATE SCHEMA drizzle; CREATE TABLE drizzle.__drizzle_migrations (id serial, hash text, created_at bigint);
		INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES ('x', 1704067200000);`); err != nil {
		t.Fatal(err)
	}
	src, err := ParseURL(fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", pg.Port, conn.Config().Database))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "meta"), 0o755); err != nil {
		t.Fatal(err)
	}
	journal := `{"entries": [{"idx": 0, "when": 1704067200000, "tag": "0000_init"}, {"idx": 1, "when": 1706745600000, "tag": "0001_change"}]}`
	if err := os.WriteFile(filepath.Join(dir, "meta", "_journal.json"), []byte(journal), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		m    migrations.Migration
		want bool
	}{
		{migrations.Migration{Tool: migrations.Goose, Version: "20240101000000"}, true},
		{migrations.Migration{Tool: migrations.Goose, Version: "20240201000000"}, false},
		{migrations.Migration{Tool: migrations.Drizzle, Set: dir, Version: "0000_init"}, true},
		{migrations.Migration{Tool: migrations.Drizzle, Set: dir, Version: "0001_change"}, false},
		{migrations.Migration{Tool: migrations.Dbmate, Version: "20240101000000"}, false}, // no schema_migrations table
	} {
		got, err := Applied(ctx, src, &c.m)
		if err != nil || got != c.want {
			t.Errorf("%s %s: applied %v, %v; want %v", c.m.Tool, c.m.Version, got, err, c.want)
		}
	}
}
