package pg

import (
	pgq "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/fluxlint/fluxlint/analyzers/ir"
)

// Uses parses application SQL (one or more statements) and lists, per
// statement, the tables and columns it names.
func Uses(text string) (out []ir.SQLUse, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, &SyntaxError{Msg: "internal error analysing query"}
		}
	}()
	tree, err := pgq.Parse(text)
	if err != nil {
		return nil, err
	}
	for _, raw := range tree.Stmts {
		var u ir.SQLUse
		switch raw.Stmt.Node.(type) {
		case *pgq.Node_SelectStmt, *pgq.Node_InsertStmt, *pgq.Node_UpdateStmt, *pgq.Node_DeleteStmt, *pgq.Node_MergeStmt:
		default:
			u.Definition = true
		}
		target := func(rv *pgq.RangeVar, cols []*pgq.Node) {
			t := qname(rv)
			for _, c := range cols {
				if r := c.GetResTarget(); r != nil && r.Name != "" {
					u.Columns = append(u.Columns, ir.ColumnUse{Name: r.Name, Target: &t})
				}
			}
		}
		ctes := map[string][]ir.QName{}
		walk(raw.Stmt.ProtoReflect(), func(m protoreflect.Message) {
			if c, ok := m.Interface().(*pgq.CommonTableExpr); ok {
				ctes[c.Ctename] = readTables(c.Ctequery.ProtoReflect())
			}
		})
		visible := map[*pgq.ColumnRef][]ir.QName{}
		levels(raw.Stmt.ProtoReflect(), nil, ctes, visible)
		walk(raw.Stmt.ProtoReflect(), func(m protoreflect.Message) {
			switch x := m.Interface().(type) {
			case *pgq.RangeVar:
				tu := ir.TableUse{Name: qname(x)}
				if x.Alias != nil {
					tu.Alias = x.Alias.Aliasname
				}
				u.Tables = append(u.Tables, tu)
			case *pgq.ColumnRef:
				var parts []string
				for _, f := range x.Fields {
					if s := f.GetString_(); s != nil {
						parts = append(parts, s.Sval)
					}
				}
				switch len(parts) {
				case 0:
				case 1:
					u.Columns = append(u.Columns, ir.ColumnUse{Name: parts[0], Tables: visible[x]})
				default:
					u.Columns = append(u.Columns, ir.ColumnUse{Qualifier: parts[len(parts)-2], Name: parts[len(parts)-1]})
				}
			case *pgq.InsertStmt:
				target(x.Relation, x.Cols)
			case *pgq.UpdateStmt:
				target(x.Relation, x.TargetList)
			case *pgq.IndexElem:
				if x.Name != "" { // ON CONFLICT (col)
					u.Columns = append(u.Columns, ir.ColumnUse{Name: x.Name})
				}
			}
		})
		out = append(out, u)
	}
	return out, nil
}

// levels records, for each column reference, the tables its query level
// and the levels around it read from.
func levels(m protoreflect.Message, visible []ir.QName, ctes map[string][]ir.QName, out map[*pgq.ColumnRef][]ir.QName) {
	switch x := m.Interface().(type) {
	case *pgq.ColumnRef:
		out[x] = visible
		return
	case *pgq.SelectStmt:
		visible = append(visible[:len(visible):len(visible)], fromTables(x.FromClause, ctes)...)
	case *pgq.UpdateStmt:
		visible = append(visible[:len(visible):len(visible)], fromTables(append([]*pgq.Node{{Node: &pgq.Node_RangeVar{RangeVar: x.Relation}}}, x.FromClause...), ctes)...)
	case *pgq.InsertStmt: // RETURNING, ON CONFLICT ... WHERE
		visible = append(visible[:len(visible):len(visible)], qname(x.Relation))
	case *pgq.MergeStmt:
		visible = append(visible[:len(visible):len(visible)], fromTables([]*pgq.Node{{Node: &pgq.Node_RangeVar{RangeVar: x.Relation}}, x.SourceRelation}, ctes)...)
	case *pgq.DeleteStmt:
		visible = append(visible[:len(visible):len(visible)], fromTables(append([]*pgq.Node{{Node: &pgq.Node_RangeVar{RangeVar: x.Relation}}}, x.UsingClause...), ctes)...)
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Message() != nil:
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				levels(l.Get(i).Message(), visible, ctes, out)
			}
		case fd.Message() != nil && !fd.IsMap():
			levels(v.Message(), visible, ctes, out)
		}
		return true
	})
}

// fromTables are the tables a FROM list reads: its tables, the tables
// its subqueries and joins read, and those of the CTEs it names.
func fromTables(items []*pgq.Node, ctes map[string][]ir.QName) []ir.QName {
	var out []ir.QName
	for _, n := range items {
		switch {
		case n == nil:
		case n.GetRangeVar() != nil:
			rv := n.GetRangeVar()
			out = append(out, qname(rv))
			if rv.Schemaname == "" {
				out = append(out, ctes[rv.Relname]...)
			}
		case n.GetJoinExpr() != nil:
			out = append(out, fromTables([]*pgq.Node{n.GetJoinExpr().Larg, n.GetJoinExpr().Rarg}, ctes)...)
		case n.GetRangeSubselect() != nil:
			out = append(out, readTables(n.GetRangeSubselect().Subquery.ProtoReflect())...)
		}
	}
	return out
}

// readTables are every table a query names, at any depth.
func readTables(m protoreflect.Message) []ir.QName {
	var out []ir.QName
	walk(m, func(m protoreflect.Message) {
		if rv, ok := m.Interface().(*pgq.RangeVar); ok {
			out = append(out, qname(rv))
		}
	})
	return out
}
