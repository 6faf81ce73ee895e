package pg_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fluxlint/fluxlint/analyzers/ir"
	"github.com/fluxlint/fluxlint/analyzers/migrations"
	"github.com/fluxlint/fluxlint/analyzers/split"
	"github.com/fluxlint/fluxlint/internal/lint"
	"github.com/fluxlint/fluxlint/internal/pgtest"
	"github.com/fluxlint/fluxlint/rules"
	pgrules "github.com/fluxlint/fluxlint/rules/pg"
)

// corpusDir holds real projects' migrations (see ../shared/corpus/MANIFEST.md).
const corpusDir = "../../../shared/corpus/postgres"

// replaySample are the projects TestCorpusReplay runs by default, chosen to
// cover several tools while keeping scripts/test quick;
// FLUXLINT_REPLAY=all runs every project.
var replaySample = []string{"openfga__openfga", "umami-software__umami", "goharbor__harbor", "dittofeed__dittofeed"}

// TestCorpusReplay replays real projects' migration histories on PostgreSQL
// 15, statement by statement in the order their tool applies them, and at
// each statement with findings runs every plan that replaces the statement
// on a copy of the database as it is at that point: the steps forward in
// order, then the rollbacks in reverse, and compares the schema with the
// copy's schema before the plan. A project's replay stops where its own
// history fails on this server (an extension it lacks, a psql command):
// the plans after that point have no real database to run on. A plan that
// fails where its statement fails too (the set's history before it assumes
// tables this server does not have) is not counted against the plan. Findings
// composed into one plan run it once. The tables hold only the rows the
// migrations themselves insert. Each finding's lock claim is held against
// the server at its statement too (checkLockClaims).
func TestCorpusReplay(t *testing.T) {
	if _, err := os.Stat(corpusDir); err != nil {
		t.Skipf("the corpus is not here (%v): this test needs ../shared/corpus beside the project", err)
	}
	projects := replaySample
	if os.Getenv("FLUXLINT_REPLAY") == "all" {
		entries, err := os.ReadDir(corpusDir)
		if err != nil {
			t.Fatal(err)
		}
		projects = nil
		for _, e := range entries {
			if e.IsDir() {
				projects = append(projects, e.Name())
			}
		}
	}
	srv := pgtest.Shared(t)
	var total replayCounts
	for _, name := range projects {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			c := replayProject(t, srv, filepath.Join(corpusDir, name))
			t.Logf("%s: %d statements applied (%s), %d plans: %d forward ok, %d rollback ok, %d schema equal after rollback, %d not counted (their statement fails there too), %d not run (inside the file's own transaction); %d lock claims agree with the server, %d not observable (%s)",
				name, c.applied, c.stoppedAt, c.plans, c.forward, c.rollback, c.equal, c.moot, c.inFileTx, c.locks, c.unobserved, time.Since(start).Round(time.Millisecond))
			total.add(c)
		})
	}
	t.Logf("all: %d plans: %d forward ok, %d rollback ok, %d schema equal, %d not counted (their statement fails there too), %d not run (inside the file's own transaction); %d lock claims agree with the server, %d not observable",
		total.plans, total.forward, total.rollback, total.equal, total.moot, total.inFileTx, total.locks, total.unobserved)
}

type replayCounts struct {
	applied, plans, forward, rollback, equal int
	moot                                     int // plans whose statement fails where they run
	inFileTx                                 int // plans of statements inside a transaction the file opened
	locks                                    int // lock claims that agree with the server
	unobserved                               int // lock claims on a statement that fails here, or a table not found by its name
	stoppedAt                                string
}

func (c *replayCounts) add(o replayCounts) {
	c.locks += o.locks
	c.unobserved += o.unobserved
	c.applied += o.applied
	c.plans += o.plans
	c.forward += o.forward
	c.rollback += o.rollback
	c.equal += o.equal
	c.moot += o.moot
	c.inFileTx += o.inFileTx
}

func replayProject(t *testing.T, srv *pgtest.Server, dir string) replayCounts {
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	res := lint.Run([]string{abs}, lint.Options{Engine: ir.Postgres, Version: 15, Rules: pgrules.Rules(), LockTimeoutSet: true})
	// The plans that replace a statement, by statement.
	plans := map[planKey][]*rules.Finding{}
	shared := map[*rules.Plan]bool{} // findings composed into one plan for their statement share it
	for _, f := range res.Findings {
		if f.Plan != nil && !f.Plan.KeepsStatement && !shared[f.Plan] {
			shared[f.Plan] = true
			k := planKey{f.Path, f.Pos.Offset}
			plans[k] = append(plans[k], f)
		}
	}
	// The findings whose lock claim the replay holds against the server,
	// by file.
	claims := map[string][]*rules.Finding{}
	for _, f := range res.Findings {
		if f.Claim != nil && f.Claim.Lock != "" && ownEffect(f.Claim) {
			claims[f.Path] = append(claims[f.Path], f)
		}
	}
	sets, _ := migrations.Discover([]string{abs})
	counts := replayCounts{}
	var stops []string
	for _, set := range sets {
		if stop := replaySet(t, srv, set, plans, claims, &counts); stop != "" {
			stops = append(stops, stop)
		}
	}
	counts.stoppedAt = "the whole history"
	if len(stops) > 0 {
		counts.stoppedAt = strings.Join(stops, "; ")
	}
	return counts
}

// replaySet applies one set's history on its own database, running the
// plans at their statements; it returns where the history stopped, if it
// did.
func replaySet(t *testing.T, srv *pgtest.Server, set *migrations.Set, plans map[planKey][]*rules.Finding, claims map[string][]*rules.Finding, counts *replayCounts) string {
	ctx := context.Background()
	db := srv.FreshDB(t)
	var name string
	if err := db.QueryRow(ctx, "SELECT current_database()").Scan(&name); err != nil {
		t.Fatal(err)
	}
	if len(set.Migrations) > 0 && set.Migrations[0].Tool == migrations.GolangMigrate {
		// The tool's own version table, as golang-migrate creates it:
		// some histories alter it.
		if err := pgtest.ExecScript(ctx, db, "CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL)"); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range set.Migrations {
		if m.Down || m.Baseline {
			continue // a baseline runs only on an empty database, instead of the files before it
		}
		src, err := os.ReadFile(m.Path)
		if err != nil {
			t.Fatal(err)
		}
		for _, seg := range split.Split(src, ir.Postgres).Segments {
			if seg.Down || seg.Err != "" || seg.Client != "" {
				continue
			}
			inFileTx := db.PgConn().TxStatus() != 'I'
			for i, f := range plans[planKey{m.Path, seg.Start}] {
				if inFileTx {
					// Inside a transaction the file opened: cloning the
					// database reconnects, which would roll it back.
					counts.plans++
					counts.inFileTx++
					continue
				}
				clone := fmt.Sprintf("%s_%d_%d", name, seg.Start, i)
				db = cloneDB(t, srv, db, name, clone)
				conn, err := srv.Connect(ctx, clone)
				if err != nil {
					t.Fatal(err)
				}
				counts.plans++
				failure := replayPlan(t, pgDB{conn}, f, counts)
				conn.Close(ctx)
				dropDB(t, srv, clone)
				if failure == "" {
					continue
				}
				// Where the statement itself fails (the history before it
				// did not build what it needs on this server), no plan can
				// be held to it.
				db = cloneDB(t, srv, db, name, clone)
				conn, err = srv.Connect(ctx, clone)
				if err != nil {
					t.Fatal(err)
				}
				stmtErr := pgtest.ExecScript(ctx, conn, string(src[seg.Start:seg.End]))
				conn.Close(ctx)
				dropDB(t, srv, clone)
				if stmtErr != nil {
					counts.moot++
					t.Logf("%s\n(not counted: the statement itself fails here too: %v)", failure, stmtErr)
					continue
				}
				t.Error(failure)
			}
			if found := claimsIn(claims[m.Path], seg); len(found) > 0 {
				checkLockClaims(t, srv, db, name, string(src[seg.Start:seg.End]), found, counts)
			}
			if err := pgtest.ExecScript(ctx, db, string(src[seg.Start:seg.End])); err != nil {
				line := strings.Count(string(src[:seg.Start]), "\n") + 1
				return fmt.Sprintf("stopped at %s:%d, which fails here: %v", filepath.Base(m.Path), line, err)
			}
			counts.applied++
		}
	}
	return ""
}

// claimsIn returns the findings on one segment of a file.
func claimsIn(fs []*rules.Finding, seg split.Segment) []*rules.Finding {
	var out []*rules.Finding
	for _, f := range fs {
		if f.Pos.Offset >= seg.Start && f.Pos.Offset < seg.End {
			out = append(out, f)
		}
	}
	return out
}

// checkLockClaims holds the lock claims of one statement against the
// server at its real point in the history: the statement runs in a
// transaction that is rolled back, while a second session reads the locks
// it holds. The tables hold no rows here, so only the locks are compared;
// a statement of several (a goose block) merges its claims as the truth
// test does, and one that cannot run in a transaction block is skipped.
func checkLockClaims(t *testing.T, srv *pgtest.Server, db *pgx.Conn, name, text string, found []*rules.Finding, counts *replayCounts) {
	ctx := context.Background()
	upper := strings.ToUpper(text)
	if slices.ContainsFunc(nonTransactional, func(w string) bool { return strings.Contains(upper, w) }) {
		return
	}
	if db.PgConn().TxStatus() != 'I' {
		// Inside a transaction the file opened: a transaction of the
		// check's own would end it, and the locks held are the
		// transaction's, not the statement's.
		for _, f := range found {
			if counts.unobserved++; counts.unobserved <= 3 {
				t.Logf("%s:%d %s: lock claim not observable (inside the file's own transaction)", f.Path, f.Pos.Line, f.Rule.Code)
			}
		}
		return
	}
	observer, err := srv.Connect(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	defer observer.Close(ctx)
	o := newObservation()
	if _, err := o.relations(ctx, db); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, "BEGIN"); err != nil {
		t.Fatal(err)
	}
	_, runErr := db.Exec(ctx, text)
	if runErr == nil {
		if err := o.readLocks(ctx, db, observer); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	claims := statementClaims(&ir.Stmt{Text: text}, found)
	for _, f := range found {
		c := claims[f.Claim]
		oid, ok := o.oid[resolve(c.Table)]
		if runErr != nil || !ok {
			if counts.unobserved++; counts.unobserved <= 3 {
				why := fmt.Sprintf("no relation %s here", c.Table)
				if runErr != nil {
					why = "the statement fails here: " + runErr.Error()
				}
				t.Logf("%s:%d %s: lock claim not observable (%s)", f.Path, f.Pos.Line, f.Rule.Code, why)
			}
			continue
		}
		if o.locks[oid] != c.Lock {
			t.Errorf("%s:%d %s: the finding and the server disagree: lock %s, not %s\n  statement: %s\n  claim:     %s",
				f.Path, f.Pos.Line, f.Rule.Code, orNone(o.locks[oid]), c.Lock, text, c.String())
			continue
		}
		counts.locks++
	}
}

// planKey is a statement: its file and where it starts.
type planKey struct {
	path   string
	offset int
}

// replayPlan runs one plan forward and back, counting what worked; it
// returns what did not ("" when all did).
func replayPlan(t *testing.T, db pgDB, f *rules.Finding, c *replayCounts) string {
	ctx := context.Background()
	where := fmt.Sprintf("%s:%d %s", filepath.Base(filepath.Dir(f.Path))+"/"+filepath.Base(f.Path), f.Pos.Line, f.Rule.Code)
	before, err := db.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	steps := f.Plan.Steps
	for i, s := range steps {
		if err := db.RunStep(ctx, s, s.Forward); err != nil {
			return fmt.Sprintf("%s: step %d (%s) forward fails: %v\n%s", where, i+1, s.Title, err, s.Forward)
		}
	}
	c.forward++
	unrestorable := false
	for i := len(steps) - 1; i >= 0; i-- {
		s := steps[i]
		if s.Kind == rules.StepMigration && s.ManualRollback {
			// No written rollback goes past a step undone by hand (in
			// part, if it has one): the earlier steps' rollbacks hold
			// before it ran.
			if s.Rollback != "" {
				if err := db.RunStep(ctx, s, s.Rollback); err != nil {
					return fmt.Sprintf("%s: step %d (%s) rollback fails: %v\n%s", where, i+1, s.Title, err, s.Rollback)
				}
			}
			unrestorable = true
			break
		}
		unrestorable = unrestorable || s.Irreversible && s.Rollback == "" && s.Kind == rules.StepMigration
		if s.Rollback == "" {
			continue
		}
		rb := s
		rb.Kind = rules.StepMigration
		if err := db.RunStep(ctx, rb, s.Rollback); err != nil {
			return fmt.Sprintf("%s: step %d (%s) rollback fails: %v\n%s", where, i+1, s.Title, err, s.Rollback)
		}
	}
	c.rollback++
	after, err := db.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if unrestorable || after.Schema == before.Schema {
		c.equal++
		return ""
	}
	return fmt.Sprintf("%s: the schema after the rollback differs from before the plan:\n%s", where, schemaDiff(before.Schema, after.Schema))
}

// schemaDiff lists the dump lines only one side has.
func schemaDiff(a, b string) string {
	in := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, l := range strings.Split(s, "\n") {
			m[l] = true
		}
		return m
	}
	ma, mb := in(a), in(b)
	var out []string
	for l := range ma {
		if !mb[l] {
			out = append(out, "- "+l)
		}
	}
	for l := range mb {
		if !ma[l] {
			out = append(out, "+ "+l)
		}
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

// cloneDB copies the database name to clone (a template copy needs the
// source without connections) and returns a new connection to name.
func cloneDB(t *testing.T, srv *pgtest.Server, conn *pgx.Conn, name, clone string) *pgx.Conn {
	ctx := context.Background()
	conn.Close(ctx)
	admin, err := srv.Connect(ctx, "postgres")
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", clone, name)); err != nil {
		t.Fatal(err)
	}
	conn, err = srv.Connect(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	return conn
}

func dropDB(t *testing.T, srv *pgtest.Server, name string) {
	ctx := context.Background()
	admin, err := srv.Connect(ctx, "postgres")
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
		t.Fatal(err)
	}
}
