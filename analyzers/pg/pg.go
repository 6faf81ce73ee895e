// Package pg is the PostgreSQL front end: the only importer of pg_query_go. It
// parses one statement's text and turns its AST into ir ops.
package pg

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	pgq "github.com/pganalyze/pg_query_go/v6"
	"github.com/pganalyze/pg_query_go/v6/parser"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/fluxlint/fluxlint/analyzers/ir"
)

// SyntaxError is a parse failure at a byte offset within the statement text.
type SyntaxError struct {
	Offset int
	Msg    string
}

func (e *SyntaxError) Error() string { return e.Msg }

// Located is the ops of one statement of a script, at its byte offset.
type Located struct {
	Offset int
	Ops    []ir.Op
}

// ParseScript parses a whole script in one call, which is much cheaper than
// one call per statement; on a syntax error anywhere it returns the error,
// and callers fall back to Parse per statement to isolate it.
func ParseScript(text string) (out []Located, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("internal error analysing statement: %v", r)
		}
	}()
	tree, err := pgq.Parse(text)
	if err != nil {
		return nil, err
	}
	for _, raw := range tree.Stmts {
		out = append(out, Located{Offset: int(raw.StmtLocation), Ops: convert(raw.Stmt)})
	}
	return out, nil
}

// Parse parses the text of one statement (which may hold several, as inside
// a goose StatementBegin block) into ops.
func Parse(text string) (ops []ir.Op, err error) {
	defer func() {
		// The front end walks trees of untrusted shape; a bug here must
		// become an error on the statement, never a crash of the run.
		if r := recover(); r != nil {
			ops, err = nil, fmt.Errorf("internal error analysing statement: %v", r)
		}
	}()
	tree, err := pgq.Parse(text)
	if err != nil {
		var pe *parser.Error
		if errors.As(err, &pe) {
			off := pe.Cursorpos - 1
			if off < 0 {
				off = 0
			}
			return recoverCreate(text), &SyntaxError{Offset: byteOffset(text, off), Msg: pe.Message + newerSyntaxHint(text)}
		}
		return nil, &SyntaxError{Msg: err.Error()}
	}
	for _, raw := range tree.Stmts {
		ops = append(ops, convert(raw.Stmt)...)
	}
	return ops, nil
}

// newerSyntaxHint explains a syntax error caused by syntax newer than the
// PostgreSQL 17 grammar that pg_query_go v6 parses.
func newerSyntaxHint(text string) string {
	scan, err := pgq.Scan(text)
	if err != nil {
		return ""
	}
	words := make([]string, len(scan.Tokens))
	for i, t := range scan.Tokens {
		if int(t.End) <= len(text) && t.Start >= 0 && t.Start <= t.End {
			words[i] = strings.ToLower(text[t.Start:t.End])
		}
	}
	for i := 0; i+4 < len(words); i++ {
		if words[i] == "constraint" && words[i+2] == "not" && words[i+3] == "null" && words[i+4] != "" {
			return ": named NOT NULL constraints (CONSTRAINT name NOT NULL column) are PostgreSQL 18 syntax, which fluxlint's PostgreSQL 17 parser does not read"
		}
	}
	return ""
}

// recoverCreate keeps what a CREATE TABLE that does not parse still tells:
// the table is created here, with columns fluxlint cannot know. Without it,
// every later statement on the table would take it for an existing one.
func recoverCreate(text string) []ir.Op {
	scan, err := pgq.Scan(text)
	if err != nil {
		return nil
	}
	var words []string
	for _, t := range scan.Tokens {
		if t.Token == pgq.Token_SQL_COMMENT || t.Token == pgq.Token_C_COMMENT {
			continue
		}
		if int(t.End) > len(text) || t.Start < 0 || t.Start > t.End || len(words) == 12 {
			break
		}
		words = append(words, text[t.Start:t.End])
	}
	i := 0
	next := func(w ...string) bool {
		for _, x := range w {
			if i < len(words) && strings.EqualFold(words[i], x) {
				i++
				return true
			}
		}
		return false
	}
	if !next("create") {
		return nil
	}
	next("temp", "temporary", "unlogged")
	if !next("table") {
		return nil
	}
	if next("if") && (!next("not") || !next("exists")) {
		return nil
	}
	var parts []string
	for i < len(words) {
		parts = append(parts, identText(words[i]))
		i++
		if !next(".") {
			break
		}
	}
	if len(parts) == 0 || len(parts) > 2 {
		return nil
	}
	q := ir.QName{Name: parts[len(parts)-1]}
	if len(parts) == 2 {
		q.Schema = parts[0]
	}
	return []ir.Op{ir.CreateTable{Table: q, AsSelect: true}}
}

// identText turns an identifier token into its name: quoted ones lose their
// quotes, plain ones fold to lower case, as PostgreSQL does.
func identText(tok string) string {
	if len(tok) >= 2 && tok[0] == '"' && tok[len(tok)-1] == '"' {
		return strings.ReplaceAll(tok[1:len(tok)-1], `""`, `"`)
	}
	return strings.ToLower(tok)
}

// byteOffset turns PostgreSQL's cursor position (in characters) into a byte
// offset in text.
func byteOffset(text string, chars int) int {
	n := 0
	for i := range text {
		if n == chars {
			return i
		}
		n++
	}
	return len(text)
}

func convert(n *pgq.Node) []ir.Op {
	switch x := n.Node.(type) {
	case *pgq.Node_CreateStmt:
		return []ir.Op{createTable(x.CreateStmt)}
	case *pgq.Node_CreateTableAsStmt:
		ops := createTableAs(x.CreateTableAsStmt)
		if v, ok := ops[0].(ir.CreateView); ok {
			v.Definition = deparseStmt(n)
			v.Reads = viewReads(x.CreateTableAsStmt.Query)
			ops[0] = v
		}
		return ops
	case *pgq.Node_AlterTableStmt:
		return alterTable(x.AlterTableStmt)
	case *pgq.Node_RenameStmt:
		return rename(x.RenameStmt)
	case *pgq.Node_AlterObjectSchemaStmt:
		a := x.AlterObjectSchemaStmt
		switch a.ObjectType {
		case pgq.ObjectType_OBJECT_TABLE, pgq.ObjectType_OBJECT_VIEW, pgq.ObjectType_OBJECT_MATVIEW:
			return []ir.Op{ir.AlterTable{Table: qname(a.Relation), IfExists: a.MissingOk, Cmds: []ir.AlterCmd{ir.SetSchema{Schema: a.Newschema}}}}
		}
	case *pgq.Node_IndexStmt:
		return []ir.Op{createIndex(x.IndexStmt)}
	case *pgq.Node_DropStmt:
		return []ir.Op{drop(x.DropStmt)}
	case *pgq.Node_CreateEnumStmt:
		return []ir.Op{ir.CreateEnum{Name: qnameList(x.CreateEnumStmt.TypeName), Values: strs(x.CreateEnumStmt.Vals)}}
	case *pgq.Node_AlterEnumStmt:
		e := x.AlterEnumStmt
		if e.OldVal != "" {
			return []ir.Op{ir.RenameEnumValue{Name: qnameList(e.TypeName), Old: e.OldVal, New: e.NewVal}}
		}
		return []ir.Op{ir.AddEnumValue{Name: qnameList(e.TypeName), Value: e.NewVal, IfNotExists: e.SkipIfNewValExists}}
	case *pgq.Node_ViewStmt:
		return []ir.Op{ir.CreateView{Name: qname(x.ViewStmt.View), Definition: deparseStmt(n), Reads: viewReads(x.ViewStmt.Query), Twice: viewColumnTwice(x.ViewStmt)}}
	case *pgq.Node_CreateSchemaStmt:
		return []ir.Op{ir.CreateSchema{Name: x.CreateSchemaStmt.Schemaname}}
	case *pgq.Node_TransactionStmt:
		return []ir.Op{txControl(x.TransactionStmt)}
	case *pgq.Node_VariableSetStmt:
		return []ir.Op{setVar(x.VariableSetStmt)}
	case *pgq.Node_SelectStmt:
		if into := x.SelectStmt.IntoClause; into != nil {
			return []ir.Op{ir.CreateTable{Table: qname(into.Rel), AsSelect: true, Filled: !into.SkipData}}
		}
		if strs := callStrings(x.SelectStmt); len(strs) > 0 {
			return []ir.Op{ir.Call{Strings: strs}}
		}
	case *pgq.Node_InsertStmt:
		return []ir.Op{ir.Write{Kind: "insert", Table: qname(x.InsertStmt.Relation)}}
	case *pgq.Node_UpdateStmt:
		u := x.UpdateStmt
		return []ir.Op{ir.Write{Kind: "update", Table: qname(u.Relation), HasWhere: u.WhereClause != nil, Set: setList(u), Twice: assignedTwice(u.TargetList)}}
	case *pgq.Node_DeleteStmt:
		return []ir.Op{ir.Write{Kind: "delete", Table: qname(x.DeleteStmt.Relation), HasWhere: x.DeleteStmt.WhereClause != nil}}
	case *pgq.Node_TruncateStmt:
		t := x.TruncateStmt
		op := ir.Truncate{Cascade: t.Behavior == pgq.DropBehavior_DROP_CASCADE}
		for _, r := range t.Relations {
			op.Tables = append(op.Tables, qname(r.GetRangeVar()))
		}
		return []ir.Op{op}
	case *pgq.Node_ReindexStmt:
		r := x.ReindexStmt
		op := ir.Reindex{Kind: strings.ToLower(strings.TrimPrefix(r.Kind.String(), "REINDEX_OBJECT_")), Concurrently: hasOption(r.Params, "concurrently")}
		if r.Relation != nil {
			op.Name = qname(r.Relation)
		} else {
			op.Name = ir.QName{Name: r.Name}
		}
		return []ir.Op{op}
	case *pgq.Node_VacuumStmt:
		v := x.VacuumStmt
		if !v.IsVacuumcmd {
			return []ir.Op{ir.Other{Kind: "Analyze"}} // runs in a transaction, unlike VACUUM
		}
		if !hasOption(v.Options, "full") {
			return []ir.Op{ir.Other{Kind: "Vacuum"}}
		}
		op := ir.Rebuild{Kind: "VACUUM FULL"}
		for _, r := range v.Rels {
			op.Tables = append(op.Tables, qname(r.GetVacuumRelation().GetRelation()))
		}
		return []ir.Op{op}
	case *pgq.Node_ClusterStmt:
		op := ir.Rebuild{Kind: "CLUSTER"}
		if x.ClusterStmt.Relation != nil {
			op.Tables = []ir.QName{qname(x.ClusterStmt.Relation)}
		}
		return []ir.Op{op}
	case *pgq.Node_RefreshMatViewStmt:
		r := x.RefreshMatViewStmt
		return []ir.Op{ir.Refresh{View: qname(r.Relation), Concurrently: r.Concurrent, WithNoData: r.SkipData}}
	case *pgq.Node_DoStmt:
		return doBlock(x.DoStmt)
	case *pgq.Node_DiscardStmt:
		if x.DiscardStmt.Target == pgq.DiscardMode_DISCARD_ALL {
			return []ir.Op{ir.Other{Kind: "DiscardAll"}} // refused in a transaction block, unlike the other DISCARDs
		}
	case *pgq.Node_CallStmt:
		return []ir.Op{ir.Opaque{Kind: "CALL"}}
	case *pgq.Node_LockStmt:
		op := ir.LockTable{Mode: lockModes[x.LockStmt.Mode]}
		for _, r := range x.LockStmt.Relations {
			op.Tables = append(op.Tables, qname(r.GetRangeVar()))
		}
		return []ir.Op{op}
	case *pgq.Node_CreateTrigStmt:
		t := x.CreateTrigStmt
		return []ir.Op{ir.CreateTrigger{Name: t.Trigname, Table: qname(t.Relation)}}
	case *pgq.Node_CreateDomainStmt:
		return []ir.Op{createDomain(x.CreateDomainStmt)}
	case *pgq.Node_AlterDomainStmt:
		return []ir.Op{alterDomain(x.AlterDomainStmt)}
	}
	return []ir.Op{ir.Other{Kind: nodeKind(n)}}
}

// nodeKind names a statement node for messages: "CreateFunctionStmt" -> "CreateFunction".
func nodeKind(n *pgq.Node) string {
	name := fmt.Sprintf("%T", n.Node)
	name = strings.TrimPrefix(name, "*pg_query.Node_")
	return strings.TrimSuffix(name, "Stmt")
}

// hasOption reports whether a DefElem list turns the named option on.
func hasOption(opts []*pgq.Node, name string) bool {
	for _, o := range opts {
		d := o.GetDefElem()
		if d == nil || d.Defname != name {
			continue
		}
		if d.Arg == nil {
			return true
		}
		if b := d.Arg.GetBoolean(); b != nil {
			return b.Boolval
		}
		if s := d.Arg.GetString_(); s != nil {
			return s.Sval != "false" && s.Sval != "off"
		}
		if i := d.Arg.GetInteger(); i != nil {
			return i.Ival != 0
		}
		return true
	}
	return false
}

func qname(rv *pgq.RangeVar) ir.QName {
	if rv == nil {
		return ir.QName{}
	}
	return ir.QName{Schema: rv.Schemaname, Name: rv.Relname}
}

// qnameList reads a dotted name given as a list of String nodes.
func qnameList(nodes []*pgq.Node) ir.QName {
	parts := strs(nodes)
	switch len(parts) {
	case 0:
		return ir.QName{}
	case 1:
		return ir.QName{Name: parts[0]}
	default:
		return ir.QName{Schema: parts[len(parts)-2], Name: parts[len(parts)-1]}
	}
}

func strs(nodes []*pgq.Node) []string {
	out := make([]string, 0, len(nodes))
	for _, n := range nodes {
		if s := n.GetString_(); s != nil {
			out = append(out, s.Sval)
		}
	}
	return out
}

func createTable(cs *pgq.CreateStmt) ir.Op {
	t := ir.CreateTable{Table: qname(cs.Relation), IfNotExists: cs.IfNotExists, Temp: cs.Relation.GetRelpersistence() == "t"}
	if cs.Partbound != nil && len(cs.InhRelations) > 0 {
		parent := qname(cs.InhRelations[0].GetRangeVar())
		t.PartitionOf = &parent
		b := bound(cs.Partbound)
		t.Bound = &b
	}
	if ps := cs.Partspec; ps != nil {
		k := &ir.PartitionKey{Strategy: strings.ToLower(strings.TrimPrefix(ps.Strategy.String(), "PARTITION_STRATEGY_"))}
		for _, e := range ps.PartParams {
			pe := e.GetPartitionElem()
			if pe == nil || pe.Name == "" {
				k.Columns = nil
				break
			}
			k.Columns = append(k.Columns, pe.Name)
		}
		t.PartitionBy = k
	}
	for _, e := range cs.TableElts {
		switch {
		case e.GetColumnDef() != nil:
			t.Columns = append(t.Columns, columnDef(e.GetColumnDef()))
		case e.GetConstraint() != nil:
			if c, ok := constraint(e.GetConstraint(), nil); ok {
				t.Constraints = append(t.Constraints, c)
			}
		}
	}
	for _, c := range cs.Constraints {
		if k, ok := constraint(c.GetConstraint(), nil); ok {
			t.Constraints = append(t.Constraints, k)
		}
	}
	nameConstraints(t.Table.Name, t.Columns, t.Constraints)
	return t
}

func createTableAs(cs *pgq.CreateTableAsStmt) []ir.Op {
	name := qname(cs.Into.GetRel())
	if cs.Objtype == pgq.ObjectType_OBJECT_MATVIEW {
		return []ir.Op{ir.CreateView{Name: name, Materialized: true}}
	}
	return []ir.Op{ir.CreateTable{Table: name, IfNotExists: cs.IfNotExists, Temp: cs.Into.GetRel().GetRelpersistence() == "t", AsSelect: true, Filled: !cs.Into.GetSkipData()}}
}

// nameConstraints fills in the names PostgreSQL would choose for unnamed
// constraints, so that plans and the catalog can refer to them.
func nameConstraints(table string, cols []ir.ColumnDef, cons []ir.Constraint) {
	for i := range cols {
		for j := range cols[i].Constraints {
			c := &cols[i].Constraints[j]
			if len(c.Columns) == 0 && c.Kind != ir.Check {
				c.Columns = []string{cols[i].Name}
			}
			if c.Name == "" {
				c.Name = ConstraintName(table, c)
			}
		}
	}
	for i := range cons {
		if cons[i].Name == "" {
			cons[i].Name = ConstraintName(table, &cons[i])
		}
	}
}

// ConstraintName is the name PostgreSQL gives an unnamed constraint.
func ConstraintName(table string, c *ir.Constraint) string {
	switch c.Kind {
	case ir.PrimaryKey:
		return ObjectName(table, "", "pkey")
	case ir.Unique:
		return ObjectName(table, strings.Join(c.Columns, "_"), "key")
	case ir.ForeignKey:
		return ObjectName(table, strings.Join(c.Columns, "_"), "fkey")
	case ir.Exclude:
		return ObjectName(table, strings.Join(c.Columns, "_"), "excl")
	default:
		return ObjectName(table, strings.Join(c.Columns, "_"), "check")
	}
}

// ObjectName mirrors PostgreSQL's makeObjectName: name1_name2_label,
// shortened to fit 63 bytes by trimming the longer of the two names.
func ObjectName(name1, name2, label string) string {
	const maxLen = 63
	overhead := len(label) + 1
	if name2 != "" {
		overhead++
	}
	n1, n2 := len(name1), len(name2)
	for n1+n2 > maxLen-overhead {
		if n1 > n2 {
			n1--
		} else {
			n2--
		}
	}
	out := name1[:n1]
	if name2 != "" {
		out += "_" + name2[:n2]
	}
	return out + "_" + label
}

func columnDef(cd *pgq.ColumnDef) ir.ColumnDef {
	c := ir.ColumnDef{Name: cd.Colname, Type: typeOf(cd.TypeName), NotNull: cd.IsNotNull}
	switch c.Type.Name {
	case "serial", "serial4", "bigserial", "serial8", "smallserial", "serial2":
		c.Serial = true
		c.NotNull = true
	}
	if cd.CollClause != nil {
		c.Collation = strings.Join(strs(cd.CollClause.Collname), ".")
	}
	if cd.RawDefault != nil {
		c.Default = expr(cd.RawDefault)
	}
	for _, n := range cd.Constraints {
		k := n.GetConstraint()
		if k == nil {
			continue
		}
		switch k.Contype {
		case pgq.ConstrType_CONSTR_NOTNULL:
			c.NotNull = true
		case pgq.ConstrType_CONSTR_NULL:
			c.NotNull = false
		case pgq.ConstrType_CONSTR_DEFAULT:
			c.Default = expr(k.RawExpr)
		case pgq.ConstrType_CONSTR_IDENTITY:
			c.Identity = map[string]string{"a": "always", "d": "by default"}[k.GeneratedWhen]
			c.NotNull = true
		case pgq.ConstrType_CONSTR_GENERATED:
			c.Generated = expr(k.RawExpr)
		case pgq.ConstrType_CONSTR_PRIMARY:
			c.NotNull = true
			fallthrough
		default:
			if con, ok := constraint(k, &c); ok {
				c.Constraints = append(c.Constraints, con)
			}
		}
	}
	return c
}

// constraint converts a table or column constraint; col is set for inline
// column constraints.
func constraint(k *pgq.Constraint, col *ir.ColumnDef) (ir.Constraint, bool) {
	c := ir.Constraint{Name: k.Conname, Columns: strs(k.Keys), NotValid: k.SkipValidation, UsingIndex: k.Indexname}
	switch k.Contype {
	case pgq.ConstrType_CONSTR_PRIMARY:
		c.Kind = ir.PrimaryKey
	case pgq.ConstrType_CONSTR_UNIQUE:
		c.Kind = ir.Unique
	case pgq.ConstrType_CONSTR_CHECK:
		c.Kind = ir.Check
		c.Expr = deparseExpr(k.RawExpr)
		c.Columns = columnRefs(k.RawExpr)
	case pgq.ConstrType_CONSTR_FOREIGN:
		c.Kind = ir.ForeignKey
		c.Columns = strs(k.FkAttrs)
		c.RefTable = qname(k.Pktable)
		c.RefColumns = strs(k.PkAttrs)
		c.OnDelete = fkActions[k.FkDelAction]
		c.OnUpdate = fkActions[k.FkUpdAction]
	case pgq.ConstrType_CONSTR_EXCLUSION:
		c.Kind = ir.Exclude
		for _, ex := range k.Exclusions {
			if l := ex.GetList(); l != nil && len(l.Items) > 0 {
				if el := l.Items[0].GetIndexElem(); el != nil && el.Name != "" {
					c.Columns = append(c.Columns, el.Name)
				}
			}
		}
	default:
		return c, false
	}
	switch {
	case k.Initdeferred:
		c.Deferrable = "DEFERRABLE INITIALLY DEFERRED"
	case k.Deferrable:
		c.Deferrable = "DEFERRABLE"
	}
	if col != nil && len(c.Columns) == 0 {
		c.Columns = []string{col.Name}
	}
	return c, true
}

// fkActions maps PostgreSQL's foreign key action codes to SQL.
var fkActions = map[string]string{"r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}

var typeAliases = map[string]string{
	"int": "int4", "integer": "int4", "smallint": "int2", "bigint": "int8",
	"real": "float4", "double precision": "float8", "decimal": "numeric",
	"boolean": "bool", "character varying": "varchar", "character": "bpchar", "char": "bpchar",
	"timestamp with time zone": "timestamptz", "timestamp without time zone": "timestamp",
	"time with time zone": "timetz", "time without time zone": "time",
}

func typeOf(tn *pgq.TypeName) ir.Type {
	if tn == nil {
		return ir.Type{}
	}
	names := strs(tn.Names)
	t := ir.Type{Array: len(tn.ArrayBounds) > 0}
	if len(names) > 0 {
		t.Name = names[len(names)-1]
	}
	if a, ok := typeAliases[t.Name]; ok {
		t.Name = a
	}
	for _, m := range tn.Typmods {
		if v, ok := intConst(m); ok {
			t.Mods = append(t.Mods, v)
		}
	}
	t.SQL = typeSQL(tn)
	return t
}

func intConst(n *pgq.Node) (int, bool) {
	c := n.GetAConst()
	if c == nil || c.GetIval() == nil {
		return 0, false
	}
	return int(c.GetIval().Ival), true
}

// treeVersion is the parse-tree version Deparse expects, read from the
// parser itself so that it follows pg_query_go upgrades.
var treeVersion = func() int32 {
	t, err := pgq.Parse("SELECT 1")
	if err != nil {
		panic(err)
	}
	return t.Version
}()

// typeSQL renders a type as the deparser does.
func typeSQL(tn *pgq.TypeName) string {
	if s, ok := fastType(tn); ok {
		return s
	}
	return deparseType(tn)
}

func deparseType(tn *pgq.TypeName) string {
	cast := &pgq.Node{Node: &pgq.Node_TypeCast{TypeCast: &pgq.TypeCast{Arg: pgq.MakeAConstIntNode(1, 0), TypeName: tn}}}
	return strings.TrimPrefix(deparse(cast), "1::")
}

// deparseExpr renders an expression node as SQL.
func deparseExpr(n *pgq.Node) string {
	if n == nil {
		return ""
	}
	if s, ok := fastExpr(n); ok {
		return s
	}
	return deparse(n)
}

// viewReads is what a view's query reads: the relations it names and the
// columns it uses, by name (* uses all of them).
func viewReads(query *pgq.Node) ir.ViewReads {
	var r ir.ViewReads
	if query == nil {
		return r
	}
	walk(query.ProtoReflect(), func(m protoreflect.Message) {
		switch x := m.Interface().(type) {
		case *pgq.RangeVar:
			if q := qname(x); !slices.Contains(r.Relations, q) {
				r.Relations = append(r.Relations, q)
			}
		case *pgq.ColumnRef:
			f := x.Fields
			if len(f) == 0 {
				return
			}
			if f[len(f)-1].GetAStar() != nil {
				r.Star = true
			} else if c := f[len(f)-1].GetString_().GetSval(); c != "" && !slices.Contains(r.Columns, c) {
				r.Columns = append(r.Columns, c)
			}
		}
	})
	return r
}

// deparseStmt renders a statement as SQL ("" if it cannot).
func deparseStmt(n *pgq.Node) string {
	s, err := pgq.Deparse(&pgq.ParseResult{Version: treeVersion, Stmts: []*pgq.RawStmt{{Stmt: n}}})
	if err != nil {
		return ""
	}
	return s
}

// deparse renders an expression by deparsing SELECT <expr>.
func deparse(n *pgq.Node) string {
	sel := &pgq.SelectStmt{TargetList: []*pgq.Node{pgq.MakeResTargetNodeWithVal(n, 0)}}
	tree := &pgq.ParseResult{Version: treeVersion, Stmts: []*pgq.RawStmt{{Stmt: &pgq.Node{Node: &pgq.Node_SelectStmt{SelectStmt: sel}}}}}
	s, err := pgq.Deparse(tree)
	if err != nil {
		return ""
	}
	return strings.TrimPrefix(s, "SELECT ")
}

func expr(n *pgq.Node) *ir.Expr {
	if n == nil {
		return nil
	}
	return &ir.Expr{SQL: deparseExpr(n), Volatility: volatility(n)}
}

func createIndex(is *pgq.IndexStmt) ir.Op {
	def := ir.IndexDef{
		Name:   is.Idxname,
		Table:  qname(is.Relation),
		Unique: is.Unique,
		Method: is.AccessMethod,
		Where:  deparseExpr(is.WhereClause),
	}
	var nameParts []string
	for _, p := range is.IndexParams {
		el := p.GetIndexElem()
		if el == nil {
			continue
		}
		def.Elems = append(def.Elems, indexElem(el))
		if el.Name != "" {
			def.Columns = append(def.Columns, el.Name)
			nameParts = append(nameParts, el.Name)
		} else {
			nameParts = append(nameParts, "expr")
		}
	}
	for _, p := range is.IndexIncludingParams {
		if el := p.GetIndexElem(); el != nil {
			def.Include = append(def.Include, el.Name)
		}
	}
	for _, n := range append(append([]*pgq.Node{}, is.IndexParams...), is.IndexIncludingParams...) {
		if el := n.GetIndexElem(); el != nil && el.Name != "" {
			def.Refs = appendNew(def.Refs, el.Name)
		} else {
			def.Refs = appendNew(def.Refs, columnRefs(n)...)
		}
	}
	def.Refs = appendNew(def.Refs, columnRefs(is.WhereClause)...)
	if def.Name == "" {
		// CREATE [UNIQUE] INDEX names it _idx; only UNIQUE constraints get _key.
		def.Name = ObjectName(def.Table.Name, strings.Join(nameParts, "_"), "idx")
	}
	only := is.Relation != nil && !is.Relation.Inh
	return ir.CreateIndex{Index: def, Concurrently: is.Concurrent, IfNotExists: is.IfNotExists, Only: only}
}

// indexElem renders one index element (column or expression with collation,
// opclass and ordering) by deparsing a one-element CREATE INDEX.
func indexElem(el *pgq.IndexElem) string {
	if s, ok := fastIndexElem(el); ok {
		return s
	}
	return deparseIndexElem(el)
}

func deparseIndexElem(el *pgq.IndexElem) string {
	is := &pgq.IndexStmt{Relation: pgq.MakeSimpleRangeVar("t", 0), AccessMethod: "btree", IndexParams: []*pgq.Node{{Node: &pgq.Node_IndexElem{IndexElem: el}}}}
	tree := &pgq.ParseResult{Version: treeVersion, Stmts: []*pgq.RawStmt{{Stmt: &pgq.Node{Node: &pgq.Node_IndexStmt{IndexStmt: is}}}}}
	s, err := pgq.Deparse(tree)
	if err != nil {
		return ""
	}
	s = strings.TrimPrefix(s, "CREATE INDEX ON t USING btree (")
	return strings.TrimSuffix(s, ")")
}

// appendNew appends the names not already in list.
func appendNew(list []string, names ...string) []string {
	for _, n := range names {
		if !slices.Contains(list, n) {
			list = append(list, n)
		}
	}
	return list
}

func drop(d *pgq.DropStmt) ir.Op {
	op := ir.Drop{IfExists: d.MissingOk, Cascade: d.Behavior == pgq.DropBehavior_DROP_CASCADE, Concurrently: d.Concurrent}
	switch d.RemoveType {
	case pgq.ObjectType_OBJECT_TABLE:
		op.Kind = ir.KindTable
	case pgq.ObjectType_OBJECT_INDEX:
		op.Kind = ir.KindIndex
	case pgq.ObjectType_OBJECT_VIEW:
		op.Kind = ir.KindView
	case pgq.ObjectType_OBJECT_MATVIEW:
		op.Kind = ir.KindMatView
	case pgq.ObjectType_OBJECT_TYPE, pgq.ObjectType_OBJECT_DOMAIN:
		op.Kind = ir.KindType
	case pgq.ObjectType_OBJECT_SCHEMA:
		op.Kind = ir.KindSchema
	case pgq.ObjectType_OBJECT_SEQUENCE:
		op.Kind = ir.KindSequence
	case pgq.ObjectType_OBJECT_TRIGGER:
		op.Kind = ir.KindTrigger
		for _, o := range d.Objects {
			if items := o.GetList().GetItems(); len(items) > 1 {
				op.Names = append(op.Names, qnameList(items[:len(items)-1]))
			}
		}
		return op
	default:
		op.Kind = ir.KindOther
	}
	for _, o := range d.Objects {
		switch {
		case o.GetList() != nil:
			op.Names = append(op.Names, qnameList(o.GetList().Items))
		case o.GetTypeName() != nil:
			op.Names = append(op.Names, qnameList(o.GetTypeName().Names))
		case o.GetString_() != nil:
			op.Names = append(op.Names, ir.QName{Name: o.GetString_().Sval})
		}
	}
	return op
}

// lockModes are LOCK's modes by their number in PostgreSQL's lockdefs.h.
var lockModes = map[int32]string{1: "ACCESS SHARE", 2: "ROW SHARE", 3: "ROW EXCLUSIVE", 4: "SHARE UPDATE EXCLUSIVE",
	5: "SHARE", 6: "SHARE ROW EXCLUSIVE", 7: "EXCLUSIVE", 8: "ACCESS EXCLUSIVE"}

func createDomain(d *pgq.CreateDomainStmt) ir.Op {
	op := ir.CreateDomain{Name: qnameList(d.Domainname)}
	for _, n := range d.Constraints {
		c := n.GetConstraint()
		switch {
		case c == nil:
		case c.Contype == pgq.ConstrType_CONSTR_CHECK:
			op.Checks = append(op.Checks, deparseExpr(c.RawExpr))
		case c.Contype == pgq.ConstrType_CONSTR_NOTNULL:
			op.NotNull = true
		}
	}
	return op
}

// alterDomain reads ALTER DOMAIN; its subtype is a letter, as in
// PostgreSQL's AlterDomainStmt.
func alterDomain(d *pgq.AlterDomainStmt) ir.Op {
	op := ir.AlterDomain{Name: qnameList(d.TypeName), Constraint: d.Name}
	switch d.Subtype {
	case "C":
		op.Kind = "ADD CONSTRAINT"
		if c := d.Def.GetConstraint(); c != nil {
			op.Constraint, op.NotValid = c.Conname, c.SkipValidation
			if c.Contype == pgq.ConstrType_CONSTR_CHECK {
				op.Check = deparseExpr(c.RawExpr)
			}
		}
	case "V":
		op.Kind = "VALIDATE CONSTRAINT"
	case "O":
		op.Kind = "SET NOT NULL"
	case "N":
		op.Kind = "DROP NOT NULL"
	case "X":
		op.Kind = "DROP CONSTRAINT"
	case "T":
		op.Kind = "SET DEFAULT"
	default:
		op.Kind = "ALTER DOMAIN " + d.Subtype
	}
	return op
}

func rename(r *pgq.RenameStmt) []ir.Op {
	table := qname(r.Relation)
	switch r.RenameType {
	case pgq.ObjectType_OBJECT_TABLE, pgq.ObjectType_OBJECT_VIEW, pgq.ObjectType_OBJECT_MATVIEW:
		// ALTER VIEW and ALTER MATERIALIZED VIEW rename as ALTER TABLE does.
		return []ir.Op{ir.AlterTable{Table: table, IfExists: r.MissingOk, Cmds: []ir.AlterCmd{ir.RenameTable{New: r.Newname}}}}
	case pgq.ObjectType_OBJECT_COLUMN:
		if r.RelationType == pgq.ObjectType_OBJECT_TABLE {
			return []ir.Op{ir.AlterTable{Table: table, IfExists: r.MissingOk, Cmds: []ir.AlterCmd{ir.RenameColumn{Old: r.Subname, New: r.Newname}}}}
		}
	case pgq.ObjectType_OBJECT_INDEX:
		return []ir.Op{ir.RenameIndex{Index: table, New: r.Newname}}
	case pgq.ObjectType_OBJECT_SCHEMA:
		return []ir.Op{ir.RenameSchema{Old: r.Subname, New: r.Newname}}
	case pgq.ObjectType_OBJECT_TABCONSTRAINT:
		return []ir.Op{ir.AlterTable{Table: table, IfExists: r.MissingOk, Cmds: []ir.AlterCmd{ir.OtherAlter{Kind: "RENAME CONSTRAINT"}}}}
	}
	return []ir.Op{ir.Other{Kind: "Rename"}}
}

func alterTable(a *pgq.AlterTableStmt) []ir.Op {
	if a.Objtype != pgq.ObjectType_OBJECT_TABLE {
		return []ir.Op{ir.Other{Kind: "Alter" + strings.TrimPrefix(a.Objtype.String(), "OBJECT_")}}
	}
	op := ir.AlterTable{Table: qname(a.Relation), IfExists: a.MissingOk}
	for _, n := range a.Cmds {
		c := n.GetAlterTableCmd()
		if c == nil {
			continue
		}
		op.Cmds = append(op.Cmds, alterCmd(op.Table.Name, c))
	}
	return []ir.Op{op}
}

func alterCmd(table string, c *pgq.AlterTableCmd) ir.AlterCmd {
	switch c.Subtype {
	case pgq.AlterTableType_AT_AddColumn:
		col := columnDef(c.Def.GetColumnDef())
		nameConstraints(table, []ir.ColumnDef{col}, nil)
		return ir.AddColumn{Column: col, IfNotExists: c.MissingOk}
	case pgq.AlterTableType_AT_DropColumn:
		return ir.DropColumn{Column: c.Name, IfExists: c.MissingOk, Cascade: c.Behavior == pgq.DropBehavior_DROP_CASCADE}
	case pgq.AlterTableType_AT_AlterColumnType:
		cd := c.Def.GetColumnDef()
		return ir.AlterColumnType{Column: c.Name, Type: typeOf(cd.GetTypeName()), Using: deparseExpr(cd.GetRawDefault())}
	case pgq.AlterTableType_AT_SetNotNull:
		return ir.SetNotNull{Column: c.Name}
	case pgq.AlterTableType_AT_DropNotNull:
		return ir.DropNotNull{Column: c.Name}
	case pgq.AlterTableType_AT_ColumnDefault:
		return ir.SetDefault{Column: c.Name, Default: expr(c.Def)}
	case pgq.AlterTableType_AT_AddConstraint:
		k, ok := constraint(c.Def.GetConstraint(), nil)
		if !ok {
			return ir.OtherAlter{Kind: "ADD CONSTRAINT"}
		}
		if k.Name == "" {
			k.Name = ConstraintName(table, &k)
		}
		return ir.AddConstraint{Constraint: k}
	case pgq.AlterTableType_AT_AttachPartition:
		pc := c.Def.GetPartitionCmd()
		return ir.AttachPartition{Partition: qname(pc.GetName()), Bound: bound(pc.GetBound())}
	case pgq.AlterTableType_AT_DetachPartition, pgq.AlterTableType_AT_DetachPartitionFinalize:
		pc := c.Def.GetPartitionCmd()
		return ir.DetachPartition{Partition: qname(pc.GetName()), Concurrently: pc.GetConcurrent(),
			Finalize: c.Subtype == pgq.AlterTableType_AT_DetachPartitionFinalize}
	case pgq.AlterTableType_AT_ValidateConstraint:
		return ir.ValidateConstraint{Name: c.Name}
	case pgq.AlterTableType_AT_DropConstraint:
		return ir.DropConstraint{Name: c.Name, IfExists: c.MissingOk}
	}
	kind := strings.TrimPrefix(c.Subtype.String(), "AT_")
	return ir.OtherAlter{Kind: kind}
}

// setList renders an UPDATE's SET list, or "" when it cannot stand alone.
func setList(u *pgq.UpdateStmt) string {
	if len(u.FromClause) > 0 || len(u.WithClause.GetCtes()) > 0 {
		return ""
	}
	parts := make([]string, 0, len(u.TargetList))
	for _, n := range u.TargetList {
		rt := n.GetResTarget()
		if rt == nil || len(rt.Indirection) > 0 || rt.Val.GetMultiAssignRef() != nil {
			return ""
		}
		v := deparseExpr(rt.Val)
		if v == "" {
			return ""
		}
		parts = append(parts, QuoteIdent(rt.Name)+" = "+v)
	}
	return strings.Join(parts, ", ")
}

// bound reads a FOR VALUES clause.
func bound(b *pgq.PartitionBoundSpec) ir.PartitionBound {
	if b == nil {
		return ir.PartitionBound{}
	}
	out := ir.PartitionBound{Default: b.IsDefault, Modulus: int(b.Modulus), Remainder: int(b.Remainder)}
	datums := func(ns []*pgq.Node) []string {
		var vals []string
		for _, n := range ns {
			// MINVALUE and MAXVALUE arrive as bare column references.
			if cr := n.GetColumnRef(); cr != nil {
				if name := strings.ToUpper(lastName(cr.Fields)); name == "MINVALUE" || name == "MAXVALUE" {
					vals = append(vals, name)
					continue
				}
			}
			vals = append(vals, deparseExpr(n))
		}
		return vals
	}
	out.In, out.From, out.To = datums(b.Listdatums), datums(b.Lowerdatums), datums(b.Upperdatums)
	return out
}

func txControl(t *pgq.TransactionStmt) ir.Op {
	switch t.Kind {
	case pgq.TransactionStmtKind_TRANS_STMT_BEGIN, pgq.TransactionStmtKind_TRANS_STMT_START:
		return ir.TxControl{Kind: ir.TxBegin}
	case pgq.TransactionStmtKind_TRANS_STMT_COMMIT, pgq.TransactionStmtKind_TRANS_STMT_PREPARE:
		// PREPARE TRANSACTION ends the session's transaction as COMMIT does.
		return ir.TxControl{Kind: ir.TxCommit}
	case pgq.TransactionStmtKind_TRANS_STMT_ROLLBACK:
		return ir.TxControl{Kind: ir.TxRollback}
	}
	return ir.TxControl{Kind: ir.TxOther}
}

func setVar(v *pgq.VariableSetStmt) ir.Op {
	op := ir.SetVar{Name: v.Name, Local: v.IsLocal}
	var vals []string
	for _, a := range v.Args {
		c := a.GetAConst()
		switch {
		case c == nil:
		case c.GetSval() != nil:
			vals = append(vals, c.GetSval().Sval)
		case c.GetIval() != nil:
			vals = append(vals, strconv.Itoa(int(c.GetIval().Ival)))
		}
	}
	op.Value = strings.Join(vals, ", ")
	return op
}

// CheckScript checks a script's syntax without building its parse tree,
// which is far cheaper than Parse when the statements' content is not
// needed. On a syntax error, callers parse statement by statement to place it.
func CheckScript(text string) error {
	_, err := pgq.SplitWithParser(text, false)
	return err
}

// callStrings lists the string constants passed to the functions a SELECT's
// target list calls (cast or not), as in SELECT create_parent('public.events').
func callStrings(sel *pgq.SelectStmt) []string {
	var out []string
	for _, t := range sel.TargetList {
		fc := t.GetResTarget().GetVal().GetFuncCall()
		if fc == nil {
			continue
		}
		for _, a := range fc.Args {
			if na := a.GetNamedArgExpr(); na != nil {
				a = na.Arg
			}
			if tc := a.GetTypeCast(); tc != nil {
				a = tc.Arg
			}
			if c := a.GetAConst(); c != nil && c.GetSval() != nil {
				out = append(out, c.GetSval().Sval)
			}
		}
	}
	return out
}
