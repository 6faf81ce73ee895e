package mysql_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/fluxlint/fluxlint/analyzers/ir"
	"github.com/fluxlint/fluxlint/internal/fixture"
	"github.com/fluxlint/fluxlint/internal/mytest"
	"github.com/fluxlint/fluxlint/rules"
	myrules "github.com/fluxlint/fluxlint/rules/mysql"
	"github.com/fluxlint/fluxlint/rules/sqlgen/mysqlgen"
)

// TestFailsClaimsOnMariaDB holds every fixture finding that claims its
// statement fails on the server (MY120) against the test MariaDB: on a fresh
// database with the fixture's base schema and the statements before it, the
// statement must fail with the error number claimed. A statement before it
// that is claimed to fail too changes nothing, and is not run.
func TestFailsClaimsOnMariaDB(t *testing.T) {
	srv := mytest.Shared(t)
	n := 0
	for _, path := range fixtures(t) {
		c := fixture.Load(t, path)
		findings := c.Lint(t, myrules.Rules()).Findings
		failing := map[int]bool{}
		for _, f := range findings {
			if at, err := c.StmtAt(f); err == nil && f.Claim != nil && f.Claim.Fails != "" {
				failing[at] = true
			}
		}
		for _, f := range findings {
			if f.Claim == nil || f.Claim.Fails == "" {
				continue
			}
			n++
			t.Run(path+":"+strconv.Itoa(f.Pos.Line), func(t *testing.T) {
				at, err := c.StmtAt(f)
				if err != nil {
					t.Fatal(err)
				}
				d := myDB{srv.FreshDB(t)}
				ctx := context.Background()
				if err := d.Exec(ctx, c.BaseSQL(t)); err != nil {
					t.Fatal(err)
				}
				for i, s := range c.Stmts[:at] {
					if failing[i] {
						continue
					}
					if err := d.Exec(ctx, s.Text); err != nil {
						t.Fatalf("statement before it: %s: %v", s.Text, err)
					}
				}
				err = d.Exec(ctx, c.Stmts[at].Text)
				var me *mysql.MySQLError
				switch {
				case err == nil:
					t.Errorf("%s: fluxlint says it fails with error %s; the server ran it", c.Stmts[at].Text, f.Claim.Fails)
				case !errors.As(err, &me):
					t.Errorf("%s: %v", c.Stmts[at].Text, err)
				case strconv.Itoa(int(me.Number)) != f.Claim.Fails:
					t.Errorf("%s: fluxlint says error %s, the server says %v", c.Stmts[at].Text, f.Claim.Fails, err)
				}
			})
		}
	}
	if n == 0 {
		t.Fatal("no fixture claims a failing statement: the test checks nothing")
	}
}

// TestNotNullInsertOnMariaDB checks what MY206 says: after ADD COLUMN ...
// NOT NULL without a DEFAULT, an INSERT that omits the column (code still
// deployed) fails with error 1364; after the plan's first step it succeeds.
func TestNotNullInsertOnMariaDB(t *testing.T) {
	srv := mytest.Shared(t)
	c := fixture.Load(t, "../../fixtures/mysql/rules/add_not_null.sql")
	const insert = "INSERT INTO users (email) VALUES ('old-code@example.com')"
	ctx := context.Background()
	checked := 0
	for _, f := range c.Lint(t, myrules.Rules()).Findings {
		if f.Rule.Code != "MY206" || f.Plan == nil {
			continue
		}
		checked++
		at, err := c.StmtAt(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, run := range []struct {
			name, sql string
			fails     bool
		}{{"statement", c.Stmts[at].Text, true}, {"plan's first step", f.Plan.Steps[0].Forward, false}} {
			d := myDB{srv.FreshDB(t)}
			if err := d.Exec(ctx, c.BaseSQL(t)); err != nil {
				t.Fatal(err)
			}
			if err := d.Exec(ctx, run.sql); err != nil {
				t.Fatalf("%s: %v", run.name, err)
			}
			err := d.Exec(ctx, insert)
			var me *mysql.MySQLError
			got1364 := errors.As(err, &me) && me.Number == 1364
			switch {
			case run.fails && !got1364:
				t.Errorf("after the %s, an insert that omits the column: %v, want error 1364", run.name, err)
			case !run.fails && err != nil:
				t.Errorf("after the %s, an insert that omits the column: %v, want success", run.name, err)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no MY206 finding with a plan in the fixture")
	}
}

// TestToolCleanupOnMariaDB checks the cleanup SQL of every online schema
// change step in the fixtures, and pt-online-schema-change's for the same
// tables with and without a database given: after the leftovers an
// interrupted run leaves (gh-ost's _gho, _ghc, _ghk and _del tables;
// pt-online-schema-change's _new table and its three triggers, named as
// the tools' sources name them) are made on the test MariaDB, the cleanup
// removes every one, and the table itself keeps its rows.
func TestToolCleanupOnMariaDB(t *testing.T) {
	srv := mytest.Shared(t)
	ctx := context.Background()
	checked := 0
	for _, path := range fixtures(t) {
		c := fixture.Load(t, path)
		for _, f := range c.Lint(t, myrules.Rules()).Findings {
			if f.Plan == nil || f.Plan.Steps[0].Tool == nil {
				continue
			}
			tool := f.Plan.Steps[0].Tool
			at, err := c.StmtAt(f)
			if err != nil {
				t.Fatal(err)
			}
			table := tableOf(t, tool.Alter)
			for _, run := range []struct {
				name    string
				cleanup func(db string) string
			}{
				{tool.Name, func(string) string { return tool.Cleanup }},
				{"pt-online-schema-change, database unknown", func(string) string { return mysqlgen.PTOSCCleanup(mysqlgen.Target{}, ir.QName{Name: table}) }},
				{"pt-online-schema-change, database given", func(db string) string {
					return mysqlgen.PTOSCCleanup(mysqlgen.Target{Database: db}, ir.QName{Name: table})
				}},
			} {
				checked++
				t.Run(fmt.Sprintf("%s:%d %s", path, f.Pos.Line, run.name), func(t *testing.T) {
					d := myDB{srv.FreshDB(t)}
					if err := d.Exec(ctx, c.BaseSQL(t)); err != nil {
						t.Fatal(err)
					}
					for _, s := range c.Stmts[:at] {
						if err := d.Exec(ctx, s.Text); err != nil {
							t.Fatal(err)
						}
					}
					var db string
					var rows int
					q := "`" + strings.ReplaceAll(table, "`", "``") + "`"
					if err := d.db.QueryRowContext(ctx, "SELECT DATABASE(), (SELECT COUNT(*) FROM "+q+")").Scan(&db, &rows); err != nil {
						t.Fatal(err)
					}
					// The leftovers, named as gh-ost (go/base/context.go) and
					// pt-online-schema-change (create_triggers) name them.
					helper := func(suffix string) string { return "`_" + table + "_" + suffix + "`" }
					prefix := regexp.MustCompile(`\W`).ReplaceAllString("pt_osc_"+db+"_"+table, "_")
					var leftovers []string
					if run.name == "gh-ost" {
						for _, s := range []string{"gho", "ghk", "del"} {
							leftovers = append(leftovers, "CREATE TABLE "+helper(s)+" LIKE "+q)
						}
						leftovers = append(leftovers, "CREATE TABLE "+helper("ghc")+" (id BIGINT PRIMARY KEY, hint VARCHAR(64))")
					} else {
						leftovers = append(leftovers, "CREATE TABLE "+helper("new")+" LIKE "+q)
						for _, a := range []string{"ins", "upd", "del"} {
							event := map[string]string{"ins": "INSERT", "upd": "UPDATE", "del": "DELETE"}[a]
							leftovers = append(leftovers, fmt.Sprintf("CREATE TRIGGER `%s_%s` AFTER %s ON %s FOR EACH ROW SET @fluxlint_test = 1", prefix, a, event, q))
						}
					}
					for _, s := range leftovers {
						if err := d.Exec(ctx, s); err != nil {
							t.Fatalf("%s: %v", s, err)
						}
					}
					if err := d.Exec(ctx, run.cleanup(db)); err != nil {
						t.Fatalf("cleanup: %v\n%s", err, run.cleanup(db))
					}
					var tables, triggers, after int
					if err := d.db.QueryRowContext(ctx, "SELECT (SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE ?), "+
						"(SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE() AND TRIGGER_NAME LIKE 'pt\\_osc\\_%'), (SELECT COUNT(*) FROM "+q+")",
						"\\_"+strings.ReplaceAll(table, "_", "\\_")+"\\_%").Scan(&tables, &triggers, &after); err != nil {
						t.Fatal(err)
					}
					if tables != 0 || triggers != 0 || after != rows {
						t.Errorf("after the cleanup: %d helper tables, %d pt-osc triggers left; %d rows (before %d)\n%s", tables, triggers, after, rows, run.cleanup(db))
					}
				})
			}
		}
	}
	if checked == 0 {
		t.Fatal("no online schema change step in the fixtures")
	}
}

// tableOf reads the table name out of a tool step's ALTER TABLE `name` ...
func tableOf(t *testing.T, alter string) string {
	t.Helper()
	rest, ok := strings.CutPrefix(alter, "ALTER TABLE `")
	end := strings.Index(rest, "` ")
	if !ok || end < 0 {
		t.Fatalf("unexpected tool ALTER: %s", alter)
	}
	return strings.ReplaceAll(rest[:end], "``", "`")
}

// TestTypeChangeWritesOnMariaDB checks MY201's expand/contract plan while
// code writes: rows inserted and updated through the old column after the
// triggers are in (before and after the backfill) hold the same values in
// the column of the new type once it has taken the name.
func TestTypeChangeWritesOnMariaDB(t *testing.T) {
	srv := mytest.Shared(t)
	c := fixture.Load(t, "../../fixtures/mysql/rules/alter_copy_expand_contract.sql")
	ctx := context.Background()
	var plan *rules.Plan
	for _, f := range c.Lint(t, myrules.Rules()).Findings {
		if f.Rule.Code == "MY201" && f.Plan != nil && strings.Contains(f.Message, `"total"`) {
			plan = f.Plan
		}
	}
	if plan == nil {
		t.Fatal("no expand/contract plan for orders.total in the fixture")
	}
	d := myDB{srv.FreshDB(t)}
	if err := d.Exec(ctx, c.BaseSQL(t)); err != nil {
		t.Fatal(err)
	}
	writes := map[int][]string{
		2: {"INSERT INTO orders (id, user_id, total) VALUES (900001, 1, 12.5)", "UPDATE orders SET total = 7.25 WHERE id = 1"},
		3: {"INSERT INTO orders (id, user_id, total) VALUES (900002, 1, 99.99)", "UPDATE orders SET total = 1.5 WHERE id = 900001"},
	}
	for i, s := range plan.Steps {
		if s.Kind == rules.StepCodeDeploy {
			continue
		}
		if err := d.RunStep(ctx, s, s.Forward); err != nil {
			t.Fatalf("step %d (%s): %v", i+1, s.Title, err)
		}
		for _, w := range writes[i+1] { // old code, writing while the plan runs
			if err := d.Exec(ctx, w); err != nil {
				t.Fatalf("after step %d: %s: %v", i+1, w, err)
			}
		}
	}
	for id, want := range map[int]string{1: "7.25", 900001: "1.50", 900002: "99.99"} {
		var got, typ string
		if err := d.db.QueryRowContext(ctx, "SELECT CAST(total AS CHAR), (SELECT COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'orders' AND COLUMN_NAME = 'total') FROM orders WHERE id = ?", id).Scan(&got, &typ); err != nil {
			t.Fatal(err)
		}
		if got != want || typ != "decimal(12,2)" {
			t.Errorf("order %d: total %s of type %s, want %s as decimal(12,2)", id, got, typ, want)
		}
	}
}
