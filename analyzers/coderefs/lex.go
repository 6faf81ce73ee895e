package coderefs

import (
	"bytes"
	"path/filepath"
	"strings"
)

// A small lexer for application code: enough to tell identifiers from
// string literals and comments in the languages ORMs are written in. It
// does not parse the languages; it only keeps comments out of the search
// and hands string literals to the SQL parser.

type tokKind int

const (
	tIdent tokKind = iota
	tString
	tPunct
)

type token struct {
	kind tokKind
	text string // an identifier, a string's content, or one punctuation byte
	line int    // line of its first byte
	col  int    // column of the first token on its line (indentation), for Python
	// sym: an identifier right after ':' (a Ruby symbol); key: followed
	// by ':' (a hash or object key).
	sym, key bool
	// inSQL: a string inside a ${...} of a SQL template, such as the
	// 'country,' of ${withCountry ? 'country,' : ''}: a piece of the SQL.
	inSQL bool
}

type lang int

const (
	langC    lang = iota // //, /* */ comments; '...' "..." `...` strings (Go, JS/TS, Java, Kotlin, C#, Swift, PHP, Prisma)
	langRust             // langC with raw strings and lifetimes
	langHash             // # comments (Python, Ruby, Elixir, YAML)
	langSQL              // -- and /* */ comments
)

func langOf(path string) lang {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".rs":
		return langRust
	case ".py", ".rb", ".ex", ".exs", ".yml", ".yaml", ".graphql":
		return langHash
	case ".sql":
		return langSQL
	}
	return langC
}

// lex splits src into identifiers, strings and punctuation, dropping
// comments and whitespace.
func lex(src []byte, l lang) []token {
	out := make([]token, 0, len(src)/6) // about a token per 6 bytes of code: grown rarely
	line, lineStart, first := 1, 0, -1  // first: column of the line's first token
	emit := func(t token, at int) {
		if first < 0 {
			first = at - lineStart
		}
		t.col = first
		out = append(out, t)
	}
	i := 0
	advance := func(to int) {
		for j := i; j < to && j < len(src); j++ {
			if src[j] == '\n' {
				line++
				lineStart = j + 1
				first = -1
			}
		}
		i = to
	}
	for i < len(src) {
		c := src[i]
		switch {
		case c == '\n' || c == ' ' || c == '\t' || c == '\r':
			advance(i + 1)
		case (l == langC || l == langRust) && c == '/' && at(src, i+1) == '/',
			l == langSQL && c == '-' && at(src, i+1) == '-',
			l == langHash && c == '#':
			end := bytes.IndexByte(src[i:], '\n')
			if end < 0 {
				end = len(src) - i
			}
			advance(i + end)
		case (l != langHash) && c == '/' && at(src, i+1) == '*':
			end := bytes.Index(src[i+2:], []byte("*/"))
			if end < 0 {
				end = len(src) - i - 2
			}
			advance(i + 2 + end + 2)
		case l == langHash && c == '<' && at(src, i+1) == '<' && (at(src, i+2) == '~' || at(src, i+2) == '-' || isUpper(at(src, i+2))):
			// A Ruby heredoc: <<~SQL ... SQL.
			j := i + 2
			if src[j] == '~' || src[j] == '-' {
				j++
			}
			k := j
			for k < len(src) && identByte(src[k]) {
				k++
			}
			term := string(src[j:k])
			nl := bytes.IndexByte(src[k:], '\n')
			if term == "" || nl < 0 {
				emit(token{kind: tPunct, text: "<", line: line}, i)
				advance(i + 1)
				continue
			}
			bodyStart := k + nl + 1
			end, stop := len(src), len(src)
			for p := bodyStart; p < len(src); {
				e := bytes.IndexByte(src[p:], '\n')
				ln := src[p:]
				if e >= 0 {
					ln = src[p : p+e]
				}
				if strings.TrimSpace(string(ln)) == term {
					end, stop = p, p+len(ln)
					break
				}
				if e < 0 {
					break
				}
				p += e + 1
			}
			startLine := line
			emit(token{kind: tString, text: string(src[bodyStart:end]), line: startLine + 1}, i)
			advance(stop)
		case c == '"' || c == '\'' || c == '`':
			if l == langRust && c == '\'' && !charLiteral(src, i) {
				advance(i + 1) // a lifetime
				continue
			}
			quote := string(c)
			if (l == langHash || l == langC) && c != '`' && at(src, i+1) == c && at(src, i+2) == c {
				quote = strings.Repeat(quote, 3) // Python, Kotlin, Java text blocks
			}
			j := i + len(quote)
			for j < len(src) {
				if src[j] == '\\' && c != '`' {
					j += 2
					continue
				}
				if strings.HasPrefix(string(src[j:min(j+len(quote), len(src))]), quote) {
					break
				}
				if len(quote) == 1 && src[j] == '\n' && c != '`' && l != langSQL {
					break // an unterminated line: not a string after all
				}
				j++
			}
			startLine := line
			emit(token{kind: tString, text: string(src[i+len(quote) : min(j, len(src))]), line: startLine}, i)
			advance(min(j+len(quote), len(src)))
		case l == langRust && c == 'r' && (at(src, i+1) == '"' || at(src, i+1) == '#'):
			j := i + 1
			for j < len(src) && src[j] == '#' {
				j++
			}
			if at(src, j) != '"' {
				emit(token{kind: tIdent, text: "r", line: line}, i)
				advance(i + 1)
				continue
			}
			term := "\"" + strings.Repeat("#", j-i-1)
			end := strings.Index(string(src[j+1:]), term)
			if end < 0 {
				end = len(src) - j - 1
			}
			emit(token{kind: tString, text: string(src[j+1 : j+1+end]), line: line}, i)
			advance(min(j+1+end+len(term), len(src)))
		case identByte(c) && (c < '0' || c > '9'):
			j := i
			for j < len(src) && identByte(src[j]) {
				j++
			}
			t := token{kind: tIdent, text: string(src[i:j]), line: line}
			t.sym = i > 0 && src[i-1] == ':' && (i < 2 || src[i-2] != ':')
			k := j
			for k < len(src) && (src[k] == ' ' || src[k] == '\t') {
				k++
			}
			t.key = at(src, k) == ':' && at(src, k+1) != ':'
			emit(t, i)
			advance(j)
		case c >= '0' && c <= '9':
			j := i
			for j < len(src) && identByte(src[j]) {
				j++
			}
			advance(j)
		default:
			emit(token{kind: tPunct, text: string(c), line: line}, i)
			advance(i + 1)
		}
	}
	return out
}

func at(src []byte, i int) byte {
	if i < len(src) {
		return src[i]
	}
	return 0
}

func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }

// charLiteral tells a Rust char literal ('a', '\n') from a lifetime ('a).
func charLiteral(src []byte, i int) bool {
	if at(src, i+1) == '\\' {
		return true
	}
	return at(src, i+2) == '\''
}

// interpolates reports the languages whose template strings hold code in
// ${...}: JavaScript and TypeScript (and the components written in them).
func interpolates(path string) bool {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".js", ".jsx", ".mjs", ".cjs", ".ts", ".tsx", ".vue", ".svelte":
		return true
	}
	return false
}

// withTemplateCode adds, after each template string, the tokens of the
// code in its ${...} expressions: toPostgresLikeClause('referrer_domain',
// ...) inside a SQL template names a column as code does, while the SQL
// around it is parsed with the expression as a placeholder.
func withTemplateCode(toks []token) []token {
	var out []token
	for _, t := range toks {
		out = append(out, t)
		if t.kind != tString || !strings.Contains(t.text, "${") {
			continue
		}
		lead := strings.ToLower(firstWord(t.text))
		sql := sqlLead[lead] || sqlClause[lead]
		for i := 0; i+1 < len(t.text); i++ {
			if t.text[i] != '$' || t.text[i+1] != '{' {
				continue
			}
			end := closingBrace(t.text, i+2)
			line := t.line + strings.Count(t.text[:i], "\n")
			for _, inner := range lex([]byte(t.text[i+2:end]), langC) {
				inner.line += line - 1
				inner.inSQL = inner.kind == tString && sql
				out = append(out, inner)
			}
			i = end
		}
	}
	return out
}

// closingBrace is the offset of the '}' that closes a brace opened just
// before from (the text's end when none does).
func closingBrace(s string, from int) int {
	depth := 1
	for i := from; i < len(s); i++ {
		switch s[i] {
		case '{':
			depth++
		case '}':
			if depth--; depth == 0 {
				return i
			}
		}
	}
	return len(s)
}
