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
					u.Columns = append(u.Columns, ir.ColumnUse{Name: parts[0]})
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
