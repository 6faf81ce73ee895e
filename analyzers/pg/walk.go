package pg

import (
	"strings"

	pgq "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/fluxlint/fluxlint/analyzers/ir"
)

// walk calls fn for every message in the tree under n, depth first, using
// protobuf reflection so that no node type is forgotten.
func walk(m protoreflect.Message, fn func(protoreflect.Message)) {
	fn(m)
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Message() != nil:
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				walk(l.Get(i).Message(), fn)
			}
		case fd.Message() != nil && !fd.IsMap():
			walk(v.Message(), fn)
		}
		return true
	})
}

// Functions by volatility, as PostgreSQL's catalog marks them. Anything not
// listed is unknown: fluxlint does not guess about user functions.
var (
	volatileFuncs = set("random", "random_normal", "clock_timestamp", "timeofday", "gen_random_uuid",
		"uuid_generate_v1", "uuid_generate_v1mc", "uuid_generate_v4", "uuidv4", "uuidv7", "nextval", "setval",
		"txid_current", "pg_current_xact_id", "statement_timestamp_volatile", "setseed", "gen_random_bytes")
	stableFuncs = set("now", "statement_timestamp", "transaction_timestamp", "current_setting", "to_char",
		"current_database", "current_schema", "pg_backend_pid", "to_timestamp", "age", "date_trunc")
	immutableFuncs = set("lower", "upper", "length", "abs", "coalesce", "concat_ws", "md5", "jsonb_build_object",
		"json_build_object", "jsonb_build_array", "array_length", "nullif", "greatest", "least", "trim",
		"btrim", "ltrim", "rtrim", "replace", "substring", "substr", "left", "right", "round", "floor", "ceil",
		"make_interval", "to_jsonb", "to_json", "int4", "int8", "text", "numeric", "bool", "uuid_nil")
)

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// volatility classifies an expression: the most volatile function it calls
// decides, and an unknown function makes the whole expression unknown.
func volatility(n *pgq.Node) ir.Volatility {
	v := ir.Immutable
	raise := func(to ir.Volatility) {
		switch {
		case v == ir.Volatile || to == ir.Volatile:
			v = ir.Volatile
		case v == ir.VolatilityUnknown || to == ir.VolatilityUnknown:
			v = ir.VolatilityUnknown
		case to == ir.Stable:
			v = ir.Stable
		}
	}
	walk(n.ProtoReflect(), func(m protoreflect.Message) {
		switch x := m.Interface().(type) {
		case *pgq.FuncCall:
			name := strings.ToLower(lastName(x.Funcname))
			switch {
			case volatileFuncs[name]:
				raise(ir.Volatile)
			case stableFuncs[name]:
				raise(ir.Stable)
			case immutableFuncs[name]:
			default:
				raise(ir.VolatilityUnknown)
			}
		case *pgq.SQLValueFunction:
			raise(ir.Stable)
		case *pgq.SubLink:
			raise(ir.VolatilityUnknown)
		}
	})
	return v
}

func lastName(nodes []*pgq.Node) string {
	s := strs(nodes)
	if len(s) == 0 {
		return ""
	}
	return s[len(s)-1]
}

// columnRefs lists the column names an expression refers to, in order.
func columnRefs(n *pgq.Node) []string {
	if n == nil {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	walk(n.ProtoReflect(), func(m protoreflect.Message) {
		if cr, ok := m.Interface().(*pgq.ColumnRef); ok {
			if name := lastName(cr.Fields); name != "" && !seen[name] {
				seen[name] = true
				out = append(out, name)
			}
		}
	})
	return out
}

// RenameRelations rewrites a statement (a view's stored CREATE VIEW) so
// that it follows the renames made since, applied in order: a reference to
// a renamed relation names it anew, and a renamed column is read under
// its new name, its output keeping the old one (as PostgreSQL prints the
// view then). Names compare as
// PostgreSQL resolves them, unqualified in public. It reports false when
// the statement does not parse or deparse, or a column rename is in a view
// whose references cannot all be told apart (renameColumn says which).
func RenameRelations(sql string, renames []ir.Rename) (string, bool) {
	for _, r := range renames {
		tree, err := pgq.Parse(sql)
		if err != nil || len(tree.Stmts) != 1 {
			return "", false
		}
		root := tree.Stmts[0].Stmt.ProtoReflect()
		if r.Column != "" && !renameColumn(root, r) || r.Column == "" && !renameRelation(root, r) {
			return "", false
		}
		if sql, err = pgq.Deparse(tree); err != nil {
			return "", false
		}
	}
	return sql, true
}

// renameRelation renames the relation in a parsed statement, and the
// columns qualified by its own name (it has no alias).
func renameRelation(root protoreflect.Message, r ir.Rename) bool {
	qualifiers := map[string]string{}
	walk(root, func(m protoreflect.Message) {
		rv, ok := m.Interface().(*pgq.RangeVar)
		if !ok || public(qname(rv)) != public(r.From) {
			return
		}
		was := rv.Relname
		rv.Relname = r.To.Name
		if rv.Schemaname != "" || public(r.To).Schema != "public" {
			rv.Schemaname = public(r.To).Schema
		}
		if rv.Alias == nil {
			qualifiers[was] = rv.Relname
		}
	})
	walk(root, func(m protoreflect.Message) {
		ref, ok := m.Interface().(*pgq.ColumnRef)
		if !ok || len(ref.Fields) < 2 {
			return
		}
		q := ref.Fields[len(ref.Fields)-2].GetString_()
		if to, ok := qualifiers[q.GetSval()]; ok && q != nil {
			q.Sval = to
		}
	})
	return true
}

// renameColumn renames a column in a parsed view, at every level. Where
// the view reads only that relation (no joins of others, subqueries,
// functions or CTEs), every reference to a column of that name is to it.
// Where it joins others (one SELECT, no USING or NATURAL, no set
// operation), a reference qualified by the relation's alias (or its name,
// without one) is to it, and so is an unqualified one: the view was
// created, so the name was not ambiguous then; it is qualified now, so
// that it stays so. A select list entry that is the bare column gets the
// old name as its output name. It refuses a view where another output
// column has the old name (ORDER BY could mean either).
func renameColumn(root protoreflect.Message, r ir.Rename) bool {
	// The view's own name is a RangeVar too.
	var self *pgq.RangeVar
	if n, isNode := root.Interface().(*pgq.Node); isNode {
		if self = n.GetViewStmt().GetView(); self == nil {
			self = n.GetCreateTableAsStmt().GetInto().GetRel()
		}
	}
	ok, alone, setOp := true, true, false
	var own []*pgq.RangeVar // the renamed relation's places in the FROM
	walk(root, func(m protoreflect.Message) {
		switch x := m.Interface().(type) {
		case *pgq.RangeVar:
			switch {
			case x == self:
			case public(qname(x)) == public(r.From):
				own = append(own, x)
			default:
				alone = false
			}
		case *pgq.JoinExpr:
			ok = ok && len(x.UsingClause) == 0 && !x.IsNatural
		case *pgq.SelectStmt:
			setOp = setOp || x.Op != pgq.SetOperation_SETOP_NONE
		case *pgq.RangeSubselect, *pgq.RangeFunction, *pgq.CommonTableExpr, *pgq.SubLink, *pgq.RangeTableFunc:
			ok = false
		}
	})
	if !ok || !alone && (setOp || len(own) == 0) {
		return false
	}
	// How a reference names the relation: its alias, or its name.
	quals := map[string]bool{}
	for _, rv := range own {
		if rv.Alias != nil {
			quals[rv.Alias.Aliasname] = true
		} else {
			quals[rv.Relname] = true
		}
	}
	names := func(ref *pgq.ColumnRef) *pgq.String {
		n := len(ref.Fields)
		if n == 0 {
			return nil
		}
		s := ref.Fields[n-1].GetString_()
		if s == nil || s.Sval != r.Column {
			return nil
		}
		if alone || n == 1 || quals[ref.Fields[n-2].GetString_().GetSval()] {
			return s
		}
		return nil
	}
	walk(root, func(m protoreflect.Message) {
		if rt, isRT := m.Interface().(*pgq.ResTarget); isRT && rt.Name == r.Column && !alone {
			if ref := rt.Val.GetColumnRef(); ref == nil || names(ref) == nil {
				ok = false
			}
		}
	})
	if !ok {
		return false
	}
	walk(root, func(m protoreflect.Message) {
		if rt, isRT := m.Interface().(*pgq.ResTarget); isRT && rt.Name == "" {
			if ref := rt.Val.GetColumnRef(); ref != nil && names(ref) != nil {
				rt.Name = r.Column
			}
		}
	})
	// An unqualified reference gets the qualifier where the relation is
	// joined once (more often, it could not have been unqualified).
	qual := ""
	if !alone && len(own) == 1 {
		for q := range quals {
			qual = q
		}
	}
	walk(root, func(m protoreflect.Message) {
		if ref, isRef := m.Interface().(*pgq.ColumnRef); isRef {
			if s := names(ref); s != nil {
				s.Sval = r.NewColumn
				if len(ref.Fields) == 1 && qual != "" {
					ref.Fields = append([]*pgq.Node{pgq.MakeStrNode(qual)}, ref.Fields...)
				}
			}
		}
	})
	return true
}

// public names q as an unqualified name resolves, in public (as
// catalog.Resolve does; this package does not import the catalog).
func public(q ir.QName) ir.QName {
	if q.Schema == "" {
		q.Schema = "public"
	}
	return q
}

// ExpandStar writes the * and t.* of a view's SELECT lists as the columns
// they stood for when the view was created (columns, by table, in their
// order), as PostgreSQL stores a view: recreated from its text later, * would
// pick up the columns added since. It reports false when the statement does
// not parse, or a * reads something whose columns are not given (a
// subquery, a function, a join with USING or NATURAL).
func ExpandStar(sql string, columns map[ir.QName][]string) (string, bool) {
	tree, err := pgq.Parse(sql)
	if err != nil || len(tree.Stmts) != 1 {
		return "", false
	}
	type item struct {
		name string // how the SELECT qualifies its columns
		cols []string
	}
	var from func(n *pgq.Node) ([]item, bool)
	from = func(n *pgq.Node) ([]item, bool) {
		switch {
		case n.GetRangeVar() != nil:
			rv := n.GetRangeVar()
			cols, ok := columns[public(qname(rv))]
			name := rv.Relname
			if rv.Alias != nil {
				name = rv.Alias.Aliasname
			}
			return []item{{name, cols}}, ok
		case n.GetJoinExpr() != nil:
			j := n.GetJoinExpr()
			if j.IsNatural || len(j.UsingClause) > 0 {
				return nil, false
			}
			l, okL := from(j.Larg)
			r, okR := from(j.Rarg)
			return append(l, r...), okL && okR
		}
		return nil, false
	}
	ok := true
	walk(tree.Stmts[0].Stmt.ProtoReflect(), func(m protoreflect.Message) {
		sel, isSel := m.Interface().(*pgq.SelectStmt)
		if !isSel || len(sel.TargetList) == 0 {
			return
		}
		var items []item
		known := true
		for _, n := range sel.FromClause {
			is, k := from(n)
			items, known = append(items, is...), known && k
		}
		var list []*pgq.Node
		for _, t := range sel.TargetList {
			ref := t.GetResTarget().GetVal().GetColumnRef()
			if ref == nil || len(ref.Fields) == 0 || ref.Fields[len(ref.Fields)-1].GetAStar() == nil {
				list = append(list, t)
				continue
			}
			var expand []item
			switch {
			case len(ref.Fields) == 1 && known:
				expand = items
			case len(ref.Fields) == 2:
				for _, it := range items {
					if it.name == ref.Fields[0].GetString_().GetSval() && it.cols != nil {
						expand = append(expand, it)
					}
				}
			}
			if len(expand) == 0 {
				ok = false
				return
			}
			for _, it := range expand {
				for _, c := range it.cols {
					list = append(list, pgq.MakeResTargetNodeWithVal(pgq.MakeColumnRefNode([]*pgq.Node{pgq.MakeStrNode(it.name), pgq.MakeStrNode(c)}, -1), -1))
				}
			}
		}
		sel.TargetList = list
	})
	if !ok {
		return "", false
	}
	out, err := pgq.Deparse(tree)
	return out, err == nil
}
