package pg

import (
	"strconv"
	"strings"

	pgq "github.com/pganalyze/pg_query_go/v6"
)

// QuoteIdent quotes an identifier the way PostgreSQL's quote_ident does:
// only when it is not a plain lower-case name or is a keyword.
func QuoteIdent(s string) string {
	plain := s != ""
	for i, r := range s {
		if !identRune(r, i == 0) {
			plain = false
			break
		}
	}
	if plain && !keywords[s] {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// identRune reports whether r may appear unquoted in an identifier.
func identRune(r rune, first bool) bool {
	switch {
	case r == '_', r >= 'a' && r <= 'z':
		return true
	case first:
		return false
	}
	return r >= '0' && r <= '9' || r == '$'
}

// The renderers below produce, for the most common shapes, exactly what
// pg_query's deparser would, without its cgo and protobuf round trip; for
// anything else they report false and the caller deparses.
// TestFastPathsMatchDeparse holds them to that.

// catalogTypes maps pg_catalog type names to the SQL the deparser prints.
var catalogTypes = map[string]string{
	"int2": "smallint", "int4": "int", "int8": "bigint", "float4": "real", "float8": "double precision",
	"bool": "boolean", "varchar": "varchar", "numeric": "numeric", "timestamptz": "timestamp with time zone",
	"timestamp": "timestamp",
}

func fastType(tn *pgq.TypeName) (string, bool) {
	if tn.Setof || tn.PctType || tn.TypeOid != 0 || tn.Typemod != -1 {
		return "", false
	}
	names := strs(tn.Names)
	var b strings.Builder
	switch {
	case len(names) == 2 && names[0] == "pg_catalog":
		sql, ok := catalogTypes[names[1]]
		if !ok {
			return "", false
		}
		b.WriteString(sql)
	case len(names) == 1 && !strings.HasSuffix(names[0], "serial") && QuoteIdent(names[0]) == names[0]:
		b.WriteString(names[0])
	default:
		return "", false
	}
	if len(tn.Typmods) > 0 {
		mods := make([]string, len(tn.Typmods))
		for i, m := range tn.Typmods {
			v, ok := intConst(m)
			if !ok {
				return "", false
			}
			mods[i] = strconv.Itoa(v)
		}
		b.WriteString("(" + strings.Join(mods, ", ") + ")")
	}
	for _, bound := range tn.ArrayBounds {
		if v, ok := intConst(bound); !ok || v != -1 {
			return "", false
		}
		b.WriteString("[]")
	}
	return b.String(), true
}

func fastExpr(n *pgq.Node) (string, bool) {
	switch x := n.Node.(type) {
	case *pgq.Node_AConst:
		c := x.AConst
		switch {
		case c.Isnull:
			return "NULL", true
		case c.GetIval() != nil:
			return strconv.Itoa(int(c.GetIval().Ival)), true
		case c.GetSval() != nil:
			if strings.ContainsAny(c.GetSval().Sval, `'\`) {
				return "", false
			}
			return "'" + c.GetSval().Sval + "'", true
		case c.GetBoolval() != nil:
			return strconv.FormatBool(c.GetBoolval().Boolval), true
		}
	case *pgq.Node_FuncCall:
		f := x.FuncCall
		names := strs(f.Funcname)
		if len(names) == 1 && len(f.Args) == 0 && !f.AggStar && !f.AggDistinct && f.Over == nil &&
			f.AggFilter == nil && len(f.AggOrder) == 0 && !f.FuncVariadic && f.Funcformat == pgq.CoercionForm_COERCE_EXPLICIT_CALL &&
			QuoteIdent(names[0]) == names[0] {
			return names[0] + "()", true
		}
	case *pgq.Node_TypeCast:
		arg, ok := fastExpr(x.TypeCast.Arg)
		if !ok || x.TypeCast.Arg.GetAConst() == nil {
			return "", false
		}
		typ, ok := fastType(x.TypeCast.TypeName)
		if !ok {
			return "", false
		}
		return arg + "::" + typ, true
	case *pgq.Node_ColumnRef:
		names := strs(x.ColumnRef.Fields)
		if len(names) == 1 && len(x.ColumnRef.Fields) == 1 {
			return QuoteIdent(names[0]), true
		}
	}
	return "", false
}

func fastIndexElem(el *pgq.IndexElem) (string, bool) {
	if el.Name == "" || el.Expr != nil || len(el.Collation) > 0 || len(el.Opclass) > 0 || len(el.Opclassopts) > 0 ||
		el.Ordering != pgq.SortByDir_SORTBY_DEFAULT || el.NullsOrdering != pgq.SortByNulls_SORTBY_NULLS_DEFAULT {
		return "", false
	}
	return QuoteIdent(el.Name), true
}

// StringLiterals lists the string constants in SQL text, read with
// PostgreSQL's own scanner.
func StringLiterals(text string) []string {
	scan, err := pgq.Scan(text)
	if err != nil {
		return nil
	}
	var out []string
	for _, t := range scan.Tokens {
		if t.Token != pgq.Token_SCONST || int(t.End) > len(text) || t.Start < 0 || t.Start > t.End {
			continue
		}
		lit := text[t.Start:t.End]
		if len(lit) >= 2 && lit[0] == '\'' && lit[len(lit)-1] == '\'' {
			out = append(out, strings.ReplaceAll(lit[1:len(lit)-1], "''", "'"))
		}
	}
	return out
}

// RenameColumnIn rewrites the references to column old in SQL text that is
// about one table (an index element with its options, a partial index's
// predicate, a CHECK expression) to name new, read with PostgreSQL's own
// scanner: a name that is old as PostgreSQL folds it, and is neither
// called as a function nor a type after ::. Text that does not scan is
// returned as it is.
func RenameColumnIn(text, old, new string) string {
	if !strings.Contains(strings.ToLower(text), strings.ToLower(old)) {
		return text
	}
	scan, err := pgq.Scan(text)
	if err != nil {
		return text
	}
	var b strings.Builder
	last := 0
	toks := scan.Tokens
	for i, t := range toks {
		if int(t.End) > len(text) || t.Start < 0 || t.Start > t.End {
			return text
		}
		word := text[t.Start:t.End]
		if t.Token != pgq.Token_IDENT && (t.KeywordKind == pgq.KeywordKind_NO_KEYWORD || t.KeywordKind == pgq.KeywordKind_RESERVED_KEYWORD) {
			continue
		}
		name := strings.ToLower(word)
		if len(word) >= 2 && word[0] == '"' {
			name = strings.ReplaceAll(word[1:len(word)-1], `""`, `"`)
		}
		called := i+1 < len(toks) && text[toks[i+1].Start:toks[i+1].End] == "("
		typed := i > 0 && text[toks[i-1].Start:toks[i-1].End] == "::"
		if name != old || called || typed {
			continue
		}
		b.WriteString(text[last:t.Start])
		b.WriteString(QuoteIdent(new))
		last = int(t.End)
	}
	b.WriteString(text[last:])
	return b.String()
}
