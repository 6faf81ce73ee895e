package pg_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/fluxlint/fluxlint/analyzers/ir"
	"github.com/fluxlint/fluxlint/analyzers/split"
	"github.com/fluxlint/fluxlint/internal/fixture"
	"github.com/fluxlint/fluxlint/internal/pgtest"
	"github.com/fluxlint/fluxlint/rules"
	pgrules "github.com/fluxlint/fluxlint/rules/pg"
	"github.com/fluxlint/fluxlint/rules/sqlgen"
)

// TestClaimsOnPostgres holds every finding's claim against the server. For
// each PostgreSQL fixture, on a database with the base schema and its rows,
// every statement runs in turn, in a transaction held open while a second
// session reads the locks it holds from pg_locks, the statement's own
// session reads how many rows it read (pg_stat_xact_user_tables) and which
// tables got new storage (relfilenode), or the SQLSTATE it failed with; then
// the transaction rolls back and the statement runs for real, as the
// context of the next. A claim that disagrees with an observation fails,
// with both printed. Statements without findings are held to "safe": no
// rewrite of a table with rows, no full read of one under a lock that
// blocks writes, no failure.
//
// A fixture whose statements share transactions is also applied as its
// tool applies it (truth_context_test.go): claims about the transaction
// (a lock held from an earlier statement, a later statement that fails)
// are held against that run, and a statement without a finding must not
// fail there where it runs alone. A claim about later deletes is held
// against a delete, once the statement has run.
func TestClaimsOnPostgres(t *testing.T) {
	srv := pgtest.Shared(t)
	ctx := context.Background()
	checked, asApplied, unclaimed := 0, 0, map[string]int{}
	for _, path := range fixtures(t) {
		c := fixture.Load(t, path)
		if c.Version != serverMajor {
			continue // a verdict for another major: this server would disagree by design
		}
		res := c.Lint(t, pgrules.Rules())
		byStmt := map[int][]*rules.Finding{}
		for _, f := range res.Findings {
			if i, err := c.StmtAt(f); err == nil {
				byStmt[i] = append(byStmt[i], f)
			}
		}
		t.Run(filepath.Base(path), func(t *testing.T) {
			conn, name, err := baseDB(ctx, t, srv, c)
			if err != nil {
				t.Fatal(err)
			}
			observer, err := srv.Connect(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			defer observer.Close(ctx)
			base, err := relations(ctx, conn)
			if err != nil {
				t.Fatal(err)
			}
			checked += checkTxClaims(ctx, t, srv, c, byStmt)
			applied, err := applyIfShared(ctx, t, srv, c, byStmt)
			if err != nil {
				t.Fatalf("applying the fixture as its tool does: %v", err)
			}
			for i, s := range c.Stmts {
				if s.Err != nil || s.IsTxControl() {
					for _, f := range byStmt[i] {
						if s.Err == nil && f.Claim == nil {
							unclaimed[f.Rule.Code]++ // (claims on transaction control: checkTxClaims)
						}
					}
					continue
				}
				queries := queryClaims(byStmt[i])
				for _, f := range queries {
					if _, err := conn.Exec(ctx, f.Claim.Query); err != nil {
						t.Errorf("line %d %s: the claim's query fails before the statement already: %s: %v", s.Pos.Line, f.Rule.Code, f.Claim.Query, err)
					}
				}
				obs, err := observe(ctx, conn, observer, s)
				if err != nil {
					t.Fatalf("line %d: observing: %v", s.Pos.Line, err)
				}
				found := byStmt[i]
				claims := statementClaims(s, found)
				var onDelete []*rules.Finding
				for _, f := range found {
					if f.Claim == nil {
						unclaimed[f.Rule.Code]++
						continue
					}
					claim := claims[f.Claim]
					switch {
					case claim.Query != "":
						// Held below, once the statement has run for real.
					case asWritten(claim):
						// checkTxClaims held it against the file run as written.
					case inTransaction(claim):
						inTx := applied.held[i]
						checked++
						if diff := inTx.disagrees(claim); diff != "" {
							t.Errorf("line %d %s: the finding and the server disagree about the statement in its transaction: %s\n  statement: %s\n  claim:     %s\n  observed:  %s", s.Pos.Line, f.Rule.Code, diff, s.Text, claim.String(), inTx.about(claim))
						}
					case claim.OnDeleteFrom.Name != "":
						onDelete = append(onDelete, f) // once the statement has run
					default:
						checked++
						if diff := obs.disagrees(claim); diff != "" {
							t.Errorf("line %d %s: the finding and the server disagree: %s\n  statement: %s\n  claim:     %s\n  observed:  %s", s.Pos.Line, f.Rule.Code, diff, s.Text, claim.String(), obs.about(claim.Table))
						}
					}
				}
				if len(found) == 0 && !isWrite(s) && !suppressed(c, i) {
					checked++
					if diff := obs.unsafe(base); diff != "" {
						t.Errorf("line %d: no finding, but the server %s\n  statement: %s", s.Pos.Line, diff, s.Text)
					}
				}
				if len(found) == 0 && !suppressed(c, i) && applied != nil && obs.sqlstate == "" {
					asApplied++
					if state := applied.sqlstate[i]; state != "" && !applied.explained(byStmt, i) {
						t.Errorf("line %d: no finding, and alone the statement runs, but as its tool applies it, in its transaction, it fails with %s\n  statement: %s", s.Pos.Line, state, s.Text)
					}
				}
				// The statement for real, as the next one's context (one
				// run in autocommit already ran for real). One that fails
				// in its transaction stops the migration there: run for
				// real outside it, it would do what the tool never does
				// (CREATE DATABASE, ALTER SYSTEM, DISCARD ALL).
				if obs.inTx && obs.sqlstate == "" {
					if _, err := conn.Exec(ctx, s.Text); err != nil {
						t.Logf("line %d: the statement itself fails here (%v); the next statements run without it", s.Pos.Line, err)
					}
				}
				for _, f := range queries {
					checked++
					_, err := conn.Exec(ctx, f.Claim.Query)
					if got := sqlStateOf(err); got != f.Claim.QueryFails {
						t.Errorf("line %d %s: the finding and the server disagree: after the statement, for %s the server %s; the claim says it fails with %s\n  statement: %s", s.Pos.Line, f.Rule.Code, f.Claim.Query, failure(got), f.Claim.QueryFails, s.Text)
					}
				}
				for _, f := range onDelete {
					cl := f.Claim
					read, rows, ok, err := observeDelete(ctx, conn, observer, cl.Table, cl.OnDeleteFrom)
					switch {
					case err != nil:
						t.Errorf("line %d %s: observing a delete from %s: %v", s.Pos.Line, f.Rule.Code, cl.OnDeleteFrom, err)
					case !ok || rows == 0:
						t.Errorf("line %d %s: the claim cannot be observed here: %s has no row that nothing references, or %s has no rows", s.Pos.Line, f.Rule.Code, cl.OnDeleteFrom, cl.Table)
					case read < rows:
						t.Errorf("line %d %s: the finding and the server disagree: deleting one row of %s read %d of the %d rows of %s\n  statement: %s\n  claim:     %s", s.Pos.Line, f.Rule.Code, cl.OnDeleteFrom, read, rows, cl.Table, s.Text, cl.String())
					default:
						checked++
					}
				}
			}
		})
	}
	t.Logf("%d claims checked against PostgreSQL %d, and %d statements without a finding also as their tool applies them, in their transaction; findings without a claim: %v", checked, serverMajor, asApplied, unclaimed)
	if checked == 0 {
		t.Fatal("no claim was checked")
	}
	for code := range unclaimed {
		if !unclaimedRules[code] {
			t.Errorf("%s findings carry no claim: every finding about what the server does must say it as data", code)
		}
	}
}

// unclaimedRules are findings that claim nothing a server here can show:
// PG119 warns of a bug of PostgreSQL 14.0 to 14.3 (concurrent index builds
// that miss rows), and the test server is 15; PG125 is Flyway refusing a
// script before the server sees it (Flyway, a Java tool from Maven, cannot
// be installed here: the findings follow its parser's own patterns).
var unclaimedRules = map[string]bool{"PG119": true, "PG125": true}

// serverMajor is the test server's major version.
const serverMajor = 15

// userRelations selects the tables, partitioned tables, views and
// materialized views outside the system schemas.
const userRelations = ` FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	WHERE c.relkind IN ('r', 'm', 'p', 'v') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'`

// relations lists the tables, partitioned tables and materialized views.
func relations(ctx context.Context, conn *pgx.Conn) (map[uint32]bool, error) {
	rows, err := conn.Query(ctx, "SELECT c.oid"+userRelations)
	if err != nil {
		return nil, err
	}
	oids, err := pgx.CollectRows(rows, pgx.RowTo[uint32])
	out := map[uint32]bool{}
	for _, oid := range oids {
		out[oid] = true
	}
	return out, err
}

// suppressed reports whether an ignore directive covers statement i: one
// between the statement before it and the end of its line, or a file-wide
// one.
func suppressed(c *fixture.Case, i int) bool { // by a fluxlint or squawk directive
	if strings.Contains(string(c.Src), "fluxlint:ignore-file") || strings.Contains(string(c.Src), "squawk-ignore-file") {
		return true
	}
	from := 0
	if i > 0 {
		from = c.Stmts[i-1].End.Offset
	}
	to := c.Stmts[i].End.Offset
	if nl := strings.IndexByte(string(c.Src[to:]), '\n'); nl >= 0 {
		to += nl
	} else {
		to = len(c.Src)
	}
	return strings.Contains(string(c.Src[from:to]), "fluxlint:ignore") || strings.Contains(string(c.Src[from:to]), "squawk-ignore")
}

// observation is what the server did while running one statement.
type observation struct {
	sqlstate  string              // "" when it ran
	inTx      bool                // ran inside a transaction: locks and reads were observed
	oid       map[ir.QName]uint32 // the tables before the statement
	rows      map[uint32]int64    // rows before
	locks     map[uint32]string   // the strongest lock held, by relation
	read      map[uint32]int64    // rows read by the statement
	rewritten map[uint32]bool     // new storage, with rows in it
	names     map[uint32]ir.QName // by relation
}

var nonTransactional = []string{"CONCURRENTLY", "VACUUM"}

// observe runs s on conn as described on TestClaimsOnPostgres, and rolls it
// back; statements that cannot run in a transaction block run in autocommit
// (only failure and rewrite are then observed).
func observe(ctx context.Context, conn, observer *pgx.Conn, s *ir.Stmt) (*observation, error) {
	o := newObservation()
	storage, err := o.before(ctx, conn, observer)
	if err != nil {
		return nil, err
	}
	upper := strings.ToUpper(s.Text)
	o.inTx = s.InTx || !slices.ContainsFunc(nonTransactional, func(w string) bool { return strings.Contains(upper, w) })
	if !o.inTx {
		if _, err := conn.Exec(ctx, s.Text); err != nil {
			o.sqlstate = sqlState(err)
			return o, nil
		}
		return o, o.readStorage(ctx, conn, storage)
	}
	if _, err := conn.Exec(ctx, "BEGIN"); err != nil {
		return nil, err
	}
	defer func() { _, _ = conn.Exec(ctx, "ROLLBACK") }()
	if _, err := conn.Exec(ctx, s.Text); err != nil {
		o.sqlstate = sqlState(err)
		return o, nil
	}
	if err := o.readLocks(ctx, conn, observer); err != nil {
		return nil, err
	}
	if o.read, err = readCounters(ctx, conn); err != nil {
		return nil, err
	}
	return o, o.readStorage(ctx, conn, storage)
}

func newObservation() *observation {
	return &observation{oid: map[ir.QName]uint32{}, rows: map[uint32]int64{}, locks: map[uint32]string{}, read: map[uint32]int64{},
		rewritten: map[uint32]bool{}, names: map[uint32]ir.QName{}}
}

// before records the relations, their rows and their storage, and flushes
// conn's read counters; it returns the storage by relation.
func (o *observation) before(ctx context.Context, conn, observer *pgx.Conn) (map[uint32]uint32, error) {
	storage, err := o.relations(ctx, conn)
	if err != nil {
		return nil, err
	}
	// Rows are counted by the other session: this one's read counters must
	// hold the statement's reads alone.
	for q, oid := range o.oid {
		var n int64
		if err := observer.QueryRow(ctx, "SELECT count(*) FROM ONLY "+sqlgen.Name(q)).Scan(&n); err != nil {
			return nil, err
		}
		o.rows[oid] = n
	}
	// PostgreSQL 15 keeps a backend's read counters pending across
	// transactions for up to a second: flush them, so that the transaction
	// below counts only its own reads.
	_, err = conn.Exec(ctx, "SELECT pg_stat_force_next_flush()")
	return storage, err
}

// relations records the relations by name, and returns their storage by
// relation.
func (o *observation) relations(ctx context.Context, conn *pgx.Conn) (map[uint32]uint32, error) {
	storage := map[uint32]uint32{}
	rows, err := conn.Query(ctx, "SELECT c.oid, n.nspname, c.relname, c.relfilenode"+userRelations)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var oid, node uint32
		var schema, name string
		if err := rows.Scan(&oid, &schema, &name, &node); err != nil {
			return nil, err
		}
		o.oid[ir.QName{Schema: schema, Name: name}] = oid
		o.names[oid] = ir.QName{Schema: schema, Name: name}
		storage[oid] = node
	}
	return storage, rows.Err()
}

// readLocks records the strongest lock conn's open transaction holds on
// each relation, as another session sees them.
func (o *observation) readLocks(ctx context.Context, conn, observer *pgx.Conn) error {
	var pid uint32
	if err := conn.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		return err
	}
	lrows, err := observer.Query(ctx, `SELECT relation::oid, mode FROM pg_locks WHERE pid = $1 AND locktype = 'relation' AND granted`, pid)
	if err != nil {
		return err
	}
	for lrows.Next() {
		var oid uint32
		var mode string
		if err := lrows.Scan(&oid, &mode); err != nil {
			return err
		}
		if m := lockName(mode); slices.Index(rules.LockModes, m) > slices.Index(rules.LockModes, o.locks[oid]) {
			o.locks[oid] = m
		}
	}
	return lrows.Err()
}

// readCounters returns the rows conn's open transaction has read so far,
// by table.
func readCounters(ctx context.Context, conn *pgx.Conn) (map[uint32]int64, error) {
	read := map[uint32]int64{}
	srows, err := conn.Query(ctx, `SELECT relid, coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0) FROM pg_stat_xact_user_tables`)
	if err != nil {
		return nil, err
	}
	for srows.Next() {
		var oid uint32
		var n int64
		if err := srows.Scan(&oid, &n); err != nil {
			return nil, err
		}
		read[oid] = n
	}
	return read, srows.Err()
}

// readStorage marks the tables whose storage changed and that still hold
// rows (TRUNCATE gives a table new, empty storage: that is no rewrite).
func (o *observation) readStorage(ctx context.Context, conn *pgx.Conn, before map[uint32]uint32) error {
	for oid, node := range before {
		var now *uint32
		if err := conn.QueryRow(ctx, "SELECT relfilenode FROM pg_class WHERE oid = $1", oid).Scan(&now); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				continue // dropped
			}
			return err
		}
		if now == nil || *now == node || *now == 0 {
			continue
		}
		var n int64
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM ONLY "+sqlgen.Name(o.names[oid])).Scan(&n); err != nil {
			return err
		}
		o.rewritten[oid] = n > 0
	}
	return nil
}

// disagrees compares a claim with the observation: "" when they agree.
func (o *observation) disagrees(c *rules.Claim) string {
	if c.Fails != "" || o.sqlstate != "" {
		if c.Fails != o.sqlstate {
			return fmt.Sprintf("the claim says it fails with %q, the server %s", c.Fails, failure(o.sqlstate))
		}
		return ""
	}
	oid, ok := o.oid[resolve(c.Table)]
	if !ok {
		return fmt.Sprintf("the claim is about %s, which does not exist before the statement", c.Table)
	}
	var diffs []string
	if o.inTx && c.Lock != "" && o.locks[oid] != c.Lock {
		diffs = append(diffs, fmt.Sprintf("lock %s, not %s", orNone(o.locks[oid]), c.Lock))
	}
	if c.Unsure {
		return strings.Join(diffs, "; ")
	}
	if o.rewritten[oid] != c.Rewrite && o.rows[oid] > 0 {
		diffs = append(diffs, fmt.Sprintf("rewrite %v, not %v", o.rewritten[oid], c.Rewrite))
	}
	if scanned := o.scanned(oid); o.inTx && scanned != c.Scan && o.rows[oid] > 0 {
		diffs = append(diffs, fmt.Sprintf("full scan %v (%d of %d rows read), not %v", scanned, o.read[oid], o.rows[oid], c.Scan))
	}
	return strings.Join(diffs, "; ")
}

// unsafe says what a statement fluxlint calls safe did wrong to the
// relations of the base schema (those the change creates are used by no one
// yet), or "".
func (o *observation) unsafe(base map[uint32]bool) string {
	if o.sqlstate != "" {
		return "fails with SQLSTATE " + o.sqlstate
	}
	var bad []string
	for oid, n := range o.rows {
		if n == 0 || !base[oid] {
			continue
		}
		if o.rewritten[oid] {
			bad = append(bad, "rewrites "+o.names[oid].String())
		}
		if o.inTx && o.scanned(oid) && blocksWrites(o.locks[oid]) {
			bad = append(bad, fmt.Sprintf("reads all of %s under %s", o.names[oid].String(), o.locks[oid]))
		}
	}
	sort.Strings(bad)
	return strings.Join(bad, ", ")
}

func (o *observation) scanned(oid uint32) bool { return o.rows[oid] > 0 && o.read[oid] >= o.rows[oid] }

func (o *observation) about(t ir.QName) string {
	if o.sqlstate != "" {
		return "failed with SQLSTATE " + o.sqlstate
	}
	oid := o.oid[resolve(t)]
	if !o.inTx {
		return fmt.Sprintf("%s (autocommit: locks and reads not observed): rewrite %v", t, o.rewritten[oid])
	}
	return fmt.Sprintf("%s: lock %s, rewrite %v, read %d of %d rows", t, orNone(o.locks[oid]), o.rewritten[oid], o.read[oid], o.rows[oid])
}

func blocksWrites(mode string) bool {
	return slices.Index(rules.LockModes, mode) >= slices.Index(rules.LockModes, rules.Share)
}

func resolve(q ir.QName) ir.QName {
	if q.Schema == "" {
		q.Schema = "public"
	}
	return q
}

func failure(sqlstate string) string {
	if sqlstate == "" {
		return "runs it"
	}
	return "fails with " + sqlstate
}

func orNone(mode string) string {
	if mode == "" {
		return "none"
	}
	return mode
}

// lockName turns pg_locks' mode ("ShareRowExclusiveLock") into PostgreSQL's
// words ("SHARE ROW EXCLUSIVE").
func lockName(mode string) string {
	var words []string
	start := 0
	m := strings.TrimSuffix(mode, "Lock")
	for i := 1; i <= len(m); i++ {
		if i == len(m) || m[i] >= 'A' && m[i] <= 'Z' {
			words = append(words, strings.ToUpper(m[start:i]))
			start = i
		}
	}
	return strings.Join(words, " ")
}

func sqlState(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return "?" + err.Error()
}

func isWrite(s *ir.Stmt) bool {
	for _, op := range s.Ops {
		if _, ok := op.(ir.Write); ok {
			return true
		}
	}
	return false
}

// ownEffect reports whether a claim is about the statement's own lock,
// rewrite and scan, the claims statementClaims merges.
// queryClaims are the findings that claim a query breaks.
func queryClaims(found []*rules.Finding) []*rules.Finding {
	var out []*rules.Finding
	for _, f := range found {
		if f.Claim != nil && f.Claim.Query != "" {
			out = append(out, f)
		}
	}
	return out
}

func ownEffect(c *rules.Claim) bool {
	return c.Fails == "" && !inTransaction(c) && c.OnDeleteFrom.Name == ""
}

// statementClaims gives each finding's claim as the statement's claim on
// its table. Where a statement holds several SQL statements (a goose block
// sent as one, with a finding on each of them), the server sees them all at
// once, so a claim holds against the strongest lock claimed on the table
// and a rewrite or scan any of them claims; a single statement's claims
// each stand alone, as does a claim that the statement fails. A claim of
// a lock held from before adds its scan to the block's, not its lock.
func statementClaims(s *ir.Stmt, found []*rules.Finding) map[*rules.Claim]*rules.Claim {
	out := map[*rules.Claim]*rules.Claim{}
	if len(split.Split([]byte(s.Text), ir.Postgres).Segments) < 2 {
		for _, f := range found {
			out[f.Claim] = f.Claim
		}
		return out
	}
	merged := map[ir.QName]*rules.Claim{}
	for _, f := range found {
		c := f.Claim
		if c == nil || !ownEffect(c) && !c.Held {
			continue
		}
		if c.Held {
			// A lock held from before says nothing of the block's own, but
			// its scan is the block's.
			cp := *c
			cp.Held, cp.Lock = false, ""
			c = &cp
		}
		m := merged[resolve(c.Table)]
		switch {
		case m == nil:
			cp := *c
			merged[resolve(c.Table)] = &cp
			continue
		case m.Unsure && !c.Unsure:
			// A sure claim's rewrite and scan outrank a guess.
			m.Rewrite, m.Scan, m.Unsure = c.Rewrite, c.Scan, false
		case m.Unsure == c.Unsure:
			m.Rewrite, m.Scan = m.Rewrite || c.Rewrite, m.Scan || c.Scan
		}
		if slices.Index(rules.LockModes, c.Lock) > slices.Index(rules.LockModes, m.Lock) {
			m.Lock = c.Lock
		}
	}
	for _, f := range found {
		if c := f.Claim; c != nil {
			out[c] = c
			if m := merged[resolve(c.Table)]; m != nil && ownEffect(c) {
				out[c] = m
			}
		}
	}
	return out
}
