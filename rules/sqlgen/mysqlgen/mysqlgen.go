// Package mysqlgen builds the SQL that MySQL and MariaDB plans contain.
// Every identifier goes through Ident, so names like `Order Items` or
// `select` come out right.
package mysqlgen

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fluxlint/fluxlint/analyzers/catalog"
	"github.com/fluxlint/fluxlint/analyzers/ir"
	"github.com/fluxlint/fluxlint/analyzers/migrations"
)

// Ident quotes an identifier with backticks, always, as SHOW CREATE TABLE
// does.
func Ident(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

// Name renders a possibly qualified name.
func Name(q ir.QName) string {
	if q.Schema == "" {
		return Ident(q.Name)
	}
	return Ident(q.Schema) + "." + Ident(q.Name)
}

// Idents quotes and joins names.
func Idents(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = Ident(n)
	}
	return strings.Join(q, ", ")
}

// Literal quotes a string literal.
func Literal(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, "'", "''").Replace(s) + "'"
}

// LockWaitTimeout is the statement plans run before DDL: every ALTER takes
// an exclusive metadata lock at its start and end, and behind a long
// transaction it waits there while every later query of the table queues
// behind it. lock_wait_timeout makes it fail fast instead (whole seconds,
// at least one). Retry such a step.
func LockWaitTimeout(d time.Duration) string {
	return fmt.Sprintf("SET SESSION lock_wait_timeout = %d;", max(1, int(math.Ceil(d.Seconds()))))
}

// Online is the clause that makes an ALTER fail at once, instead of
// copying the table under a lock, when the server cannot do it in place
// with reads and writes continuing.
const Online = "ALGORITHM=INPLACE, LOCK=NONE"

// ColumnDef renders a column definition as ADD COLUMN and CREATE TABLE
// take it.
func ColumnDef(c *catalog.Column) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", Ident(c.Name), c.Type.SQL)
	if c.Type.Charset != "" {
		fmt.Fprintf(&b, " CHARACTER SET %s", c.Type.Charset)
	}
	if c.Collation != "" {
		fmt.Fprintf(&b, " COLLATE %s", c.Collation)
	}
	if c.Generated != nil {
		kind := "STORED"
		if c.Virtual {
			kind = "VIRTUAL"
		}
		fmt.Fprintf(&b, " GENERATED ALWAYS AS (%s) %s", c.Generated.SQL, kind)
	}
	if c.NotNull {
		b.WriteString(" NOT NULL")
	} else if c.Generated == nil {
		b.WriteString(" NULL")
	}
	if c.Default != nil {
		fmt.Fprintf(&b, " DEFAULT %s", c.Default.SQL)
	}
	if c.OnUpdate != "" {
		fmt.Fprintf(&b, " ON UPDATE %s", c.OnUpdate)
	}
	if c.AutoIncrement {
		b.WriteString(" AUTO_INCREMENT")
	}
	if c.Comment != "" {
		fmt.Fprintf(&b, " COMMENT %s", Literal(c.Comment))
	}
	return b.String()
}

// Position renders where a column goes: after the column before it in t,
// or FIRST.
func Position(t *catalog.Table, column string) string {
	i := slices.IndexFunc(t.Columns, func(c *catalog.Column) bool { return c.Name == column })
	switch {
	case i == 0:
		return " FIRST"
	case i > 0:
		return " AFTER " + Ident(t.Columns[i-1].Name)
	}
	return ""
}

// IndexElems renders an index's elements.
func IndexElems(d ir.IndexDef) string {
	if len(d.Elems) > 0 {
		return strings.Join(d.Elems, ", ")
	}
	return Idents(d.Columns)
}

// IndexClause renders an index as ALTER TABLE's ADD and CREATE TABLE's
// body take it (without ADD).
func IndexClause(d ir.IndexDef) string {
	kind := "INDEX"
	switch {
	case d.Method == "fulltext":
		kind = "FULLTEXT INDEX"
	case d.Method == "spatial":
		kind = "SPATIAL INDEX"
	case d.Unique:
		kind = "UNIQUE INDEX"
	}
	return fmt.Sprintf("%s %s (%s)", kind, Ident(d.Name), IndexElems(d))
}

// ConstraintClause renders a key or constraint as ALTER TABLE's ADD and
// CREATE TABLE's body take it (without ADD).
func ConstraintClause(k ir.Constraint) string {
	switch k.Kind {
	case ir.PrimaryKey:
		return fmt.Sprintf("PRIMARY KEY (%s)", Idents(k.Columns))
	case ir.Unique:
		return fmt.Sprintf("UNIQUE KEY %s (%s)", Ident(k.Name), Idents(k.Columns))
	case ir.Check:
		return fmt.Sprintf("CONSTRAINT %s CHECK (%s)", Ident(k.Name), k.Expr)
	case ir.ForeignKey:
		s := fmt.Sprintf("CONSTRAINT %s FOREIGN KEY (%s) REFERENCES %s (%s)", Ident(k.Name), Idents(k.Columns), Name(k.RefTable), Idents(k.RefColumns))
		if k.OnDelete != "" {
			s += " ON DELETE " + k.OnDelete
		}
		if k.OnUpdate != "" {
			s += " ON UPDATE " + k.OnUpdate
		}
		return s
	}
	return ""
}

// CreateTable renders the CREATE TABLE that rebuilds t: its columns in
// order, keys, indexes and constraints. It reports false when the catalog
// does not know the table fully.
func CreateTable(c *catalog.Catalog, t *catalog.Table) (string, bool) {
	if t.Unknown || len(t.Columns) == 0 {
		return "", false
	}
	var lines []string
	for _, col := range t.Columns {
		lines = append(lines, "  "+ColumnDef(col))
	}
	for _, k := range t.Constraints {
		lines = append(lines, "  "+ConstraintClause(k.Constraint))
	}
	for _, i := range c.IndexesOn(t.Name) {
		if i.Constraint == "" && !implicitForeignKeyIndex(t, i) {
			lines = append(lines, "  "+IndexClause(i.Def))
		}
	}
	return fmt.Sprintf("CREATE TABLE %s (\n%s\n);", Name(t.Name), strings.Join(lines, ",\n")), true
}

// implicitForeignKeyIndex reports whether InnoDB made the index for one of
// t's foreign keys, so that CREATE TABLE makes it again by itself.
func implicitForeignKeyIndex(t *catalog.Table, i *catalog.Index) bool {
	k := t.Constraint(i.Def.Name)
	return k != nil && k.Kind == ir.ForeignKey && slices.Equal(k.Columns, i.Def.Columns)
}

// ZeroValue is a neutral value of a type, for a default that lets writes
// omit a column; false when fluxlint knows none.
func ZeroValue(t ir.Type) (string, bool) {
	switch t.Name {
	case "tinyint", "smallint", "mediumint", "int", "integer", "bigint", "decimal", "numeric", "float", "double", "bit", "year":
		return "0", true
	case "char", "varchar", "binary", "varbinary":
		return "''", true
	case "date":
		return "'1970-01-01'", true
	case "datetime", "timestamp":
		return "'1970-01-01 00:00:01'", true
	case "time":
		return "'00:00:00'", true
	case "enum":
		if len(t.Values) > 0 {
			return Literal(t.Values[0]), true
		}
	}
	return "", false // TEXT, BLOB and JSON take no literal default before MySQL 8.0.13
}

// Batching is how generated backfills walk a table: rows per batch, each
// committed on its own, and the pause between batches.
type Batching struct {
	Size  int
	Pause time.Duration
}

// BatchedUpdate renders a procedure that runs `UPDATE table SET set` over
// the table in batches of b.Size rows walked in the order of pk, the
// primary key or its leading column (a batch then holds every row of the
// leading values it covers), committing after each batch and pausing
// between them, then calls
// and drops it. filter (may be "") limits the rows updated. The server
// parses the procedure body whole when the file is sent as one
// multi-statement query; MigrationFile wraps it for tools that split files
// themselves.
func BatchedUpdate(b Batching, table ir.QName, pk *catalog.Column, set, filter, procName string) string {
	if filter != "" {
		filter = " AND " + filter
	}
	return batched(b, table, pk, procName, fmt.Sprintf("UPDATE %s SET %s WHERE %s BETWEEN lo AND hi%s;", Name(table), set, Ident(pk.Name), filter))
}

// BatchedDelete renders the same procedure deleting every row.
func BatchedDelete(b Batching, table ir.QName, pk *catalog.Column, procName string) string {
	return batched(b, table, pk, procName, fmt.Sprintf("DELETE FROM %s WHERE %s BETWEEN lo AND hi;", Name(table), Ident(pk.Name)))
}

// batched renders the batch loop around one statement over the key range
// [lo, hi].
func batched(b Batching, table ir.QName, pk *catalog.Column, procName, stmt string) string {
	t, k, proc := Name(table), Ident(pk.Name), Ident(procName)
	return fmt.Sprintf(`CREATE PROCEDURE %[1]s()
BEGIN
  DECLARE lo %[2]s;
  DECLARE hi %[2]s;
  SELECT MIN(%[3]s) INTO lo FROM %[4]s;
  WHILE lo IS NOT NULL DO
    SELECT MAX(%[3]s) INTO hi FROM (SELECT %[3]s FROM %[4]s WHERE %[3]s >= lo ORDER BY %[3]s LIMIT %[5]d) AS batch;
    %[6]s
    COMMIT;
    DO SLEEP(%[7]s);
    SELECT MIN(%[3]s) INTO lo FROM %[4]s WHERE %[3]s > hi;
  END WHILE;
END;
CALL %[1]s();
DROP PROCEDURE IF EXISTS %[1]s;`, proc, pk.Type.SQL, k, t, b.Size, stmt, strconv.FormatFloat(b.Pause.Seconds(), 'f', -1, 64))
}

// MigrationFile renders SQL holding a compound statement (a procedure with
// BEGIN ... END) as a complete migration file for goose, which splits files
// on semicolons unless told a statement spans them. It returns "" for the
// other tools: they send the file to the server whole (golang-migrate,
// dbmate, Prisma), or read BEGIN ... END blocks themselves (Flyway).
func MigrationFile(tool migrations.Tool, forward, rollback string) string {
	if tool != migrations.Goose || !strings.Contains(forward+rollback, "\nBEGIN\n") {
		return ""
	}
	block := func(sql string) string {
		return "-- +goose StatementBegin\n" + sql + "\n-- +goose StatementEnd"
	}
	out := "-- +goose Up\n" + block(forward) + "\n"
	if rollback != "" {
		out += "\n-- +goose Down\n" + block(rollback) + "\n"
	}
	return out
}
