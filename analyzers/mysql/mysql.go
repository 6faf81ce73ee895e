// Package mysql is the MySQL and MariaDB front end, and the only importer of
// vitess's sqlparser: it parses one statement and says what it does as
// engine-neutral ops.
package mysql

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"vitess.io/vitess/go/vt/sqlparser"

	"github.com/fluxlint/fluxlint/analyzers/ir"
)

// parser accepts MySQL 8.0's grammar, which MariaDB's migrations mostly
// share; MariaDB-only syntax that changes nothing fluxlint models is masked
// before parsing (see maskMariaDB).
var parser = func() *sqlparser.Parser {
	p, err := sqlparser.New(sqlparser.Options{MySQLServerVersion: "8.0.40"})
	if err != nil {
		panic(err) // a constant version string: cannot fail
	}
	return p
}()

// SyntaxError is a statement vitess's MySQL grammar rejects, at a byte
// offset into the statement.
type SyntaxError struct {
	Offset int
	Msg    string
}

func (e *SyntaxError) Error() string { return e.Msg }

// Parse parses one statement. A statement the grammar rejects gives a
// *SyntaxError, together with what can still be said of it from its
// leading keywords: a CREATE TABLE still creates its table (of unknown
// columns), an ALTER TABLE leaves its table unknown, and routine
// definitions (procedures, functions, triggers, events) are not checked at
// all, so they return no error.
func Parse(sql string) (out []ir.Op, err error) {
	defer func() {
		// The front end walks trees of untrusted shape; a bug here must
		// become an error on the statement, never a crash of the run.
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("internal error analysing statement: %v", r)
		}
	}()
	masked, nocopy, conditional := maskMariaDB(sql)
	st, err := parser.ParseStrictDDL(masked)
	if err == nil {
		if _, ok := st.(*sqlparser.OtherAdmin); ok {
			if ops, ok := optimize(sql); ok {
				return ops, nil
			}
		}
		out = ops(st)
		if at, ok := out[0].(ir.AlterTable); ok && len(out) == 1 {
			if nocopy {
				at.Algorithm = "NOCOPY"
			}
			if conditional {
				at.Cmds = conditionalAdds(at.Cmds)
			}
			out[0] = at
		}
		return out, nil
	}
	return fallback(sql, err)
}

// maskMariaDB blanks MariaDB's IF [NOT] EXISTS on columns, indexes and
// constraints inside ALTER TABLE (and CREATE INDEX), which vitess does not
// know; conditional says an IF NOT EXISTS was blanked, so that the adds are
// marked so again. CREATE TABLE IF NOT EXISTS, which vitess reads, stays.
// MariaDB's ALGORITHM=NOCOPY becomes COPY for vitess, and nocopy says so.
// Offsets stay as they were.
func maskMariaDB(sql string) (masked string, nocopy, conditional bool) {
	toks := tokens(sql, -1)
	if len(toks) < 2 || toks[0].typ != sqlparser.ALTER && toks[0].typ != sqlparser.CREATE ||
		toks[0].typ == sqlparser.CREATE && (toks[1].typ == sqlparser.TABLE || toks[1].typ == sqlparser.TEMPORARY) {
		return sql, false, false
	}
	out := []byte(sql)
	for i := 2; i < len(toks); i++ {
		t := toks[i]
		if t.typ == sqlparser.ALGORITHM {
			j := i + 1
			if j < len(toks) && toks[j].typ == '=' {
				j++
			}
			if j < len(toks) && strings.EqualFold(toks[j].val, "NOCOPY") {
				copy(out[toks[j].start:toks[j].end], "COPY  ")
				nocopy = true
			}
			continue
		}
		if t.typ != sqlparser.IF || i+1 >= len(toks) {
			continue
		}
		end := i + 1
		if toks[end].typ == sqlparser.NOT && end+1 < len(toks) {
			end++
		}
		if toks[end].typ != sqlparser.EXISTS {
			continue
		}
		conditional = conditional || end == i+2
		for j := t.start; j < toks[end].end; j++ {
			out[j] = ' '
		}
	}
	return string(out), nocopy, conditional
}

// conditionalAdds marks every ADD COLUMN and ADD INDEX of cmds IF NOT EXISTS, for a
// statement where one said so (which one is lost with the mask): none is
// then taken for an add that fails.
func conditionalAdds(cmds []ir.AlterCmd) []ir.AlterCmd {
	out := slices.Clone(cmds)
	for i, c := range out {
		switch add := c.(type) {
		case ir.AddColumn:
			add.IfNotExists = true
			out[i] = add
		case ir.AddIndex:
			add.IfNotExists = true
			out[i] = add
		}
	}
	return out
}

// createTrigger reads the name and table of CREATE [DEFINER = ...]
// TRIGGER [IF NOT EXISTS] name {BEFORE | AFTER} event ON table, whose body
// vitess does not parse.
func createTrigger(sql string) (ir.CreateTrigger, bool) {
	toks := tokens(sql, 64)
	for i, t := range toks {
		if !strings.EqualFold(t.val, "trigger") {
			continue
		}
		for j := i + 1; j+1 < len(toks); j++ {
			if !strings.EqualFold(toks[j].val, "on") {
				continue
			}
			tr := ir.CreateTrigger{Name: toks[j-3].val, Table: ir.QName{Name: toks[j+1].val}}
			if j+3 < len(toks) && toks[j+2].typ == '.' {
				tr.Table = ir.QName{Schema: toks[j+1].val, Name: toks[j+3].val}
			}
			return tr, j-3 > i
		}
		break
	}
	return ir.CreateTrigger{}, false
}

// optimize reads OPTIMIZE [NO_WRITE_TO_BINLOG | LOCAL] TABLE a, b, which
// vitess keeps as an opaque admin statement: on InnoDB each table is
// rebuilt (recreate + analyze), so each becomes an ALTER TABLE ... OPTIMIZE.
func optimize(sql string) ([]ir.Op, bool) {
	toks := tokens(sql, -1)
	if len(toks) < 3 || !strings.EqualFold(toks[0].val, "optimize") {
		return nil, false
	}
	i := 1
	for i < len(toks) && !strings.EqualFold(toks[i].val, "table") && !strings.EqualFold(toks[i].val, "tables") {
		i++
	}
	var out []ir.Op
	for i++; i < len(toks); i++ {
		if toks[i].typ == ',' {
			continue
		}
		q := ir.QName{Name: toks[i].val}
		if i+2 < len(toks) && toks[i+1].typ == '.' {
			q = ir.QName{Schema: toks[i].val, Name: toks[i+2].val}
			i += 2
		}
		out = append(out, ir.AlterTable{Table: q, Cmds: []ir.AlterCmd{ir.OtherAlter{Kind: "OPTIMIZE"}}, Clauses: []string{"force"}})
	}
	return out, len(out) > 0
}

type token struct {
	typ        int
	val        string
	start, end int
}

// tokens lexes sql with vitess's tokenizer (at most n tokens; -1: all).
func tokens(sql string, n int) []token {
	tz := parser.NewStringTokenizer(sql)
	var out []token
	for n < 0 || len(out) < n {
		start := tz.Pos
		typ, val := tz.Scan()
		if typ == 0 || typ == sqlparser.LEX_ERROR {
			break
		}
		// Pos stands after the token; its start is after the blanks that
		// preceded it.
		end := tz.Pos
		for start < end && start < len(sql) && (sql[start] == ' ' || sql[start] == '\t' || sql[start] == '\n' || sql[start] == '\r') {
			start++
		}
		out = append(out, token{typ, val, start, end})
	}
	return out
}

// fallback says what it can of a statement the grammar rejects.
func fallback(sql string, err error) ([]ir.Op, error) {
	se := &SyntaxError{Msg: "MySQL grammar (vitess) rejects it: " + err.Error()}
	var pe sqlparser.PositionedErr
	if errors.As(err, &pe) {
		se.Offset = errorOffset(sql, pe)
	}
	toks := tokens(sql, 12)
	words := make([]string, len(toks))
	for i, t := range toks {
		words[i] = strings.ToLower(t.val)
	}
	at := func(i int, w ...string) bool {
		for j, x := range w {
			if i+j >= len(words) || words[i+j] != x {
				return false
			}
		}
		return true
	}
	// name reads a possibly qualified table name at i.
	name := func(i int) (ir.QName, bool) {
		if i >= len(toks) || toks[i].typ != sqlparser.ID && !isNonReserved(toks[i].val) {
			return ir.QName{}, false
		}
		q := ir.QName{Name: toks[i].val}
		if i+2 < len(toks) && toks[i+1].typ == '.' {
			q = ir.QName{Schema: toks[i].val, Name: toks[i+2].val}
		}
		return q, true
	}
	switch {
	case len(words) == 0:
		return nil, se
	case words[0] == "create" && routineKind(words[1:]) == "trigger":
		if op, ok := createTrigger(sql); ok {
			return []ir.Op{op}, nil
		}
		return []ir.Op{ir.Other{Kind: "create trigger"}}, nil
	case at(0, "drop", "trigger"):
		i, ifExists := 2, at(2, "if", "exists")
		if ifExists {
			i += 2
		}
		if q, ok := name(i); ok {
			return []ir.Op{ir.DropTrigger{Name: q, IfExists: ifExists}}, nil
		}
		return []ir.Op{ir.Other{Kind: "drop trigger"}}, nil
	case words[0] == "create" && routine(words[1:]), words[0] == "drop" && len(words) > 1 && routineWord(words[1]):
		return []ir.Op{ir.Other{Kind: words[0] + " " + routineKind(words[1:])}}, nil
	case at(0, "begin", "not", "atomic"):
		return []ir.Op{ir.Opaque{Kind: "BEGIN NOT ATOMIC block"}}, nil
	case words[0] == "call":
		return []ir.Op{ir.Opaque{Kind: "CALL"}}, nil
	case words[0] == "create":
		i := 1
		if at(i, "or", "replace") {
			i += 2
		}
		if at(i, "temporary") {
			i++
		}
		if at(i, "table") {
			i++
			ifNot := at(i, "if", "not", "exists")
			if ifNot {
				i += 3
			}
			if q, ok := name(i); ok {
				return []ir.Op{ir.CreateTable{Table: q, IfNotExists: ifNot, AsSelect: true}}, se
			}
		}
	case words[0] == "alter":
		i := 1
		for at(i, "online") || at(i, "ignore") {
			i++
		}
		if at(i, "table") {
			if q, ok := name(i + 1); ok {
				return []ir.Op{ir.AlterTable{Table: q, Cmds: []ir.AlterCmd{ir.OtherAlter{Kind: "unparsed"}}}}, se
			}
		}
	}
	return nil, se
}

// errorOffset places vitess's error: its position stands just past the
// token it names, so step back to where that token starts.
func errorOffset(sql string, pe sqlparser.PositionedErr) int {
	pos := min(max(pe.Pos, 0), len(sql))
	if pe.Near != "" {
		if i := strings.LastIndex(sql[:pos], pe.Near); i >= 0 {
			return i
		}
	}
	return max(pos-1, 0)
}

func isNonReserved(w string) bool { return w != "" && !strings.ContainsAny(w, "(),;.") }

func routineWord(w string) bool {
	switch w {
	case "procedure", "function", "trigger", "event":
		return true
	}
	return false
}

// routine reports whether the words after CREATE define a routine,
// possibly after OR REPLACE, DEFINER = user and IF NOT EXISTS.
func routine(words []string) bool { return routineKind(words) != "" }

func routineKind(words []string) string {
	for _, w := range words {
		if routineWord(w) {
			return w
		}
		switch w {
		case "table", "index", "view", "database", "schema", "unique", "sequence":
			return ""
		}
	}
	return ""
}

// ops says what a parsed statement does.
func ops(st sqlparser.Statement) []ir.Op {
	switch s := st.(type) {
	case *sqlparser.CreateTable:
		return []ir.Op{createTable(s)}
	case *sqlparser.AlterTable:
		return []ir.Op{alterTable(s)}
	case *sqlparser.DropTable:
		return []ir.Op{ir.Drop{Kind: ir.KindTable, Names: qnames(s.FromTables), IfExists: s.IfExists}}
	case *sqlparser.DropView:
		return []ir.Op{ir.Drop{Kind: ir.KindView, Names: qnames(s.FromTables), IfExists: s.IfExists}}
	case *sqlparser.RenameTable:
		var out []ir.Op
		for _, p := range s.TablePairs {
			out = append(out, renameTable(qname(p.FromTable), qname(p.ToTable)))
		}
		return out
	case *sqlparser.TruncateTable:
		return []ir.Op{ir.Truncate{Tables: []ir.QName{qname(s.Table)}}}
	case *sqlparser.CreateView:
		return []ir.Op{ir.CreateView{Name: qname(s.ViewName)}}
	case *sqlparser.AlterView:
		return []ir.Op{ir.CreateView{Name: qname(s.ViewName)}}
	case *sqlparser.Insert:
		if t, ok := s.Table.Expr.(sqlparser.TableName); ok {
			return []ir.Op{ir.Write{Kind: "insert", Table: qname(t)}}
		}
	case *sqlparser.Update:
		return writes("update", s.TableExprs, s.Where != nil || s.Limit != nil, sqlparser.String(s.Exprs))
	case *sqlparser.Delete:
		return writes("delete", s.TableExprs, s.Where != nil || s.Limit != nil, "")
	case *sqlparser.Set:
		var out []ir.Op
		for _, e := range s.Exprs {
			name := strings.ToLower(e.Var.Name.String())
			out = append(out, ir.SetVar{Name: name, Value: strings.Trim(sqlparser.String(e.Expr), "'")})
		}
		return out
	case *sqlparser.Begin:
		return []ir.Op{ir.TxControl{Kind: ir.TxBegin}}
	case *sqlparser.Commit:
		return []ir.Op{ir.TxControl{Kind: ir.TxCommit}}
	case *sqlparser.Rollback:
		return []ir.Op{ir.TxControl{Kind: ir.TxRollback}}
	case *sqlparser.Savepoint, *sqlparser.SRollback, *sqlparser.Release:
		return []ir.Op{ir.TxControl{Kind: ir.TxOther}}
	case *sqlparser.CallProc:
		return []ir.Op{ir.Opaque{Kind: "CALL " + sqlparser.String(s.Name)}}
	case *sqlparser.DropDatabase:
		return []ir.Op{ir.Drop{Kind: ir.KindSchema, Names: []ir.QName{{Name: s.DBName.String()}}, IfExists: s.IfExists}}
	case *sqlparser.CreateDatabase:
		return []ir.Op{ir.CreateSchema{Name: s.DBName.String()}}
	}
	return []ir.Op{ir.Other{Kind: strings.TrimPrefix(fmt.Sprintf("%T", st), "*sqlparser.")}}
}

// writes is an UPDATE or DELETE: one Write for a single-table statement;
// a multi-table one names no table fluxlint can batch.
func writes(kind string, from []sqlparser.TableExpr, where bool, set string) []ir.Op {
	if len(from) == 1 {
		if a, ok := from[0].(*sqlparser.AliasedTableExpr); ok {
			if t, ok := a.Expr.(sqlparser.TableName); ok {
				return []ir.Op{ir.Write{Kind: kind, Table: qname(t), HasWhere: where, Set: set}}
			}
		}
	}
	return []ir.Op{ir.Other{Kind: "multi-table " + kind}}
}

func renameTable(from, to ir.QName) ir.Op {
	cmds := []ir.AlterCmd{}
	if to.Schema != "" && to.Schema != from.Schema {
		cmds = append(cmds, ir.SetSchema{Schema: to.Schema})
	}
	return ir.AlterTable{Table: from, Cmds: append(cmds, ir.RenameTable{New: to.Name})}
}

func qname(t sqlparser.TableName) ir.QName {
	return ir.QName{Schema: t.Qualifier.String(), Name: t.Name.String()}
}

func qnames(ts sqlparser.TableNames) []ir.QName {
	out := make([]ir.QName, len(ts))
	for i, t := range ts {
		out[i] = qname(t)
	}
	return out
}

func createTable(s *sqlparser.CreateTable) ir.CreateTable {
	ct := ir.CreateTable{Table: qname(s.Table), IfNotExists: s.IfNotExists, Temp: s.Temp}
	if s.TableSpec == nil || s.OptLike != nil || s.Select != nil {
		ct.AsSelect = true // LIKE and AS SELECT: columns fluxlint cannot see
		return ct
	}
	names := newNamer(ct.Table.Name)
	for _, c := range s.TableSpec.Columns {
		def, cons := column(c, names)
		ct.Columns = append(ct.Columns, def)
		ct.Constraints = append(ct.Constraints, cons...)
	}
	for _, d := range s.TableSpec.Indexes {
		k, idx := index(d, names)
		if k != nil {
			ct.Constraints = append(ct.Constraints, *k)
		} else {
			ct.Indexes = append(ct.Indexes, idx)
		}
	}
	for _, d := range s.TableSpec.Constraints {
		if k, ok := constraint(d, names); ok {
			ct.Constraints = append(ct.Constraints, k)
		}
	}
	for _, o := range s.TableSpec.Options {
		switch strings.ToUpper(o.Name) {
		case "CHARSET", "CHARACTER SET":
			ct.Charset = optionValue(o)
		case "ROW_FORMAT":
			ct.RowFormat = optionValue(o)
		}
	}
	return ct
}

// optionValue is a table option's value, lower-cased.
func optionValue(o *sqlparser.TableOption) string {
	if o.Value != nil {
		return strings.ToLower(strings.Trim(sqlparser.String(o.Value), "'"))
	}
	return strings.ToLower(o.String)
}

// namer gives unnamed keys and constraints the names the server gives them:
// an index takes its first column's name (suffixed _2, _3 on a clash), a
// foreign key <table>_ibfk_<n>, a check MariaDB's CONSTRAINT_<n>.
type namer struct {
	table       string
	used        map[string]bool
	fks, checks int
}

func newNamer(table string) *namer { return &namer{table: table, used: map[string]bool{}} }

func (n *namer) index(name, firstColumn string) string {
	if name == "" {
		name = firstColumn
		for i := 2; n.used[strings.ToLower(name)]; i++ {
			name = fmt.Sprintf("%s_%d", firstColumn, i)
		}
	}
	n.used[strings.ToLower(name)] = true
	return name
}

func (n *namer) foreignKey(name string) string {
	n.fks++
	if name == "" {
		return fmt.Sprintf("%s_ibfk_%d", n.table, n.fks)
	}
	return name
}

func (n *namer) check(name string) string {
	n.checks++
	if name == "" {
		return fmt.Sprintf("CONSTRAINT_%d", n.checks)
	}
	return name
}

// column reads a column definition and the constraints declared on it.
func column(c *sqlparser.ColumnDefinition, names *namer) (ir.ColumnDef, []ir.Constraint) {
	def := ir.ColumnDef{Name: c.Name.String(), Type: columnType(c.Type)}
	var cons []ir.Constraint
	o := c.Type.Options
	if o == nil {
		return def, nil
	}
	def.NotNull = o.Null != nil && !*o.Null
	def.AutoIncrement = o.Autoincrement
	def.Collation = o.Collate
	if o.Default != nil {
		def.Default = expr(o.Default, o.DefaultLiteral)
	}
	if o.OnUpdate != nil {
		def.OnUpdate = sqlparser.String(o.OnUpdate)
	}
	if o.As != nil {
		def.Generated = &ir.Expr{SQL: sqlparser.String(o.As), Volatility: ir.Immutable}
		def.Virtual = o.Storage != sqlparser.StoredStorage
	}
	if o.Comment != nil {
		def.Comment = o.Comment.Val
	}
	switch o.KeyOpt {
	case sqlparser.ColKeyPrimary:
		def.NotNull = true
		cons = append(cons, ir.Constraint{Kind: ir.PrimaryKey, Name: "PRIMARY", Columns: []string{def.Name}})
	case sqlparser.ColKeyUnique, sqlparser.ColKeyUniqueKey:
		cons = append(cons, ir.Constraint{Kind: ir.Unique, Name: names.index("", def.Name), Columns: []string{def.Name}})
	}
	if r := o.Reference; r != nil {
		cons = append(cons, foreignKey(names.foreignKey(""), []string{def.Name}, r))
	}
	return def, cons
}

func columnType(t *sqlparser.ColumnType) ir.Type {
	bare := &sqlparser.ColumnType{Type: t.Type, Length: t.Length, Scale: t.Scale, Unsigned: t.Unsigned, Zerofill: t.Zerofill, EnumValues: t.EnumValues}
	typ := ir.Type{SQL: strings.ToLower(sqlparser.String(bare)), Name: strings.ToLower(t.Type), Charset: t.Charset.Name, Unsigned: t.Unsigned}
	if t.Length != nil {
		typ.Mods = append(typ.Mods, *t.Length)
	}
	if t.Scale != nil {
		typ.Mods = append(typ.Mods, *t.Scale)
	}
	if len(t.EnumValues) > 0 {
		// The values keep their spelling: only the keyword is lower-cased.
		typ.SQL = typ.Name + "(" + strings.Join(t.EnumValues, ",") + ")"
		for _, v := range t.EnumValues {
			typ.Values = append(typ.Values, unquote(v))
		}
	}
	return typ
}

func unquote(v string) string {
	if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
		return strings.ReplaceAll(v[1:len(v)-1], "''", "'")
	}
	return v
}

// expr renders a default: a literal as written, an expression in the
// parentheses MySQL 8 requires around it.
func expr(e sqlparser.Expr, literal bool) *ir.Expr {
	sql := sqlparser.String(e)
	x := &ir.Expr{SQL: sql, Volatility: ir.VolatilityUnknown}
	switch v := e.(type) {
	case *sqlparser.Literal, *sqlparser.NullVal, sqlparser.BoolVal:
		x.Volatility = ir.Immutable
	case *sqlparser.UnaryExpr:
		if _, ok := v.Expr.(*sqlparser.Literal); ok {
			x.Volatility = ir.Immutable
		}
	case *sqlparser.CurTimeFuncExpr:
		x.Volatility = ir.Stable
	}
	if !literal {
		x.SQL = "(" + sql + ")"
	}
	return x
}

// index reads a key definition: PRIMARY KEY and UNIQUE become constraints,
// the others plain indexes.
func index(d *sqlparser.IndexDefinition, names *namer) (*ir.Constraint, ir.IndexDef) {
	var cols, elems []string
	plain := true
	for _, c := range d.Columns {
		if c.Expression != nil {
			plain = false
			elems = append(elems, "("+sqlparser.String(c.Expression)+")")
			continue
		}
		cols = append(cols, c.Column.String())
		e := "`" + strings.ReplaceAll(c.Column.String(), "`", "``") + "`"
		if c.Length != nil {
			e += "(" + strconv.Itoa(*c.Length) + ")"
			plain = false
		}
		if c.Direction == sqlparser.DescOrder {
			e += " DESC"
			plain = false
		}
		elems = append(elems, e)
	}
	first := ""
	if len(cols) > 0 {
		first = cols[0]
	}
	switch d.Info.Type {
	case sqlparser.IndexTypePrimary:
		return &ir.Constraint{Kind: ir.PrimaryKey, Name: "PRIMARY", Columns: cols}, ir.IndexDef{}
	case sqlparser.IndexTypeUnique:
		if plain {
			return &ir.Constraint{Kind: ir.Unique, Name: names.index(d.Info.Name.String(), first), Columns: cols}, ir.IndexDef{}
		}
	}
	def := ir.IndexDef{Name: names.index(d.Info.Name.String(), first), Unique: d.Info.Type == sqlparser.IndexTypeUnique,
		Method: "btree", Columns: cols, Refs: cols}
	switch d.Info.Type {
	case sqlparser.IndexTypeFullText:
		def.Method = "fulltext"
	case sqlparser.IndexTypeSpatial:
		def.Method = "spatial"
	}
	if !plain {
		def.Elems = elems
	}
	return nil, def
}

func constraint(d *sqlparser.ConstraintDefinition, names *namer) (ir.Constraint, bool) {
	switch c := d.Details.(type) {
	case *sqlparser.ForeignKeyDefinition:
		return foreignKey(names.foreignKey(d.Name.String()), columnNames(c.Source), c.ReferenceDefinition), true
	case *sqlparser.CheckConstraintDefinition:
		return ir.Constraint{Kind: ir.Check, Name: names.check(d.Name.String()), Expr: sqlparser.String(c.Expr)}, true
	}
	return ir.Constraint{}, false
}

func foreignKey(name string, cols []string, r *sqlparser.ReferenceDefinition) ir.Constraint {
	k := ir.Constraint{Kind: ir.ForeignKey, Name: name, Columns: cols, RefTable: qname(r.ReferencedTable), RefColumns: columnNames(r.ReferencedColumns)}
	k.OnDelete, k.OnUpdate = action(r.OnDelete), action(r.OnUpdate)
	return k
}

func action(a sqlparser.ReferenceAction) string {
	switch a {
	case sqlparser.Cascade:
		return "CASCADE"
	case sqlparser.SetNull:
		return "SET NULL"
	case sqlparser.SetDefault:
		return "SET DEFAULT"
	case sqlparser.Restrict:
		return "RESTRICT"
	}
	return "" // NO ACTION, the default
}

func columnNames(cs sqlparser.Columns) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.String()
	}
	return out
}

func position(first bool, after *sqlparser.ColName) ir.Position {
	p := ir.Position{First: first}
	if after != nil {
		p.After = after.Name.String()
	}
	return p
}

func alterTable(s *sqlparser.AlterTable) ir.AlterTable {
	at := ir.AlterTable{Table: qname(s.Table)}
	names := newNamer(at.Table.Name)
	for _, o := range s.AlterOptions {
		switch o.(type) {
		case sqlparser.AlgorithmValue, *sqlparser.LockOption:
		default:
			at.Clauses = append(at.Clauses, sqlparser.String(o))
		}
		switch x := o.(type) {
		case *sqlparser.AddColumns:
			pos := position(x.First, x.After)
			for _, c := range x.Columns {
				def, cons := column(c, names)
				at.Cmds = append(at.Cmds, ir.AddColumn{Column: def, Position: pos})
				for _, k := range cons {
					at.Cmds = append(at.Cmds, ir.AddConstraint{Constraint: k})
				}
				pos = ir.Position{After: def.Name} // the next column follows this one
			}
		case *sqlparser.DropColumn:
			at.Cmds = append(at.Cmds, ir.DropColumn{Column: x.Name.Name.String()})
		case *sqlparser.ModifyColumn:
			def, _ := column(x.NewColDefinition, names)
			at.Cmds = append(at.Cmds, ir.ModifyColumn{Column: def, Position: position(x.First, x.After)})
		case *sqlparser.ChangeColumn:
			def, _ := column(x.NewColDefinition, names)
			at.Cmds = append(at.Cmds, ir.ModifyColumn{Old: x.OldColumn.Name.String(), Column: def, Position: position(x.First, x.After)})
		case *sqlparser.RenameColumn:
			at.Cmds = append(at.Cmds, ir.RenameColumn{Old: x.OldName.Name.String(), New: x.NewName.Name.String()})
		case *sqlparser.AlterColumn:
			name := x.Column.Name.String()
			switch {
			case x.DropDefault:
				at.Cmds = append(at.Cmds, ir.SetDefault{Column: name})
			case x.DefaultVal != nil:
				at.Cmds = append(at.Cmds, ir.SetDefault{Column: name, Default: expr(x.DefaultVal, x.DefaultLiteral)})
			default:
				at.Cmds = append(at.Cmds, ir.OtherAlter{Kind: "column visibility"})
			}
		case *sqlparser.AddIndexDefinition:
			if k, idx := index(x.IndexDefinition, names); k != nil {
				at.Cmds = append(at.Cmds, ir.AddConstraint{Constraint: *k})
			} else {
				at.Cmds = append(at.Cmds, ir.AddIndex{Index: idx})
			}
		case *sqlparser.AddConstraintDefinition:
			if k, ok := constraint(x.ConstraintDefinition, names); ok {
				at.Cmds = append(at.Cmds, ir.AddConstraint{Constraint: k})
			}
		case *sqlparser.DropKey:
			switch x.Type {
			case sqlparser.PrimaryKeyType:
				at.Cmds = append(at.Cmds, ir.DropConstraint{Name: "PRIMARY"})
			case sqlparser.NormalKeyType:
				at.Cmds = append(at.Cmds, ir.DropIndex{Name: x.Name.String()})
			default: // FOREIGN KEY, CHECK, CONSTRAINT
				at.Cmds = append(at.Cmds, ir.DropConstraint{Name: x.Name.String()})
			}
		case *sqlparser.RenameIndex:
			at.Cmds = append(at.Cmds, ir.RenameIndexOn{Old: x.OldName.String(), New: x.NewName.String()})
		case *sqlparser.RenameTableName:
			if r, ok := renameTable(at.Table, qname(x.Table)).(ir.AlterTable); ok {
				at.Cmds = append(at.Cmds, r.Cmds...)
			}
		case sqlparser.AlgorithmValue:
			at.Algorithm = strings.ToUpper(string(x))
		case *sqlparser.LockOption:
			at.Lock = map[sqlparser.LockOptionType]string{sqlparser.DefaultType: "DEFAULT", sqlparser.NoneType: "NONE",
				sqlparser.SharedType: "SHARED", sqlparser.ExclusiveType: "EXCLUSIVE"}[x.Type]
		case *sqlparser.Force:
			at.Cmds = append(at.Cmds, ir.OtherAlter{Kind: "FORCE"})
		case *sqlparser.AlterCharset:
			at.Cmds = append(at.Cmds, ir.OtherAlter{Kind: "CONVERT TO CHARACTER SET"})
		case sqlparser.TableOptions:
			for _, t := range x {
				at.Cmds = append(at.Cmds, ir.OtherAlter{Kind: "table option " + strings.ToUpper(t.Name), Value: optionValue(t)})
			}
		default:
			at.Cmds = append(at.Cmds, ir.OtherAlter{Kind: strings.TrimPrefix(fmt.Sprintf("%T", o), "*sqlparser.")})
		}
	}
	if s.PartitionSpec != nil || s.PartitionOption != nil {
		at.Cmds = append(at.Cmds, ir.OtherAlter{Kind: "partitioning"})
	}
	return at
}
