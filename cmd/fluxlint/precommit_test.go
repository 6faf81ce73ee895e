package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fluxlint/fluxlint/internal/clients"
)

// TestPreCommitHook installs fluxlint's .pre-commit-hooks.yaml with the real
// pre-commit into a scratch project (from a snapshot of this working tree,
// so uncommitted changes are what is tested), then commits migrations: a
// safe one passes, and one that builds an index on an existing table without
// CONCURRENTLY is blocked with the finding printed.
func TestPreCommitHook(t *testing.T) {
	preCommit := clients.Program(t, "pre-commit")
	root := clients.Root(t)
	tmp := t.TempDir()
	gomodcache, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "PRE_COMMIT_HOME="+filepath.Join(tmp, "cache"),
		// The hook's go install reuses the module cache instead of
		// downloading every module again into the hook's own GOPATH.
		"GOMODCACHE="+strings.TrimSpace(string(gomodcache)),
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com",
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	sh := func(dir string, name string, args ...string) (string, int) {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir, cmd.Env = dir, env
		return runCmd(t, cmd)
	}
	must := func(dir string, name string, args ...string) string {
		t.Helper()
		out, code := sh(dir, name, args...)
		if code != 0 {
			t.Fatalf("%s %v: exit %d\n%s", name, args, code, out)
		}
		return out
	}

	// The hook repository: this working tree's files, committed.
	hookRepo := filepath.Join(tmp, "fluxlint")
	files := must(root, "git", "ls-files", "-co", "--exclude-standard")
	for _, f := range strings.Split(strings.TrimSpace(files), "\n") {
		data, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			continue // deleted in the working tree
		}
		dst := filepath.Join(hookRepo, f)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	must(hookRepo, "git", "init", "-q")
	must(hookRepo, "git", "add", "-A")
	must(hookRepo, "git", "commit", "-qm", "snapshot")
	rev := strings.TrimSpace(must(hookRepo, "git", "rev-parse", "HEAD"))

	project := filepath.Join(tmp, "project")
	write := func(name, content string) {
		p := filepath.Join(project, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(".pre-commit-config.yaml", "repos:\n  - repo: "+hookRepo+"\n    rev: "+rev+"\n    hooks:\n      - id: fluxlint\n")
	write(".fluxlint.yaml", "assume_lock_timeout: true\n")
	must(project, "git", "init", "-q")
	must(project, "git", "add", "-A")
	must(project, "git", "commit", "-qm", "config")
	must(project, preCommit, "install")

	write("db/migrations/0001_init.sql", "CREATE TABLE users (id bigint PRIMARY KEY, email text);\nCREATE INDEX users_email_idx ON users (email);\n")
	must(project, "git", "add", "-A")
	if out, code := sh(project, "git", "commit", "-m", "create users"); code != 0 {
		t.Fatalf("a safe migration must pass the hook, exit %d:\n%s", code, out)
	}

	write("db/migrations/0002_index.sql", "CREATE INDEX users_id_email_idx ON users (id, email);\n")
	must(project, "git", "add", "-A")
	out, code := sh(project, "git", "commit", "-m", "index users")
	if code == 0 {
		t.Fatalf("the hook must block a CREATE INDEX without CONCURRENTLY on an existing table:\n%s", out)
	}
	if !strings.Contains(out, "PG101") || !strings.Contains(out, "db/migrations/0002_index.sql") {
		t.Errorf("the blocked commit must show the finding:\n%s", out)
	}
	if log := must(project, "git", "log", "--oneline"); strings.Count(log, "\n") != 2 {
		t.Errorf("only the config and the safe migration are committed:\n%s", log)
	}
	// pre-commit installs a golang hook with go install ./...: only the
	// fluxlint command may land in the hook's environment.
	bins, _ := filepath.Glob(filepath.Join(tmp, "cache", "*", "golangenv-*", "bin", "*"))
	var names []string
	for _, b := range bins {
		names = append(names, filepath.Base(b))
	}
	if len(names) != 1 || names[0] != "fluxlint" {
		t.Errorf("the hook installed %v, want fluxlint alone", names)
	}
}
