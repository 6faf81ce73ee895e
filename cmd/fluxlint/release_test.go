package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/fluxlint/fluxlint/internal/clients"
)

// TestReleaseBuild builds a release archive the way the release workflow
// does, from a clean clone tagged v0.0.1-test, and checks its checksum and
// that the binary reports the tag as its version (stamped from VCS info,
// not a hand-edited constant).
func TestReleaseBuild(t *testing.T) {
	root := clients.Root(t)
	clone := filepath.Join(t.TempDir(), "fluxlint")
	sh := func(dir string, name string, args ...string) string {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
		return string(out)
	}
	sh(root, "git", "clone", "-q", root, clone)
	sh(clone, "git", "-c", "user.name=t", "-c", "user.email=t@example.com", "tag", "v0.0.1-test")
	archive := strings.TrimSpace(sh(clone, "scripts/release-build", "dist"))
	want := fmt.Sprintf("dist/fluxlint_%s_%s.tar.gz", runtime.GOOS, runtime.GOARCH)
	if archive != want {
		t.Fatalf("archive %q, want %q", archive, want)
	}
	sh(filepath.Join(clone, "dist"), "sha256sum", "-c", filepath.Base(archive)+".sha256")
	sh(filepath.Join(clone, "dist"), "tar", "-xzf", filepath.Base(archive))
	bin := filepath.Join(clone, "dist", strings.TrimSuffix(filepath.Base(archive), ".tar.gz"), "fluxlint")
	if out := sh(clone, bin, "version"); !strings.Contains(out, "v0.0.1-test") {
		t.Errorf("fluxlint version from the tagged build: %q, want v0.0.1-test", out)
	}
}

// tarGz makes an archive holding one executable file.
func tarGz(t *testing.T, name, body string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	must(t, tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: int64(len(body))}))
	_, err := tw.Write([]byte(body))
	must(t, err)
	must(t, tw.Close())
	must(t, zw.Close())
	return buf.Bytes()
}

// TestInstallScript runs the Action's installer against release downloads
// served locally: the archives are installed when their checksums match,
// and a mismatch stops the install.
func TestInstallScript(t *testing.T) {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skip("the fake releases are built for linux/amd64")
	}
	root := clients.Root(t)
	fl := tarGz(t, "fluxlint_linux_amd64/fluxlint", "#!/bin/sh\necho fake fluxlint\n")
	rd := tarGz(t, "reviewdog", "#!/bin/sh\necho fake reviewdog\n")
	sum := func(b []byte) string { return fmt.Sprintf("%x", sha256.Sum256(b)) }
	checksums := map[string]string{
		"/fluxlint/v9.9.9/checksums.txt":   sum(fl) + "  fluxlint_linux_amd64.tar.gz\n",
		"/reviewdog/v0.21.0/checksums.txt": sum(rd) + "  reviewdog_0.21.0_Linux_x86_64.tar.gz\n",
	}
	var mu sync.Mutex // the test changes a checksum between installs
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch r.URL.Path {
		case "/fluxlint/v9.9.9/fluxlint_linux_amd64.tar.gz":
			_, _ = w.Write(fl)
		case "/reviewdog/v0.21.0/reviewdog_0.21.0_Linux_x86_64.tar.gz":
			_, _ = w.Write(rd)
		default:
			if c, ok := checksums[r.URL.Path]; ok {
				fmt.Fprint(w, c)
				return
			}
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	install := func() (string, string, error) {
		bin := t.TempDir()
		cmd := exec.Command(filepath.Join(root, "scripts", "install"), "v9.9.9", bin)
		cmd.Env = append(os.Environ(), "FLUXLINT_RELEASE_URL="+srv.URL+"/fluxlint", "REVIEWDOG_RELEASE_URL="+srv.URL+"/reviewdog")
		out, err := cmd.CombinedOutput()
		return bin, string(out), err
	}
	bin, out, err := install()
	if err != nil || !strings.Contains(out, "fluxlint: installed from release") || !strings.Contains(out, "reviewdog: installed from release") {
		t.Fatalf("install: %v\n%s", err, out)
	}
	for _, name := range []string{"fluxlint", "reviewdog"} {
		got, err := exec.Command(filepath.Join(bin, name)).Output()
		if err != nil || !strings.Contains(string(got), "fake "+name) {
			t.Errorf("%s installed: %q %v", name, got, err)
		}
	}
	mu.Lock()
	checksums["/fluxlint/v9.9.9/checksums.txt"] = strings.Repeat("0", 64) + "  fluxlint_linux_amd64.tar.gz\n"
	mu.Unlock()
	if _, out, err := install(); err == nil || !strings.Contains(out, "checksum mismatch") {
		t.Errorf("a wrong checksum must stop the install: %v\n%s", err, out)
	}
}
