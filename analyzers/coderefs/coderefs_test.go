package coderefs

import (
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	_ "github.com/fluxlint/fluxlint/internal/golden"
)

// TestSearch checks every ORM spelling the search knows, and the negatives:
// a substring (username for name), a decorator's option key (TypeORM's
// name:), a comment in another table's code,
// ActiveRecord's ignored_columns, .gitignore'd files, migrations and
// vendored code.
func TestSearch(t *testing.T) {
	root := filepath.Join("..", "..", "fixtures", "coderefs", "app")
	qs := []Query{{Table: "users", Column: "legacy_flag"}, {Table: "users", Column: "nickname"}, {Table: "users", Column: "last_seen"},
		{Table: "users", Column: "name"}, {Table: "users", Column: "score"}, {Table: "orders"}}
	res, err := Search([]string{root}, nil, qs)
	if err != nil {
		t.Fatal(err)
	}
	got := map[Query][]string{}
	for q, refs := range res.Refs {
		for _, r := range refs {
			rel, _ := filepath.Rel(root, r.Path)
			got[q] = append(got[q], fmt.Sprintf("%s:%d", filepath.ToSlash(rel), r.Line))
		}
	}
	want := map[Query][]string{
		{Table: "users", Column: "legacy_flag"}: {"django/models.py:2", "models/user.go:9", "prisma/schema.prisma:3", "py/models.py:3", "queries/report.sql:1"},
		{Table: "users", Column: "nickname"}:    {"models/user.go:10", "py/models.py:4"},
		{Table: "users", Column: "last_seen"}:   {"models/user.go:11", "ts/user.entity.ts:3", "ts/user.entity.ts:4"},
		{Table: "orders"}:                       {"other/orders.go:5", "other/orders.go:6"},
		// TypeORM's option key `name:` in @Column({ name: ... }) is not the
		// column called name; the property declared name is.
		{Table: "users", Column: "name"}: {"ts/user.entity.ts:6"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("refs:\n got %v\nwant %v", got, want)
	}
	if !res.Ignored[Query{Table: "users", Column: "score"}] {
		t.Error("ignored_columns should mark score as already removed")
	}
	for _, r := range res.Refs[Query{Table: "users", Column: "legacy_flag"}] {
		if strings.Contains(r.Path, "generated") || strings.Contains(r.Path, "migrations") || strings.Contains(r.Path, "node_modules") || strings.Contains(r.Path, ".tmp.") {
			t.Errorf("%s should have been skipped", r.Path)
		}
	}
}
