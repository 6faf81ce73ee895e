package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"

	"github.com/fluxlint/fluxlint/internal/golden"
	"github.com/fluxlint/fluxlint/internal/report"
)

// TestCLI runs each fixtures/cli/*.txtar case end to end: its files are
// written to a scratch directory, fluxlint runs there with the case's args,
// and the exit code and stdout must match (stdout is rewritten by -update).
// A "stderr" section lists substrings stderr must contain.
func TestCLI(t *testing.T) {
	cases, err := filepath.Glob("../../fixtures/cli/*.txtar")
	if err != nil || len(cases) == 0 {
		t.Fatalf("no CLI cases: %v", err)
	}
	for _, path := range cases {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txtar"), func(t *testing.T) {
			abs, _ := filepath.Abs(path)
			ar, err := txtar.ParseFile(path)
			if err != nil {
				t.Fatal(err)
			}
			sections := map[string]string{}
			dir := t.TempDir()
			for _, f := range ar.Files {
				switch f.Name {
				case "args", "exit", "stdout", "stderr":
					sections[f.Name] = string(f.Data)
					continue
				}
				p := filepath.Join(dir, f.Name)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, f.Data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			t.Chdir(dir)
			var stdout, stderr bytes.Buffer
			code := run(strings.Fields(sections["args"]), &stdout, &stderr)
			want, err := strconv.Atoi(strings.TrimSpace(sections["exit"]))
			if err != nil {
				t.Fatalf("case needs an exit section: %v", err)
			}
			if code != want {
				t.Errorf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, want, stdout.String(), stderr.String())
			}
			for _, line := range strings.Split(strings.TrimSpace(sections["stderr"]), "\n") {
				if line != "" && !strings.Contains(stderr.String(), line) {
					t.Errorf("stderr lacks %q:\n%s", line, stderr.String())
				}
			}
			if *golden.Update {
				for i := range ar.Files {
					if ar.Files[i].Name == "stdout" {
						ar.Files[i].Data = stdout.Bytes()
					}
				}
				if err := os.WriteFile(abs, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if got, ok := sections["stdout"]; ok && got != stdout.String() {
				t.Errorf("stdout differs (go test ./cmd/fluxlint -update rewrites it; review the diff):\n--- got\n%s\n--- want\n%s", stdout.String(), got)
			}
		})
	}
}

// TestRuleDocs keeps docs/rules/CODE.md equal to what `fluxlint explain CODE`
// prints, and checks every rule has the docs explain needs.
func TestRuleDocs(t *testing.T) {
	for _, r := range allRules() {
		if r.Doc.Title == "" || r.Doc.Why == "" || r.Doc.Bad == "" || r.Doc.Good == "" {
			t.Errorf("%s lacks title, why, bad example or safe plan", r.Code)
		}
		golden.Check(t, filepath.Join("..", "..", "docs", "rules", r.Code+".md"), []byte(report.RuleMarkdown(r)))
	}
}

// TestReadmeListsRules checks that README's rules table links every rule.
func TestReadmeListsRules(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range allRules() {
		row := "| [" + r.Code + "](docs/rules/" + r.Code + ".md) | " + r.Name + " | " + r.Severity.String() + " |"
		if !strings.Contains(string(readme), row) {
			t.Errorf("README.md lacks the row for %s: %q", r.Code, row)
		}
	}
}
