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
// query where the tool sends it so. After a COMMIT in a wrapped section the
// run does what the tool's driver does (migrations.AfterCommit): goose and
// drizzle send the next statements outside any transaction, Flyway's
// pgjdbc opens another before each, and dbmate and diesel, sending the
// section as one query, run its rest as one implicit transaction.

// How each tool's driver sends a section it runs in a transaction, written
// here apart from migrations.AfterCommit so that the run does not take the
// lint's word for it: goose (database/sql's Tx.ExecContext per statement)
// and drizzle (node-postgres, per statement) send one statement at a time
// and open no other transaction; Flyway's pgjdbc, with autocommit off,
// sends BEGIN before a statement when the session is idle; dbmate
// (db.Exec of the section) and diesel (batch_execute) send one query.
const (
	perStatement = iota
	rebegins
	oneQuery
)

var driverOf = map[migrations.Tool]int{migrations.Flyway: rebegins, migrations.Dbmate: oneQuery, migrations.Diesel: oneQuery}

// asWritten reports whether a claim is held against the file run as
// written: transaction control, and the notices a statement raises.
func asWritten(c *rules.Claim) bool { return c.Warns != "" || c.LeftOpen || c.Outside || c.Notes != "" }

// writtenRun is what the server did with one section run as written.
type writtenRun struct {
	notices map[int][]string // "WARNING 25001", "NOTICE 42622": by statement (the whole query's, for a section sent as one)
	status  map[int]byte     // the session's transaction status after each statement ('I': idle, 'T': in one, 'E': failed)
	final   byte             // the status after the section, before the tool's own COMMIT
	// failed is the first statement that failed and its SQLSTATE (-1:
	// none).
	failed      int
	failedState string
}

// applyAsWritten runs the section (up or down) of a fixture as written on a
// fresh database with its base schema.
func applyAsWritten(ctx context.Context, t *testing.T, srv *pgtest.Server, c *fixture.Case, mode migrations.TxMode, tool migrations.Tool, down bool) (*writtenRun, error) {
	var heard []string
	connect := func() (*pgx.Conn, error) {
		_, name, err := baseDB(ctx, t, srv, c)
		if err != nil {
			return nil, err
		}
		cfg, err := pgx.ParseConfig(srv.ConnString(name))
		if err != nil {
			return nil, err
		}
		cfg.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) {
			heard = append(heard, n.Severity+" "+n.Code)
		}
		return pgx.ConnectConfig(ctx, cfg)
	}
	conn, err := connect()
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	run := &writtenRun{notices: map[int][]string{}, status: map[int]byte{}, failed: -1}
	var idx []int
	var texts []string
	for i, s := range c.Stmts {
		if s.Err == nil && s.Down == down {
			idx, texts = append(idx, i), append(texts, s.Text)
		}
	}
	wrapped := mode == migrations.TxWrapped
	if mode == migrations.TxImplicit || wrapped && driverOf[tool] == oneQuery {
		// One query, in the tool's transaction where it has one: the
		// notices are the whole query's, and the status after statement
		// k is the status after a query that ends with it.
		// The query's own failure is the statements', as the tool would
		// see it; err is the session's.
		query := func(conn *pgx.Conn, upto int) (failure, err error) {
			if wrapped {
				if err := pgtest.ExecScript(ctx, conn, "BEGIN"); err != nil {
					return nil, err
				}
			}
			return pgtest.ExecScript(ctx, conn, strings.Join(texts[:upto], ";\n")), nil
		}
		heard = nil
		failure, err := query(conn, len(texts))
		if err != nil {
			return nil, err
		}
		for _, i := range idx {
			run.notices[i] = heard
		}
		run.final = conn.PgConn().TxStatus()
		// The status after statement k, and which statement failed, are
		// those of a query that ends with it.
		for k, i := range idx {
			statusAsked := c.Stmts[i].IsTxControl() // only transaction control changes the status
			failedUnknown := failure != nil && run.failed < 0
			if !statusAsked && !failedUnknown {
				continue
			}
			prefix, err := connect()
			if err != nil {
				return nil, err
			}
			fails, err := query(prefix, k+1)
			run.status[i] = prefix.PgConn().TxStatus()
			prefix.Close(ctx)
			if err != nil {
				return nil, err
			}
			if fails != nil && run.failed < 0 {
				run.failed, run.failedState = i, sqlState(fails)
			}
		}
		return run, nil
	}
	if wrapped {
		if err := pgtest.ExecScript(ctx, conn, "BEGIN"); err != nil {
			return nil, err
		}
	}
	for k, i := range idx {
		if wrapped && driverOf[tool] == rebegins && conn.PgConn().TxStatus() == 'I' {
			// pgjdbc with autocommit off opens a transaction before a
			// statement run outside one.
			if err := pgtest.ExecScript(ctx, conn, "BEGIN"); err != nil {
				return nil, err
			}
		}
		heard = nil
		if err := pgtest.ExecScript(ctx, conn, texts[k]); err != nil && run.failed < 0 {
			run.failed, run.failedState = i, sqlState(err)
		}
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
func toolModes(t *testing.T, c *fixture.Case) ([2]migrations.TxMode, migrations.Tool) {
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
	return modes, m.Tool
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
				var tool migrations.Tool
				toolTx, tool = toolModes(t, c)
				mode := toolTx[0]
				if s.Down {
					mode = toolTx[1]
				}
				var err error
				if run, err = applyAsWritten(ctx, t, srv, c, mode, tool, s.Down); err != nil {
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
	// Run as written, the first statement of the up section to fail must
	// have a finding that says it fails (a down section runs here on the
	// base schema, not on the one its up leaves).
	if run := runs[false]; run != nil && run.failed >= 0 {
		checked++
		if !slices.ContainsFunc(byStmt[run.failed], func(f *rules.Finding) bool { return f.Claim != nil && f.Claim.Fails == run.failedState }) {
			s := c.Stmts[run.failed]
			t.Errorf("line %d: run as written, the statement fails with %s, and no finding says so\n  statement: %s", s.Pos.Line, run.failedState, s.Text)
		}
	}
	return checked
}
