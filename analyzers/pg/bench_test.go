package pg

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	pgq "github.com/pganalyze/pg_query_go/v6"
)

const corpusDir = "../../../shared/corpus/postgres"

func corpusFiles(b *testing.B) []string {
	if _, err := os.Stat(corpusDir); err != nil {
		b.Skipf("corpus not found at %s: %v", corpusDir, err)
	}
	var srcs []string
	_ = filepath.WalkDir(corpusDir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".sql") {
			data, _ := os.ReadFile(p)
			srcs = append(srcs, string(data))
		}
		return nil
	})
	return srcs
}

// BenchmarkRawParse is the floor: pg_query_go parsing every corpus file
// whole, on one goroutine, with no analysis at all.
func BenchmarkRawParse(b *testing.B) {
	srcs := corpusFiles(b)
	for b.Loop() {
		for _, s := range srcs {
			_, _ = pgq.Parse(s)
		}
	}
}
