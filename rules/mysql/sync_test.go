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
			if err := d.Exec(ctx, c.BaseSQL(t)); err != nil {
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

// TestRenameTableThroughView checks what MY304's plan claims: once its view
// exists, code using the new name reads and writes the table through it
// while old code keeps using the old name; the swap then leaves the table
// under the new name with every row, and the view gone.
func TestRenameTableThroughView(t *testing.T) {
	srv := mytest.Shared(t)
	c := fixture.Load(t, "../../fixtures/mysql/rules/rename_table.sql")
	var plan *rules.Plan
	for _, f := range c.Lint(t, myrules.Rules()).Findings {
		if f.Rule.Code == "MY304" && strings.Contains(f.Message, `"legacy_events"`) {
			plan = f.Plan
		}
	}
	if plan == nil || len(plan.Steps) != 3 {
		t.Fatalf("want MY304's three-step plan for legacy_events, got %+v", plan)
	}
	db := srv.FreshDB(t)
	ctx := context.Background()
	d := myDB{db}
	if err := d.Exec(ctx, c.BaseSQL(t)); err != nil {
		t.Fatal(err)
	}
	exec := func(sql string) {
		t.Helper()
		if _, err := db.ExecContext(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	if err := d.RunStep(ctx, plan.Steps[0], plan.Steps[0].Forward); err != nil {
		t.Fatal(err)
	}
	exec("INSERT INTO archived_events (id, body) VALUES (1001, 'new code')") // new code, through the view
	exec("UPDATE archived_events SET body = 'new code, updated' WHERE id = 1")
	exec("INSERT INTO legacy_events (id, body) VALUES (1002, 'old code')") // old code, still on the table
	if err := d.RunStep(ctx, plan.Steps[2], plan.Steps[2].Forward); err != nil {
		t.Fatal(err)
	}
	var n int
	var body string
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*), MAX(CASE WHEN id = 1 THEN body END) FROM archived_events").Scan(&n, &body); err != nil {
		t.Fatal(err)
	}
	if n != 302 || body != "new code, updated" {
		t.Errorf("after the swap: %d rows, row 1 %q; want 302 rows and the update made through the view", n, body)
	}
	var kind string
	if err := db.QueryRowContext(ctx, "SELECT TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'archived_events'").Scan(&kind); err != nil || kind != "BASE TABLE" {
		t.Errorf("archived_events is %q (%v), want the table itself", kind, err)
	}
	var views int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.VIEWS WHERE TABLE_SCHEMA = DATABASE()").Scan(&views); err != nil || views != 0 {
		t.Errorf("%d views left (%v), want none", views, err)
	}
}
