package pg

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks the PostgreSQL front end on arbitrary statements: no
// panic escapes (Parse turns analysis bugs into errors, which this target
// also reports), and syntax errors point inside the text.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"CREATE INDEX ON t (a)", "ALTER TABLE t ADD COLUMN a int NOT NULL DEFAULT now()",
		"CREATE TABLE t (a int PRIMARY KEY, b text REFERENCES u ON DELETE CASCADE, CHECK (a > 0))", "DROP INDEX CONCURRENTLY i"} {
		f.Add(s)
	}
	files, _ := filepath.Glob("../../../shared/corpus/postgres/*/*/*.sql")
	for i, p := range files {
		if data, err := os.ReadFile(p); err == nil && i < 300 && len(data) < 32<<10 {
			f.Add(string(data))
		}
	}
	f.Fuzz(func(t *testing.T, text string) {
		_, err := Parse(text)
		var se *SyntaxError
		if errors.As(err, &se) && (se.Offset < 0 || se.Offset > len(text)) {
			t.Fatalf("syntax error offset %d outside %d bytes", se.Offset, len(text))
		}
		if err != nil && len(err.Error()) > 9 && err.Error()[:9] == "internal " {
			t.Fatalf("analysis bug: %v", err)
		}
	})
}
