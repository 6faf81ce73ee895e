package pg_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"golang.org/x/tools/txtar"

	"github.com/fluxlint/fluxlint/analyzers/ir"
	"github.com/fluxlint/fluxlint/analyzers/split"
	"github.com/fluxlint/fluxlint/internal/fixture"
	"github.com/fluxlint/fluxlint/internal/golden"
	"github.com/fluxlint/fluxlint/internal/lint"
	"github.com/fluxlint/fluxlint/internal/pgtest"
	"github.com/fluxlint/fluxlint/internal/report"
	"github.com/fluxlint/fluxlint/rules"
	pgrules "github.com/fluxlint/fluxlint/rules/pg"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.StopShared()
	os.Exit(code)
}

func fixtures(t *testing.T) []string {
	files, err := filepath.Glob("../../fixtures/pg/rules/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures found: %v", err)
	}
	return files
}

// TestFixtures checks every fixture's inline expectations (a missing and an
// unexpected finding both fail) and compares its plans with the golden file.
func TestFixtures(t *testing.T) {
	for _, path := range fixtures(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			c := fixture.Load(t, path)
			res := c.Lint(t, pgrules.Rules())
			c.Check(t, res)
			golden.Check(t, strings.TrimSuffix(path, ".sql")+".plans.txtar", renderPlans(t, res))
		})
	}
}

// renderPlans renders each finding's message and plan as one txtar section.
func renderPlans(t *testing.T, res *lint.Result) []byte {
	ar := &txtar.Archive{Comment: []byte("Plans for each finding, as fluxlint --format json writes them. Regenerate: go test ./rules/pg -update\n")}
	for _, fd := range res.Findings {
		f := report.ToJSONFinding(fd)
		if f.Plan == nil {
			continue
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(struct {
			Message string           `json:"message"`
			Plan    *report.JSONPlan `json:"plan"`
		}{f.Message, f.Plan}); err != nil {
			t.Fatal(err)
		}
		ar.Files = append(ar.Files, txtar.File{Name: fmt.Sprintf("%d:%d %s", f.Line, f.Column, f.Code), Data: buf.Bytes()})
	}
	return txtar.Format(ar)
}

// TestPlansOnPostgres runs every plan of every fixture on a real PostgreSQL:
// the base schema with its seed rows and the fixture's earlier statements
// (and the statement itself when the plan keeps it),
// then the forward steps in order (outside a transaction where the step says
// so, each checkpoint returning what it expects), then the rollbacks in
// reverse. Where the statement itself runs on that database, the schema after
// the forward steps must equal the schema after the statement. Rows must
// survive the forward steps (unless a step deletes rows
// by design), and the schema must equal the base again after the rollbacks;
// where no step is irreversible the rows must be exactly as before too.
func TestPlansOnPostgres(t *testing.T) {
	srv := pgtest.Shared(t)
	plans := 0
	for _, path := range fixtures(t) {
		c := fixture.Load(t, path)
		res := c.Lint(t, pgrules.Rules())
		for _, f := range res.Findings {
			if f.Plan == nil {
				continue
			}
			plans++
			t.Run(fmt.Sprintf("%s:%d:%s", filepath.Base(path), f.Pos.Line, f.Rule.Code), func(t *testing.T) {
				runPlan(t, srv, c, f)
			})
		}
	}
	if plans == 0 {
		t.Fatal("no plans were executed")
	}
}

func runPlan(t *testing.T, srv *pgtest.Server, c *fixture.Case, f *rules.Finding) {
	ctx := context.Background()
	idx, err := c.StmtAt(f)
	if err != nil {
		t.Fatal(err)
	}
	context := c.Stmts[:idx]
	if f.Plan.KeepsStatement {
		context = c.Stmts[:idx+1]
	}
	conn := prepare(t, srv, c, context)
	before := snapshot(t, conn)
	steps := f.Plan.Steps
	for i, s := range steps {
		if err := runStep(ctx, conn, s, s.Forward); err != nil {
			t.Fatalf("step %d (%s) forward: %v\n%s", i+1, s.Title, err, s.Forward)
		}
	}
	after := snapshot(t, conn)
	if !f.Plan.KeepsStatement && c.Version >= 12 {
		// The plan must reach the schema the statement meant: compare with
		// the statement run as written, where it runs at all. (Plans for
		// servers before 12 keep a validated check instead of NOT NULL, so
		// they differ from the statement on this newer test server.)
		naive := prepare(t, srv, c, context)
		if err := pgtest.ExecScript(ctx, naive, c.Stmts[idx].Text); err != nil {
			t.Logf("the statement itself fails here (%v): no end state to compare with", err)
		} else if want := snapshot(t, naive).schema; after.schema != want {
			t.Errorf("schema after the plan differs from the schema after the statement itself:\n--- plan\n%s\n--- statement\n%s", after.schema, want)
		}
	}
	deletes := false
	for _, s := range steps {
		deletes = deletes || s.DeletesRows
	}
	for table, n := range before.rows {
		if m, ok := after.rows[table]; ok && m != n && !deletes {
			t.Errorf("forward steps changed the row count of %s: %d -> %d", table, n, m)
		}
	}
	irreversible := false
	for i := len(steps) - 1; i >= 0; i-- {
		s := steps[i]
		irreversible = irreversible || s.Irreversible
		if s.Rollback == "" {
			continue
		}
		rb := s
		rb.Kind = rules.StepMigration
		if err := runStep(ctx, conn, rb, s.Rollback); err != nil {
			t.Fatalf("step %d (%s) rollback: %v\n%s", i+1, s.Title, err, s.Rollback)
		}
	}
	restored := snapshot(t, conn)
	unrestorable := false
	for _, s := range steps {
		unrestorable = unrestorable || s.Irreversible && s.Rollback == "" && (s.Kind == rules.StepMigration)
	}
	if unrestorable {
		t.Logf("a step has no rollback at all (e.g. an enum value cannot be removed): schema not compared after rollback")
	} else if restored.schema != before.schema {
		t.Errorf("schema after rollback differs from before the plan:\n--- before\n%s\n--- after rollback\n%s", before.schema, restored.schema)
	}
	if !irreversible && !deletes {
		for table, n := range before.rows {
			if restored.rows[table] != n {
				t.Errorf("rollback changed the row count of %s: %d -> %d", table, n, restored.rows[table])
			}
			if restored.sums[table] != before.sums[table] {
				t.Errorf("rows of %s changed although no step is irreversible", table)
			}
		}
	}
}

// prepare creates a database with the base schema and seed rows, then runs
// the given fixture statements (skipping transaction control and statements
// that do not parse).
func prepare(t *testing.T, srv *pgtest.Server, c *fixture.Case, stmts []*ir.Stmt) *pgx.Conn {
	ctx := context.Background()
	conn := srv.FreshDB(t)
	if c.Base != "" {
		base, err := os.ReadFile(c.Base)
		if err != nil {
			t.Fatal(err)
		}
		if err := pgtest.ExecScript(ctx, conn, string(base)); err != nil {
			t.Fatalf("base schema: %v", err)
		}
	}
	for _, s := range stmts {
		if s.Err != nil || isTxControl(s) {
			continue
		}
		if err := pgtest.ExecScript(ctx, conn, s.Text); err != nil {
			t.Fatalf("fixture statement at line %d: %v", s.Pos.Line, err)
		}
	}
	return conn
}

func isTxControl(s *ir.Stmt) bool {
	for _, op := range s.Ops {
		if _, ok := op.(ir.TxControl); ok {
			return true
		}
	}
	return false
}

// runStep runs one step's SQL the way a migration tool would: as one
// multi-statement query (one implicit transaction), or statement by
// statement in autocommit when the step must run outside a transaction. A
// checkpoint's single value must equal what the step expects.
func runStep(ctx context.Context, conn *pgx.Conn, s rules.Step, sql string) error {
	switch {
	case sql == "":
		return nil
	case s.Kind == rules.StepCheckpoint:
		var got string
		if err := conn.QueryRow(ctx, "SELECT ("+strings.TrimSuffix(strings.TrimSpace(sql), ";")+")::text").Scan(&got); err != nil {
			return err
		}
		if s.Expect != "" && got != s.Expect {
			return fmt.Errorf("checkpoint returned %q, the plan expects %q", got, s.Expect)
		}
		return nil
	case s.NoTransaction:
		src := []byte(sql)
		for _, seg := range split.Split(src, ir.Postgres).Segments {
			if err := pgtest.ExecScript(ctx, conn, string(src[seg.Start:seg.End])); err != nil {
				return err
			}
		}
		return nil
	}
	return pgtest.ExecScript(ctx, conn, sql)
}

type state struct {
	schema string
	rows   map[string]int64
	sums   map[string]string
}

// snapshot reads the schema dump, and each table's row count and a checksum
// of its rows.
func snapshot(t *testing.T, conn *pgx.Conn) state {
	ctx := context.Background()
	st := state{rows: map[string]int64{}, sums: map[string]string{}}
	var err error
	if st.schema, err = pgtest.SchemaDump(ctx, conn); err != nil {
		t.Fatal(err)
	}
	rows, err := conn.Query(ctx, `SELECT format('%I.%I', schemaname, relname) FROM pg_stat_user_tables ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	for _, table := range tables {
		var n int64
		var sum *string
		q := fmt.Sprintf("SELECT count(*), md5(string_agg(t::text, '|' ORDER BY t::text)) FROM ONLY %s t", table)
		if err := conn.QueryRow(ctx, q).Scan(&n, &sum); err != nil {
			t.Fatal(err)
		}
		st.rows[table] = n
		if sum != nil {
			st.sums[table] = *sum
		}
	}
	return st
}

// TestPlansLintClean lints every plan's own SQL with fluxlint: each step is
// its own migration file (outside a transaction, as plain files run), after
// the base schema and the fixture's earlier statements as history. A plan may
// only trigger what it acknowledges: the drop at its point of no return, and
// other findings the original statement got too (which come with their own
// plans), but never the plan's own rule.
// The rest of the original migration follows the last step, as it would
// when the plan replaces the statement.
func TestPlansLintClean(t *testing.T) {
	for _, path := range fixtures(t) {
		c := fixture.Load(t, path)
		res := c.Lint(t, pgrules.Rules())
		original := map[string]map[string]bool{} // statement offset -> codes
		for _, f := range res.Findings {
			idx, err := c.StmtAt(f)
			if err != nil {
				continue
			}
			key := fmt.Sprint(idx)
			if original[key] == nil {
				original[key] = map[string]bool{}
			}
			original[key][f.Rule.Code] = true
		}
		for _, f := range res.Findings {
			if f.Plan == nil {
				continue
			}
			idx, err := c.StmtAt(f)
			if err != nil {
				t.Fatal(err)
			}
			name := fmt.Sprintf("%s:%d:%s", filepath.Base(path), f.Pos.Line, f.Rule.Code)
			t.Run(name, func(t *testing.T) {
				dir := t.TempDir()
				write := func(name, sql string) {
					if err := os.WriteFile(filepath.Join(dir, name), []byte(sql), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				if c.Base != "" {
					base, err := os.ReadFile(c.Base)
					if err != nil {
						t.Fatal(err)
					}
					write("0000_base.sql", string(base))
				}
				context := c.Stmts[:idx]
				if f.Plan.KeepsStatement {
					context = c.Stmts[:idx+1]
				}
				var ctx []string
				for _, s := range context {
					if s.Err == nil && !isTxControl(s) {
						ctx = append(ctx, s.Text+";")
					}
				}
				write("0001_context.sql", strings.Join(ctx, "\n")+"\n")
				var targets []string
				allowed := map[string]map[string]bool{}
				for i, s := range f.Plan.Steps {
					if s.Kind == rules.StepCodeDeploy || s.Kind == rules.StepCheckpoint || s.Forward == "" {
						continue
					}
					file := filepath.Join(dir, fmt.Sprintf("%04d_step%d.sql", i+2, i+1))
					write(filepath.Base(file), s.Forward+"\n")
					targets = append(targets, file)
					allowed[file] = map[string]bool{}
					for code := range original[fmt.Sprint(idx)] {
						// Never the plan's own rule: the plan must fix that.
						allowed[file][code] = code != f.Rule.Code
					}
					if s.Irreversible {
						allowed[file]["PG301"], allowed[file]["PG302"] = true, true
					}
					if c.Stmts[idx].Down {
						// A rollback's plan is a rollback too: rules about
						// losing data do not apply to it.
						for _, r := range pgrules.Rules() {
							if r.Destructive {
								allowed[file][r.Code] = true
							}
						}
					}
				}
				if len(targets) == 0 {
					return
				}
				// The plan replaces its statement inside the migration: the
				// rest of the migration follows its last step.
				last := targets[len(targets)-1]
				var rest []string
				for j, s := range c.Stmts[idx+1:] {
					if s.Err == nil && !isTxControl(s) {
						rest = append(rest, s.Text+";")
						for code := range original[fmt.Sprint(idx+1+j)] {
							allowed[last][code] = true
						}
					}
				}
				if len(rest) > 0 {
					step, err := os.ReadFile(last)
					if err != nil {
						t.Fatal(err)
					}
					write(filepath.Base(last), string(step)+strings.Join(rest, "\n")+"\n")
				}
				got := lint.Run(targets, lint.Options{Engine: ir.Postgres, Version: c.Version, Rules: pgrules.Rules(), LockTimeoutSet: c.LockTimeoutSet})
				for _, e := range got.Errors {
					t.Fatal(e)
				}
				for _, g := range got.Findings {
					if !allowed[g.Path][g.Rule.Code] {
						t.Errorf("the plan's own SQL triggers %s at %s:%d: %s", g.Rule.Code, filepath.Base(g.Path), g.Pos.Line, g.Message)
					}
				}
			})
		}
	}
}
