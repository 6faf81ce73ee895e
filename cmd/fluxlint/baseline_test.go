package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBaselineCommand adopts fluxlint on an existing history: `fluxlint
// baseline` records the newest migration in the config (keeping the keys and
// comments already there, leaving no temporary file behind), after which the
// old migrations report nothing and a new one is reported on the schema they
// built.
func TestBaselineCommand(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	write := func(name, content string) {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(".fluxlint.yaml", "# ours\nassume_lock_timeout: true # the role sets it\n")
	write("migrations/20240101_init.sql", "CREATE TABLE users (id bigint PRIMARY KEY, email text);\n")
	write("migrations/20240102_index.sql", "CREATE INDEX users_email_idx ON users (email);\n")

	var stdout, stderr bytes.Buffer
	if code := run([]string{"baseline", "migrations"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("baseline exit %d: %s", code, stderr.String())
	}
	cfg, err := os.ReadFile(".fluxlint.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# ours", "assume_lock_timeout: true # the role sets it", `baseline: "20240102"`} {
		if !strings.Contains(string(cfg), want) {
			t.Errorf("config lacks %q after baseline:\n%s", want, cfg)
		}
	}
	if left, _ := filepath.Glob(".*.tmp-*"); len(left) > 0 {
		t.Errorf("temporary files left behind: %v", left)
	}

	stdout.Reset()
	if code := run([]string{"migrations"}, &stdout, &stderr); code != exitOK {
		t.Errorf("after baseline the old migrations must report nothing, exit %d:\n%s", code, stdout.String())
	}

	write("migrations/20240103_index2.sql", "CREATE INDEX users_email2_idx ON users (email);\n")
	stdout.Reset()
	if code := run([]string{"--format", "json", "migrations"}, &stdout, &stderr); code != exitFindings {
		t.Fatalf("a new migration after the baseline must be reported, exit %d:\n%s", code, stdout.String())
	}
	var got struct {
		Findings []struct{ Code, Path string }
	}
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Findings) != 1 || got.Findings[0].Code != "PG101" || got.Findings[0].Path != filepath.Join("migrations", "20240103_index2.sql") {
		t.Errorf("want one PG101 on the new migration only, got %+v", got.Findings)
	}
}
