package pg_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/fluxlint/fluxlint/analyzers/migrations"
	"github.com/fluxlint/fluxlint/internal/fixture"
	"github.com/fluxlint/fluxlint/internal/lint"
	"github.com/fluxlint/fluxlint/internal/pgtest"
	"github.com/fluxlint/fluxlint/rules"
)

// Claims about transaction control (a BEGIN the server ignores with a
// warning, a transaction left open, a COMMIT that ends the tool's
// transaction) and the notices a statement raises (a name truncated) are
// held against the fixture run as written, in one session:
// BEGIN, COMMIT and ROLLBACK as the file has them, inside the tool's own
// transaction where the tool wraps the section, or the whole section as one
// query where the tool sends it so.

// asWritten reports whether a claim is held against the file run as
// written: transaction control, and the notices a statement raises.
func asWritten(c *rules.Claim) bool { return c.Warns != "" || c.LeftOpen || c.Outside || c.Notes != "" }

// writtenRun is what the server did with one section run as written.
type writtenRun struct {
	notices map[int][]string // "WARNING 25001", "NOTICE 42622": by statement (the whole query's, for a section sent as one)
	status  map[int]byte     // the session's transaction status after each statement ('I': idle, 'T': in one, 'E': failed)
	final   byte             // the status after the section, before the tool's own COMMIT
}

// applyAsWritten runs the section (up or down) of a fixture as written on a
// fresh database with its base schema.
func applyAsWritten(ctx context.Context, t *testing.T, srv *pgtest.Server, c *fixture.Case, mode migrations.TxMode, down bool) (*writtenRun, error) {
	_, name, err := baseDB(ctx, t, srv, c)
	if err != nil {
		return nil, err
	}
	cfg, err := pgx.ParseConfig(srv.ConnString(name))
	if err != nil {
		return nil, err
	}
	var heard []string
	cfg.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) {
		heard = append(heard, n.Severity+" "+n.Code)
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	run := &writtenRun{notices: map[int][]string{}, status: map[int]byte{}}
	var idx []int
	var texts []string
	for i, s := range c.Stmts {
		if s.Err == nil && s.Down == down {
			idx, texts = append(idx, i), append(texts, s.Text)
		}
	}
	if mode == migrations.TxImplicit {
		heard = nil
		_ = pgtest.ExecScript(ctx, conn, strings.Join(texts, ";\n")) // a failure is the statements' own, as the tool would see it
		for _, i := range idx {
			run.notices[i] = heard
		}
		run.final = conn.PgConn().TxStatus()
		return run, nil
	}
	if mode == migrations.TxWrapped {
		if err := pgtest.ExecScript(ctx, conn, "BEGIN"); err != nil {
			return nil, err
		}
	}
	for k, i := range idx {
		heard = nil
		_ = pgtest.ExecScript(ctx, conn, texts[k])
		run.notices[i], run.status[i] = heard, conn.PgConn().TxStatus()
	}
	run.final = conn.PgConn().TxStatus()
	return run, nil
}

// disagrees compares a claim about statement i with the run: "" when they
// agree.
func (r *writtenRun) disagrees(c *rules.Claim, i int) string {
	var diffs []string
	for severity, code := range map[string]string{"WARNING": c.Warns, "NOTICE": c.Notes} {
		if code != "" && !slices.Contains(r.notices[i], severity+" "+code) {
			diffs = append(diffs, fmt.Sprintf("no %s %s (notices: %v)", severity, code, r.notices[i]))
		}
	}
	if c.LeftOpen && r.final == 'I' {
		diffs = append(diffs, "the session is in no transaction when the section ends")
	}
	if c.Outside && r.status[i] != 'I' {
		diffs = append(diffs, fmt.Sprintf("after it the session's transaction status is %q, not idle", r.status[i]))
	}
	return strings.Join(diffs, "; ")
}

// toolModes are how the fixture's tool runs its up and down sections, from
// the fixture's name and markers (Flyway's mixed files are wrapped).
func toolModes(t *testing.T, c *fixture.Case) [2]migrations.TxMode {
	m := migrations.FromSource(c.Name, c.Src).Migrations[0]
	if _, _, err := lint.ParseFile(m, c.Engine, false); err != nil {
		t.Fatal(err)
	}
	modes := [2]migrations.TxMode{m.UpTx, m.DownTx}
	for k, mode := range modes {
		if mode == migrations.TxAuto {
			modes[k] = migrations.TxWrapped
		}
	}
	return modes
}

// checkTxClaims holds the claims of the fixture's findings about
// transaction control against the section run as written, and returns how
// many it checked.
func checkTxClaims(ctx context.Context, t *testing.T, srv *pgtest.Server, c *fixture.Case, byStmt map[int][]*rules.Finding) int {
	checked := 0
	var toolTx [2]migrations.TxMode
	runs := map[bool]*writtenRun{}
	for i, s := range c.Stmts {
		for _, f := range byStmt[i] {
			if f.Claim == nil || !asWritten(f.Claim) {
				continue
			}
			run := runs[s.Down]
			if run == nil {
				toolTx = toolModes(t, c)
				mode := toolTx[0]
				if s.Down {
					mode = toolTx[1]
				}
				var err error
				if run, err = applyAsWritten(ctx, t, srv, c, mode, s.Down); err != nil {
					t.Fatalf("running the fixture as written: %v", err)
				}
				runs[s.Down] = run
			}
			checked++
			if diff := run.disagrees(f.Claim, i); diff != "" {
				t.Errorf("line %d %s: the finding and the server disagree about the file run as written: %s\n  statement: %s\n  claim:     %s", s.Pos.Line, f.Rule.Code, diff, s.Text, f.Claim.String())
			}
		}
	}
	return checked
}
