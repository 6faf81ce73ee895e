package lint_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fluxlint/fluxlint/analyzers/ir"
	"github.com/fluxlint/fluxlint/internal/lint"
	pgrules "github.com/fluxlint/fluxlint/rules/pg"
)

// TestColumnListReference: the catalog's columns of the table reach the
// code search, so a map of filters to the table's columns, in a file that
// never names the table, is listed as a mention of the dropped column;
// the same word outside such a list is not.
func TestColumnListReference(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"migrations/0001_users.sql":      "CREATE TABLE users (id bigint PRIMARY KEY, email text, score int);\n",
		"migrations/0002_drop_score.sql": "ALTER TABLE users DROP COLUMN score;\n",
		"web/filters.ts":                 "export const FILTERS = {\n  id: 'id',\n  mail: 'email',\n  rank: 'score',\n};\n\nexport const title = 'score';\n",
	} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	res := lint.Run([]string{filepath.Join(dir, "migrations")}, lint.Options{Engine: ir.Postgres, Version: pgrules.DefaultVersion, Rules: pgrules.Rules(), CodePaths: []string{filepath.Join(dir, "web")}})
	var got []string
	for _, f := range res.Findings {
		if f.Rule.Code != "PG301" {
			continue
		}
		for _, r := range f.Related {
			got = append(got, filepath.Base(r.Path)+":"+strings.Fields(r.Message)[0]+":"+r.Kind)
		}
	}
	if strings.Join(got, " ") != "filters.ts:(mention):mention" || len(res.Findings) == 0 {
		t.Errorf("PG301's references %q, want the filter map's line alone", got)
	}
}
