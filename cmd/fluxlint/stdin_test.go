package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// TestStdin pipes SQL in, as from `alembic upgrade head --sql`: findings are
// reported under --stdin-filename, whose name also sets the convention (a
// golang-migrate .up.sql runs as one implicit transaction).
func TestStdin(t *testing.T) {
	stdin = strings.NewReader("SET statement_timeout = '1min';\nCREATE INDEX CONCURRENTLY users_email_idx ON users (email);\n")
	defer func() { stdin = nil }()
	var stdout, stderr bytes.Buffer
	code := run([]string{"--format", "json", "--code-path", "none", "--stdin-filename", "db/0042_add_index.up.sql", "-"}, &stdout, &stderr)
	if code != 1 {
		t.Fatalf("exit %d, want 1; stderr: %s", code, stderr.String())
	}
	var rep struct {
		Findings []struct{ Code, Path string }
		Files    []struct{ Path, Tool string }
	}
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Files) != 1 || rep.Files[0].Tool != "golang-migrate" || rep.Files[0].Path != "db/0042_add_index.up.sql" {
		t.Errorf("files = %+v, want the stdin file as golang-migrate", rep.Files)
	}
	if len(rep.Findings) != 1 || rep.Findings[0].Code != "PG103" || rep.Findings[0].Path != "db/0042_add_index.up.sql" {
		t.Errorf("findings = %+v, want PG103 on the stdin file", rep.Findings)
	}
}
