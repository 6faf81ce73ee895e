package lint_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fluxlint/fluxlint/analyzers/ir"
	"github.com/fluxlint/fluxlint/analyzers/migrations"
	"github.com/fluxlint/fluxlint/internal/lint"
	pgrules "github.com/fluxlint/fluxlint/rules/pg"
)

func seeds(f *testing.F) {
	files, _ := filepath.Glob(corpusDir + "/*/*/*.sql")
	more, _ := filepath.Glob(corpusDir + "/*/*/*/*.sql")
	for i, p := range append(files, more...) {
		if data, err := os.ReadFile(p); err == nil && i%4 == 0 && len(data) < 32<<10 {
			f.Add(data)
		}
	}
}

// FuzzLint runs the whole pipeline on one arbitrary migration after a fixed
// history: no panic, and every finding lies inside the file.
func FuzzLint(f *testing.F) {
	f.Add([]byte("CREATE INDEX ON users (email);\n-- fluxlint:ignore PG101 why\nALTER TABLE users DROP COLUMN email;"))
	seeds(f)
	opt := lint.Options{Engine: ir.Postgres, Version: 15, Rules: pgrules.Rules()}
	f.Fuzz(func(t *testing.T, src []byte) {
		dir := t.TempDir()
		_ = os.WriteFile(filepath.Join(dir, "0001_init.sql"), []byte("CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);"), 0o644)
		target := filepath.Join(dir, "0002_change.sql")
		if err := os.WriteFile(target, src, 0o644); err != nil {
			t.Fatal(err)
		}
		res := lint.Run([]string{target}, opt)
		// LF, CRLF and a lone CR each end a line.
		lines := strings.Count(string(src), "\n") + strings.Count(string(src), "\r") - strings.Count(string(src), "\r\n") + 1
		for _, fd := range res.Findings {
			if fd.Pos.Line < 1 || fd.Pos.Line > lines || fd.Pos.Offset > len(src) {
				t.Fatalf("%s at %d:%d (offset %d) outside the %d-byte file", fd.Rule.Code, fd.Pos.Line, fd.Pos.Col, fd.Pos.Offset, len(src))
			}
			if strings.Contains(fd.Message, "internal error") {
				t.Fatalf("analysis bug: %s", fd.Message)
			}
		}
	})
}

// FuzzDirectives checks directive parsing and attachment with arbitrary
// comment text around statements that produce findings.
func FuzzDirectives(f *testing.F) {
	for _, s := range []string{"fluxlint:ignore PG101 reason", "fluxlint:ignore-file PG101,PG102 r", "fluxlint:ignore", "fluxlint:", "fluxlint:ignore PG999 x"} {
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, directive string, trailing bool) {
		directive = strings.ReplaceAll(directive, "\n", " ")
		var src string
		if trailing {
			src = "CREATE INDEX a ON users (email); -- " + directive + "\nDROP INDEX users_pkey;"
		} else {
			src = "-- " + directive + "\nCREATE INDEX a ON users (email);\nDROP INDEX users_pkey;"
		}
		m := &migrations.Migration{Path: "x.sql", Src: []byte(src), Tool: migrations.Plain}
		if _, _, err := lint.ParseFile(m, ir.Postgres, false); err != nil {
			return // not text: reported elsewhere
		}
		dir := t.TempDir()
		p := filepath.Join(dir, "0001.sql")
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		res := lint.Run([]string{p}, lint.Options{Engine: ir.Postgres, Version: 15, Rules: pgrules.Rules()})
		lines := 3 + strings.Count(directive, "\r") - strings.Count(directive, "\r\n") // a lone CR ends a line too
		for _, fd := range res.Findings {
			if fd.Pos.Line < 1 || fd.Pos.Line > lines {
				t.Fatalf("%s at line %d", fd.Rule.Code, fd.Pos.Line)
			}
		}
	})
}
