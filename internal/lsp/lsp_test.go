package lsp

import (
	"bytes"
	"strings"
	"testing"

	"github.com/fluxlint/fluxlint/analyzers/split"
	"github.com/fluxlint/fluxlint/internal/lint"
)

// TestCrashedLintKeepsServer: a panic in the lint (or the code search it
// runs) becomes an error for that check; the server goes on.
func TestCrashedLintKeepsServer(t *testing.T) {
	s := New(func(string, []byte, bool) (*lint.Result, error) { panic("code search blew up") }, nil)
	res, err := s.safeLint("m.sql", nil, true)
	if res != nil || err == nil || !strings.Contains(err.Error(), "code search blew up") {
		t.Errorf("res %v, err %v: want the panic as an error", res, err)
	}
}

// TestFilterFrames passes well-formed messages on and drops those whose
// body is not JSON or whose header is broken, keeping in step with the
// frames after them.
func TestFilterFrames(t *testing.T) {
	in := "Content-Length: 2\r\n\r\n{}" +
		"Content-Length: 5\r\n\r\n{oops" +
		"Content-Length: nope\r\n\r\n" +
		"content-length: 7\r\n\r\n[1,2,3]"
	var out, log bytes.Buffer
	filterFrames(strings.NewReader(in), &out, &log)
	if want := "Content-Length: 2\r\n\r\n{}Content-Length: 7\r\n\r\n[1,2,3]"; out.String() != want {
		t.Errorf("out %q, want %q", out.String(), want)
	}
	if strings.Count(log.String(), "dropped") != 2 {
		t.Errorf("log: %q", log.String())
	}
}

// TestPosition: the protocol counts columns in UTF-16 units from 0; the
// lint's positions carry that column.
func TestPosition(t *testing.T) {
	lines := split.NewLines([]byte("SELECT 'é🙂', x;\n"))
	p := position(lines.Pos(17)) // x, at byte 17: 14 UTF-16 units before it (é is one, 🙂 two)
	if p.Line != 0 || p.Character != 14 {
		t.Errorf("position %+v, want 0:14", p)
	}
}
