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
