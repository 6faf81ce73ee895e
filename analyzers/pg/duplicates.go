package pg

import (
	pgq "github.com/pganalyze/pg_query_go/v6"
)

// assignedTwice returns the first column an UPDATE's SET list assigns
// twice, as PostgreSQL refuses it (42601, "multiple assignments to same
// column"): a whole assignment next to any other of the same column.
// Assignments to different fields or elements of one column (a.x, a.y;
// a[1], a[2]) are allowed.
func assignedTwice(targets []*pgq.Node) string {
	whole, partial := map[string]bool{}, map[string]bool{}
	for _, n := range targets {
		rt := n.GetResTarget()
		if rt == nil {
			continue
		}
		if len(rt.Indirection) == 0 {
			if whole[rt.Name] || partial[rt.Name] {
				return rt.Name
			}
			whole[rt.Name] = true
			continue
		}
		if whole[rt.Name] {
			return rt.Name
		}
		partial[rt.Name] = true
	}
	return ""
}

// viewColumnTwice returns the first output column name a view would have
// twice (PostgreSQL refuses it, 42701): from its column list, or else from
// its query's select list, named as PostgreSQL names them. A name
// fluxlint cannot work out (a * or an expression it does not model) is
// left out, so that it never claims a clash the server would not see.
func viewColumnTwice(v *pgq.ViewStmt) string {
	if len(v.Aliases) > 0 {
		return firstRepeat(strs(v.Aliases))
	}
	sel := v.Query.GetSelectStmt()
	for sel != nil && sel.Larg != nil {
		sel = sel.Larg // a set operation's columns are named by its first branch
	}
	if sel == nil || len(sel.ValuesLists) > 0 {
		return ""
	}
	var names []string
	for _, n := range sel.TargetList {
		rt := n.GetResTarget()
		if rt == nil {
			return ""
		}
		name := rt.Name
		if name == "" {
			name = figureColname(rt.Val)
		}
		if name != "" {
			names = append(names, name)
		}
	}
	return firstRepeat(names)
}

// figureColname names an unaliased select-list expression as PostgreSQL's
// FigureColname does, for the forms fluxlint models; "" otherwise.
func figureColname(n *pgq.Node) string {
	switch {
	case n.GetColumnRef() != nil:
		fields := n.GetColumnRef().Fields
		if len(fields) == 0 || fields[len(fields)-1].GetAStar() != nil {
			return "" // * expands to columns fluxlint may not know
		}
		return lastName(fields)
	case n.GetFuncCall() != nil:
		return lastName(n.GetFuncCall().Funcname)
	case n.GetTypeCast() != nil:
		tc := n.GetTypeCast()
		if name := figureColname(tc.Arg); name != "" && name != "?column?" {
			return name
		}
		if names := tc.TypeName.GetNames(); len(names) > 0 {
			return lastName(names)
		}
		return ""
	case n.GetAConst() != nil:
		return "?column?"
	case n.GetCaseExpr() != nil:
		return "case"
	case n.GetCoalesceExpr() != nil:
		return "coalesce"
	}
	return ""
}

func firstRepeat(names []string) string {
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			return n
		}
		seen[n] = true
	}
	return ""
}
