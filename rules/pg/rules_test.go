package pg_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/fluxlint/fluxlint/analyzers/ir"
	"github.com/fluxlint/fluxlint/analyzers/split"
	"github.com/fluxlint/fluxlint/internal/fixture"
	"github.com/fluxlint/fluxlint/internal/pgtest"
	"github.com/fluxlint/fluxlint/internal/plantest"
	"github.com/fluxlint/fluxlint/rules"
	pgrules "github.com/fluxlint/fluxlint/rules/pg"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.StopShared()
	os.Exit(code)
}

func fixtures(t *testing.T) []string { return plantest.Fixtures(t, "../../fixtures/pg/rules/*.sql") }

// TestFixtures checks every fixture's inline expectations and plan goldens.
func TestFixtures(t *testing.T) { plantest.CheckFixtures(t, fixtures(t), pgrules.Rules()) }

// TestPlansOnPostgres runs every plan of every fixture forward and back on a
// real PostgreSQL (see plantest.RunPlans). Plans for servers before 12 keep a
// validated check instead of NOT NULL, so they differ from the statement on
// this newer test server: their end state is not compared.
func TestPlansOnPostgres(t *testing.T) {
	srv := pgtest.Shared(t)
	plantest.RunPlans(t, fixtures(t), pgrules.Rules(), func(t *testing.T) plantest.DB { return pgDB{srv.FreshDB(t)} },
		func(c *fixture.Case) bool { return c.Version >= 12 })
}

// TestPlansLintClean lints every plan's own SQL with fluxlint (see
// plantest.LintClean); a plan may trigger its point of no return's drop.
func TestPlansLintClean(t *testing.T) {
	plantest.LintClean(t, fixtures(t), pgrules.Rules(), "PG301", "PG302", "PG308")
}

// pgDB is a fresh database on the test PostgreSQL.
type pgDB struct{ conn *pgx.Conn }

func (d pgDB) Exec(ctx context.Context, sql string) error { return pgtest.ExecScript(ctx, d.conn, sql) }

// RunStep runs a step as one multi-statement query (one implicit
// transaction), or statement by statement in autocommit when it must run
// outside a transaction. A checkpoint's value, as text, must be what the
// step expects.
func (d pgDB) RunStep(ctx context.Context, s rules.Step, sql string) error {
	switch {
	case sql == "":
		return nil
	case s.Kind == rules.StepCheckpoint:
		var got string
		if err := d.conn.QueryRow(ctx, "SELECT ("+strings.TrimSuffix(strings.TrimSpace(sql), ";")+")::text").Scan(&got); err != nil {
			return err
		}
		if s.Expect != "" && got != s.Expect {
			return fmt.Errorf("checkpoint returned %q, the plan expects %q", got, s.Expect)
		}
		return nil
	case s.NoTransaction:
		src := []byte(sql)
		for _, seg := range split.Split(src, ir.Postgres).Segments {
			if err := d.Exec(ctx, string(src[seg.Start:seg.End])); err != nil {
				return err
			}
		}
		return nil
	}
	return d.Exec(ctx, sql)
}

// Snapshot reads the schema dump, and each table's row count and a checksum
// of its rows.
func (d pgDB) Snapshot(ctx context.Context) (plantest.State, error) {
	st := plantest.State{Rows: map[string]int64{}, Sums: map[string]string{}}
	var err error
	if st.Schema, err = pgtest.SchemaDump(ctx, d.conn); err != nil {
		return st, err
	}
	rows, err := d.conn.Query(ctx, `SELECT format('%I.%I', schemaname, relname) FROM pg_stat_user_tables ORDER BY 1`)
	if err != nil {
		return st, err
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return st, err
	}
	for _, table := range tables {
		var n int64
		var sum *string
		q := fmt.Sprintf("SELECT count(*), md5(string_agg(t::text, '|' ORDER BY t::text)) FROM ONLY %s t", table)
		if err := d.conn.QueryRow(ctx, q).Scan(&n, &sum); err != nil {
			return st, err
		}
		st.Rows[table] = n
		if sum != nil {
			st.Sums[table] = *sum
		}
	}
	return st, nil
}
