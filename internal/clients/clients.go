// Package clients finds the real programs and files that integration tests
// feed fluxlint's output to: reviewdog, pre-commit, Chromium, the SARIF
// schema. scripts/test installs them (Debian packages on PATH, the others in
// the repository's .bin/). A missing one fails the test, never skips it
// silently; FLUXLINT_SKIP_CLIENTS=1 skips these tests explicitly.
package clients

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// SkipEnv names the variable that skips real-client tests when set to 1.
const SkipEnv = "FLUXLINT_SKIP_CLIENTS"

func skip(t testing.TB) {
	t.Helper()
	if os.Getenv(SkipEnv) == "1" {
		t.Skipf("%s=1: skipping the check against the real client", SkipEnv)
	}
}

// Root is the repository root: the nearest directory above the working
// directory that holds go.mod.
func Root(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}

// Program returns the path of a program, looked up in the repository's .bin/
// and then on PATH.
func Program(t testing.TB, name string) string {
	t.Helper()
	skip(t)
	if p := filepath.Join(Root(t), ".bin", name); isExec(p) {
		return p
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	t.Fatalf("%s is not installed: scripts/test installs it (or set %s=1 to skip this check)", name, SkipEnv)
	return ""
}

// File returns the path of a file scripts/test fetched into .bin/.
func File(t testing.TB, name string) string {
	t.Helper()
	skip(t)
	p := filepath.Join(Root(t), ".bin", name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s is missing: scripts/test fetches it (or set %s=1 to skip this check)", p, SkipEnv)
	}
	return p
}

func isExec(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}
