package mysql

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/fluxlint/fluxlint/analyzers/ir"
	_ "github.com/fluxlint/fluxlint/internal/golden"
)

// show renders ops compactly for comparison.
func show(ops []ir.Op) string {
	var b []string
	for _, op := range ops {
		b = append(b, fmt.Sprintf("%T%+v", op, op))
	}
	return strings.Join(b, "; ")
}

// TestParse checks what statements mean as ops: tables and their columns
// (types, nullability, defaults, AUTO_INCREMENT), keys with the names the
// server gives unnamed ones, ALTER TABLE's commands and ALGORITHM/LOCK, and
// statements that MySQL folds into ALTER TABLE.
func TestParse(t *testing.T) {
	cases := []struct{ sql, want string }{
		{"CREATE TABLE `Order Items` (id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, `select` VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL DEFAULT 'x', e ENUM('a','b') NULL, KEY (`select`), KEY (`select`, e), UNIQUE KEY uq (e), CONSTRAINT FOREIGN KEY (id) REFERENCES u (id) ON DELETE CASCADE) ENGINE=InnoDB",
			"Name:id Type:{SQL:bigint unsigned Name:bigint Mods:[] Array:false Charset: Unsigned:true Values:[]} NotNull:true"},
		{"ALTER TABLE t ADD COLUMN a INT AFTER b, ADD COLUMN c INT, ALGORITHM=INPLACE, LOCK=NONE", "Position:{First:false After:b}"},
		{"ALTER TABLE t ADD COLUMN (a INT, c INT)", "Position:{First:false After:a}"},
		// MariaDB's NOCOPY, which vitess does not know, in both forms.
		{"ALTER TABLE t ADD INDEX i (a), ALGORITHM=NOCOPY, LOCK=NONE", "Algorithm:NOCOPY Lock:NONE"},
		{"CREATE INDEX i ON t (a) ALGORITHM NOCOPY", "Algorithm:NOCOPY"},
		{"CREATE TABLE t (id INT) ENGINE=InnoDB DEFAULT CHARSET=latin1 ROW_FORMAT=REDUNDANT", "Charset:latin1 RowFormat:redundant"},
		{"CREATE DEFINER = `app`@`%` TRIGGER users_bi BEFORE INSERT ON shop.users FOR EACH ROW SET NEW.a = 1", "ir.CreateTrigger{Name:users_bi Table:shop.users}"},
		{"CREATE TRIGGER t_au AFTER UPDATE ON t FOR EACH ROW BEGIN SET @x = 1; END", "ir.CreateTrigger{Name:t_au Table:t}"},
		{"DROP TRIGGER IF EXISTS shop.users_bi", "ir.DropTrigger{Name:shop.users_bi IfExists:true}"},
		{"ALTER TABLE t ROW_FORMAT=COMPACT, COMMENT='x'", "Cmds:[{Kind:table option ROW_FORMAT Value:compact} {Kind:table option COMMENT Value:x}]"},
		{"OPTIMIZE NO_WRITE_TO_BINLOG TABLE a, s.`b c`", "ir.AlterTable{Table:a IfExists:false Cmds:[{Kind:OPTIMIZE Value:}] Algorithm: Lock: Clauses:[force]}; ir.AlterTable{Table:s.b c"},
		{"ALTER TABLE t ADD COLUMN a INT AFTER b, ADD COLUMN c INT, ALGORITHM=INPLACE, LOCK=NONE", "Algorithm:INPLACE Lock:NONE"},
		{"ALTER TABLE t MODIFY c BIGINT NOT NULL", "Cmds:[{Old: Column:{Name:c Type:{SQL:bigint"},
		{"ALTER TABLE t CHANGE a b VARCHAR(10)", "Cmds:[{Old:a Column:{Name:b"},
		{"CREATE INDEX i ON t (a(10), b DESC)", "Cmds:[{Index:{Name:i Table: Unique:false Method:btree Elems:[`a`(10) `b` DESC] Columns:[a b]"},
		{"DROP INDEX i ON t", "Table:t IfExists:false Cmds:[{Name:i}]"},
		{"ALTER TABLE t DROP PRIMARY KEY, DROP FOREIGN KEY fk", "Cmds:[{Name:PRIMARY IfExists:false} {Name:fk IfExists:false}]"},
		{"RENAME TABLE a TO b, c TO d", "ir.AlterTable{Table:a IfExists:false Cmds:[{New:b}] Algorithm: Lock: Clauses:[]}; ir.AlterTable{Table:c IfExists:false Cmds:[{New:d}]"},
		{"ALTER TABLE t RENAME TO u", "Cmds:[{New:u}]"},
		{"ALTER TABLE t ADD COLUMN IF NOT EXISTS x INT, DROP COLUMN IF EXISTS y", "Cmds:[{Column:{Name:x"},
		{"SET SESSION lock_wait_timeout = 5", "ir.SetVar{Name:lock_wait_timeout Value:5 Local:false}"},
		{"CREATE TABLE IF NOT EXISTS t (a INT)", "ir.CreateTable{Table:t IfNotExists:true"},
		{"ALTER TABLE t ADD COLUMN IF NOT EXISTS a INT, ADD INDEX IF NOT EXISTS i (a)", "IfNotExists:true Position:{First:false After:}} {Index:{Name:i Table: Unique:false Method:btree Elems:[] Columns:[a] Refs:[a] Include:[] Where:} IfNotExists:true}"},
		{"UPDATE t SET a = 1", "ir.Write{Kind:update Table:t HasWhere:false Set:a = 1 Twice:}"},
		{"DELETE FROM t WHERE id < 10 LIMIT 100", "HasWhere:true"},
		{"ALTER TABLE t ADD COLUMN u CHAR(36) DEFAULT (UUID())", "Default:0x"},
		{"CALL p", "ir.Opaque{Kind:CALL}"},
		{"CREATE DEFINER=`root`@`%` TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.a = 1", "ir.CreateTrigger{Name:tr Table:t}"},
		{"CREATE TABLE t (a INT CHECK (a > 0))", "ir.CreateTable{Table:t IfNotExists:false Temp:false Columns:[] Constraints:[] PartitionOf:<nil> Bound:<nil> PartitionBy:<nil> AsSelect:true"},
		{"ALTER TABLE db.t ADD COLUMN x INT CHECK (x > 0)", "ir.AlterTable{Table:db.t IfExists:false Cmds:[{Kind:unparsed Value:}]"},
	}
	for _, c := range cases {
		ops, _ := Parse(c.sql)
		got := show(ops)
		if !strings.Contains(got, c.want) {
			t.Errorf("Parse(%q)\n got %s\nwant it to contain %s", c.sql, got, c.want)
		}
	}
}

// TestSyntaxErrorOffset checks that an error points at the token vitess
// names, and that a rejected CREATE TABLE still creates its table.
func TestSyntaxErrorOffset(t *testing.T) {
	sql := "CREATE TABLE t (\n  a INT CHECK (a > 0)\n)"
	ops, err := Parse(sql)
	var se *SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("want a *SyntaxError, got %v", err)
	}
	if got := sql[se.Offset:]; !strings.HasPrefix(got, "CHECK") {
		t.Errorf("error at %d (%q), want the CHECK", se.Offset, got)
	}
	if ct, ok := ops[0].(ir.CreateTable); !ok || ct.Table.Name != "t" || !ct.AsSelect {
		t.Errorf("ops %s, want an unknown-columns CREATE TABLE t", show(ops))
	}
}
