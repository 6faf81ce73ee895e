package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fluxlint/fluxlint/internal/clients"
)

// buildFluxlint compiles this command into dir, for tests that run it as the
// GitHub Action and pre-commit do.
func buildFluxlint(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "fluxlint")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// runCmd runs a command and returns its combined output and exit code.
func runCmd(t *testing.T, cmd *exec.Cmd) (string, int) {
	t.Helper()
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return string(out), ee.ExitCode()
	case err != nil:
		t.Fatalf("%s: %v", cmd, err)
	}
	return string(out), 0
}

// rdDiagnostic is the part of reviewdog's diagnostic the tests look at.
type rdDiagnostic struct {
	Message  string
	Code     struct{ Value, URL string }
	Location struct {
		Path  string
		Range struct{ Start, End struct{ Line int } }
	}
	RelatedLocations []struct{ Location struct{ Path string } } `json:"related_locations"`
}

// TestActionThroughReviewdog runs scripts/action-run, the step action.yml
// runs, with the real reviewdog and its local reporter on the demo
// migrations: reviewdog must take every finding, in order, with code and docs
// URL, the plan in the message, a line range, and the code reference as a
// related location; and it fails the step only when fail_level says so.
// The flags inputs are given quoted.
func TestActionThroughReviewdog(t *testing.T) {
	reviewdog := clients.Program(t, "reviewdog")
	root := clients.Root(t)
	bin := filepath.Dir(buildFluxlint(t, t.TempDir()))
	action := func(failLevel string) (string, int) {
		cmd := exec.Command(filepath.Join(root, "scripts", "action-run"))
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+filepath.Dir(reviewdog)+string(os.PathListSeparator)+os.Getenv("PATH"),
			"INPUT_TARGET=fixtures/demo/migrations", "INPUT_REPORTER=local", "INPUT_FILTER_MODE=nofilter", "INPUT_LEVEL=info",
			// Quoted flags, as a workflow writes them, reach the programs unquoted.
			"INPUT_FAIL_LEVEL="+failLevel, `INPUT_FLUXLINT_FLAGS=--code-path "fixtures/demo/app"`, `INPUT_REVIEWDOG_FLAGS=-filter-mode='nofilter'`)
		return runCmd(t, cmd)
	}
	out, code := action("none")
	if code != 0 {
		t.Fatalf("fail_level none: exit %d\n%s", code, out)
	}
	var diags []rdDiagnostic
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var d rdDiagnostic
		if err := json.Unmarshal([]byte(line), &d); err != nil {
			t.Fatalf("reviewdog printed %q: %v", line, err)
		}
		diags = append(diags, d)
	}
	var report bytes.Buffer
	t.Chdir(root)
	run([]string{"--format", "json", "--code-path", "fixtures/demo/app", "fixtures/demo/migrations"}, &report, &bytes.Buffer{})
	var want struct{ Findings []struct{ Code, Path string } }
	if err := json.Unmarshal(report.Bytes(), &want); err != nil {
		t.Fatal(err)
	}
	if len(diags) != len(want.Findings) || len(diags) == 0 {
		t.Fatalf("reviewdog reported %d diagnostics, fluxlint found %d:\n%s", len(diags), len(want.Findings), out)
	}
	related := 0
	for i, d := range diags {
		w := want.Findings[i]
		if d.Code.Value != w.Code || d.Location.Path != w.Path || !strings.HasSuffix(d.Code.URL, "/docs/rules/"+w.Code+".md") {
			t.Errorf("diagnostic %d: %s at %s (%s), want %s at %s", i, d.Code.Value, d.Location.Path, d.Code.URL, w.Code, w.Path)
		}
		if !strings.Contains(d.Message, "**Plan: ") || d.Location.Range.Start.Line == 0 || d.Location.Range.End.Line < d.Location.Range.Start.Line {
			t.Errorf("diagnostic %d lacks the plan or a line range: %+v", i, d)
		}
		related += len(d.RelatedLocations)
	}
	if related != 1 {
		t.Errorf("%d related locations: the demo app references the dropped column once", related)
	}
	if out, code := action("error"); code != 1 {
		t.Errorf("fail_level error with errors reported: exit %d, want 1\n%s", code, out)
	}
}

// TestReviewdogSuggestion feeds fluxlint's rdjsonl to the real reviewdog and
// reads back its SARIF: a single-step in-place plan (DROP INDEX becomes DROP
// INDEX CONCURRENTLY in a file that runs outside a transaction) arrives as a
// fix over exactly the diagnostic's range, which is what GitHub's suggested
// changes require; a plan of several steps arrives without one.
func TestReviewdogSuggestion(t *testing.T) {
	reviewdog := clients.Program(t, "reviewdog")
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.MkdirAll("migrations", 0o755); err != nil {
		t.Fatal(err)
	}
	for name, sql := range map[string]string{
		"0001_init.sql": "CREATE TABLE users (id bigint PRIMARY KEY, email text);\nCREATE INDEX users_email_idx ON users (email);\n",
		"0002_drop.sql": "SET lock_timeout = '1s';\nDROP INDEX users_email_idx;\nCREATE INDEX users_id_idx ON users (id);\n",
	} {
		if err := os.WriteFile(filepath.Join("migrations", name), []byte(sql), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var rdjsonl bytes.Buffer
	if code := run([]string{"--format", "rdjsonl", "migrations"}, &rdjsonl, &bytes.Buffer{}); code != exitFindings {
		t.Fatalf("exit %d", code)
	}
	cmd := exec.Command(reviewdog, "-f=rdjsonl", "-reporter=sarif", "-filter-mode=nofilter", "-name=fluxlint")
	cmd.Stdin = &rdjsonl
	out, code := runCmd(t, cmd)
	if code != 0 {
		t.Fatalf("reviewdog exit %d\n%s", code, out)
	}
	type region struct{ StartLine, StartColumn, EndLine, EndColumn int }
	var log struct {
		Runs []struct {
			Results []struct {
				RuleID    string
				Locations []struct{ PhysicalLocation struct{ Region region } }
				Fixes     []struct {
					ArtifactChanges []struct {
						Replacements []struct {
							DeletedRegion   region
							InsertedContent struct{ Text string }
						}
					}
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &log); err != nil {
		t.Fatalf("reviewdog's SARIF: %v\n%s", err, out)
	}
	seen := map[string]bool{}
	for _, r := range log.Runs[0].Results {
		seen[r.RuleID] = true
		switch r.RuleID {
		case "PG102":
			if len(r.Fixes) != 1 {
				t.Fatalf("PG102 arrives with %d fixes, want 1", len(r.Fixes))
			}
			rep := r.Fixes[0].ArtifactChanges[0].Replacements[0]
			if rep.DeletedRegion != r.Locations[0].PhysicalLocation.Region {
				t.Errorf("the suggestion covers %+v, the diagnostic %+v: they must be equal", rep.DeletedRegion, r.Locations[0].PhysicalLocation.Region)
			}
			if rep.InsertedContent.Text != "DROP INDEX CONCURRENTLY IF EXISTS users_email_idx" {
				t.Errorf("suggested text %q", rep.InsertedContent.Text)
			}
		case "PG101":
			// One migration step and a checkpoint (confirm the index is
			// valid): the statement is replaced, the check stays advice.
			if len(r.Fixes) != 1 || r.Fixes[0].ArtifactChanges[0].Replacements[0].InsertedContent.Text != "CREATE INDEX CONCURRENTLY IF NOT EXISTS users_id_idx ON users (id)" {
				t.Errorf("PG101 should arrive with the concurrent build as its suggestion: %+v", r.Fixes)
			}
		}
	}
	if !seen["PG101"] || !seen["PG102"] {
		t.Errorf("reviewdog must report both findings, saw %v", seen)
	}
}
