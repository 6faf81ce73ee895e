// Package golden compares test output with golden files; `go test ./...
// -update` rewrites them. Every test package imports it so that the -update
// flag is defined wherever go test passes it.
package golden

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
)

// Update is set by -update.
var Update = flag.Bool("update", false, "rewrite golden files with the current output")

// Check compares got with the golden file at path, or rewrites it with -update.
func Check(t testing.TB, path string, got []byte) {
	t.Helper()
	if *Update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden %s: %v (run go test ./... -update to create it)", path, err)
	}
	if string(want) != string(got) {
		t.Errorf("output differs from golden %s (go test ./... -update rewrites it; review the diff):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}
