package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestBadInput puts one bad input beside a good migration and checks that
// the bad one gets a clear message with its location, the good one is still
// linted, the exit code says what happened, and nothing panics.
func TestBadInput(t *testing.T) {
	cases := []struct {
		name     string
		setup    func(dir string) error
		exit     int
		contains string // in a finding's or an error's message
		where    string // "path:line:col" of that finding, "" for an input error
	}{
		{"binary file", write("0001_bad.sql", "CREATE TABLE t (id int);\x00\x01\x02"), 2, "NUL byte", "0001_bad.sql:1:25"},
		{"NUL byte far into the file", write("0001_bad.sql", strings.Repeat("SELECT 1;\n", 1000)+"SELECT\x00 2;\nCREATE INDEX far_idx ON users (email);\n"), 2, "NUL byte", "0001_bad.sql:1001:7"},
		{"CR-only line ends end a comment", write("0001_cr.sql", "-- a comment\rCREATE INDEX cr_idx ON users (email);\r"), 1, "takes a SHARE lock", "0001_cr.sql:2:1"},
		{"psql COPY data and \\gset are skipped", write("0001_psql.sql", "COPY users (id, email) FROM stdin;\n1\tit's; \"odd\" $$\n\\.\nSELECT count(*) AS n FROM users \\gset\n\\echo :n\nCREATE INDEX psql_idx ON users (email);\n"), 1, "takes a SHARE lock", "0001_psql.sql:6:1"},
		{"goose sends a psql command to the server", write("0001_goose.sql", "-- +goose Up\nSELECT 1 \\gset\n"), 1, "\\gset is a client command, not SQL: PostgreSQL rejects it (goose sends it to the server)", "0001_goose.sql:2:10"},
		{"invalid utf-8", write("0001_bad.sql", "SELECT 1;\nSELECT '\xff\xfe';\n"), 2, "not valid UTF-8", "0001_bad.sql:2:9"},
		{"byte order mark", write("0001_bom.sql", "\xEF\xBB\xBFCREATE INDEX bom_idx ON users (email);\n"), 1, "takes a SHARE lock", "0001_bom.sql:1:4"},
		{"crlf line ends", write("0001_crlf.sql", "SELECT 1;\r\nCREATE INDEX crlf_idx ON users (email);\r\n"), 1, "takes a SHARE lock", "0001_crlf.sql:2:1"},
		{"unterminated quote", write("0001_bad.sql", "SELECT 1;\nSELECT 'never closed;\n"), 1, "unterminated quoted string", "0001_bad.sql:2:8"},
		{"unterminated dollar quote", write("0001_bad.sql", "DO $body$ BEGIN NULL; END;\n"), 1, "unterminated dollar-quoted string $body$", "0001_bad.sql:1:4"},
		{"empty file", write("0001_empty.sql", ""), 1, "", ""},
		{"50 MB file", func(dir string) error {
			// 5,000 inserts of 10 KB each, and one unsafe index at the end.
			var b strings.Builder
			row := strings.Repeat("x", 10<<10)
			for i := 0; i < 5000; i++ {
				fmt.Fprintf(&b, "INSERT INTO users (id, email) VALUES (%d, '%s');\n", i, row)
			}
			b.WriteString("CREATE INDEX big_idx ON users (email);\n")
			return os.WriteFile(filepath.Join(dir, "migrations", "0001_big.sql"), []byte(b.String()), 0o644)
		}, 1, "takes a SHARE lock", "0001_big.sql:5001:1"},
		{"unreadable file", func(dir string) error {
			return os.Symlink(filepath.Join(dir, "gone.sql"), filepath.Join(dir, "migrations", "0001_dangling.sql"))
		}, 2, "no such file or directory", ""},
		{"symlink loop", func(dir string) error {
			return os.Symlink(filepath.Join(dir, "migrations", "loop"), filepath.Join(dir, "migrations", "loop"))
		}, 1, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			mig := filepath.Join(dir, "migrations")
			if err := os.MkdirAll(mig, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(mig, "0000_init.sql"), []byte("CREATE TABLE users (id bigint PRIMARY KEY, email text);\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(mig, "0002_good.sql"), []byte("CREATE INDEX good_idx ON users (email);\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := c.setup(dir); err != nil {
				t.Fatal(err)
			}
			t.Chdir(dir)
			var stdout, stderr bytes.Buffer
			code := run([]string{"--format", "json", "migrations"}, &stdout, &stderr)
			if code != c.exit {
				t.Errorf("exit %d, want %d; stderr: %s", code, c.exit, stderr.String())
			}
			var rep struct {
				Findings []struct {
					Code, Path, Message string
					Line, Column        int
				}
				Errors []struct{ Path, Message string }
			}
			if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
				t.Fatalf("output is not JSON: %v\n%s", err, stdout.String())
			}
			good := false
			found := c.contains == ""
			for _, f := range rep.Findings {
				if f.Path == filepath.Join("migrations", "0002_good.sql") && f.Code == "PG101" {
					good = true
				}
				where := strings.TrimPrefix(f.Path, "migrations/") + ":" + strconv.Itoa(f.Line) + ":" + strconv.Itoa(f.Column)
				if c.contains != "" && strings.Contains(f.Message, c.contains) && (c.where == "" || where == c.where) {
					found = true
				}
			}
			for _, e := range rep.Errors {
				if c.contains != "" && strings.Contains(e.Path+": "+e.Message, c.contains) && c.where == "" {
					found = true
				}
			}
			if !good {
				t.Errorf("the good migration beside the bad input was not linted:\n%s", stdout.String())
			}
			if !found {
				t.Errorf("no message containing %q at %q:\n%s", c.contains, c.where, stdout.String())
			}
		})
	}
}

func write(name, content string) func(string) error {
	return func(dir string) error {
		return os.WriteFile(filepath.Join(dir, "migrations", name), []byte(content), 0o644)
	}
}
