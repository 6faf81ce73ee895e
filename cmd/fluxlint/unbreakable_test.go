package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fluxlint/fluxlint/analyzers/ir"
	"github.com/fluxlint/fluxlint/rules"
)

// The tests here hold the failure classes of hostile and broken input: each
// builds real files (FIFOs, symlinks, a git repository with names git would
// quote) and checks exit code, output and stderr.

// runIn runs fluxlint in dir and returns exit code, stdout and stderr; a run
// that takes over 20 s (a FIFO read to EOF, say) fails the test.
func runIn(t *testing.T, dir string, args ...string) (int, string, string) {
	t.Helper()
	t.Chdir(dir)
	var stdout, stderr bytes.Buffer
	done := make(chan int, 1)
	go func() { done <- run(args, &stdout, &stderr) }()
	select {
	case code := <-done:
		return code, stdout.String(), stderr.String()
	case <-time.After(20 * time.Second):
		t.Fatalf("fluxlint %v hung", args)
		return 0, "", ""
	}
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const history = "CREATE TABLE users (id bigint PRIMARY KEY, email text);\n"

// TestChangedSinceQuotedNames: git quotes names with non-ASCII, quotes,
// backslashes, tabs and newlines unless asked for -z; every changed file
// must still be reported, and a ref that looks like an option never
// reaches git as one.
func TestChangedSinceQuotedNames(t *testing.T) {
	dir := t.TempDir()
	git := gitIn(t, dir)
	git("init", "-q")
	writeFiles(t, dir, map[string]string{"m/0001_users.sql": history})
	git("add", ".")
	git("commit", "-q", "-m", "history")
	names := []string{"0002_café.sql", "0003_it's \"quoted\".sql", "0004_back\\slash.sql", "0005_tab\there.sql", "0006_new\nline.sql"}
	for i, n := range names {
		writeFiles(t, dir, map[string]string{"m/" + n: "CREATE INDEX i" + string(rune('a'+i)) + " ON users (email);\n"})
	}
	// One of them committed on a branch, so it comes from git diff, the
	// others untracked, from git ls-files.
	git("checkout", "-q", "-b", "pr")
	git("add", "m/"+names[0], "m/"+names[4])
	git("commit", "-q", "-m", "pr")
	code, stdout, stderr := runIn(t, dir, "--format", "json", "--code-path", "none", "--changed-since", "main", "m")
	if code == exitUsage && strings.Contains(stderr, "not a commit") {
		code, stdout, stderr = runIn(t, dir, "--format", "json", "--code-path", "none", "--changed-since", "master", "m")
	}
	if code != exitFindings {
		t.Fatalf("exit %d, want 1: %s", code, stderr)
	}
	var rep struct{ Findings []struct{ Code, Path string } }
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, f := range rep.Findings {
		if f.Code == "PG101" {
			got[filepath.Base(f.Path)] = true
		}
	}
	for _, n := range names {
		if !got[n] {
			t.Errorf("changed migration %q was not reported; reported %v", n, got)
		}
	}
	for _, ref := range []string{"--output=pwned.txt", "-h"} {
		code, _, stderr := runIn(t, dir, "--changed-since", ref, "m")
		if code != exitUsage || !strings.Contains(stderr, "not a git ref") {
			t.Errorf("--changed-since %q: exit %d, stderr %q: want exit 2 saying it is not a ref", ref, code, stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "pwned.txt")); err == nil {
		t.Error("a ref reached git as an option: pwned.txt was written")
	}
}

// TestSelectingNothingIsAnError: configurations that would lint nothing
// and pass say why and exit 2.
func TestSelectingNothingIsAnError(t *testing.T) {
	for name, c := range map[string]struct {
		files map[string]string
		link  string // a .fluxlint.yaml symlink to this (missing) target
		args  []string
		want  string
	}{
		"include matches nothing":     {files: map[string]string{"m/0001.sql": history, ".fluxlint.yaml": "include: [\"db/**/*.sql\"]\n"}, args: []string{"m"}, want: "select none of the 1 .sql files"},
		"exclude drops everything":    {files: map[string]string{"m/0001.sql": history, ".fluxlint.yaml": "exclude: [\"**/*.sql\"]\n"}, args: []string{"m"}, want: "select none of the 1 .sql files"},
		"baseline names no migration": {files: map[string]string{"m/0001.sql": history, "m/0002.sql": "SELECT 1;\n", ".fluxlint.yaml": "baseline: \"0009\"\n"}, args: []string{"m"}, want: `baseline "0009" names no migration found (the newest is "0002")`},
		"dangling config symlink":     {files: map[string]string{"m/0001.sql": history}, link: "gone.yaml", args: []string{"m"}, want: "is a symlink to gone.yaml, which cannot be read"},
		"missing code path":           {files: map[string]string{"m/0001.sql": history}, args: []string{"--code-path", "nosuch", "m"}, want: "code path nosuch"},
		"missing code path in config": {files: map[string]string{"m/0001.sql": history, ".fluxlint.yaml": "code_paths: [src]\n"}, args: []string{"m"}, want: "src: no such file"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, c.files)
			if c.link != "" {
				if err := os.Symlink(c.link, filepath.Join(dir, ".fluxlint.yaml")); err != nil {
					t.Fatal(err)
				}
			}
			code, _, stderr := runIn(t, dir, c.args...)
			if code != exitUsage || !strings.Contains(stderr, c.want) {
				t.Errorf("exit %d, stderr %q; want exit 2 and %q", code, stderr, c.want)
			}
		})
	}
}

// TestSameFileTwice: one file under two spellings is linted once, and a
// symlink to a migrations directory is followed.
func TestSameFileTwice(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"m/0001.sql": history, "m/0002.sql": "CREATE INDEX i ON users (email);\n"})
	if err := os.Symlink("m", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"m", filepath.Join(dir, "m")}, {"m", "link"}, {"link"}, {"m/0002.sql", "./m/0002.sql", filepath.Join(dir, "link", "0002.sql")}, {"m", "m/0002.sql"}} {
		code, stdout, stderr := runIn(t, dir, append([]string{"--format", "json", "--code-path", "none"}, args...)...)
		var rep struct {
			Findings []struct{ Code string }
			Files    []struct{ Path string }
		}
		if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, stderr)
		}
		indexes := 0 // PG101, once: the file was linted once
		for _, f := range rep.Findings {
			if f.Code == "PG101" {
				indexes++
			}
		}
		if code != exitFindings || indexes != 1 || len(rep.Files) != 2 {
			t.Errorf("fluxlint %v: exit %d, %d PG101 findings, files %v; want exit 1, one PG101 finding, two files\n%s", args, code, indexes, rep.Files, stderr)
		}
	}
}

// TestErrorsInEveryFormat: input errors (a missing path, a non-UTF-8 file,
// a syntax error) reach the report in every format and always stderr.
func TestErrorsInEveryFormat(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"m/0001.sql": history, "m/0002.sql": "CREATE TABLE (;\n", "m/0003.sql": "SELECT '\xff';\n"})
	for _, format := range []string{"text", "json", "sarif", "rdjson", "rdjsonl", "github", "html"} {
		code, stdout, stderr := runIn(t, dir, "--format", format, "m", "nosuch")
		if code != exitUsage {
			t.Errorf("%s: exit %d, want 2", format, code)
		}
		if !strings.Contains(stderr, "nosuch") {
			t.Errorf("%s: stderr does not name the missing path: %q", format, stderr)
		}
		report := stdout
		if format == "text" {
			report += stderr // the text report counts them; stderr lists them
		}
		for _, want := range []string{"nosuch", "0002.sql", "0003.sql", "UTF-8"} {
			if !strings.Contains(report, want) {
				t.Errorf("%s: the report lacks %q:\n%s", format, want, stdout)
			}
		}
	}
	_, stdout, _ := runIn(t, dir, "--format", "github", "nosuch")
	if !strings.Contains(stdout, "::error file=nosuch,title=fluxlint::") {
		t.Errorf("github: the missing path is not an ::error annotation:\n%s", stdout)
	}
	_, stdout, _ = runIn(t, dir, "--format", "rdjsonl", "nosuch")
	var d struct {
		Severity string
		Location struct{ Path string }
		Code     struct{ Value string }
	}
	if err := json.Unmarshal([]byte(stdout), &d); err != nil || d.Severity != "ERROR" || d.Location.Path != "nosuch" || d.Code.Value != "FL003" {
		t.Errorf("rdjsonl: the missing path is not an ERROR diagnostic on it: %v %q", err, stdout)
	}
}

// TestSARIFURIsAndColumns: URIs are percent-encoded, and columns count
// UTF-16 code units as the log's columnKind says.
func TestSARIFURIsAndColumns(t *testing.T) {
	dir := t.TempDir()
	name := "m/0002 #50% ?é.sql"
	writeFiles(t, dir, map[string]string{"m/0001.sql": history, name: "SELECT 'é😀'; CREATE INDEX i ON users (email);\n"})
	_, stdout, stderr := runIn(t, dir, "--format", "sarif", "m")
	var log struct {
		Runs []struct {
			ColumnKind string
			Results    []struct {
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI string }
						Region           struct{ StartColumn int }
					}
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(stdout), &log); err != nil || len(log.Runs) != 1 || len(log.Runs[0].Results) == 0 {
		t.Fatalf("%v %s %s", err, stdout, stderr)
	}
	run := log.Runs[0]
	loc := run.Results[0].Locations[0].PhysicalLocation
	if want := "m/0002%20%2350%25%20%3F%C3%A9.sql"; loc.ArtifactLocation.URI != want {
		t.Errorf("uri %q, want %q", loc.ArtifactLocation.URI, want)
	}
	// SELECT 'é😀'; is 13 UTF-16 units (é one, 😀 two), 16 bytes: the index starts at unit 15.
	if run.ColumnKind != "utf16CodeUnits" || loc.Region.StartColumn != 15 {
		t.Errorf("columnKind %q, startColumn %d; want utf16CodeUnits, 15", run.ColumnKind, loc.Region.StartColumn)
	}
}

// TestPanicIsExit3: a bug in a rule, in the goroutines that lint migration
// sets, ends as exit 3 naming the file, never as an input error; the other
// sets are still linted.
func TestPanicIsExit3(t *testing.T) {
	testRules = []*rules.Rule{{Code: "ZZ999", Name: "panics", Engine: ir.Postgres, Check: func(p *rules.Pass) {
		if strings.Contains(p.Stmt.Text, "boom") {
			panic("test-only rule panics")
		}
	}}}
	defer func() { testRules = nil }()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a/0001.sql": "CREATE TABLE boom (id int);\n", "b/0001.sql": history, "b/0002.sql": "CREATE INDEX i ON users (email);\n"})
	code, stdout, stderr := runIn(t, dir, "--format", "json", "--code-path", "none", "a", "b")
	if code != exitInternal {
		t.Errorf("exit %d, want 3", code)
	}
	for _, want := range []string{"internal error", "a/0001.sql", "test-only rule panics", "please report it"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if !strings.Contains(stdout, "PG101") {
		t.Errorf("the other set was not linted:\n%s", stdout)
	}
}

// TestNotAFile: FIFOs and devices are refused with their names, never read
// (a FIFO would block forever, /dev/zero never ends); a file over
// max_file_size is an error that says the limit; the other files are
// linted.
func TestNotAFile(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"m/0001.sql": history, "m/0003.sql": "CREATE INDEX i ON users (email);\n"})
	for _, fifo := range []string{"m/0002.sql", "fifo.yaml", "d/meta/_journal.json"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, fifo)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Mkfifo(filepath.Join(dir, fifo), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeFiles(t, dir, map[string]string{"d/0001_init.sql": history})
	code, stdout, stderr := runIn(t, dir, "--code-path", "none", "m")
	if code != exitUsage || !strings.Contains(stderr, "m/0002.sql: a FIFO (named pipe), not a file fluxlint reads") || !strings.Contains(stdout, "PG101") {
		t.Errorf("FIFO migration: exit %d, stderr %q, stdout %q", code, stderr, stdout)
	}
	if code, _, stderr := runIn(t, dir, "/dev/zero"); code != exitUsage || !strings.Contains(stderr, "character device") {
		t.Errorf("/dev/zero: exit %d, stderr %q", code, stderr)
	}
	if code, _, stderr := runIn(t, dir, "--config", "fifo.yaml", "m"); code != exitUsage || !strings.Contains(stderr, "FIFO") {
		t.Errorf("FIFO config: exit %d, stderr %q", code, stderr)
	}
	if code, _, stderr := runIn(t, dir, "d"); code != exitUsage || !strings.Contains(stderr, "_journal.json: a FIFO") {
		t.Errorf("FIFO journal: exit %d, stderr %q", code, stderr)
	}
	writeFiles(t, dir, map[string]string{"big/.fluxlint.yaml": "max_file_size: 1KiB\n", "big/m/0001.sql": history + strings.Repeat("-- padding\n", 200)})
	if code, _, stderr := runIn(t, filepath.Join(dir, "big"), "m"); code != exitUsage || !strings.Contains(stderr, "over the 1 KiB limit") {
		t.Errorf("over max_file_size: exit %d, stderr %q", code, stderr)
	}
	stdin = strings.NewReader(strings.Repeat("SELECT 1;\n", 200))
	defer func() { stdin = os.Stdin }()
	if code, _, stderr := runIn(t, filepath.Join(dir, "big"), "-"); code != exitUsage || !strings.Contains(stderr, "reading stdin: more than 1 KiB") {
		t.Errorf("stdin over max_file_size: exit %d, stderr %q", code, stderr)
	}
}

// TestOutOfRange: numbers outside what the server accepts are refused
// with the valid range.
func TestOutOfRange(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"m/0001.sql": history})
	for _, c := range []struct {
		config string
		args   []string
		want   string
	}{
		{args: []string{"--server-version", "-1"}, want: "fluxlint knows 10 to 18"},
		{args: []string{"--server-version", "99"}, want: "fluxlint knows 10 to 18"},
		{args: []string{"--server-version", "fifteen"}, want: "fluxlint knows 10 to 18"},
		{args: []string{"--engine", "mysql", "--server-version", "8.x"}, want: "not a server version"},
		{config: "server_version: 9\n", want: "server_version: unknown PostgreSQL version"},
		{config: "thresholds: {lock_timeout: 720h}\n", want: "at most 596h31m23.647s"},
		{config: "engine: mysql\nthresholds: {lock_timeout: 9000h}\n", want: "at most 8760h0m0s for MySQL"},
		{config: "thresholds: {batch_size: 0}\n", want: "batch_size must be from 1 to 2147483647"},
		{config: "thresholds: {batch_pause: 2h}\n", want: "batch_pause must be from 0s to 1h0m0s"},
		{config: "thresholds: {lock_retries: -1}\n", want: "lock_retries must be from 0 to 100"},
		{config: "thresholds: {lock_retries: 101}\n", want: "lock_retries must be from 0 to 100"},
		{config: "max_file_size: 0\n", want: "max_file_size: want a size"},
		{config: "max_file_size: 2TiB\n", want: "max_file_size: want a size"},
	} {
		os.Remove(filepath.Join(dir, ".fluxlint.yaml"))
		if c.config != "" {
			writeFiles(t, dir, map[string]string{".fluxlint.yaml": c.config})
		}
		code, _, stderr := runIn(t, dir, append(c.args, "m")...)
		if code != exitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("%v %q: exit %d, stderr %q; want exit 2 and %q", c.args, c.config, code, stderr, c.want)
		}
	}
	os.Remove(filepath.Join(dir, ".fluxlint.yaml"))
	if code, _, stderr := runIn(t, dir, "--server-version", "15.4", "m"); code != exitOK {
		t.Errorf("--server-version 15.4: exit %d, %s", code, stderr)
	}
}
