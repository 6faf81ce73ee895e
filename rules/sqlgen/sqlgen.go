// Package sqlgen builds the SQL that plans contain. Every identifier goes
// through Ident, so names like "Order Items" or select come out right.
package sqlgen

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fluxlint/fluxlint/analyzers/catalog"
	"github.com/fluxlint/fluxlint/analyzers/ir"
	"github.com/fluxlint/fluxlint/analyzers/migrations"
	"github.com/fluxlint/fluxlint/analyzers/pg"
	"github.com/fluxlint/fluxlint/analyzers/split"
)

// SetLockTimeout is the statement that makes a strong lock fail fast: if
// the lock is not granted quickly (a long transaction holds a conflicting
// one), the statement fails instead of queueing every other query on the
// table behind it.
func SetLockTimeout(d time.Duration) string {
	return fmt.Sprintf("SET lock_timeout = '%dms';", d.Milliseconds())
}

// LockRetry is how a plan step takes a strong lock: each attempt waits at
// most Timeout for it (writers queue behind the waiting step for no longer
// than that), and up to Retries more attempts follow a lock timeout, after
// pauses that start at RetryPause and double up to MaxRetryPause, each
// scaled by a random 0.5-1.5 (jitter, so that several migrations do not
// retry in step).
type LockRetry struct {
	Timeout time.Duration
	Retries int
}

// The retry pauses.
const (
	RetryPause    = 100 * time.Millisecond
	MaxRetryPause = 5 * time.Second
)

// WithLockRetry wraps sql, statements that take a strong lock, so that
// they run as LockRetry says: in a DO block whose exception handler is a
// subtransaction, so a timed-out attempt releases every lock it took before
// the pause. The block never pauses when its transaction has already
// written (txid assigned): the locks of those earlier statements would be
// held through the pause; it fails at once, as a plain lock_timeout would.
// SQL that cannot run inside a PL/pgSQL block (CONCURRENTLY, a SELECT), or
// no retries, gets the plain SET lock_timeout before it.
func WithLockRetry(r LockRetry, sql string) string {
	if r.Retries <= 0 || !runsInBlock(sql) {
		return SetLockTimeout(r.Timeout) + "\n" + sql
	}
	tag := "$retry$"
	for strings.Contains(sql, tag) {
		tag = "$retry_" + tag[1:]
	}
	ms, last := r.Timeout.Milliseconds(), r.Retries+1
	var b strings.Builder
	fmt.Fprintf(&b, "-- lock_timeout %dms, up to %d retries after pauses of %s s doubling to %s s, jittered\n",
		ms, r.Retries, seconds(RetryPause), seconds(MaxRetryPause))
	fmt.Fprintf(&b, "DO %s DECLARE fluxlint_wrote boolean := txid_current_if_assigned() IS NOT NULL; BEGIN\n", tag)
	fmt.Fprintf(&b, "FOR fluxlint_attempt IN 1..%d LOOP BEGIN\n", last)
	fmt.Fprintf(&b, "  SET LOCAL lock_timeout = '%dms';\n", ms)
	for _, line := range strings.Split(strings.TrimRight(sql, "\n"), "\n") {
		b.WriteString("  " + line + "\n")
	}
	b.WriteString("  RETURN;\n")
	b.WriteString("EXCEPTION WHEN lock_not_available THEN\n")
	fmt.Fprintf(&b, "  IF fluxlint_attempt = %d OR fluxlint_wrote THEN RAISE; END IF;\n", last)
	fmt.Fprintf(&b, "  RAISE NOTICE 'lock not granted within %dms: retry %% of %d', fluxlint_attempt;\n", ms, r.Retries)
	fmt.Fprintf(&b, "  PERFORM pg_sleep(least(%s * 2 ^ (fluxlint_attempt - 1), %s) * (0.5 + random()));\n", seconds(RetryPause), seconds(MaxRetryPause))
	fmt.Fprintf(&b, "END; END LOOP; END %s;", tag)
	return b.String()
}

// outsideBlock are the statements, by their first keywords, that cannot
// run as they are inside a PL/pgSQL block: transaction control, what
// refuses a transaction block, and what returns rows.
var outsideBlock = map[string]bool{
	"select": true, "with": true, "values": true, "table": true, "explain": true, "copy": true, "show": true,
	"begin": true, "start": true, "commit": true, "end": true, "rollback": true, "abort": true,
	"savepoint": true, "release": true, "prepare": true, "vacuum": true, "call": true, "checkpoint": true,
	"discard": true, "cluster": true, "execute": true,
	"create database": true, "drop database": true, "alter database": true, "alter system": true,
	"create tablespace": true, "drop tablespace": true,
}

// runsInBlock is pg.RunsInBlock made cheap for the SQL plans build, which
// is many small statements: the statements' first keywords decide, and
// the parser only when a word that can make a statement refuse a block
// appears further on (CONCURRENTLY, RETURNING).
func runsInBlock(sql string) bool {
	res := split.Split([]byte(sql), ir.Postgres)
	if len(res.Segments) == 0 {
		return false
	}
	for _, seg := range res.Segments {
		if seg.Client != "" || seg.Err != "" {
			return false
		}
		words := strings.Fields(seg.Lead)
		if len(words) == 0 || outsideBlock[words[0]] || len(words) > 1 && outsideBlock[words[0]+" "+words[1]] ||
			slices.Contains(words, "concurrently") {
			return false
		}
	}
	if lower := strings.ToLower(sql); strings.Contains(lower, "concurrently") || strings.Contains(lower, "returning") {
		return pg.RunsInBlock(sql)
	}
	return true
}

// ExpandRetry turns SQL that starts with SetLockTimeout's statement into
// WithLockRetry's block with that timeout and the retries given: plans keep
// the short form, and take this form where their SQL is written out.
// Other SQL, or no retries, is returned as it is.
func ExpandRetry(sql string, retries int) string {
	first, rest, ok := strings.Cut(sql, "\n")
	if retries <= 0 || !ok || rest == "" {
		return sql
	}
	ms, ok := strings.CutPrefix(first, "SET lock_timeout = '")
	if !ok {
		return sql
	}
	ms, ok = strings.CutSuffix(ms, "ms';")
	n, err := strconv.Atoi(ms)
	if !ok || err != nil || n <= 0 {
		return sql
	}
	// SQL joined from several such pieces repeats the statement: the
	// block's SET LOCAL covers them all.
	var body []string
	for _, line := range strings.Split(rest, "\n") {
		if line != first {
			body = append(body, line)
		}
	}
	return WithLockRetry(LockRetry{Timeout: time.Duration(n) * time.Millisecond, Retries: retries}, strings.Join(body, "\n"))
}

func seconds(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) }

// Batching is how generated backfills and deletes walk a table: rows per
// batch, each committed on its own, and the pause between batches.
type Batching struct {
	Size  int
	Pause time.Duration
}

// sleep renders the pause between batches.
func (b Batching) sleep() string {
	return fmt.Sprintf("PERFORM pg_sleep(%s);", strconv.FormatFloat(b.Pause.Seconds(), 'f', -1, 64))
}

// Ident quotes a PostgreSQL identifier the way quote_ident does: only when
// it is not a plain lower-case name or is a keyword.
func Ident(s string) string { return pg.QuoteIdent(s) }

// Name renders a possibly qualified name.
func Name(q ir.QName) string {
	if q.Schema == "" {
		return Ident(q.Name)
	}
	return Ident(q.Schema) + "." + Ident(q.Name)
}

// Sibling names an object that lives in the same schema as the table t, as
// indexes do.
func Sibling(t ir.QName, name string) ir.QName { return ir.QName{Schema: t.Schema, Name: name} }

// Literal quotes a string literal.
func Literal(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// Idents quotes and joins names.
func Idents(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = Ident(n)
	}
	return strings.Join(q, ", ")
}

// CreateIndex renders an index definition.
func CreateIndex(d ir.IndexDef, concurrently bool) string {
	var b strings.Builder
	b.WriteString("CREATE ")
	if d.Unique {
		b.WriteString("UNIQUE ")
	}
	b.WriteString("INDEX ")
	if concurrently {
		b.WriteString("CONCURRENTLY ")
	}
	fmt.Fprintf(&b, "IF NOT EXISTS %s ON %s", Ident(d.Name), Name(d.Table))
	if d.Method != "" && d.Method != "btree" {
		fmt.Fprintf(&b, " USING %s", d.Method)
	}
	elems := strings.Join(d.Elems, ", ")
	if len(d.Elems) == 0 {
		elems = Idents(d.Columns)
	}
	fmt.Fprintf(&b, " (%s)", elems)
	if len(d.Include) > 0 {
		fmt.Fprintf(&b, " INCLUDE (%s)", Idents(d.Include))
	}
	if d.Where != "" {
		fmt.Fprintf(&b, " WHERE %s", d.Where)
	}
	return b.String() + ";"
}

// IndexOtherPartitions renders a DO block that builds def on every partition
// of def.Table that has no index attached to parent (def's partitioned index)
// yet, and attaches it: the partitions a plan cannot name because the
// migrations do not create them. A DO block cannot build CONCURRENTLY, so
// each takes SHARE on its partition while it builds; with no such partition
// it does nothing. A partition's index is named after it, ending in suffix.
func IndexOtherPartitions(def ir.IndexDef, parent ir.QName, suffix string) string {
	const table, index = "fluxlint_partition", "fluxlint_partition_index"
	d := def
	d.Table, d.Name = ir.QName{Name: table}, index
	create := strings.ReplaceAll(CreateIndex(d, false), "%", "%%")
	create = strings.Replace(create, index+" ON "+table, "%I ON %s", 1)
	attach := "ALTER INDEX " + strings.ReplaceAll(Name(parent), "%", "%%") + " ATTACH PARTITION %I.%I;"
	return fmt.Sprintf(`DO $fluxlint$
DECLARE
  part record;
BEGIN
  FOR part IN
    SELECT c.oid::regclass AS rel, n.nspname AS schema, left(c.relname, %[1]d) || %[2]s AS index
    FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE i.inhparent = %[3]s::regclass
      AND NOT EXISTS (SELECT 1 FROM pg_inherits a JOIN pg_index x ON x.indexrelid = a.inhrelid
                      WHERE a.inhparent = %[4]s::regclass AND x.indrelid = c.oid)
  LOOP
    EXECUTE format(%[5]s, part.index, part.rel);
    EXECUTE format(%[6]s, part.schema, part.index);
  END LOOP;
END
$fluxlint$;`, 63-len(suffix), Literal(suffix), Literal(Name(def.Table)), Literal(Name(parent)), Literal(create), Literal(attach))
}

// IfRelation renders a DO block that runs sql only where rel exists as a
// relation of kind relkind (pg_class.relkind: "r" a table, "v" a view), for
// plans of statements written with IF EXISTS.
func IfRelation(rel ir.QName, relkind, sql string) string {
	return fmt.Sprintf(`DO $fluxlint$
BEGIN
  IF (SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)) = %s THEN
    %s
  END IF;
END
$fluxlint$;`, Literal(Name(rel)), Literal(relkind), strings.ReplaceAll(sql, "\n", "\n    "))
}

// DropIndex renders DROP INDEX [CONCURRENTLY] IF EXISTS.
func DropIndex(index ir.QName, concurrently bool) string {
	c := ""
	if concurrently {
		c = "CONCURRENTLY "
	}
	return fmt.Sprintf("DROP INDEX %sIF EXISTS %s;", c, Name(index))
}

// IndexValid is a checkpoint query: true once the index is built and valid.
func IndexValid(index ir.QName) string {
	return fmt.Sprintf("SELECT indisvalid AS index_is_valid FROM pg_index WHERE indexrelid = %s::regclass;", Literal(Name(index)))
}

// ColumnDef renders a column definition for ADD COLUMN or CREATE TABLE.
func ColumnDef(c *catalog.Column, withNotNull bool) string {
	var b strings.Builder
	if c.Serial != "" {
		// serial creates and owns its sequence, as it did originally.
		fmt.Fprintf(&b, "%s %s", Ident(c.Name), c.Serial)
		if withNotNull {
			b.WriteString(" NOT NULL")
		}
		return b.String()
	}
	fmt.Fprintf(&b, "%s %s", Ident(c.Name), c.Type.SQL)
	if c.Collation != "" {
		fmt.Fprintf(&b, " COLLATE %s", Ident(c.Collation))
	}
	switch {
	case c.Generated != nil:
		fmt.Fprintf(&b, " GENERATED ALWAYS AS (%s) STORED", c.Generated.SQL)
	case c.Identity != "":
		fmt.Fprintf(&b, " GENERATED %s AS IDENTITY", strings.ToUpper(c.Identity))
	case c.Default != nil:
		fmt.Fprintf(&b, " DEFAULT %s", c.Default.SQL)
	}
	if withNotNull && c.NotNull {
		b.WriteString(" NOT NULL")
	}
	return b.String()
}

// ZeroValue is a neutral value of a type for backfilling existing rows, or
// false when fluxlint knows none. enum, when the type is one, gives its labels.
func ZeroValue(t ir.Type, enum *catalog.Enum) (string, bool) {
	if t.Array {
		return "'{}'", true
	}
	switch t.Name {
	case "int2", "int4", "int8", "numeric", "float4", "float8", "money", "oid":
		return "0", true
	case "bool":
		return "false", true
	case "text", "varchar", "bpchar", "citext", "name":
		return "''", true
	case "bytea":
		return "''::bytea", true
	case "json", "jsonb":
		return "'{}'::" + t.Name, true
	case "uuid":
		return "'00000000-0000-0000-0000-000000000000'::uuid", true
	case "timestamptz", "timestamp", "date", "time", "timetz":
		return "'epoch'::" + t.SQL, true
	case "interval":
		return "'0'::interval", true
	case "inet", "cidr":
		return "'0.0.0.0'::" + t.Name, true
	}
	if enum != nil && len(enum.Values) > 0 {
		return Literal(enum.Values[0]) + "::" + t.SQL, true
	}
	return "", false
}

// BatchedUpdate renders a DO block that runs `UPDATE table SET set` in
// batches of b.Size rows walked in primary-key order, committing after
// each batch and pausing between batches so replicas and autovacuum keep up.
// filter (may be "") limits the rows updated. Without a known primary key it
// batches by ctid, which is correct only when the update makes filter false.
// The block commits, so it must run outside a transaction block.
func BatchedUpdate(b Batching, table ir.QName, pk []*catalog.Column, set, filter string) string {
	t := Name(table)
	and := ""
	if filter != "" {
		and = " AND " + filter
	}
	if len(pk) == 0 {
		return fmt.Sprintf(`DO $fluxlint$
DECLARE
  updated bigint;
BEGIN
  LOOP
    UPDATE %[1]s SET %[2]s
    WHERE ctid = ANY (ARRAY(SELECT ctid FROM %[1]s WHERE %[3]s LIMIT %[4]d));
    GET DIAGNOSTICS updated = ROW_COUNT;
    COMMIT;
    EXIT WHEN updated = 0;
    %[5]s
  END LOOP;
END
$fluxlint$;`, t, set, filter, b.Size, b.sleep())
	}
	cols := make([]string, len(pk))
	lo := make([]string, len(pk))
	hi := make([]string, len(pk))
	var decl strings.Builder
	for i, c := range pk {
		cols[i] = Ident(c.Name)
		lo[i] = fmt.Sprintf("lo%d", i+1)
		hi[i] = fmt.Sprintf("hi%d", i+1)
		fmt.Fprintf(&decl, "  %s %s;\n  %s %s;\n", lo[i], c.Type.SQL, hi[i], c.Type.SQL)
	}
	key := "(" + strings.Join(cols, ", ") + ")"
	keyList := strings.Join(cols, ", ")
	loRow := "(" + strings.Join(lo, ", ") + ")"
	hiRow := "(" + strings.Join(hi, ", ") + ")"
	return fmt.Sprintf(`DO $fluxlint$
DECLARE
%[1]sBEGIN
  SELECT %[2]s INTO %[3]s FROM %[4]s ORDER BY %[2]s LIMIT 1;
  WHILE FOUND LOOP
    SELECT %[2]s INTO %[5]s FROM %[4]s WHERE %[6]s >= %[7]s ORDER BY %[2]s OFFSET %[8]d LIMIT 1;
    IF NOT FOUND THEN
      UPDATE %[4]s SET %[9]s WHERE %[6]s >= %[7]s%[10]s;
      COMMIT;
      EXIT;
    END IF;
    UPDATE %[4]s SET %[9]s WHERE %[6]s >= %[7]s AND %[6]s <= %[11]s%[10]s;
    COMMIT;
    RAISE NOTICE 'fluxlint backfill: done up to %%', %[11]s;
    %[12]s
    SELECT %[2]s INTO %[3]s FROM %[4]s WHERE %[6]s > %[11]s ORDER BY %[2]s LIMIT 1;
  END LOOP;
END
$fluxlint$;`, decl.String(), keyList, strings.Join(lo, ", "), t, strings.Join(hi, ", "), key, loRow,
		b.Size-1, set, and, hiRow, b.sleep())
}

// MigrationFile renders statements as a complete migration file in a tool's
// convention, running outside a transaction when noTx is set. It returns ""
// with a reason when the tool cannot run a file outside a transaction.
func MigrationFile(tool migrations.Tool, forward, rollback string, noTx bool) (string, string) {
	block := func(sql string) string {
		// goose splits on semicolons unless told a statement spans lines.
		if strings.Contains(sql, "$fluxlint$") {
			return "-- +goose StatementBegin\n" + sql + "\n-- +goose StatementEnd"
		}
		return sql
	}
	switch tool {
	case migrations.Goose:
		var b strings.Builder
		if noTx {
			b.WriteString("-- +goose NO TRANSACTION\n")
		}
		fmt.Fprintf(&b, "-- +goose Up\n%s\n", block(forward))
		if rollback != "" {
			fmt.Fprintf(&b, "\n-- +goose Down\n%s\n", block(rollback))
		}
		return b.String(), ""
	case migrations.Dbmate:
		opt := ""
		if noTx {
			opt = " transaction:false"
		}
		out := fmt.Sprintf("-- migrate:up%s\n%s\n", opt, forward)
		if rollback != "" {
			out += fmt.Sprintf("\n-- migrate:down%s\n%s\n", opt, rollback)
		}
		return out, ""
	case migrations.Diesel:
		head := ""
		if noTx {
			head = "-- up.sql; beside it, metadata.toml holds: run_in_transaction = false\n"
		}
		return head + forward + "\n", ""
	case migrations.Flyway:
		head := ""
		if noTx {
			head = "-- beside this script, its .conf file holds: executeInTransaction=false\n"
		}
		return head + forward + "\n", ""
	case migrations.Drizzle:
		if noTx {
			return "", "drizzle-kit runs every migration inside one transaction and has no per-file opt-out: run this step outside drizzle (psql or a one-off job), then record it"
		}
		return forward + "\n", ""
	default:
		// plain, golang-migrate and Prisma send the file as one query: alone
		// in its file, a statement runs outside any transaction.
		return forward + "\n", ""
	}
}

// ConstraintBody renders a constraint's definition after its name, e.g.
// `FOREIGN KEY (a) REFERENCES p (id) ON DELETE CASCADE`; "" for kinds it
// cannot render (EXCLUDE).
func ConstraintBody(k ir.Constraint) string {
	var body string
	switch k.Kind {
	case ir.Check:
		body = fmt.Sprintf("CHECK (%s)", k.Expr)
	case ir.Unique:
		body = fmt.Sprintf("UNIQUE (%s)", Idents(k.Columns))
	case ir.PrimaryKey:
		body = fmt.Sprintf("PRIMARY KEY (%s)", Idents(k.Columns))
	case ir.ForeignKey:
		body = fmt.Sprintf("FOREIGN KEY (%s) REFERENCES %s", Idents(k.Columns), Name(k.RefTable))
		if len(k.RefColumns) > 0 {
			body += fmt.Sprintf(" (%s)", Idents(k.RefColumns))
		}
		if k.OnUpdate != "" {
			body += " ON UPDATE " + k.OnUpdate
		}
		if k.OnDelete != "" {
			body += " ON DELETE " + k.OnDelete
		}
	default:
		return ""
	}
	if k.Deferrable != "" {
		body += " " + k.Deferrable
	}
	return body
}

// AddConstraint renders ALTER TABLE ... ADD CONSTRAINT, NOT VALID when asked
// (CHECK and FOREIGN KEY only); "" when the kind cannot be rendered.
func AddConstraint(table ir.QName, k ir.Constraint, notValid bool) string {
	body := ConstraintBody(k)
	if body == "" {
		return ""
	}
	if notValid {
		body += " NOT VALID"
	}
	return fmt.Sprintf("ALTER TABLE %s ADD CONSTRAINT %s %s;", Name(table), Ident(k.Name), body)
}

// Bound renders a partition's FOR VALUES clause (or DEFAULT).
func Bound(b ir.PartitionBound) string {
	switch {
	case b.Default:
		return "DEFAULT"
	case len(b.In) > 0:
		return fmt.Sprintf("FOR VALUES IN (%s)", strings.Join(b.In, ", "))
	case len(b.From) > 0:
		return fmt.Sprintf("FOR VALUES FROM (%s) TO (%s)", strings.Join(b.From, ", "), strings.Join(b.To, ", "))
	}
	return fmt.Sprintf("FOR VALUES WITH (MODULUS %d, REMAINDER %d)", b.Modulus, b.Remainder)
}

// DropConstraint renders ALTER TABLE ... DROP CONSTRAINT IF EXISTS.
func DropConstraint(table ir.QName, name string) string {
	return fmt.Sprintf("ALTER TABLE %s DROP CONSTRAINT IF EXISTS %s;", Name(table), Ident(name))
}

// CreateTable renders SQL that recreates a table from the catalog: columns,
// constraints (those not validated are added NOT VALID afterwards), and its
// other indexes. It returns false for what it cannot recreate faithfully:
// views, and tables the replayed history only partly knows.
func CreateTable(c *catalog.Catalog, t *catalog.Table) (string, bool) {
	if t.Unknown || t.Kind != ir.KindTable || t.PartitionBy != nil && len(t.PartitionBy.Columns) == 0 {
		return "", false // a partition key of expressions is not kept
	}
	var defs, after []string
	for _, col := range t.Columns {
		defs = append(defs, "  "+ColumnDef(col, true))
	}
	for _, k := range t.Constraints {
		body := ConstraintBody(k.Constraint)
		switch {
		case body == "":
			return "", false // EXCLUDE: not rendered
		case !k.Validated || k.Kind == ir.ForeignKey:
			// Foreign keys go after, so that tables can be recreated in any order.
			after = append(after, AddConstraint(t.Name, k.Constraint, !k.Validated))
		default:
			defs = append(defs, fmt.Sprintf("  CONSTRAINT %s %s", Ident(k.Name), body))
		}
	}
	var sqls []string
	for _, col := range t.Columns {
		// A serial column renamed away from its sequence's name: the
		// sequence comes back under its real name, owned by the column.
		if col.OwnedSeq != "" && col.Serial == "" {
			seq := Name(Sibling(t.Name, col.OwnedSeq))
			sqls = append(sqls, fmt.Sprintf("CREATE SEQUENCE IF NOT EXISTS %s AS %s;", seq, col.Type.SQL))
			after = append(after, fmt.Sprintf("ALTER SEQUENCE %s OWNED BY %s.%s;", seq, Name(t.Name), Ident(col.Name)))
		}
	}
	create := fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s (\n%s\n)", Name(t.Name), strings.Join(defs, ",\n"))
	if t.Parent != nil && t.Bound != nil {
		// A partition takes its columns from its parent.
		create = fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s PARTITION OF %s %s", Name(t.Name), Name(*t.Parent), Bound(*t.Bound))
		if len(defs) > len(t.Columns) {
			create += fmt.Sprintf(" (\n%s\n)", strings.Join(defs[len(t.Columns):], ",\n"))
		}
	}
	if k := t.PartitionBy; k != nil {
		create += fmt.Sprintf(" PARTITION BY %s (%s)", strings.ToUpper(k.Strategy), Idents(k.Columns))
	}
	sqls = append(sqls, create+";")
	sqls = append(sqls, after...)
	for _, i := range c.IndexesOn(t.Name) {
		if i.Constraint == "" {
			sqls = append(sqls, CreateIndex(i.Def, false))
		}
	}
	return strings.Join(sqls, "\n"), true
}

// BatchedDelete renders a DO block that deletes the rows of a table in
// batches of b.Size, committing after each and pausing between them. It
// must run outside a transaction block.
func BatchedDelete(b Batching, table ir.QName) string {
	t := Name(table)
	return fmt.Sprintf(`DO $fluxlint$
DECLARE
  deleted bigint;
BEGIN
  LOOP
    DELETE FROM %[1]s WHERE ctid = ANY (ARRAY(SELECT ctid FROM %[1]s LIMIT %[2]d));
    GET DIAGNOSTICS deleted = ROW_COUNT;
    COMMIT;
    EXIT WHEN deleted = 0;
    %[3]s
  END LOOP;
END
$fluxlint$;`, t, b.Size, b.sleep())
}
