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
	"github.com/fluxlint/fluxlint/rules"
	myrules "github.com/fluxlint/fluxlint/rules/mysql"
	pgrules "github.com/fluxlint/fluxlint/rules/pg"
)

// corpusRoot is the shared corpus of real migrations beside the project,
// and corpusDir its PostgreSQL half.
const (
	corpusRoot = "../../../shared/corpus"
	corpusDir  = corpusRoot + "/postgres"
)

// category is a reason a statement may fail to parse, told by the finding
// (and, where the message cannot tell, by the statement's first line).
type category struct {
	name string
	is   func(f *rules.Finding, line string) bool
}

func messageHas(s string) func(*rules.Finding, string) bool {
	return func(f *rules.Finding, _ string) bool { return strings.Contains(f.Message, s) }
}

// TestCorpusPostgres lints every file of the PostgreSQL corpus: all are
// processed, nothing panics, and every statement that does not parse falls
// into a category of genuinely invalid PostgreSQL, never a splitter bug.
func TestCorpusPostgres(t *testing.T) {
	lintCorpus(t, "postgres", lint.Options{Engine: ir.Postgres, Version: 15, Rules: pgrules.Rules()}, []category{
		{"MySQL DELIMITER client command in a PostgreSQL file (dolphinscheduler's custom runner)", messageHas("DELIMITER is a client command")},
		{"statement swallowed a DELIMITER line: the file changes delimiter without resetting it", messageHas(`syntax error at or near "delimiter"`)},
		{"PostgreSQL 18 named NOT NULL constraint, beyond the PostgreSQL 17 grammar", messageHas("PostgreSQL 18 syntax")},
	})
}

// TestCorpusMySQL does the same for the MySQL corpus, where a statement
// vitess rejects is FL004 (not checked): each must be MySQL syntax vitess
// lacks, or genuinely invalid for the server.
func TestCorpusMySQL(t *testing.T) {
	lintCorpus(t, "mysql", lint.Options{Engine: ir.MySQL, Rules: myrules.Rules()}, []category{
		{"column-level CHECK constraint (MySQL 8.0.16+), which vitess's grammar lacks", messageHas("near 'CHECK'")},
		{"statement swallowed a DELIMITER line: the file changes delimiter without resetting it", messageHas("near 'delimiter'")},
		{"'--' without a following space, which MySQL does not read as a comment (dolphinscheduler's runner strips it)", func(_ *rules.Finding, line string) bool {
			return strings.HasPrefix(line, "--") && len(line) > 2 && line[2] != ' ' && line[2] != '\t'
		}},
	})
}

func lintCorpus(t *testing.T, engine string, opt lint.Options, categories []category) {
	dir := filepath.Join(corpusRoot, engine)
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("corpus not found at %s (it lives in ../shared beside the project): %v", dir, err)
	}
	var sqlFiles int
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".sql") {
			sqlFiles++
		}
		return nil
	})
	res := lint.Run([]string{dir}, opt)
	if len(res.Errors) > 0 {
		t.Errorf("input errors: %v", res.Errors)
	}
	if len(res.Files) != sqlFiles {
		t.Errorf("processed %d files, the corpus has %d .sql files", len(res.Files), sqlFiles)
	}
	counts := map[string]int{}
	perRule := map[string]int{}
	for _, f := range res.Findings {
		perRule[f.Rule.Code]++
		if strings.Contains(f.Message, "internal error") {
			t.Errorf("%s:%d: %s", f.Path, f.Pos.Line, f.Message)
		}
		if f.Rule != rules.SyntaxError && f.Rule != rules.InputError && f.Rule != rules.Unsupported {
			continue
		}
		line := lineAt(t, f.Path, f.Pos.Line)
		known := false
		for _, c := range categories {
			if c.is(f, line) {
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
		t.Logf("  not parsed, %s: %d", c.name, counts[c.name])
	}
}

// lineAt is a file's line, trimmed.
func lineAt(t *testing.T, path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	if n < 1 || n > len(lines) {
		return ""
	}
	return strings.TrimSpace(lines[n-1])
}
