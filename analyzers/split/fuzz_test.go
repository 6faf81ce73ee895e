package split

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/fluxlint/fluxlint/analyzers/ir"
)

// addCorpusSeeds seeds a fuzz target with the shared corpus when present.
func addCorpusSeeds(f *testing.F, max int) {
	files, _ := filepath.Glob("../../../shared/corpus/postgres/*/*/*.sql")
	more, _ := filepath.Glob("../../../shared/corpus/postgres/*/*/*/*.sql")
	files = append(files, more...)
	for i, p := range files {
		if i >= max {
			break
		}
		if data, err := os.ReadFile(p); err == nil && len(data) < 64<<10 {
			f.Add(data)
		}
	}
}

// FuzzSplit checks the splitter on arbitrary input: no panic, segments in
// order, inside the input, not overlapping, and positions that agree with
// their offsets.
func FuzzSplit(f *testing.F) {
	for _, s := range []string{"SELECT 1;", "DO $$ x; $$;", "-- +goose StatementBegin\nSELECT 1;\n-- +goose StatementEnd",
		"delimiter //\nSELECT 1//", "E'\\'';", "/* /* */ */;", "CREATE FUNCTION f() BEGIN ATOMIC SELECT 1; END;"} {
		f.Add([]byte(s))
	}
	addCorpusSeeds(f, 400)
	f.Fuzz(func(t *testing.T, src []byte) {
		for _, engine := range []ir.Engine{ir.Postgres, ir.MySQL} {
			r := Split(src, engine)
			prev := 0
			for _, s := range r.Segments {
				if s.Start < prev || s.End < s.Start || s.End > len(src) {
					t.Fatalf("%s: bad segment [%d,%d) after %d in %d bytes", engine, s.Start, s.End, prev, len(src))
				}
				if s.Err != "" && (s.ErrAt < s.Start || s.ErrAt > len(src)) {
					t.Fatalf("error position %d outside segment [%d,%d)", s.ErrAt, s.Start, s.End)
				}
				pos := r.Lines.Pos(s.Start)
				if pos.Offset != s.Start || pos.Line < 1 || pos.Col < 1 || pos.Col16 < 1 || pos.Col16 > pos.Col {
					t.Fatalf("position %+v for offset %d", pos, s.Start)
				}
				prev = s.End
			}
			// Scanning with directives kept gives the same segments.
			var scanned []Segment
			Scan(src, engine, Options{Emit: func(s Segment) { scanned = append(scanned, s) }, Directive: func(string) bool { return true }})
			if len(scanned) != len(r.Segments) {
				t.Fatalf("%s: Scan gave %d segments, Split %d", engine, len(scanned), len(r.Segments))
			}
			for i := range scanned {
				scanned[i].Near = false
				if scanned[i] != r.Segments[i] {
					t.Fatalf("%s: segment %d: Scan %+v, Split %+v", engine, i, scanned[i], r.Segments[i])
				}
			}
		}
	})
}
