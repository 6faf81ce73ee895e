package mysql

import (
	"fmt"

	"vitess.io/vitess/go/vt/sqlparser"

	"github.com/fluxlint/fluxlint/analyzers/ir"
)

// Uses parses one statement of application SQL and lists the tables and
// columns it names.
func Uses(sql string) (out []ir.SQLUse, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("internal error analysing query: %v", r)
		}
	}()
	st, err := parser.Parse(sql)
	if err != nil {
		return nil, err
	}
	var u ir.SQLUse
	switch st.(type) {
	case *sqlparser.Select, *sqlparser.Union, *sqlparser.Insert, *sqlparser.Update, *sqlparser.Delete:
	default:
		u.Definition = true
	}
	if ins, ok := st.(*sqlparser.Insert); ok {
		if t, err := ins.Table.TableName(); err == nil {
			q := qname(t)
			for _, c := range ins.Columns {
				u.Columns = append(u.Columns, ir.ColumnUse{Name: c.String(), Target: &q})
			}
		}
	}
	_ = sqlparser.Walk(func(n sqlparser.SQLNode) (bool, error) {
		switch x := n.(type) {
		case *sqlparser.AliasedTableExpr:
			if t, ok := x.Expr.(sqlparser.TableName); ok {
				u.Tables = append(u.Tables, ir.TableUse{Name: qname(t), Alias: x.As.String()})
			}
		case *sqlparser.ColName:
			u.Columns = append(u.Columns, ir.ColumnUse{Qualifier: x.Qualifier.Name.String(), Name: x.Name.String()})
		}
		return true, nil
	}, st)
	return []ir.SQLUse{u}, nil
}
