package main

import (
	"os"
	"testing"

	"github.com/fluxlint/fluxlint/internal/mytest"
	"github.com/fluxlint/fluxlint/internal/pgtest"
)

// TestMain stops the private database servers the tests started, so that
// no run leaves them behind.
func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.StopShared()
	mytest.StopShared()
	os.Exit(code)
}
