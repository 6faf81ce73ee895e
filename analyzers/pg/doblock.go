package pg

import (
	"encoding/json"
	"strings"

	pgq "github.com/pganalyze/pg_query_go/v6"

	"github.com/fluxlint/fluxlint/analyzers/ir"
)

// doBlock analyses the SQL inside a DO block: its PL/pgSQL body is parsed,
// and every static statement in it (in IF branches and loops too, taken as
// run) becomes ops, as do EXECUTE statements of a constant string. What stays
// invisible (EXECUTE of a computed string, other languages) adds an Opaque op,
// so the catalog knows it may be missing something.
func doBlock(d *pgq.DoStmt) []ir.Op {
	var body, lang string
	for _, a := range d.Args {
		de := a.GetDefElem()
		if de == nil || de.Arg.GetString_() == nil {
			continue
		}
		switch de.Defname {
		case "as":
			body = de.Arg.GetString_().Sval
		case "language":
			lang = strings.ToLower(de.Arg.GetString_().Sval)
		}
	}
	opaque := []ir.Op{ir.Opaque{Kind: "DO block"}}
	if lang != "" && lang != "plpgsql" {
		return opaque
	}
	tag := "$fluxlint_do$"
	for strings.Contains(body, tag) {
		tag = "$fluxlint_do_" + tag[1:]
	}
	js, err := pgq.ParsePlPgSqlToJSON("CREATE FUNCTION fluxlint_do() RETURNS void LANGUAGE plpgsql AS " + tag + body + tag)
	if err != nil {
		return opaque
	}
	var tree any
	if json.Unmarshal([]byte(js), &tree) != nil {
		return opaque
	}
	var ops []ir.Op
	hidden := false
	visit(tree, func(kind string, node map[string]any) {
		switch kind {
		case "PLpgSQL_stmt_execsql", "PLpgSQL_stmt_call":
			// CALL and a nested DO are calls to PL/pgSQL, with the
			// statement in "expr".
			q := exprQuery(node["sqlstmt"])
			if kind == "PLpgSQL_stmt_call" {
				q = exprQuery(node["expr"])
			}
			if more, err := Parse(q); err == nil {
				ops = append(ops, more...)
			} else {
				hidden = true
			}
		case "PLpgSQL_stmt_dynexecute":
			q := exprQuery(node["query"])
			if s, ok := stringConstant(q); ok {
				if more, err := Parse(s); err == nil {
					ops = append(ops, more...)
					return
				}
			}
			hidden = true
		}
	})
	if hidden {
		ops = append(ops, opaque...)
	}
	if len(ops) == 0 {
		return []ir.Op{ir.Other{Kind: "DO block"}}
	}
	return ops
}

// visit calls fn for every PL/pgSQL statement object in document order.
func visit(v any, fn func(kind string, node map[string]any)) {
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			visit(e, fn)
		}
	case map[string]any:
		for k, e := range x {
			if node, ok := e.(map[string]any); ok && strings.HasPrefix(k, "PLpgSQL_stmt_") {
				fn(k, node)
			}
		}
		// Children in a fixed order, so the ops come out in statement order.
		for _, key := range []string{"action", "body", "then_body", "elsif_list", "else_body", "stmts", "case_when_list", "else_stmts", "exc", "exc_list"} {
			if e, ok := x[key]; ok {
				visit(e, fn)
			}
		}
		for k, e := range x {
			if strings.HasPrefix(k, "PLpgSQL_") {
				visit(e, fn)
			}
		}
	}
}

func exprQuery(v any) string {
	m, _ := v.(map[string]any)
	e, _ := m["PLpgSQL_expr"].(map[string]any)
	q, _ := e["query"].(string)
	return q
}

// stringConstant reads a SQL string literal ('...' with ” escapes).
func stringConstant(q string) (string, bool) {
	q = strings.TrimSpace(q)
	if len(q) < 2 || q[0] != '\'' || q[len(q)-1] != '\'' {
		return "", false
	}
	inner := q[1 : len(q)-1]
	if strings.Contains(strings.ReplaceAll(inner, "''", ""), "'") {
		return "", false
	}
	return strings.ReplaceAll(inner, "''", "'"), true
}
