package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fluxlint/fluxlint/internal/clients"
	"github.com/fluxlint/fluxlint/internal/mytest"
	"github.com/fluxlint/fluxlint/internal/pgtest"
)

// fixTool is how a test drives one real migration tool.
type fixTool struct {
	name    string
	program string
	history string // the history migration's file name
	change  string // the unsafe migration's file name
	// files renders a migration's up and down SQL as the tool's files.
	files func(up, down string) map[string]string
	up    func(dir, url, dsn string) []string
	down  func(dir, url, dsn string) []string
}

var fixTools = []fixTool{
	{
		name: "goose", program: "goose", history: "20240101000000_init.sql", change: "20240201000000_change.sql",
		files: func(up, down string) map[string]string {
			return map[string]string{"": "-- +goose Up\n" + up + "\n-- +goose Down\n" + down}
		},
		up:   func(dir, _, dsn string) []string { return []string{"-dir", dir, "postgres", dsn, "up"} },
		down: func(dir, _, dsn string) []string { return []string{"-dir", dir, "postgres", dsn, "down"} },
	},
	{
		name: "golang-migrate", program: "migrate", history: "000001_init", change: "000002_change",
		files: func(up, down string) map[string]string {
			return map[string]string{".up.sql": up, ".down.sql": down}
		},
		up:   func(dir, url, _ string) []string { return []string{"-path", dir, "-database", url, "up"} },
		down: func(dir, url, _ string) []string { return []string{"-path", dir, "-database", url, "down", "1"} },
	},
	{
		name: "dbmate", program: "dbmate", history: "20240101000000_init.sql", change: "20240201000000_change.sql",
		files: func(up, down string) map[string]string {
			return map[string]string{"": "-- migrate:up\n" + up + "\n-- migrate:down\n" + down}
		},
		up: func(dir, url, _ string) []string {
			return []string{"--url", url, "--migrations-dir", dir, "--no-dump-schema", "up"}
		},
		down: func(dir, url, _ string) []string {
			return []string{"--url", url, "--migrations-dir", dir, "--no-dump-schema", "rollback"}
		},
	},
}

// The change under review: three unsafe statements, each with a plan.
const (
	fixHistoryUp = `CREATE TABLE users (id bigint PRIMARY KEY, email text, name text NOT NULL);
INSERT INTO users SELECT g, 'u' || g || '@example.com', 'user ' || g FROM generate_series(1, 50) g;`
	fixHistoryDown = `DROP TABLE users;`
	fixChangeUp    = `CREATE INDEX users_email_idx ON users (email);
ALTER TABLE users ADD COLUMN score int NOT NULL;
ALTER TABLE users ADD CONSTRAINT users_name_len CHECK (length(name) < 200);`
	fixChangeDown = `ALTER TABLE users DROP CONSTRAINT users_name_len;
ALTER TABLE users DROP COLUMN score;
DROP INDEX users_email_idx;`
)

// TestFixWithRealTools: for goose, golang-migrate and dbmate, a project
// with history and 50 rows gets an unsafe migration; fix --write replaces
// it with the plans' files; the real tool applies them (rows kept, the new
// column filled), fluxlint finds nothing left, a second fix writes nothing,
// and the tool's own down, one step at a time, brings back the schema the
// history left.
func TestFixWithRealTools(t *testing.T) {
	srv := pgtest.Shared(t)
	for _, tool := range fixTools {
		t.Run(tool.name, func(t *testing.T) {
			program := clients.Program(t, tool.program)
			conn := srv.FreshDB(t)
			ctx := context.Background()
			db := conn.Config().Database
			url := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", srv.Port, db)
			dsn := srv.ConnString(db)
			root := t.TempDir()
			dir := filepath.Join(root, "db")
			must(t, os.MkdirAll(dir, 0o755))
			writeMigration := func(name, up, down string) {
				for suffix, body := range tool.files(up, down) {
					must(t, os.WriteFile(filepath.Join(dir, name+suffix), []byte(body+"\n"), 0o644))
				}
			}
			runTool := func(args []string) {
				t.Helper()
				cmd := exec.Command(program, args...)
				cmd.Dir = root
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("%s %s: %v\n%s", tool.program, strings.Join(args, " "), err, out)
				}
			}
			writeMigration(tool.history, fixHistoryUp, fixHistoryDown)
			runTool(tool.up(dir, url, dsn))
			before, err := pgtest.SchemaDump(ctx, conn)
			must(t, err)
			writeMigration(tool.change, fixChangeUp, fixChangeDown)
			history := strings.TrimSuffix(strings.Split(tool.history, "_")[0], ".sql")
			must(t, os.WriteFile(filepath.Join(root, ".fluxlint.yml"), []byte(fmt.Sprintf("baseline: %q\n", history)), 0o644))
			t.Chdir(root)
			var out, errb bytes.Buffer
			if code := run([]string{"fix", "--write", "--code-path", "none", "db"}, &out, &errb); code != 0 {
				t.Fatalf("fix --write: exit %d\n%s%s", code, out.String(), errb.String())
			}
			entries, _ := os.ReadDir(dir)
			t.Logf("written: %s", errb.String())
			runTool(tool.up(dir, url, dsn))
			var rows, filled int
			must(t, conn.QueryRow(ctx, "SELECT count(*), count(score) FROM users").Scan(&rows, &filled))
			if rows != 50 || filled != 50 {
				t.Errorf("after the fix's migrations: %d rows, %d with score; want 50 and 50", rows, filled)
			}
			var valid bool
			must(t, conn.QueryRow(ctx, "SELECT indisvalid FROM pg_index WHERE indexrelid = 'users_email_idx'::regclass").Scan(&valid))
			if !valid {
				t.Error("the index the fix builds is not valid")
			}
			out.Reset()
			errb.Reset()
			if code := run([]string{"--format", "json", "--code-path", "none", "db"}, &out, &errb); strings.Contains(out.String(), `"code": "PG1`) || strings.Contains(out.String(), `"code": "PG2`) {
				t.Errorf("fluxlint still reports on the written files (exit %d):\n%s", code, out.String())
			}
			out.Reset()
			if code := run([]string{"fix", "--write", "--code-path", "none", "db"}, &out, &errb); code != 0 || !strings.Contains(out.String(), "no finding with a plan") {
				t.Errorf("a second fix --write should write nothing: exit %d\n%s", code, out.String())
			}
			// Down, one migration at a time, over every file the fix wrote.
			migrationsWritten := 0
			for _, e := range entries {
				if strings.HasSuffix(e.Name(), ".sql") && !strings.HasSuffix(e.Name(), ".down.sql") && !strings.HasPrefix(e.Name(), strings.TrimSuffix(tool.history, ".sql")) {
					migrationsWritten++
				}
			}
			if migrationsWritten < 3 {
				t.Fatalf("want the plans in several migrations, got %d files: %v", migrationsWritten, entries)
			}
			for range migrationsWritten {
				runTool(tool.down(dir, url, dsn))
			}
			after, err := pgtest.SchemaDump(ctx, conn)
			must(t, err)
			if after != before {
				t.Errorf("schema after the downs differs from the history's:\n--- before\n%s\n--- after\n%s", before, after)
			}
			must(t, conn.QueryRow(ctx, "SELECT count(*) FROM users").Scan(&rows))
			if rows != 50 {
				t.Errorf("%d rows after the downs, want 50", rows)
			}
		})
	}
}

// TestFixMariaDB: the same round trip on MariaDB with golang-migrate: an
// unsafe migration (a NOT NULL column without a default, a whole-table
// UPDATE) next to a safe statement, fixed, applied with rows kept, then
// rolled back step by step to the history's schema.
func TestFixMariaDB(t *testing.T) {
	program := clients.Program(t, "migrate")
	srv := mytest.Shared(t)
	db := srv.FreshDB(t)
	ctx := context.Background()
	var name string
	must(t, db.QueryRowContext(ctx, "SELECT DATABASE()").Scan(&name))
	url := fmt.Sprintf("mysql://root@unix(%s)/%s?multiStatements=true", srv.Socket(), name)
	root := t.TempDir()
	dir := filepath.Join(root, "db")
	must(t, os.MkdirAll(dir, 0o755))
	write := func(file, body string) { must(t, os.WriteFile(filepath.Join(dir, file), []byte(body), 0o644)) }
	migrate := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(program, append([]string{"-path", dir, "-database", url}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("migrate %v: %v\n%s", args, err, out)
		}
	}
	write("000001_init.up.sql", "CREATE TABLE users (id bigint PRIMARY KEY, email varchar(100), name varchar(100) NOT NULL);\nINSERT INTO users SELECT seq, concat('u', seq, '@example.com'), concat('user ', seq) FROM seq_1_to_50;\n")
	write("000001_init.down.sql", "DROP TABLE users;\n")
	migrate("up")
	before, err := mytest.SchemaDump(ctx, db)
	must(t, err)
	write("000002_change.up.sql", "ALTER TABLE users ADD COLUMN score int NOT NULL;\nUPDATE users SET name = upper(name);\nALTER TABLE users MODIFY email varchar(300);\n")
	write("000002_change.down.sql", "ALTER TABLE users MODIFY email varchar(100);\nALTER TABLE users DROP COLUMN score;\n")
	must(t, os.WriteFile(filepath.Join(root, ".fluxlint.yml"), []byte("engine: mariadb\nbaseline: \"000001\"\n"), 0o644))
	t.Chdir(root)
	var out, errb bytes.Buffer
	if code := run([]string{"fix", "--write", "--osc-tool", "none", "--code-path", "none", "db"}, &out, &errb); code != 0 {
		t.Fatalf("fix --write: exit %d\n%s%s", code, out.String(), errb.String())
	}
	migrate("up")
	var rows, upper int
	must(t, db.QueryRowContext(ctx, "SELECT count(*), sum(name = upper(name)) FROM users").Scan(&rows, &upper))
	if rows != 50 || upper != 50 {
		t.Errorf("after the fix's migrations: %d rows, %d upper-cased; want 50 and 50", rows, upper)
	}
	out.Reset()
	run([]string{"--format", "json", "--osc-tool", "none", "--code-path", "none", "db"}, &out, &errb)
	for _, code := range []string{"MY204", "MY206"} {
		if strings.Contains(out.String(), code) {
			t.Errorf("fluxlint still reports %s on the written files:\n%s", code, out.String())
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.up.sql"))
	for range len(files) - 1 {
		migrate("down", "1")
	}
	after, err := mytest.SchemaDump(ctx, db)
	must(t, err)
	if after != before {
		t.Errorf("schema after the downs differs:\n--- before\n%s\n--- after\n%s", before, after)
	}
}

// TestFixRefusesApplied: with --database-url, fix refuses to rewrite a
// migration that goose's version table lists as applied, and writes
// nothing.
func TestFixRefusesApplied(t *testing.T) {
	goose := clients.Program(t, "goose")
	srv := pgtest.Shared(t)
	conn := srv.FreshDB(t)
	db := conn.Config().Database
	root := t.TempDir()
	dir := filepath.Join(root, "db")
	must(t, os.MkdirAll(dir, 0o755))
	change := filepath.Join(dir, "20240201000000_change.sql")
	must(t, os.WriteFile(filepath.Join(dir, "20240101000000_init.sql"), []byte("-- +goose Up\n"+fixHistoryUp+"\n-- +goose Down\n"+fixHistoryDown+"\n"), 0o644))
	must(t, os.WriteFile(change, []byte("-- +goose Up\nCREATE INDEX users_email_idx ON users (email);\n-- +goose Down\nDROP INDEX users_email_idx;\n"), 0o644))
	if out, err := exec.Command(goose, "-dir", dir, "postgres", srv.ConnString(db), "up").CombinedOutput(); err != nil {
		t.Fatalf("goose up: %v\n%s", err, out)
	}
	must(t, os.WriteFile(filepath.Join(root, ".fluxlint.yml"), []byte("baseline: \"20240101000000\"\n"), 0o644))
	t.Chdir(root)
	url := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", srv.Port, db)
	before, _ := os.ReadFile(change)
	var out, errb bytes.Buffer
	code := run([]string{"fix", "--write", "--code-path", "none", "--database-url", url, "db"}, &out, &errb)
	after, _ := os.ReadFile(change)
	if code != exitUsage || !strings.Contains(errb.String(), "is already applied") || !bytes.Equal(before, after) {
		t.Errorf("exit %d, want 2 refusing the applied migration and writing nothing:\n%s", code, errb.String())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("files written next to an applied migration: %v", entries)
	}
}
