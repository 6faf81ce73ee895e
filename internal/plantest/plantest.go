// Package plantest holds the checks every engine's rules pass: fixtures
// with inline expectations and plan goldens, every plan executed forward and
// back on the engine's real server, and every plan's own SQL linted by
// fluxlint. An engine's tests supply only the database.
package plantest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"

	"github.com/fluxlint/fluxlint/analyzers/ir"
	"github.com/fluxlint/fluxlint/internal/fixture"
	"github.com/fluxlint/fluxlint/internal/golden"
	"github.com/fluxlint/fluxlint/internal/lint"
	"github.com/fluxlint/fluxlint/internal/report"
	"github.com/fluxlint/fluxlint/rules"
)

// State is what a plan must keep: the schema dump, and each table's row
// count and a checksum of its rows.
type State struct {
	Schema string
	Rows   map[string]int64
	Sums   map[string]string
}

// DB is a fresh database on an engine's real server.
type DB interface {
	// Exec runs SQL text as one script, as a migration tool sends a file.
	Exec(ctx context.Context, sql string) error
	// RunStep runs a step's SQL the way a migration tool would: outside a
	// transaction where the step says so; a checkpoint's single value must
	// equal what the step expects.
	RunStep(ctx context.Context, s rules.Step, sql string) error
	Snapshot(ctx context.Context) (State, error)
}

// Fixtures lists the fixtures matching glob; there must be some.
func Fixtures(t *testing.T, glob string) []string {
	files, err := filepath.Glob(glob)
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures match %s: %v", glob, err)
	}
	return files
}

// CheckFixtures checks every fixture's inline expectations (a missing and an
// unexpected finding both fail) and compares its plans with the golden file
// beside it.
func CheckFixtures(t *testing.T, paths []string, rs []*rules.Rule) {
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			c := fixture.Load(t, path)
			res := c.Lint(t, rs)
			c.Check(t, res)
			golden.Check(t, strings.TrimSuffix(path, ".sql")+".plans.txtar", renderPlans(t, res))
		})
	}
}

// renderPlans renders each finding's message and plan as one txtar section.
func renderPlans(t *testing.T, res *lint.Result) []byte {
	ar := &txtar.Archive{Comment: []byte("Plans for each finding, as fluxlint --format json writes them. Regenerate: go test ./rules/... -update\n")}
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

// RunPlans runs every plan of every fixture on a real database: the base
// schema with its seed rows and the fixture's earlier statements (and the
// statement itself when the plan keeps it), then the forward steps in order,
// then the rollbacks in reverse. Where compareEnd allows and the statement
// itself runs on that database, the schema after the forward steps must
// equal the schema after the statement. Rows must survive the forward steps
// (unless a step deletes rows by design), and the schema must equal the base
// again after the rollbacks; where no step is irreversible the rows must be
// exactly as before too.
func RunPlans(t *testing.T, paths []string, rs []*rules.Rule, fresh func(t *testing.T) DB, compareEnd func(c *fixture.Case) bool) {
	plans := 0
	for _, path := range paths {
		c := fixture.Load(t, path)
		res := c.Lint(t, rs)
		perStmt := map[int]map[*rules.Plan]bool{} // distinct plans per statement
		for _, f := range res.Findings {
			if i, err := c.StmtAt(f); err == nil && f.Plan != nil {
				if perStmt[i] == nil {
					perStmt[i] = map[*rules.Plan]bool{}
				}
				perStmt[i][f.Plan] = true
			}
		}
		ran := map[*rules.Plan]bool{}
		together := map[int][]*rules.Plan{} // a statement's plans that replace it, in the findings' order
		for _, f := range res.Findings {
			if f.Plan == nil || ran[f.Plan] {
				continue // findings composed into one plan share it: run it once
			}
			ran[f.Plan] = true
			plans++
			// A statement that does several things (DROP TABLE a, b) may get
			// a plan for each: one alone does not reach the statement's end.
			i, _ := c.StmtAt(f)
			whole := compareEnd(c) && len(perStmt[i]) == 1
			t.Run(fmt.Sprintf("%s:%d:%s", filepath.Base(path), f.Pos.Line, f.Rule.Code), func(t *testing.T) {
				runPlan(t, c, i, []*rules.Plan{f.Plan}, fresh, whole)
			})
			if !f.Plan.KeepsStatement {
				together[i] = append(together[i], f.Plan)
			}
		}
		// Run together, in fluxlint's order, a statement's plans must reach
		// the statement's end and their rollbacks, in reverse, undo them all.
		for _, i := range slices.Sorted(maps.Keys(together)) {
			ps := together[i]
			if len(ps) < 2 {
				continue
			}
			t.Run(fmt.Sprintf("%s:%d:together", filepath.Base(path), c.Stmts[i].Pos.Line), func(t *testing.T) {
				runPlan(t, c, i, ps, fresh, compareEnd(c))
			})
		}
	}
	if plans == 0 {
		t.Fatal("no plans were executed")
	}
}

// runPlan runs plans, one after the other, in place of the statement at
// idx (or after it, for a single plan that keeps it).
func runPlan(t *testing.T, c *fixture.Case, idx int, plans []*rules.Plan, fresh func(t *testing.T) DB, compareEnd bool) {
	ctx := context.Background()
	keeps := plans[0].KeepsStatement
	context := c.Stmts[:idx]
	if keeps && !plans[0].Before {
		context = c.Stmts[:idx+1]
	}
	db := prepare(t, c, context, fresh)
	before := snapshot(t, db)
	var steps []rules.Step
	for _, p := range plans {
		steps = append(steps, p.Steps...)
	}
	for i, s := range steps {
		script := s.ForwardSQL()
		if s.Tool != nil {
			script = s.Tool.Alter // what the tool does, which cannot run here
		}
		if err := db.RunStep(ctx, s, script); err != nil {
			t.Fatalf("step %d (%s) forward: %v\n%s", i+1, s.Title, err, script)
		}
	}
	after := snapshot(t, db)
	if !keeps && compareEnd {
		// The plan must reach the schema the statement meant: compare with
		// the statement run as written, where it runs at all.
		naive := prepare(t, c, context, fresh)
		if err := naive.Exec(ctx, c.Stmts[idx].Text); err != nil {
			t.Logf("the statement itself fails here (%v): no end state to compare with", err)
		} else if want := snapshot(t, naive).Schema; after.Schema != want {
			t.Errorf("schema after the plan differs from the schema after the statement itself:\n--- plan\n%s\n--- statement\n%s", after.Schema, want)
		}
	}
	deletes := false
	for _, s := range steps {
		deletes = deletes || s.DeletesRows
	}
	for table, n := range before.Rows {
		if m, ok := after.Rows[table]; ok && m != n && !deletes {
			t.Errorf("forward steps changed the row count of %s: %d -> %d", table, n, m)
		}
	}
	irreversible := false
	for i := len(steps) - 1; i >= 0; i-- {
		s := steps[i]
		irreversible = irreversible || s.Irreversible
		manual := s.Kind == rules.StepMigration && s.ManualRollback
		if manual && s.Rollback == "" {
			// No written rollback goes past a step undone by hand: the
			// earlier steps' rollbacks hold before it ran.
			irreversible = true // rows are not compared either
			break
		}
		script := s.RollbackSQL()
		if s.Tool != nil && s.Rollback != "" {
			// The tool's reverse run, then its leftovers removed.
			script = s.Tool.RollbackAlter + "\n" + s.Tool.Cleanup
		}
		if script == "" {
			continue
		}
		rb := s
		rb.Kind = rules.StepMigration
		if err := db.RunStep(ctx, rb, script); err != nil {
			t.Fatalf("step %d (%s) rollback: %v\n%s", i+1, s.Title, err, script)
		}
		if manual {
			// Its rollback is written in part; the rest is by hand.
			irreversible = true
			break
		}
	}
	restored := snapshot(t, db)
	unrestorable := false
	for _, s := range steps {
		unrestorable = unrestorable || s.ManualRollback || s.Rollback == "" && (s.Irreversible && s.Kind == rules.StepMigration || s.Kind == rules.StepOnlineSchemaChange)
	}
	if unrestorable {
		t.Logf("a step has no rollback, or one written only in part (e.g. an enum value cannot be removed, a tool run without a reverse ALTER, partitions a function made): schema not compared after rollback")
	} else if restored.Schema != before.Schema {
		t.Errorf("schema after rollback differs from before the plan:\n--- before\n%s\n--- after rollback\n%s", before.Schema, restored.Schema)
	}
	if !irreversible && !deletes {
		for table, n := range before.Rows {
			if restored.Rows[table] != n {
				t.Errorf("rollback changed the row count of %s: %d -> %d", table, n, restored.Rows[table])
			}
			if restored.Sums[table] != before.Sums[table] {
				t.Errorf("rows of %s changed although no step is irreversible", table)
			}
		}
	}
}

// prepare makes a database with the base schema and seed rows, then runs
// the given fixture statements (skipping transaction control, statements
// that do not parse, and LOCK, which changes no schema and cannot run
// outside the fixture's transaction).
func prepare(t *testing.T, c *fixture.Case, stmts []*ir.Stmt, fresh func(t *testing.T) DB) DB {
	ctx := context.Background()
	db := fresh(t)
	if c.Base != "" {
		if err := db.Exec(ctx, c.BaseSQL(t)); err != nil {
			t.Fatalf("base schema: %v", err)
		}
	}
	for _, s := range stmts {
		if s.Err != nil || s.IsTxControl() || isLock(s) {
			continue
		}
		if err := db.Exec(ctx, s.Text); err != nil {
			t.Fatalf("fixture statement at line %d: %v", s.Pos.Line, err)
		}
	}
	return db
}

func snapshot(t *testing.T, db DB) State {
	st, err := db.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func isLock(s *ir.Stmt) bool {
	for _, op := range s.Ops {
		if _, ok := op.(ir.LockTable); ok {
			return true
		}
	}
	return false
}

// LintClean lints every plan's own SQL with fluxlint: each step is its own
// migration file (outside a transaction, as plain files run), after the base
// schema and the fixture's earlier statements as history. A plan may only
// trigger what it acknowledges: the drop at its point of no return or after
// the code deploy that stopped using the object (the codes in
// irreversible), and other findings the original statement got too
// (which come with their own plans), but never the plan's own rule. The rest
// of the original migration follows the last step, as it would when the plan
// replaces the statement.
func LintClean(t *testing.T, paths []string, rs []*rules.Rule, irreversible ...string) {
	for _, path := range paths {
		c := fixture.Load(t, path)
		res := c.Lint(t, rs)
		original := map[int]map[string]bool{} // statement index -> codes
		for _, f := range res.Findings {
			idx, err := c.StmtAt(f)
			if err != nil {
				continue
			}
			if original[idx] == nil {
				original[idx] = map[string]bool{}
			}
			original[idx][f.Rule.Code] = true
		}
		for _, f := range res.Findings {
			if f.Plan == nil {
				continue
			}
			idx, err := c.StmtAt(f)
			if err != nil {
				t.Fatal(err)
			}
			t.Run(fmt.Sprintf("%s:%d:%s", filepath.Base(path), f.Pos.Line, f.Rule.Code), func(t *testing.T) {
				lintPlan(t, c, f, idx, original, rs, irreversible)
			})
		}
	}
}

func lintPlan(t *testing.T, c *fixture.Case, f *rules.Finding, idx int, original map[int]map[string]bool, rs []*rules.Rule, irreversible []string) {
	dir := t.TempDir()
	write := func(name, sql string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(sql), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if c.Base != "" {
		write("0000_base.sql", c.BaseSQL(t))
	}
	// A plan that keeps its statement runs before it, in its migration.
	context := c.Stmts[:idx]
	var ctx []string
	for _, s := range context {
		if s.Err == nil && !s.IsTxControl() {
			ctx = append(ctx, s.Text+";")
		}
	}
	write("0001_context.sql", strings.Join(ctx, "\n")+"\n")
	var targets []string
	allowed := map[string]map[string]bool{}
	deployed := false // a code deploy came first: later drops are the plan's contract phase
	for i, s := range f.Plan.Steps {
		deployed = deployed || s.Kind == rules.StepCodeDeploy
		if s.Kind == rules.StepCodeDeploy || s.Kind == rules.StepCheckpoint || s.Kind == rules.StepOnlineSchemaChange || s.Forward == "" {
			continue // not migration SQL (a tool's ALTER runs outside the migrations)
		}
		file := filepath.Join(dir, fmt.Sprintf("%04d_step%d.sql", i+2, i+1))
		write(filepath.Base(file), s.ForwardSQL()+"\n")
		targets = append(targets, file)
		allowed[file] = map[string]bool{}
		for code := range original[idx] {
			// Never the plan's own rule: the plan must fix that.
			allowed[file][code] = code != f.Rule.Code
		}
		if s.Irreversible || deployed && s.SeparateDeploy {
			for _, code := range irreversible {
				allowed[file][code] = true
			}
		}
		if c.Stmts[idx].Down {
			// A rollback's plan is a rollback too: rules about losing data
			// do not apply to it.
			for _, r := range rs {
				if r.Destructive {
					allowed[file][r.Code] = true
				}
			}
		}
	}
	if len(targets) == 0 {
		return
	}
	// The plan replaces its statement inside the migration: the rest of the
	// migration (from the statement itself, when the plan keeps it)
	// follows its last step.
	last := targets[len(targets)-1]
	var rest []string
	from := idx + 1
	if f.Plan.KeepsStatement {
		from = idx
	}
	for j, s := range c.Stmts[from:] {
		if s.Err == nil && !s.IsTxControl() {
			rest = append(rest, s.Text+";")
			for code := range original[from+j] {
				allowed[last][code] = allowed[last][code] || from+j != idx || code != f.Rule.Code
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
	// The fixture's statements and the plan's steps deploy as one change:
	// a table the fixture creates is new to the steps too.
	contextFile := filepath.Join(dir, "0001_context.sql")
	changed := map[string]bool{}
	for _, f := range append([]string{contextFile}, targets...) {
		real, err := filepath.EvalSymlinks(f)
		if err != nil {
			t.Fatal(err)
		}
		changed[real] = true
	}
	got := lint.Run(append([]string{contextFile}, targets...), lint.Options{Engine: c.Engine, Version: c.Version, Server: c.Server, Target: c.Target, Rules: rs, LockTimeoutSet: c.LockTimeoutSet, Changed: changed})
	for _, e := range got.Errors {
		t.Fatal(e)
	}
	for _, g := range got.Findings {
		if g.Path != contextFile && !allowed[g.Path][g.Rule.Code] {
			t.Errorf("the plan's own SQL triggers %s at %s:%d: %s", g.Rule.Code, filepath.Base(g.Path), g.Pos.Line, g.Message)
		}
	}
}
