package mysql

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse checks the MySQL front end on arbitrary statements: no panic
// escapes (Parse turns analysis bugs into errors, which this target also
// reports), and syntax errors point inside the text.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"ALTER TABLE t ADD COLUMN IF NOT EXISTS a INT AFTER b, ALGORITHM=INPLACE, LOCK=NONE",
		"CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, KEY (a), CONSTRAINT FOREIGN KEY (a) REFERENCES u (id))",
		"RENAME TABLE a TO b, c TO d", "CREATE DEFINER=`x`@`%` TRIGGER t BEFORE INSERT ON x FOR EACH ROW SET NEW.a = 1"} {
		f.Add(s)
	}
	files, _ := filepath.Glob("../../../shared/corpus/mysql/*/*/*.sql")
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
		if err != nil && strings.HasPrefix(err.Error(), "internal ") {
			t.Fatalf("analysis bug: %v", err)
		}
	})
}
