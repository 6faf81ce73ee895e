package mysql_test

import (
	"context"
	"strings"
	"testing"

	"github.com/fluxlint/fluxlint/internal/fixture"
	"github.com/fluxlint/fluxlint/internal/mytest"
	"github.com/fluxlint/fluxlint/rules"
	myrules "github.com/fluxlint/fluxlint/rules/mysql"
)

// TestRenameColumnSync checks what MY303's plan claims while old and new
// code overlap: after its migration steps up to the code switch, writes that
// use only the old name and writes that use only the new name (inserts and
// updates; a column with a default, and a NOT NULL one without) all land
// under both names, and no row differs between them.
func TestRenameColumnSync(t *testing.T) {
	srv := mytest.Shared(t)
	c := fixture.Load(t, "../../fixtures/mysql/rules/rename_column.sql")
	cases := []struct {
		table, old, new string
		writes          []string
		want            map[int]string
	}{
		{"orders", "status", "state", []string{
			"INSERT INTO orders (id, user_id, status, total) VALUES (100001, 1, 'paid', 1)",   // old code
			"INSERT INTO orders (id, user_id, state, total) VALUES (100002, 1, 'shipped', 2)", // new code
			"INSERT INTO orders (id, user_id, total) VALUES (100003, 1, 3)",                   // old code, the default
			"UPDATE orders SET status = 'shipped' WHERE id = 100001",                          // old code
			"UPDATE orders SET state = 'paid' WHERE id = 100002",                              // new code
			"UPDATE orders SET total = 9 WHERE id = 100003",                                   // neither name
		}, map[int]string{100001: "shipped", 100002: "paid", 100003: "new"}},
		{"users", "email", "email_address", []string{
			"INSERT INTO users (id, email) VALUES (200001, 'old@example.com')",         // old code
			"INSERT INTO users (id, email_address) VALUES (200002, 'new@example.com')", // new code, NOT NULL old name omitted
			"UPDATE users SET email = 'old2@example.com' WHERE id = 200001",
			"UPDATE users SET email_address = 'new2@example.com' WHERE id = 200002",
		}, map[int]string{200001: "old2@example.com", 200002: "new2@example.com"}},
	}
	findings := c.Lint(t, myrules.Rules()).Findings
	for _, tc := range cases {
		t.Run(tc.table+"."+tc.old, func(t *testing.T) {
			var plan *rules.Plan
			for _, f := range findings {
				if f.Rule.Code == "MY303" && strings.Contains(f.Message, `"`+tc.old+`"`) {
					plan = f.Plan
				}
			}
			if plan == nil {
				t.Fatalf("no MY303 plan for %s.%s in the fixture", tc.table, tc.old)
			}
			db := srv.FreshDB(t)
			ctx := context.Background()
			d := myDB{db}
			if err := d.Exec(ctx, readFile(t, c.Base)); err != nil {
				t.Fatal(err)
			}
			for _, s := range plan.Steps {
				if s.Kind == rules.StepCodeDeploy {
					break // old and new code overlap from here on
				}
				if err := d.RunStep(ctx, s, s.Forward); err != nil {
					t.Fatalf("%s: %v", s.Title, err)
				}
			}
			for _, w := range tc.writes {
				if _, err := db.ExecContext(ctx, w); err != nil {
					t.Fatalf("%s: %v", w, err)
				}
			}
			for id, v := range tc.want {
				var old, new string
				if err := db.QueryRowContext(ctx, "SELECT `"+tc.old+"`, `"+tc.new+"` FROM `"+tc.table+"` WHERE id = ?", id).Scan(&old, &new); err != nil {
					t.Fatal(err)
				}
				if old != v || new != v {
					t.Errorf("row %d: %s %q, %s %q, want both %q", id, tc.old, old, tc.new, new, v)
				}
			}
			var mismatches int
			if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM `"+tc.table+"` WHERE NOT (`"+tc.new+"` <=> `"+tc.old+"`)").Scan(&mismatches); err != nil {
				t.Fatal(err)
			}
			if mismatches != 0 {
				t.Errorf("%d rows differ between the two names", mismatches)
			}
		})
	}
}
