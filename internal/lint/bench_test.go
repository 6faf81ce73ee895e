package lint_test

import (
	"os"
	"testing"

	"github.com/fluxlint/fluxlint/analyzers/ir"
	"github.com/fluxlint/fluxlint/internal/lint"
	myrules "github.com/fluxlint/fluxlint/rules/mysql"
	pgrules "github.com/fluxlint/fluxlint/rules/pg"
)

// BenchmarkLintCorpus is a full run (discovery, parsing, catalog replay and
// every default rule) over the PostgreSQL corpus.
func BenchmarkLintCorpus(b *testing.B) {
	if _, err := os.Stat(corpusDir); err != nil {
		b.Skipf("corpus not found at %s: %v", corpusDir, err)
	}
	opt := lint.Options{Engine: ir.Postgres, Version: 15, Rules: pgrules.Rules()}
	for b.Loop() {
		lint.Run([]string{corpusDir}, opt)
	}
}

// BenchmarkLintCorpusMySQL is the same full run over the MySQL corpus.
func BenchmarkLintCorpusMySQL(b *testing.B) {
	dir := corpusRoot + "/mysql"
	if _, err := os.Stat(dir); err != nil {
		b.Skipf("corpus not found at %s: %v", dir, err)
	}
	opt := lint.Options{Engine: ir.MySQL, Rules: myrules.Rules()}
	for b.Loop() {
		lint.Run([]string{dir}, opt)
	}
}
