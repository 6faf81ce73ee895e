// Package dbtest shares one private database server among a test binary's
// tests: started on first use, stopped by TestMain. FLUXLINT_SKIP_DB=1 skips
// the tests that need it, explicitly; without it a server that cannot start
// fails them, never skips them silently.
package dbtest

import (
	"net"
	"os"
	"sync"
	"testing"
)

// SkipEnv names the variable that skips real-database tests when set to 1.
const SkipEnv = "FLUXLINT_SKIP_DB"

// Shared is a server of type S started once.
type Shared[S interface{ Stop() }] struct {
	Name    string // "PostgreSQL"
	Package string // the Debian package that provides it
	Start   func() (S, error)

	once    sync.Once
	srv     S
	err     error
	started bool
}

// Get returns the server, starting it on first use.
func (s *Shared[S]) Get(t testing.TB) S {
	t.Helper()
	if os.Getenv(SkipEnv) == "1" {
		t.Skipf("%s=1: skipping the real-%s check", SkipEnv, s.Name)
	}
	s.once.Do(func() { s.srv, s.err = s.Start(); s.started = s.err == nil })
	if s.err != nil {
		t.Fatalf("starting %s (install the %s package, or set %s=1 to skip): %v", s.Name, s.Package, SkipEnv, s.err)
	}
	return s.srv
}

// Stop stops the server if it was started.
func (s *Shared[S]) Stop() {
	if s.started {
		s.srv.Stop()
	}
}

// FreePort is a TCP port on loopback that nothing listens on now.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
