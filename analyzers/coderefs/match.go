package coderefs

import (
	"bytes"
	"path/filepath"
	"slices"
	"strings"

	"github.com/fluxlint/fluxlint/analyzers/ir"
	"github.com/fluxlint/fluxlint/analyzers/mysql"
	"github.com/fluxlint/fluxlint/analyzers/pg"
	"github.com/fluxlint/fluxlint/analyzers/split"
	"github.com/fluxlint/fluxlint/internal/crash"
)

// matcher looks for every query at once.
type matcher struct {
	queries []Query
	engine  ir.Engine
	words   map[int][]string // query -> the spellings of what it names
	tables  map[string][]string
	// tableNames are tables' spellings in a list, for the loop over a
	// file's tokens (a map's iteration costs more than its few entries).
	tableNames []tableNames
	// cores are the spellings, each cut to start at its rarest byte: a
	// file that holds none of them cannot matter.
	cores   [][]byte
	columns map[string][]string // a table's columns, where known
}

type tableNames struct {
	table string
	names []string
}

// inColumnList reports a string naming q's column in an array or object
// literal of strings that names two more of its table's columns: a list of
// the table's columns, as code that builds SQL keeps (a map of filters to
// columns), even in a file that never names the table.
func (m *matcher) inColumnList(q Query, toks []token, i int) bool {
	others := map[string]bool{}
	for _, step := range []int{-1, 1} {
		for j := i + step; j >= 0 && j < len(toks); j += step {
			t := toks[j]
			if t.kind == tString {
				if t.text != q.Column && slices.Contains(m.columns[q.Table], t.text) {
					others[t.text] = true
				}
				continue
			}
			if t.kind == tIdent && t.key || t.text == "," || t.text == ":" {
				continue
			}
			break // the end of the literal's elements
		}
	}
	return len(others) >= 2
}

func newMatcher(qs []Query, engine ir.Engine) *matcher {
	m := &matcher{queries: qs, engine: engine, words: map[int][]string{}, tables: map[string][]string{}}
	seen := map[string]bool{}
	for i, q := range qs {
		if _, ok := m.tables[q.Table]; !ok {
			m.tables[q.Table] = tableSpellings(q.Table)
			m.tableNames = append(m.tableNames, tableNames{q.Table, m.tables[q.Table]})
		}
		m.words[i] = m.tables[q.Table]
		if q.Column != "" {
			m.words[i] = spellings(q.Column)
		}
		// A file matters only if it spells what is asked about: a column
		// query needs the column's name, not just its table's.
		for _, w := range m.words[i] {
			if core := rareStart(w); !seen[core] {
				seen[core] = true
				m.cores = append(m.cores, []byte(core))
			}
		}
	}
	return m
}

// rareStart cuts a search string to start at its rarest byte (keeping at
// least 4 bytes): bytes.Index stops at every occurrence of the first
// byte, and "e" is everywhere in code.
func rareStart(s string) string {
	const byFrequency = "etaoinsrlcdpumhgfbyvwkxjqz" // lower-case letters in source code, most common first
	best, score := 0, -1
	for i := 0; i+4 <= len(s) || i == 0; i++ {
		c := s[i]
		r := 30 // upper case, digits, '_': rare
		if k := strings.IndexByte(byFrequency, c); k >= 0 {
			r = k
		}
		if r > score {
			best, score = i, r
		}
		if i+4 >= len(s) {
			break
		}
	}
	return s[best:]
}

// safeFile is scan, with a panic caught as a bug that names the file.
func (m *matcher) safeFile(f file, buf *[]byte) (refs map[Query][]Ref, ignored map[Query]bool, bug *crash.Error) {
	defer crash.Recover(f.path, &bug)
	refs, ignored = m.scan(f, buf)
	return refs, ignored, nil
}

// sqlLead are the first words of statements that use tables.
var sqlLead = map[string]bool{"select": true, "insert": true, "update": true, "delete": true, "with": true, "merge": true, "replace": true}

// sqlClause are the first words of SQL fragments that code glues into a
// statement at run time (`and email ilike ...`, `order by ...`): no
// parser takes them alone, so the names they hold are mentions.
var sqlClause = map[string]bool{
	"and": true, "or": true, "where": true, "join": true, "left": true, "right": true, "inner": true, "cross": true,
	"full": true, "on": true, "group": true, "order": true, "having": true, "union": true, "returning": true,
}

// scan finds the references in one file.
func (m *matcher) scan(f file, buf *[]byte) (map[Query][]Ref, map[Query]bool) {
	data, err := f.data(buf) // reused for the next file: what is kept below is copied
	if err != nil {
		return nil, nil
	}
	any := false
	for _, c := range m.cores {
		if bytes.Contains(data, c) {
			any = true
			break
		}
	}
	// A binary file (a NUL in it) is no code; checked only in the few
	// files that spell a name.
	if !any || bytes.IndexByte(data, 0) >= 0 {
		return nil, nil
	}
	lines := strings.Split(string(data), "\n")
	refs := map[Query][]Ref{}
	ignored := map[Query]bool{}
	add := func(q Query, line int, kind Kind) {
		for i, r := range refs[q] {
			if r.Line == line {
				if rank(kind) > rank(r.Kind) {
					refs[q][i].Kind = kind
				}
				return
			}
		}
		text := ""
		if line-1 < len(lines) && line >= 1 {
			text = strings.TrimSpace(lines[line-1])
		}
		refs[q] = append(refs[q], Ref{Path: f.path, Line: line, Text: text, Kind: kind})
	}
	if strings.EqualFold(filepath.Ext(f.path), ".sql") {
		// A query file (sqlc's, or SQL kept beside the code): its
		// statements, parsed; definitions (a schema dump) do not count.
		res := split.Split(data, m.engine)
		for _, seg := range res.Segments {
			m.sqlRefs(string(data[seg.Start:seg.End]), res.Lines.Pos(seg.Start).Line, add)
		}
		return refs, ignored
	}
	toks := lex(data, langOf(f.path))
	if interpolates(f.path) {
		toks = withTemplateCode(toks)
	}
	modelLine := map[int]modelRef{} // lines that declare a model's field
	mapped := map[string]bool{}     // tables a model in the file maps
	for _, mr := range models(f.path, data, toks) {
		if mr.column != "" || mr.decl {
			modelLine[mr.line] = mr
		}
		if mr.decl {
			continue
		}
		for _, q := range m.queries {
			if mr.mapsTo(q.Table) {
				mapped[q.Table] = true
			}
			// A field named legacyFlag maps legacy_flag under the snake
			// naming strategies most projects use.
			if mr.mapsTo(q.Table) && (mr.column == q.Column || q.Column != "" && snake(mr.column) == q.Column) && !mr.ignored {
				add(q, mr.line, Model)
			}
		}
	}
	if langOf(f.path) == langRust {
		// diesel's query DSL names a column by its table's module:
		// post::url, post::dsl::url, post::columns::url.
		for i := 0; i+3 < len(toks); i++ {
			if toks[i].kind != tIdent || !is(toks, i+1, ":") || !is(toks, i+2, ":") {
				continue
			}
			j := i + 3
			if is(toks, j, "dsl") || is(toks, j, "columns") {
				if !is(toks, j+1, ":") || !is(toks, j+2, ":") {
					continue
				}
				j += 3
			}
			for _, q := range m.queries {
				if q.Column != "" && toks[i].text == q.Table && j < len(toks) && toks[j].text == q.Column {
					add(q, toks[j].line, SQL)
				}
				if q.Column == "" && toks[i].text == q.Table && (is(toks, j, "table") || is(toks, j, "dsl")) {
					add(q, toks[i].line, SQL)
				}
			}
		}
	}
	about := map[string]bool{} // the file names the table or its model
	for _, tn := range m.tableNames {
		for _, t := range toks {
			if slices.ContainsFunc(tn.names, func(n string) bool { return t.text == n || t.kind == tString && hasWord(t.text, n) }) {
				about[tn.table] = true
				break
			}
		}
	}
	for i, t := range toks {
		if t.kind == tString && clickhouse(t.text) {
			continue // another database's query: not a use of this one's tables
		}
		if t.kind == tString {
			lead := strings.ToLower(firstWord(t.text))
			if sqlLead[lead] || sqlClause[lead] && fragment(t.text) || t.inSQL {
				if sqlLead[lead] && m.sqlRefs(t.text, t.line, add) {
					continue
				}
				// SQL the parser rejects (another dialect, fragments
				// glued at run time): its names are mentions.
				for qi, q := range m.queries {
					if q.Column == "" || !about[q.Table] {
						continue
					}
					for _, w := range m.words[qi] {
						for _, at := range sqlWords(t.text, w) {
							add(q, t.line+strings.Count(t.text[:at], "\n"), Mention)
						}
					}
				}
				if !t.inSQL {
					continue // a piece of SQL in ${...} is code's string too ('referrer_domain')
				}
			}
		}
		for qi, q := range m.queries {
			switch {
			case t.kind == tString && strings.TrimSpace(t.text) == q.Table && q.Column == "":
				if !mapped[q.Table] { // a model's own mapping is its model ref
					add(q, t.line, Mention) // db.Table("users"), knex("users")
				}
			case q.Column == "":
			case modelLine[t.line].table != "":
				// a model field, understood above: this table's column, or
				// another model's field of the same name
			case t.kind == tString && t.text == q.Column && (strings.Contains(q.Column, "_") || m.inColumnList(q, toks, i)):
				// A snake_case column name as a string, or one in a list
				// of the table's columns, is a column name wherever it is
				// (query builders, a map of filters to columns), even in
				// a file that does not name the table.
				add(q, t.line, Mention)
			case !about[q.Table]:
			case t.kind == tString && strings.TrimSpace(t.text) == q.Column:
				add(q, t.line, Mention) // .select("email"), where("email", ...)
			case t.kind == tIdent && contains(m.words[qi], t.text) && !ignoredColumns(toks, i):
				add(q, t.line, Mention)
			}
		}
	}
	// A column that ActiveRecord's ignored_columns lists is removed from
	// the model already.
	for i, t := range toks {
		if t.text != "ignored_columns" {
			continue
		}
		for j := i + 1; j < len(toks) && toks[j].line <= t.line+3 && !is(toks, j, "]"); j++ {
			for _, q := range m.queries {
				if q.Column != "" && toks[j].text == q.Column {
					ignored[q] = true
				}
			}
		}
	}
	return refs, ignored
}

// rank orders kinds by strength, for a line matched more than one way.
func rank(k Kind) int { return map[Kind]int{Mention: 0, Model: 1, SQL: 2}[k] }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// ignoredColumns reports whether the identifier at i is inside an
// ignored_columns list.
func ignoredColumns(toks []token, i int) bool {
	for j := i - 1; j >= 0 && toks[j].line >= toks[i].line-3; j-- {
		if toks[j].text == "ignored_columns" {
			return true
		}
		if is(toks, j, "]") {
			return false
		}
	}
	return false
}

// clickhouse reports SQL written for ClickHouse, whose query parameters
// are {name:Type} ({websiteId:UUID}): an application that keeps its
// events there queries ClickHouse's tables of the same names, which a
// migration of this database does not change. (sqlc's and Prisma's
// {{name::type}} has two braces.)
func clickhouse(text string) bool {
	for i := 0; i < len(text); i++ {
		if text[i] != '{' || i > 0 && (text[i-1] == '{' || text[i-1] == '$') {
			continue
		}
		j := i + 1
		for j < len(text) && identByte(text[j]) {
			j++
		}
		if j == i+1 || j+1 >= len(text) || text[j] != ':' || !isUpper(text[j+1]) {
			continue
		}
		k := j + 1
		for k < len(text) && (identByte(text[k]) || text[k] == '(' || text[k] == ')' || text[k] == ',' || text[k] == ' ') {
			k++
		}
		if k < len(text) && text[k] == '}' {
			return true
		}
	}
	return false
}

// fragment tells a SQL fragment from prose that starts with the same word
// ("and then ..."): a condition compares or calls, ORDER and GROUP go on
// with BY, a join names JOIN.
func fragment(text string) bool {
	words := strings.Fields(strings.ToLower(text))
	switch {
	case len(words) < 2:
		return false
	case words[0] == "order" || words[0] == "group":
		return words[1] == "by"
	case words[0] == "union" || words[0] == "returning":
		return true
	case words[0] == "join" || slices.Contains(words[:min(3, len(words))], "join"):
		return true
	}
	return strings.ContainsAny(text, "=<>(.{$") || slices.ContainsFunc(words, func(w string) bool {
		return w == "like" || w == "ilike" || w == "in" || w == "is" || w == "between"
	})
}

// firstWord is a SQL text's first keyword, after comments and a
// template's leading ${...} fragments (a CTE or a clause glued in front).
func firstWord(s string) string {
	for skipped := true; skipped; {
		s = strings.TrimLeft(s, " \t\r\n(")
		skipped = false
		for _, p := range [...][2]string{{"${", "}"}, {"--", "\n"}, {"/*", "*/"}} {
			if strings.HasPrefix(s, p[0]) {
				end := strings.Index(s, p[1])
				if end < 0 {
					return ""
				}
				s, skipped = s[end+len(p[1]):], true
			}
		}
	}
	end := 0
	for end < len(s) && identByte(s[end]) {
		end++
	}
	return s[:end]
}

// sqlRefs parses text as SQL starting at line, and reports each query's
// table or column that a statement uses. It reports whether the text
// parsed.
func (m *matcher) sqlRefs(text string, line int, add func(Query, int, Kind)) bool {
	uses, err := m.parse(text)
	if err != nil {
		return false
	}
	text = withOptionalSQL(text) // its lines are found where the template writes them
	lineOf := func(at int) int { return line + strings.Count(text[:at], "\n") }
	for _, u := range uses {
		if u.Definition {
			continue
		}
		for _, q := range m.queries {
			names := false
			aliases := map[string]bool{q.Table: true}
			for _, t := range u.Tables {
				if strings.EqualFold(t.Name.Name, q.Table) {
					names = true
					if t.Alias != "" {
						aliases[t.Alias] = true
					}
				}
			}
			if !names {
				continue
			}
			if q.Column == "" {
				if at := sqlWords(text, q.Table); len(at) > 0 {
					add(q, lineOf(at[0]), SQL)
				} else {
					add(q, line, SQL)
				}
				continue
			}
			uses := false
			for _, c := range u.Columns {
				if !strings.EqualFold(c.Name, q.Column) {
					continue
				}
				switch {
				case c.Target != nil && !strings.EqualFold(c.Target.Name, q.Table):
				case c.Target == nil && c.Qualifier != "" && !aliases[c.Qualifier]:
				case c.Target == nil && c.Qualifier == "" && c.Tables != nil && !slices.ContainsFunc(c.Tables, func(t ir.QName) bool { return strings.EqualFold(t.Name, q.Table) }):
					// an outer query's column, where only a subquery in
					// its WHERE reads the table
				default:
					uses = true
				}
			}
			if !uses {
				continue
			}
			// Every line of the statement that names the column, unless
			// another table or its alias qualifies it there (the alias of
			// a subquery or a CTE passes the column on).
			others := map[string]bool{}
			for _, t := range u.Tables {
				if !strings.EqualFold(t.Name.Name, q.Table) {
					others[strings.ToLower(t.Name.Name)] = true
					others[strings.ToLower(t.Alias)] = true
				}
			}
			for _, at := range sqlWords(text, q.Column) {
				if qual := qualifier(text, at); qual == "" || aliases[qual] || !others[strings.ToLower(qual)] {
					add(q, lineOf(at), SQL)
				}
			}
		}
	}
	return true
}

// parse reads application SQL with the engine's parser, after turning the
// drivers' placeholders (?, :name, %s, {{name}}, {name:Type}) into ones it
// accepts. A template's ${...} may be a value or a whole clause: it is
// tried as a value, then as nothing, then as TRUE.
func (m *matcher) parse(text string) ([]ir.SQLUse, error) {
	var err error
	for _, frag := range []string{"auto", "", " ", " TRUE "} {
		var uses []ir.SQLUse
		sql := placeholders(text, m.engine, frag)
		if m.engine == ir.MySQL {
			uses, err = mysql.Uses(sql)
		} else {
			uses, err = pg.Uses(sql)
		}
		if err == nil || !strings.Contains(text, "${") {
			return uses, err
		}
	}
	return nil, err
}

// endsWithWord reports whether s ends with one of the keywords.
func endsWithWord(s string, words ...string) bool {
	s = strings.ToLower(strings.TrimRight(s, " \t\r\n"))
	for _, w := range words {
		if strings.HasSuffix(s, w) && (len(s) == len(w) || !identByte(s[len(s)-len(w)-1])) {
			return true
		}
	}
	return false
}

// placeholders rewrites bind markers outside quotes: PostgreSQL's parser
// takes $1, MySQL's ?. frag replaces a template's ${...} ("": a marker).
func placeholders(s string, engine ir.Engine, frag string) string {
	mark := "$1"
	if engine == ir.MySQL {
		mark = "?"
	}
	fragment := frag
	if fragment == "" {
		fragment = mark
	}
	var b strings.Builder
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
			b.WriteByte(c)
		case c == '\'' || c == '"':
			quote = c
			b.WriteByte(c)
		case c == '?' && engine != ir.MySQL:
			b.WriteString(mark)
		case c == '%' && i+1 < len(s) && strings.IndexByte("sdvq", s[i+1]) >= 0:
			b.WriteString(mark)
			i++
		case c == '$' && i+1 < len(s) && s[i+1] == '{':
			end := closingBrace(s, i+2) - i // the expression may hold braces itself
			if i+end >= len(s) {
				b.WriteString(s[i:])
				return b.String()
			}
			switch text, ok := optionalSQL(s[i+2 : i+end]); {
			case frag != "auto":
				b.WriteString(fragment)
			case ok:
				b.WriteString(" " + text + " ") // the SQL it adds when it adds any
			case endsWithWord(b.String(), "where", "and", "or", "on", "having", "when", "not"):
				b.WriteString(" TRUE ") // a condition
			case strings.HasSuffix(strings.TrimRight(b.String(), " \t"), "\n") || strings.TrimSpace(b.String()) == "":
				b.WriteString(" ") // a clause of its own line
			default:
				b.WriteString(mark) // a value
			}
			i += end
		case c == '{' && i+1 < len(s) && (s[i+1] == '{' || identByte(s[i+1])):
			// {{name::type}} and ClickHouse's {name:Type}
			end := strings.IndexByte(s[i:], '}')
			if end < 0 || strings.ContainsAny(s[i:i+end], " \n") {
				b.WriteByte(c)
				continue
			}
			if strings.HasPrefix(s[i+end:], "}}") {
				end++
			}
			b.WriteString(mark)
			i += end
		case c == ':' && i+1 < len(s) && (s[i+1] >= 'a' && s[i+1] <= 'z' || s[i+1] == '_') && (i == 0 || s[i-1] != ':') && (i+1 >= len(s) || s[i+1] != ':'):
			j := i + 1
			for j < len(s) && identByte(s[j]) {
				j++
			}
			b.WriteString(mark)
			i = j - 1
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// withOptionalSQL writes each ${cond ? 'piece' : ""} of a template as its
// piece, keeping the expression's line breaks so that lines stay put.
func withOptionalSQL(text string) string {
	if !strings.Contains(text, "${") {
		return text
	}
	var b strings.Builder
	for {
		i := strings.Index(text, "${")
		if i < 0 {
			break
		}
		end := closingBrace(text, i+2)
		expr := text[i+2 : end]
		b.WriteString(text[:i])
		if piece, ok := optionalSQL(expr); ok {
			b.WriteString(piece + strings.Repeat("\n", strings.Count(expr, "\n")))
		} else {
			b.WriteString(text[i:min(end+1, len(text))])
		}
		text = text[min(end+1, len(text)):]
	}
	b.WriteString(text)
	return b.String()
}

// optionalSQL reads a template expression that adds a piece of SQL or
// nothing, cond ? 'country,' : "", and returns the piece.
func optionalSQL(expr string) (string, bool) {
	cond, branches, ok := strings.Cut(expr, "?")
	if !ok || strings.TrimSpace(cond) == "" {
		return "", false
	}
	yes, no, ok := strings.Cut(branches, ":")
	literal := func(s string) (string, bool) {
		s = strings.TrimSpace(s)
		if len(s) < 2 || !strings.ContainsRune("'\"`", rune(s[0])) || s[len(s)-1] != s[0] || strings.ContainsRune(s[1:len(s)-1], rune(s[0])) {
			return "", false
		}
		return s[1 : len(s)-1], true
	}
	a, okA := literal(yes)
	b, okB := literal(no)
	switch {
	case !ok || !okA || !okB:
		return "", false
	case b == "":
		return a, a != ""
	case a == "":
		return b, true
	}
	return "", false
}

// sqlWords are the offsets of word's occurrences in SQL text as an
// identifier: outside comments, string literals and placeholders (a
// double-quoted identifier counts), case-insensitively as SQL compares
// names.
func sqlWords(text, word string) []int {
	var out []int
	lower, w := strings.ToLower(text), strings.ToLower(word)
	for i := 0; i < len(text); {
		switch {
		case strings.HasPrefix(text[i:], "--"):
			nl := strings.IndexByte(text[i:], '\n')
			if nl < 0 {
				return out
			}
			i += nl + 1
		case strings.HasPrefix(text[i:], "/*"):
			end := strings.Index(text[i+2:], "*/")
			if end < 0 {
				return out
			}
			i += end + 4
		case text[i] == '\'':
			end := strings.IndexByte(text[i+1:], '\'')
			if end < 0 {
				return out
			}
			i += end + 2
		case strings.HasPrefix(text[i:], "{{") || strings.HasPrefix(text[i:], "${"):
			// a bind parameter ({{country}}) or a template's value: named
			// like the column, it is not the column
			i = closingBrace(text, i+2) + 1
		case strings.HasPrefix(lower[i:], w) && (i == 0 || !identByte(text[i-1])) && (i+len(w) == len(text) || !identByte(text[i+len(w)])):
			out = append(out, i)
			i += len(w)
		default:
			i++
		}
	}
	return out
}

// qualifier is the name before "." ahead of offset at ("" for none).
func qualifier(text string, at int) string {
	end := at
	if end == 0 || text[end-1] != '.' {
		return ""
	}
	end--
	if end > 0 && text[end-1] == '"' {
		start := strings.LastIndexByte(text[:end-1], '"')
		if start >= 0 {
			return text[start+1 : end-1]
		}
	}
	start := end
	for start > 0 && identByte(text[start-1]) {
		start--
	}
	return text[start:end]
}
