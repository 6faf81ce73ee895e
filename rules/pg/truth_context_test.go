package pg_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/fluxlint/fluxlint/analyzers/ir"
	"github.com/fluxlint/fluxlint/internal/fixture"
	"github.com/fluxlint/fluxlint/internal/pgtest"
	"github.com/fluxlint/fluxlint/rules"
	"github.com/fluxlint/fluxlint/rules/sqlgen"
)

// Claims about a statement in its context, checked by TestClaimsOnPostgres
// too: a lock the transaction holds while the statement runs (Held), a
// later statement of the transaction that fails because of this one
// (LaterFails), and what every later delete from a table reads
// (OnDeleteFrom).

// inTransaction reports whether a claim is about the statement within its
// transaction.
func inTransaction(c *rules.Claim) bool { return c.Held || c.LaterFails != "" }

// appliedRun is a fixture run as its tool applies it: each statement in
// its real transaction, after the earlier statements of it.
type appliedRun struct {
	sqlstate []string               // by statement: "" when it ran
	held     map[int]*txObservation // the statements asked for
}

// txObservation is what the server did with a statement run after the
// earlier statements of its transaction, in that transaction: the locks
// the transaction holds, and the statement's own reads.
type txObservation struct {
	*observation
	laterFails string // the first later statement's SQLSTATE in the same transaction, "" when all ran
	later      string // its text
	laterAt    int    // its index, -1 when all ran
}

// applyFixture runs a fixture on a fresh database with its base schema as
// its tool applies it: a statement outside a transaction in autocommit,
// the statements of a transaction in one, each under a savepoint (so that
// one failing leaves the next without it, as the main run does). At each
// statement in observe it reads the locks the transaction holds and the
// rows the statement read.
func applyFixture(ctx context.Context, t *testing.T, srv *pgtest.Server, c *fixture.Case, observe map[int]bool) (*appliedRun, error) {
	conn, name, err := baseDB(ctx, t, srv, c)
	if err != nil {
		return nil, err
	}
	observer, err := srv.Connect(ctx, name)
	if err != nil {
		return nil, err
	}
	defer observer.Close(ctx)
	run := &appliedRun{sqlstate: make([]string, len(c.Stmts)), held: map[int]*txObservation{}}
	var atStart *observation // the relations when the open transaction began
	open := -1               // the first statement of the open transaction, -1 for none
	for i, s := range c.Stmts {
		if s.Err != nil || s.IsTxControl() {
			continue
		}
		start := txStart(c.Stmts, i)
		if open >= 0 && (!s.InTx || start != open) {
			if _, err := conn.Exec(ctx, "COMMIT"); err != nil {
				return nil, fmt.Errorf("line %d: commit before it: %w", s.Pos.Line, err)
			}
			open = -1
		}
		if !s.InTx {
			_, err := conn.Exec(ctx, s.Text)
			run.sqlstate[i] = sqlStateOf(err)
			continue
		}
		if open < 0 {
			atStart = newObservation()
			if _, err := atStart.before(ctx, conn, observer); err != nil {
				return nil, err
			}
			if _, err := conn.Exec(ctx, "BEGIN"); err != nil {
				return nil, err
			}
			open = start
		}
		if !observe[i] {
			if run.sqlstate[i], err = savepointed(ctx, conn, s.Text); err != nil {
				return nil, err
			}
			continue
		}
		o := &txObservation{observation: newObservation(), laterAt: -1}
		o.inTx, o.oid, o.names, o.rows = true, atStart.oid, atStart.names, atStart.rows
		readBefore, err := readCounters(ctx, conn)
		if err != nil {
			return nil, err
		}
		if run.sqlstate[i], err = savepointed(ctx, conn, s.Text); err != nil {
			return nil, err
		}
		o.sqlstate = run.sqlstate[i]
		if err := o.readLocks(ctx, conn, observer); err != nil {
			return nil, err
		}
		readAfter, err := readCounters(ctx, conn)
		if err != nil {
			return nil, err
		}
		for oid, n := range readAfter {
			o.read[oid] = n - readBefore[oid]
		}
		run.held[i] = o
	}
	if open >= 0 {
		if _, err := conn.Exec(ctx, "COMMIT"); err != nil {
			return nil, fmt.Errorf("commit at the end: %w", err)
		}
	}
	for i, o := range run.held {
		for j := i + 1; j < len(c.Stmts) && sameTx(c.Stmts[i], c.Stmts[j]); j++ {
			if run.sqlstate[j] != "" {
				o.laterFails, o.later, o.laterAt = run.sqlstate[j], c.Stmts[j].Text, j
				break
			}
		}
	}
	return run, nil
}

// baseDB creates a fresh database with the fixture's base schema, and
// returns a connection to it and its name.
func baseDB(ctx context.Context, t *testing.T, srv *pgtest.Server, c *fixture.Case) (*pgx.Conn, string, error) {
	conn := srv.FreshDB(t)
	if c.Base != "" {
		if err := pgtest.ExecScript(ctx, conn, c.BaseSQL(t)); err != nil {
			return nil, "", fmt.Errorf("base schema: %w", err)
		}
	}
	var name string
	err := conn.QueryRow(ctx, "SELECT current_database()").Scan(&name)
	return conn, name, err
}

func sqlStateOf(err error) string {
	if err == nil {
		return ""
	}
	return sqlState(err)
}

// applyIfShared applies the fixture as its tool does where that can
// differ from running each statement alone (a statement that shares its
// transaction with earlier ones) or a claim is about the transaction, and
// returns nil otherwise.
func applyIfShared(ctx context.Context, t *testing.T, srv *pgtest.Server, c *fixture.Case, found map[int][]*rules.Finding) (*appliedRun, error) {
	observe, shared := map[int]bool{}, false
	for i, s := range c.Stmts {
		shared = shared || s.InTx && !s.IsTxControl() && txStart(c.Stmts, i) < i
		for _, f := range found[i] {
			if f.Claim != nil && inTransaction(f.Claim) {
				observe[i] = true
			}
		}
	}
	if !shared && len(observe) == 0 {
		return nil, nil
	}
	return applyFixture(ctx, t, srv, c, observe)
}

// explained reports whether a finding on an earlier statement of statement
// i's transaction claims that a later statement fails, and i is the first
// that failed after it.
func (r *appliedRun) explained(found map[int][]*rules.Finding, i int) bool {
	for j, o := range r.held {
		for _, f := range found[j] {
			if f.Claim != nil && f.Claim.LaterFails != "" && o.laterAt == i {
				return true
			}
		}
	}
	return false
}

// txStart is the index of the first statement of statement i's
// transaction: after the last BEGIN, COMMIT or statement outside a
// transaction before it.
func txStart(stmts []*ir.Stmt, i int) int {
	for j := i - 1; j >= 0; j-- {
		if !sameTx(stmts[i], stmts[j]) {
			return j + 1
		}
	}
	return 0
}

// sameTx reports whether s, next to in (with only statements of the same
// kind between), runs in in's transaction.
func sameTx(in, s *ir.Stmt) bool {
	return in.InTx && s.InTx && !s.IsTxControl() && s.Down == in.Down
}

// savepointed runs one statement under a savepoint and returns the SQLSTATE
// it failed with, "" when it ran; err is for a failure of the savepoint
// itself.
func savepointed(ctx context.Context, conn *pgx.Conn, sql string) (string, error) {
	if _, err := conn.Exec(ctx, "SAVEPOINT truth"); err != nil {
		return "", err
	}
	if _, err := conn.Exec(ctx, sql); err != nil {
		_, rerr := conn.Exec(ctx, "ROLLBACK TO SAVEPOINT truth")
		return sqlState(err), rerr
	}
	_, err := conn.Exec(ctx, "RELEASE SAVEPOINT truth")
	return "", err
}

// disagrees compares a claim about the transaction with the observation:
// "" when they agree.
func (o *txObservation) disagrees(c *rules.Claim) string {
	if o.sqlstate != "" {
		return "the statement itself fails after the earlier statements of its transaction, with " + o.sqlstate
	}
	if c.LaterFails != "" {
		if o.laterFails != c.LaterFails {
			return fmt.Sprintf("the claim says a later statement of the transaction fails with %s; the later statements %s", c.LaterFails, failure(o.laterFails))
		}
		return ""
	}
	oid, ok := o.oid[resolve(c.Table)]
	if !ok {
		return fmt.Sprintf("the claim is about %s, which does not exist before the transaction", c.Table)
	}
	var diffs []string
	if o.locks[oid] != c.Lock {
		diffs = append(diffs, fmt.Sprintf("the transaction holds %s, not %s", orNone(o.locks[oid]), c.Lock))
	}
	if scanned := o.scanned(oid); scanned != c.Scan && o.rows[oid] > 0 {
		diffs = append(diffs, fmt.Sprintf("full scan %v (%d of %d rows read), not %v", scanned, o.read[oid], o.rows[oid], c.Scan))
	}
	return strings.Join(diffs, "; ")
}

func (o *txObservation) about(c *rules.Claim) string {
	if c.LaterFails != "" && o.sqlstate == "" {
		if o.later == "" {
			return "every later statement of the transaction ran"
		}
		return fmt.Sprintf("%q failed with %s", o.later, failure(o.laterFails))
	}
	return o.observation.about(c.Table)
}

// observeDelete deletes, in a transaction it rolls back, one row of parent
// that no foreign key references (so that every check runs to its end),
// and returns how many rows of table (over its partitions) that read, and
// how many it has. ok is false when every row of parent is referenced.
func observeDelete(ctx context.Context, conn, observer *pgx.Conn, table, parent ir.QName) (read, rows int64, ok bool, err error) {
	fks, err := observer.Query(ctx, `
		SELECT con.conrelid::regclass::text,
			(SELECT array_agg(quote_ident(a.attname) ORDER BY k.n) FROM unnest(con.conkey) WITH ORDINALITY k(att, n)
				JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.att),
			(SELECT array_agg(quote_ident(a.attname) ORDER BY k.n) FROM unnest(con.confkey) WITH ORDINALITY k(att, n)
				JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.att)
		FROM pg_constraint con WHERE con.contype = 'f' AND con.conparentid = 0 AND con.confrelid = $1::regclass`, sqlgen.Name(parent))
	if err != nil {
		return 0, 0, false, err
	}
	var unreferenced []string
	for fks.Next() {
		var child string
		var cols, refs []string
		if err := fks.Scan(&child, &cols, &refs); err != nil {
			return 0, 0, false, err
		}
		var eq []string
		for k := range cols {
			eq = append(eq, fmt.Sprintf("c.%s = p.%s", cols[k], refs[k]))
		}
		unreferenced = append(unreferenced, fmt.Sprintf("NOT EXISTS (SELECT 1 FROM %s c WHERE %s)", child, strings.Join(eq, " AND ")))
	}
	if err := fks.Err(); err != nil {
		return 0, 0, false, err
	}
	if len(unreferenced) == 0 {
		return 0, 0, false, fmt.Errorf("no foreign key references %s", parent)
	}
	var tableoid uint32
	var ctid string
	err = observer.QueryRow(ctx, fmt.Sprintf("SELECT tableoid::oid, ctid::text FROM %s p WHERE %s LIMIT 1", sqlgen.Name(parent), strings.Join(unreferenced, " AND "))).Scan(&tableoid, &ctid)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, 0, false, nil
	}
	if err != nil {
		return 0, 0, false, err
	}
	// A table outside any partition tree is its own leaf.
	lrows, err := observer.Query(ctx, `SELECT relid::oid, relid::regclass::text FROM pg_partition_tree($1::regclass) WHERE isleaf
		UNION SELECT $1::regclass::oid, $1::regclass::text WHERE NOT EXISTS (SELECT FROM pg_partition_tree($1::regclass))`, sqlgen.Name(table))
	if err != nil {
		return 0, 0, false, err
	}
	leaves := map[uint32]string{}
	for lrows.Next() {
		var oid uint32
		var name string
		if err := lrows.Scan(&oid, &name); err != nil {
			return 0, 0, false, err
		}
		leaves[oid] = name
	}
	if err := lrows.Err(); err != nil {
		return 0, 0, false, err
	}
	for _, name := range leaves {
		var n int64
		if err := observer.QueryRow(ctx, "SELECT count(*) FROM ONLY "+name).Scan(&n); err != nil {
			return 0, 0, false, err
		}
		rows += n
	}
	if _, err := conn.Exec(ctx, "SELECT pg_stat_force_next_flush()"); err != nil {
		return 0, 0, false, err
	}
	if _, err := conn.Exec(ctx, "BEGIN"); err != nil {
		return 0, 0, false, err
	}
	defer func() { _, _ = conn.Exec(ctx, "ROLLBACK") }()
	if _, err := conn.Exec(ctx, fmt.Sprintf("DELETE FROM %s WHERE tableoid = $1 AND ctid = $2::tid", sqlgen.Name(parent)), tableoid, ctid); err != nil {
		return 0, 0, false, fmt.Errorf("deleting a row of %s: %w", parent, err)
	}
	counters, err := readCounters(ctx, conn)
	if err != nil {
		return 0, 0, false, err
	}
	for oid := range leaves {
		read += counters[oid]
	}
	return read, rows, true, nil
}
