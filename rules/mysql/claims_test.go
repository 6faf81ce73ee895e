package mysql_test

import (
	"context"
	"errors"
	"strconv"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/fluxlint/fluxlint/internal/fixture"
	"github.com/fluxlint/fluxlint/internal/mytest"
	myrules "github.com/fluxlint/fluxlint/rules/mysql"
)

// TestFailsClaimsOnMariaDB holds every fixture finding that claims its
// statement fails on the server (MY120) against the test MariaDB: on a fresh
// database with the fixture's base schema and the statements before it, the
// statement must fail with the error number claimed.
func TestFailsClaimsOnMariaDB(t *testing.T) {
	srv := mytest.Shared(t)
	n := 0
	for _, path := range fixtures(t) {
		c := fixture.Load(t, path)
		for _, f := range c.Lint(t, myrules.Rules()).Findings {
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
				for _, s := range c.Stmts[:at] {
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
			switch {
			case run.fails && !(errors.As(err, &me) && me.Number == 1364):
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
