package mysql_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"testing"

	"github.com/fluxlint/fluxlint/internal/fixture"
	"github.com/fluxlint/fluxlint/internal/mytest"
	"github.com/fluxlint/fluxlint/internal/plantest"
	"github.com/fluxlint/fluxlint/rules"
	myrules "github.com/fluxlint/fluxlint/rules/mysql"
)

func TestMain(m *testing.M) {
	code := m.Run()
	mytest.StopShared()
	os.Exit(code)
}

func fixtures(t *testing.T) []string { return plantest.Fixtures(t, "../../fixtures/mysql/rules/*.sql") }

// TestFixtures checks every fixture's inline expectations and plan goldens.
func TestFixtures(t *testing.T) { plantest.CheckFixtures(t, fixtures(t), myrules.Rules()) }

// TestPlansOnMariaDB runs every plan of every fixture forward and back on a
// real MariaDB (see plantest.RunPlans), and compares the end state with the
// statement's own.
func TestPlansOnMariaDB(t *testing.T) {
	srv := mytest.Shared(t)
	plantest.RunPlans(t, fixtures(t), myrules.Rules(), func(t *testing.T) plantest.DB { return myDB{srv.FreshDB(t)} },
		func(*fixture.Case) bool { return true })
}

// TestPlansLintClean lints every plan's own SQL with fluxlint (see
// plantest.LintClean); a plan may trigger its point of no return's drop.
func TestPlansLintClean(t *testing.T) {
	plantest.LintClean(t, fixtures(t), myrules.Rules(), "MY301", "MY302")
}

// myDB is a fresh database on the test MariaDB, on one connection.
type myDB struct{ db *sql.DB }

func (d myDB) Exec(ctx context.Context, sql string) error { return mytest.ExecScript(ctx, d.db, sql) }

// RunStep runs a step as one multi-statement query, as Go migration tools
// send a file (MySQL commits DDL as it goes, so there is no transaction to
// stay out of). A checkpoint's value must be what the step expects.
func (d myDB) RunStep(ctx context.Context, s rules.Step, script string) error {
	switch {
	case script == "":
		return nil
	case s.Kind != rules.StepCheckpoint:
		return d.Exec(ctx, script)
	}
	var got sql.NullString
	if err := d.db.QueryRowContext(ctx, script).Scan(&got); err != nil {
		return err
	}
	if s.Expect != "" && got.String != s.Expect {
		return fmt.Errorf("checkpoint returned %q, the plan expects %q", got.String, s.Expect)
	}
	return nil
}

// Snapshot reads the schema dump, and each table's row count and checksum.
func (d myDB) Snapshot(ctx context.Context) (plantest.State, error) {
	st := plantest.State{Rows: map[string]int64{}, Sums: map[string]string{}}
	var err error
	if st.Schema, err = mytest.SchemaDump(ctx, d.db); err != nil {
		return st, err
	}
	rows, err := d.db.QueryContext(ctx, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE' ORDER BY 1")
	if err != nil {
		return st, err
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return st, err
		}
		tables = append(tables, t)
	}
	rows.Close()
	for _, t := range tables {
		q := "`" + t + "`"
		var n int64
		if err := d.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+q).Scan(&n); err != nil {
			return st, err
		}
		var name string
		var sum sql.NullString
		if err := d.db.QueryRowContext(ctx, "CHECKSUM TABLE "+q).Scan(&name, &sum); err != nil {
			return st, err
		}
		st.Rows[t], st.Sums[t] = n, sum.String
	}
	return st, nil
}
