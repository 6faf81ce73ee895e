package lint_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/fluxlint/fluxlint/analyzers/ir"
	"github.com/fluxlint/fluxlint/internal/lint"
	pgrules "github.com/fluxlint/fluxlint/rules/pg"
)

// corpusDir is the shared corpus of real migrations beside the project.
const corpusDir = "../../../shared/corpus/postgres"

// TestCorpusPostgres lints every file of the PostgreSQL corpus: all are
// processed, nothing panics, and every statement that does not parse falls
// into a category of genuinely invalid PostgreSQL, never a splitter bug.
func TestCorpusPostgres(t *testing.T) {
	if _, err := os.Stat(corpusDir); err != nil {
		t.Skipf("corpus not found at %s (it lives in ../shared beside the project): %v", corpusDir, err)
	}
	var sqlFiles int
	_ = filepath.WalkDir(corpusDir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".sql") {
			sqlFiles++
		}
		return nil
	})
	res := lint.Run([]string{corpusDir}, lint.Options{Engine: ir.Postgres, Version: 15, Rules: pgrules.Rules()})
	if len(res.Errors) > 0 {
		t.Errorf("input errors: %v", res.Errors)
	}
	if len(res.Files) != sqlFiles {
		t.Errorf("processed %d files, the corpus has %d .sql files", len(res.Files), sqlFiles)
	}
	// Why a statement may fail to parse, each checked by what the finding says.
	categories := []struct{ name, contains string }{
		{"MySQL DELIMITER client command in a PostgreSQL file (dolphinscheduler's custom runner)", "DELIMITER is a client command"},
		{"statement swallowed a DELIMITER line: the file changes delimiter without resetting it", `syntax error at or near "delimiter"`},
		{"PostgreSQL 18 named NOT NULL constraint, beyond the PostgreSQL 17 grammar", "PostgreSQL 18 syntax"},
	}
	counts := map[string]int{}
	perRule := map[string]int{}
	for _, f := range res.Findings {
		perRule[f.Rule.Code]++
		if strings.Contains(f.Message, "internal error") {
			t.Errorf("%s:%d: %s", f.Path, f.Pos.Line, f.Message)
		}
		if f.Rule.Code != "FL000" && f.Rule.Code != "FL003" {
			continue
		}
		known := false
		for _, c := range categories {
			if strings.Contains(f.Message, c.contains) {
				counts[c.name]++
				known = true
				break
			}
		}
		if !known {
			t.Errorf("unexplained %s at %s:%d:%d: %s", f.Rule.Code, f.Path, f.Pos.Line, f.Pos.Col, f.Message)
		}
	}
	t.Logf("%d files, %d findings", len(res.Files), len(res.Findings))
	var codes []string
	for c := range perRule {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	for _, c := range codes {
		t.Logf("  %s: %d", c, perRule[c])
	}
	for _, c := range categories {
		t.Logf("  FL000 %s: %d", c.name, counts[c.name])
	}
}
