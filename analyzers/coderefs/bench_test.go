package coderefs

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkSearch50k scans a generated tree of 50,000 source files (Go,
// Python and TypeScript, about 2 KB each, a few of them referring to the
// column) for one column and one table.
func BenchmarkSearch50k(b *testing.B) {
	root := b.TempDir()
	body := strings.Repeat("\tvalue := compute(input, other) // unrelated code that the search must read past\n", 25)
	for i := 0; i < 50000; i++ {
		dir := filepath.Join(root, fmt.Sprintf("pkg%03d", i/500))
		if i%500 == 0 {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				b.Fatal(err)
			}
		}
		ext := []string{".go", ".py", ".ts"}[i%3]
		content := "// file " + fmt.Sprint(i) + "\n" + body
		if i%1000 == 0 {
			content += "type User struct { LegacyFlag bool `db:\"legacy_flag\"` } // users\n"
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%d%s", i, ext)), []byte(content), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	qs := []Query{{Table: "users", Column: "legacy_flag"}, {Table: "accounts"}}
	b.ResetTimer()
	for b.Loop() {
		res, err := Search(Options{Roots: []string{root}}, qs)
		if err != nil || res.Files != 50000 || len(res.Refs[qs[0]]) != 50 {
			b.Fatalf("files %d, refs %d, err %v", res.Files, len(res.Refs[qs[0]]), err)
		}
	}
}
