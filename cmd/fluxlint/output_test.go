package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// TestOutputFile checks --output: the report goes to the file and not to
// stdout, and fluxlint refuses to write over a migration (or any .sql file),
// leaving it untouched.
func TestOutputFile(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := os.MkdirAll("migrations", 0o755); err != nil {
		t.Fatal(err)
	}
	init := []byte("CREATE TABLE users (id bigint PRIMARY KEY, email text);\n")
	if err := os.WriteFile("migrations/0001_init.sql", init, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("migrations/0002_index.sql", []byte("CREATE INDEX users_email_idx ON users (email);\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"--format", "html", "--output", "report.html", "migrations"}, &stdout, &stderr); code != exitFindings {
		t.Fatalf("exit %d, want %d: %s", code, exitFindings, stderr.String())
	}
	page, err := os.ReadFile("report.html")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(page, []byte("<!DOCTYPE html>")) || !bytes.Contains(page, []byte("PG101")) || stdout.Len() > 0 {
		t.Errorf("the page must hold the report and stdout nothing; stdout %q, page starts %q", stdout.String(), page[:min(80, len(page))])
	}
	for _, target := range []string{"migrations/0001_init.sql", "migrations/new.SQL"} {
		stderr.Reset()
		if code := run([]string{"--format", "json", "--output", target, "migrations"}, &stdout, &stderr); code != exitUsage {
			t.Errorf("--output %s: exit %d, want %d", target, code, exitUsage)
		}
		if !strings.Contains(stderr.String(), "never writes .sql files") {
			t.Errorf("--output %s: stderr %q must say why", target, stderr.String())
		}
	}
	// A migration named on the command line need not end in .sql.
	other := []byte("CREATE INDEX users_id_idx ON users (id);\n")
	if err := os.WriteFile("migrations/0003_more.pgsql", other, 0o644); err != nil {
		t.Fatal(err)
	}
	stderr.Reset()
	if code := run([]string{"--output", "migrations/0003_more.pgsql", "migrations/0003_more.pgsql"}, &stdout, &stderr); code != exitUsage || !strings.Contains(stderr.String(), "is a migration") {
		t.Errorf("--output onto a migration: exit %d, stderr %q", code, stderr.String())
	}
	if got, _ := os.ReadFile("migrations/0003_more.pgsql"); !bytes.Equal(got, other) {
		t.Errorf("the migration was changed: %q", got)
	}
	// The same file under another name is the same file: a symlink, a
	// path through "..", a hard link, and the config fluxlint read.
	if err := os.Symlink("migrations/0003_more.pgsql", "link.txt"); err != nil {
		t.Fatal(err)
	}
	if err := os.Link("migrations/0003_more.pgsql", "hard.txt"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(".fluxlint.yaml", []byte("engine: postgres\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for target, why := range map[string]string{"link.txt": "is a migration", "migrations/../hard.txt": "is a migration",
		"./migrations/../migrations/0003_more.pgsql": "is a migration", ".fluxlint.yaml": "is the config"} {
		stderr.Reset()
		if code := run([]string{"--output", target, "migrations/0003_more.pgsql"}, &stdout, &stderr); code != exitUsage || !strings.Contains(stderr.String(), why) {
			t.Errorf("--output %s: exit %d, stderr %q, want exit 2 saying %q", target, code, stderr.String(), why)
		}
	}
	if got, _ := os.ReadFile("migrations/0003_more.pgsql"); !bytes.Equal(got, other) {
		t.Errorf("the migration was changed through another name: %q", got)
	}
	if st, err := os.Lstat("link.txt"); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the symlink was replaced: %v", err)
	}
	if got, _ := os.ReadFile("migrations/0001_init.sql"); !bytes.Equal(got, init) {
		t.Errorf("the migration was changed: %q", got)
	}
	if _, err := os.Stat("migrations/new.SQL"); err == nil {
		t.Error("a .SQL file was written")
	}
}
