package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// TestChangedSince builds a real git repository: history committed, then a
// pull request's migrations (one modified on disk, one untracked). Only the
// changed migrations are reported, and together they form one change set:
// the index on the table the pull request creates is not flagged.
func TestChangedSince(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatalf("git is needed: %v", err)
	}
	dir := t.TempDir()
	git := gitIn(t, dir)
	write := func(name, sql string) {
		p := filepath.Join(dir, "migrations", name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(sql), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git("init", "-q")
	write("0001_users.sql", "CREATE TABLE users (id bigint PRIMARY KEY, email text);\n")
	write("0002_old_index.sql", "CREATE INDEX users_old_idx ON users (id, email);\n")
	write("0003_orders.sql", "SELECT 1;\n")
	git("add", ".")
	git("commit", "-q", "-m", "history")
	// The pull request: 0003 rewritten to create a table, 0004 new and untracked.
	write("0003_orders.sql", "CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint);\n")
	write("0004_indexes.sql", "CREATE INDEX orders_user_idx ON orders (user_id);\nCREATE INDEX users_email_idx ON users (email);\n")
	t.Chdir(dir)
	var stdout, stderr bytes.Buffer
	code := run([]string{"--format", "json", "--code-path", "none", "--changed-since", "HEAD", "migrations"}, &stdout, &stderr)
	if code != 1 {
		t.Fatalf("exit %d, want 1; stderr: %s", code, stderr.String())
	}
	var rep struct {
		Findings []struct{ Code, Path, Message string }
		Files    []struct {
			Path   string
			Target bool
		}
	}
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	var targets, findings []string
	for _, f := range rep.Files {
		if f.Target {
			targets = append(targets, filepath.Base(f.Path))
		}
	}
	for _, f := range rep.Findings {
		findings = append(findings, filepath.Base(f.Path)+" "+f.Code+" "+strings.SplitN(f.Message, ":", 2)[0])
	}
	sort.Strings(targets)
	if strings.Join(targets, ",") != "0003_orders.sql,0004_indexes.sql" {
		t.Errorf("reported on %v, want only the changed 0003 and 0004", targets)
	}
	// The index on the existing users table, and its lock_timeout reminder.
	if len(findings) != 2 || !strings.Contains(findings[0], `0004_indexes.sql PG101 CREATE INDEX on existing table "users"`) ||
		!strings.Contains(findings[1], `0004_indexes.sql PG113`) {
		t.Errorf("findings %q, want only the index on the existing users table", findings)
	}
}

// gitIn returns a runner of git commands in dir, as a fixed author.
func gitIn(t *testing.T, dir string) func(args ...string) {
	return func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
}

// TestChangedSinceMergeBase checks that --changed-since compares with the
// merge base: a branch that is behind main is not blamed for a migration
// main edited after the branch left it, and a shallow clone without the
// base is told to fetch it.
func TestChangedSinceMergeBase(t *testing.T) {
	dir := t.TempDir()
	git := gitIn(t, dir)
	write := func(name, sql string) {
		if err := os.MkdirAll(filepath.Join(dir, "migrations"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "migrations", name), []byte(sql), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git("init", "-q", "-b", "main")
	write("0001_users.sql", "CREATE TABLE users (id bigint PRIMARY KEY, email text);\n")
	git("add", ".")
	git("commit", "-q", "-m", "history")
	git("checkout", "-q", "-b", "feature")
	write("0002_feature.sql", "CREATE INDEX users_email_idx ON users (email);\n")
	git("add", ".")
	git("commit", "-q", "-m", "feature")
	git("checkout", "-q", "main")
	write("0001_users.sql", "CREATE TABLE users (id bigint PRIMARY KEY, email text, name text);\n")
	git("commit", "-q", "-am", "main edits history")
	git("checkout", "-q", "feature")
	t.Chdir(dir)
	c, err := changedFiles("main", []string{"migrations"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for p := range c.files {
		names = append(names, filepath.Base(p))
	}
	if strings.Join(names, ",") != "0002_feature.sql" {
		t.Errorf("changed since main: %v, want only the branch's 0002_feature.sql", names)
	}
	// A shallow clone of the branch alone has no merge base with main.
	clone := filepath.Join(t.TempDir(), "clone")
	if out, err := exec.Command("git", "clone", "-q", "--depth", "1", "--branch", "feature", "file://"+dir, clone).CombinedOutput(); err != nil {
		t.Fatalf("git clone: %v\n%s", err, out)
	}
	gitIn(t, clone)("fetch", "-q", "--depth", "1", "origin", "main:main")
	_, err = changedFiles("main", []string{filepath.Join(clone, "migrations")})
	if err == nil || !strings.Contains(err.Error(), "fetch-depth: 0") {
		t.Errorf("shallow clone: %v, want the advice to fetch the history", err)
	}
}

// TestDeployedCodeReferences: a pull request drops users.email and removes
// the code that read it. The branch no longer uses the column, but the
// deployed code (the merge base) does: the finding is an error that says to
// ship the code first and drop in a later deploy. A later branch that drops
// users.name, which the merged code reads, is flagged the same way.
func TestDeployedCodeReferences(t *testing.T) {
	dir := t.TempDir()
	git := gitIn(t, dir)
	write := func(name, body string) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git("init", "-q", "-b", "main")
	write("migrations/0001_users.sql", "CREATE TABLE users (id bigint PRIMARY KEY, email text, name text);\n")
	write("api/user.go", "package api\n\nconst byEmail = `SELECT id FROM users WHERE email = $1`\n")
	git("add", ".")
	git("commit", "-q", "-m", "deployed")
	git("checkout", "-q", "-b", "drop-email")
	write("api/user.go", "package api\n\nconst byName = `SELECT id FROM users WHERE name = $1`\n")
	write("migrations/0002_drop_email.sql", "ALTER TABLE users DROP COLUMN email;\n")
	t.Chdir(dir)
	var stdout, stderr bytes.Buffer
	run([]string{"--format", "json", "--changed-since", "main", "migrations"}, &stdout, &stderr)
	var rep struct {
		Findings []struct {
			Code, Severity string
			Related        []struct {
				Path, Kind, Deployed string
				Line                 int
			}
			Plan struct{ Steps []struct{ Note string } }
		}
	}
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if len(rep.Findings) != 1 || rep.Findings[0].Code != "PG301" {
		t.Fatalf("want one PG301: %+v", rep.Findings)
	}
	f := rep.Findings[0]
	if f.Severity != "error" || len(f.Related) != 1 || f.Related[0].Deployed != "main" || f.Related[0].Path != "api/user.go" || f.Related[0].Line != 3 || f.Related[0].Kind != "sql" {
		t.Errorf("want an error with the deployed code's use at api/user.go:3: %+v", f)
	}
	if !strings.Contains(f.Plan.Steps[0].Note, "The deployed code (main) still uses it") || !strings.Contains(f.Plan.Steps[0].Note, "ship this branch's code first") {
		t.Errorf("the code deploy step should say to ship the code first: %q", f.Plan.Steps[0].Note)
	}
	// The branch is merged; the next one drops users.name.
	git("add", ".")
	git("commit", "-q", "-m", "branch")
	git("checkout", "-q", "main")
	git("merge", "-q", "--ff-only", "drop-email")
	git("checkout", "-q", "-b", "later")
	write("migrations/0003_drop_name.sql", "ALTER TABLE users DROP COLUMN name;\n")
	write("api/user.go", "package api\n")
	stdout.Reset()
	run([]string{"--format", "json", "--changed-since", "main", "migrations"}, &stdout, &stderr)
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Findings) != 1 || rep.Findings[0].Severity != "error" || rep.Findings[0].Related[0].Deployed != "main" {
		t.Errorf("users.name is still read by the deployed code: %+v", rep.Findings)
	}
}

// TestChangedSinceUntrackedAtRoot: untracked files are listed only under
// the migration paths given; migrations kept at the repository's root
// (given as ".", and through a symlink to it) still count an untracked
// file as changed, and a committed, unchanged one as history.
func TestChangedSinceUntrackedAtRoot(t *testing.T) {
	dir := t.TempDir()
	git := gitIn(t, dir)
	git("init", "-q")
	if err := os.WriteFile(filepath.Join(dir, "0001_users.sql"), []byte("CREATE TABLE users (id bigint);\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	git("add", ".")
	git("commit", "-q", "-m", "history")
	if err := os.WriteFile(filepath.Join(dir, "0002_email.sql"), []byte("ALTER TABLE users ADD COLUMN email text;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	for _, path := range []string{".", link} {
		c, err := changedFiles("HEAD", []string{path})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for p := range c.files {
			names = append(names, filepath.Base(p))
		}
		if strings.Join(names, ",") != "0002_email.sql" {
			t.Errorf("%s: changed %v, want the untracked 0002_email.sql alone", path, names)
		}
	}
}
