package lint_test

import (
	"os"
	"testing"

	"github.com/fluxlint/fluxlint/analyzers/ir"
	"github.com/fluxlint/fluxlint/internal/lint"
	pgrules "github.com/fluxlint/fluxlint/rules/pg"
)

// BenchmarkLintTree lints the tree named by FLUXLINT_BENCH_TREE (bench/lint
// generates one with bench/gentree).
func BenchmarkLintTree(b *testing.B) {
	dir := os.Getenv("FLUXLINT_BENCH_TREE")
	if dir == "" {
		b.Skip("set FLUXLINT_BENCH_TREE to a migration tree (go run -tags bench ./bench/gentree -out DIR)")
	}
	opt := lint.Options{Engine: ir.Postgres, Version: 15, Rules: pgrules.Rules()}
	for b.Loop() {
		lint.Run([]string{dir}, opt)
	}
}
