package onlineddl_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/fluxlint/fluxlint/analyzers/catalog"
	"github.com/fluxlint/fluxlint/analyzers/ir"
	"github.com/fluxlint/fluxlint/analyzers/mysql"
	"github.com/fluxlint/fluxlint/analyzers/onlineddl"
	"github.com/fluxlint/fluxlint/analyzers/split"
	"github.com/fluxlint/fluxlint/internal/mytest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	mytest.StopShared()
	os.Exit(code)
}

// base is the schema every case starts from; each table gets rows.
const base = `CREATE TABLE p (id INT PRIMARY KEY);
CREATE TABLE t (id INT PRIMARY KEY, a INT, b INT, c INT, p_id INT,
  v VARCHAR(10) CHARACTER SET utf8mb4, v3 VARCHAR(80) CHARACTER SET utf8mb3, l VARCHAR(200) CHARACTER SET latin1,
  e ENUM('x','y'), s SET('r','w'), g POINT NOT NULL, body TEXT, KEY idx_c (c));
CREATE TABLE u (id INT NOT NULL, name VARCHAR(20));
CREATE TABLE k (id INT PRIMARY KEY, p_id INT, n INT, KEY idx_p (p_id), CONSTRAINT fk_k FOREIGN KEY (p_id) REFERENCES p (id), CONSTRAINT ck_n CHECK (n >= 0));
CREATE TABLE f (id INT PRIMARY KEY, body TEXT, FULLTEXT KEY ft_body (body));
`

const rows = `INSERT INTO p (id) SELECT seq FROM seq_1_to_200;
INSERT INTO t (id, a, b, c, p_id, v, v3, l, e, s, g, body) SELECT seq, seq, seq, seq, seq, 'v', 'w', 'l', 'x', 'r', POINT(seq, seq), 'some text' FROM seq_1_to_200;
INSERT INTO u (id, name) SELECT seq, 'n' FROM seq_1_to_200;
INSERT INTO k (id, p_id, n) SELECT seq, seq, seq FROM seq_1_to_200;
INSERT INTO f (id, body) SELECT seq, 'lorem ipsum' FROM seq_1_to_200;
`

// cases are ALTERs of every change kind (and some combinations), each on
// the base schema after its setup.
var cases = []struct{ setup, stmt string }{
	{"", "ALTER TABLE t ADD COLUMN x INT"},
	{"", "ALTER TABLE t ADD COLUMN x INT DEFAULT 42"},
	{"", "ALTER TABLE t ADD COLUMN x INT NOT NULL DEFAULT 0"},
	{"", "ALTER TABLE t ADD COLUMN x INT NOT NULL"},
	{"", "ALTER TABLE t ADD COLUMN x INT FIRST"},
	{"", "ALTER TABLE t ADD COLUMN x INT AFTER a"},
	{"", "ALTER TABLE t ADD COLUMN x INT AFTER body"},
	{"", "ALTER TABLE t ADD COLUMN x TIMESTAMP NULL DEFAULT CURRENT_TIMESTAMP"},
	{"", "ALTER TABLE t ADD COLUMN x CHAR(36) DEFAULT (UUID())"},
	{"", "ALTER TABLE u ADD COLUMN x INT AUTO_INCREMENT UNIQUE"},
	{"", "ALTER TABLE t ADD COLUMN x INT AS (a + 1) STORED"},
	{"", "ALTER TABLE t ADD COLUMN x INT AS (a + 1) VIRTUAL"},
	{"", "ALTER TABLE t DROP COLUMN b"},
	{"", "ALTER TABLE t RENAME COLUMN b TO b2"},
	{"", "ALTER TABLE t CHANGE b b2 INT"},
	{"", "ALTER TABLE t MODIFY b INT AFTER c"},
	{"", "ALTER TABLE t ALTER COLUMN c SET DEFAULT 0"},
	{"", "ALTER TABLE t ALTER COLUMN c DROP DEFAULT"},
	{"", "ALTER TABLE t MODIFY c BIGINT"},
	{"", "ALTER TABLE t MODIFY a BIGINT"},
	{"", "ALTER TABLE t MODIFY a INT UNSIGNED"},
	{"", "ALTER TABLE t MODIFY c VARCHAR(20)"},
	{"", "ALTER TABLE t MODIFY v VARCHAR(20) CHARACTER SET utf8mb4"},
	{"", "ALTER TABLE t MODIFY v VARCHAR(100) CHARACTER SET utf8mb4"},
	{"CREATE INDEX idx_v ON t (v);", "ALTER TABLE t MODIFY v VARCHAR(100) CHARACTER SET utf8mb4"},
	{"", "ALTER TABLE t MODIFY v VARCHAR(9) CHARACTER SET utf8mb4"},
	{"", "ALTER TABLE t MODIFY v3 VARCHAR(90) CHARACTER SET utf8mb3"},
	{"", "ALTER TABLE t MODIFY v3 VARCHAR(85) CHARACTER SET utf8mb3"},
	{"ALTER TABLE t ROW_FORMAT=REDUNDANT;", "ALTER TABLE t MODIFY v3 VARCHAR(90) CHARACTER SET utf8mb3"},
	{"ALTER TABLE t ROW_FORMAT=REDUNDANT;", "ALTER TABLE t MODIFY a BIGINT"},
	{"", "ALTER TABLE t MODIFY l VARCHAR(300) CHARACTER SET latin1"},
	{"", "ALTER TABLE t MODIFY v VARCHAR(10) CHARACTER SET latin1"},
	{"", "ALTER TABLE t MODIFY c INT NOT NULL"},
	{"", "ALTER TABLE u MODIFY id INT NULL"},
	{"", "ALTER TABLE t MODIFY e ENUM('x','y','z')"},
	{"", "ALTER TABLE t MODIFY e ENUM('x','w','y')"},
	{"", "ALTER TABLE t MODIFY s SET('r','w','x')"},
	{"", "ALTER TABLE t ADD INDEX idx_a (a)"},
	{"", "CREATE INDEX idx_a ON t (a)"},
	{"", "ALTER TABLE t ADD UNIQUE INDEX uq_a (a)"},
	{"", "ALTER TABLE t ADD FULLTEXT INDEX ft (body)"},
	{"", "ALTER TABLE t ADD SPATIAL INDEX sp (g)"},
	{"", "ALTER TABLE t DROP INDEX idx_c"},
	{"", "ALTER TABLE t RENAME INDEX idx_c TO idx_c2"},
	{"", "ALTER TABLE u ADD PRIMARY KEY (id)"},
	{"", "ALTER TABLE k DROP PRIMARY KEY"},
	{"", "ALTER TABLE k DROP PRIMARY KEY, ADD PRIMARY KEY (id, n)"},
	{"", "ALTER TABLE t ADD CONSTRAINT fk_p FOREIGN KEY (p_id) REFERENCES p (id)"},
	{"SET foreign_key_checks = 0;", "ALTER TABLE t ADD CONSTRAINT fk_p FOREIGN KEY (p_id) REFERENCES p (id)"},
	{"CREATE INDEX idx_p ON t (p_id); SET foreign_key_checks = 0;", "ALTER TABLE t ADD CONSTRAINT fk_p FOREIGN KEY (p_id) REFERENCES p (id)"},
	{"", "ALTER TABLE k DROP FOREIGN KEY fk_k"},
	{"", "ALTER TABLE t ADD CONSTRAINT ck_c CHECK (c > 0)"},
	{"", "ALTER TABLE k DROP CONSTRAINT ck_n"},
	{"", "ALTER TABLE t RENAME TO t2"},
	{"", "ALTER TABLE t FORCE"},
	{"", "ALTER TABLE t ENGINE=InnoDB"},
	{"", "OPTIMIZE TABLE t"},
	{"", "ALTER TABLE t ROW_FORMAT=COMPRESSED"},
	{"", "ALTER TABLE t COMMENT 'orders'"},
	{"", "ALTER TABLE t AUTO_INCREMENT = 1000"},
	{"", "ALTER TABLE t CONVERT TO CHARACTER SET latin1"},
	{"", "ALTER TABLE t ADD COLUMN x INT, ADD INDEX idx_a (a)"},
	{"", "ALTER TABLE t ADD COLUMN x INT, MODIFY c BIGINT"},
	{"", "ALTER TABLE t DROP COLUMN b, ALTER COLUMN c SET DEFAULT 1, RENAME COLUMN a TO a2"},
	{"", "ALTER TABLE t DROP COLUMN b, RENAME INDEX idx_c TO idx_c2, ADD UNIQUE INDEX uq_a (a)"},
	{"", "ALTER TABLE t DROP COLUMN b, MODIFY c INT NOT NULL"},
}

// measured is what the server did with a statement.
type measured struct {
	algorithm onlineddl.Algorithm
	lock      onlineddl.Lock
	rebuild   bool
	// accepted says, per ALGORITHM and LOCK clause tried, whether the
	// server ran the statement with it.
	accepted map[[2]string]bool
}

// TestVerdictsOnMariaDB holds fluxlint's verdict for each case against the
// test MariaDB: the case's changes are classified from the replayed schema,
// and the server is asked which ALGORITHM it accepts (the cheapest one it
// takes is the one it uses without a clause), the least restrictive LOCK
// with that algorithm, and whether running the statement without a clause
// gives the table a new InnoDB table id (a rebuild).
func TestVerdictsOnMariaDB(t *testing.T) {
	srv := mytest.Shared(t)
	server, err := onlineddl.Parse(strings.SplitN(srv.Version, "-", 2)[0], true)
	if err != nil {
		t.Fatalf("test server %q: %v", srv.Version, err)
	}
	seen := map[onlineddl.Change]bool{}
	for _, tc := range cases {
		t.Run(tc.setup+tc.stmt, func(t *testing.T) {
			changes, table := classify(t, tc.setup, tc.stmt)
			for _, ch := range changes {
				seen[ch] = true
			}
			var vs []onlineddl.Verdict
			for _, ch := range changes {
				vs = append(vs, onlineddl.For(server, ch))
			}
			want := onlineddl.Combine(vs)
			got := measure(t, srv, tc.setup, tc.stmt, table)
			if got.algorithm != want.Algorithm || got.lock != want.Lock || got.rebuild != want.Rebuild {
				t.Errorf("%s\n changes %q\n fluxlint says ALGORITHM=%s LOCK=%s rebuild=%v (%s)\n %s does ALGORITHM=%s LOCK=%s rebuild=%v",
					tc.stmt, changes, want.Algorithm, want.Lock, want.Rebuild, want.Source, server, got.algorithm, got.lock, got.rebuild)
			}
			// MY120 says a clause fails where Accepts is false.
			for clause, ok := range got.accepted {
				if want.Accepts(server, clause[0], clause[1]) != ok {
					t.Errorf("%s with ALGORITHM=%q LOCK=%q: the server accepted it: %v; fluxlint's Accepts says %v", tc.stmt, clause[0], clause[1], ok, !ok)
				}
			}
		})
	}
	for _, ch := range onlineddl.Changes() {
		if !seen[ch] {
			t.Errorf("no case exercises %q: its verdict is not measured", ch)
		}
	}
}

// classify replays the base schema and the setup into a catalog and
// classifies the statement; it returns the changes and the altered table.
func classify(t *testing.T, setup, stmt string) ([]onlineddl.Change, string) {
	t.Helper()
	c := catalog.NewFor(ir.MySQL)
	fkOff := false
	for _, s := range statements(base + setup) {
		ops, err := mysql.Parse(s)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		for _, op := range ops {
			if v, ok := op.(ir.SetVar); ok && v.Name == "foreign_key_checks" {
				fkOff = v.Value == "0"
			}
			c.Apply(op)
		}
	}
	ops, err := mysql.Parse(stmt)
	if err != nil || len(ops) != 1 {
		t.Fatalf("%s: %v %v", stmt, ops, err)
	}
	op, ok := ops[0].(ir.AlterTable)
	if !ok {
		t.Fatalf("%s: not an ALTER TABLE: %T", stmt, ops[0])
	}
	changes, ok := onlineddl.Classify(c, op, fkOff)
	if !ok {
		t.Fatalf("%s: fluxlint cannot classify it", stmt)
	}
	return changes, op.Table.Name
}

func statements(src string) []string {
	var out []string
	for _, seg := range split.Split([]byte(src), ir.MySQL).Segments {
		out = append(out, src[seg.Start:seg.End])
	}
	return out
}

// measure asks the server, each attempt on a fresh copy of the schema.
func measure(t *testing.T, srv *mytest.Server, setup, stmt, table string) measured {
	t.Helper()
	// CREATE INDEX takes the clauses without a comma.
	sep := ", "
	if !strings.HasPrefix(strings.ToUpper(stmt), "ALTER") {
		sep = " "
	}
	if strings.HasPrefix(strings.ToUpper(stmt), "OPTIMIZE") {
		// OPTIMIZE takes no clauses: on InnoDB it is ALTER TABLE ... FORCE
		// (then ANALYZE), which is measured with them.
		m := measure(t, srv, setup, "ALTER TABLE "+table+" FORCE", table)
		m.rebuild = rebuilt(t, srv, setup, stmt, table)
		return m
	}
	try := func(clause string) (bool, error) {
		clause = strings.ReplaceAll(clause, ", ", sep)
		db := srv.FreshDB(t)
		conn := prepare(t, db, setup)
		defer conn.Close()
		_, err := conn.ExecContext(context.Background(), stmt+clause)
		return err == nil, err
	}
	m := measured{accepted: map[[2]string]bool{}}
	algorithm := ""
	for a := onlineddl.Instant; a <= onlineddl.Copy; a++ {
		ok, err := try(", ALGORITHM=" + a.String())
		m.accepted[[2]string{a.String(), ""}] = ok
		if ok {
			m.algorithm, algorithm = a, a.String()
			break
		}
		if a == onlineddl.Copy {
			t.Fatalf("%s: refused even with ALGORITHM=COPY: %v", stmt, err)
		}
	}
	for l := onlineddl.LockNone; l <= onlineddl.LockExclusive; l++ {
		ok, _ := try(fmt.Sprintf(", ALGORITHM=%s, LOCK=%s", algorithm, l))
		m.accepted[[2]string{algorithm, l.String()}] = ok
		if ok {
			m.lock = l
			break
		}
	}
	// A lock alone, as statements often say it.
	m.accepted[[2]string{"", "NONE"}], _ = try(", LOCK=NONE")
	m.rebuild = rebuilt(t, srv, setup, stmt, table)
	return m
}

// rebuilt reports whether running the statement gives the table a new
// InnoDB table id.
func rebuilt(t *testing.T, srv *mytest.Server, setup, stmt, table string) bool {
	t.Helper()
	db := srv.FreshDB(t)
	conn := prepare(t, db, setup)
	defer conn.Close()
	id := func() int64 {
		var n int64
		if err := conn.QueryRowContext(context.Background(), "SELECT TABLE_ID FROM information_schema.INNODB_SYS_TABLES WHERE NAME = CONCAT(DATABASE(), '/', ?)", table).Scan(&n); err != nil {
			t.Fatalf("table id of %s: %v", table, err)
		}
		return n
	}
	before := id()
	if _, err := conn.ExecContext(context.Background(), stmt); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
	if strings.Contains(strings.ToUpper(stmt), "RENAME") && strings.Contains(stmt, " t2") {
		table = "t2"
	}
	return id() != before
}

// prepare loads the schema, the rows and the setup on one connection (the
// setup may set session variables the statement needs).
func prepare(t *testing.T, db *sql.DB, setup string) *sql.Conn {
	t.Helper()
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range statements(base + rows + setup) {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	return conn
}
