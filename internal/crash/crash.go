// Package crash turns a panic in one of fluxlint's goroutines into an
// error that names the file being worked on, so that a bug ends the run
// with exit code 3 and a request to report it, never as a crash that looks
// like bad input (Go exits 2 on an unrecovered panic).
package crash

import (
	"fmt"
	"runtime/debug"
)

// Error is a recovered panic.
type Error struct {
	Path  string // the file being worked on
	Value any
	Stack []byte
}

func (e *Error) Error() string {
	return fmt.Sprintf("while working on %s: %v\n%s", e.Path, e.Value, e.Stack)
}

// Recover, deferred, stores a panic as an *Error in *dst.
func Recover(path string, dst **Error) {
	if r := recover(); r != nil {
		*dst = &Error{Path: path, Value: r, Stack: debug.Stack()}
	}
}
