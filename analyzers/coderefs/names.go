package coderefs

import (
	"strings"
	"unicode"
)

// initialisms are the words Go (and many codebases) write in capitals:
// user_id is UserID, registration_uuid RegistrationUUID.
var initialisms = map[string]bool{
	"acl": true, "api": true, "ascii": true, "cpu": true, "css": true, "dns": true, "eof": true, "guid": true,
	"html": true, "http": true, "https": true, "id": true, "ip": true, "json": true, "lhs": true, "qps": true,
	"ram": true, "rhs": true, "rpc": true, "sla": true, "smtp": true, "sql": true, "ssh": true, "tcp": true,
	"tls": true, "ttl": true, "udp": true, "ui": true, "uid": true, "uuid": true, "uri": true, "url": true,
	"utf8": true, "vm": true, "xml": true, "xmpp": true, "xsrf": true, "xss": true, "db": true, "os": true,
}

// spellings are the forms code uses for a SQL name: as is, camelCase and
// PascalCase, each also with Go's initialisms (userId and userID).
func spellings(name string) []string {
	out := []string{name}
	parts := strings.Split(name, "_")
	var camel, pascal, camelGo, pascalGo strings.Builder
	for i, p := range parts {
		if p == "" {
			continue
		}
		up := title(p)
		if initialisms[strings.ToLower(p)] {
			up = strings.ToUpper(p)
		}
		if i == 0 {
			camel.WriteString(p)
			camelGo.WriteString(p)
		} else {
			camel.WriteString(title(p))
			camelGo.WriteString(up)
		}
		pascal.WriteString(title(p))
		pascalGo.WriteString(up)
	}
	out = append(out, camel.String(), pascal.String(), camelGo.String(), pascalGo.String())
	return dedupe(out)
}

// snake turns an identifier into the snake_case column name ORMs derive
// from it: DesiredWorkerID -> desired_worker_id, userId -> user_id.
func snake(s string) string {
	r := []rune(s)
	var b strings.Builder
	for i, c := range r {
		if unicode.IsUpper(c) {
			prevLower := i > 0 && (unicode.IsLower(r[i-1]) || unicode.IsDigit(r[i-1]))
			nextLower := i+1 < len(r) && unicode.IsLower(r[i+1])
			if i > 0 && r[i-1] != '_' && (prevLower || nextLower && unicode.IsUpper(r[i-1])) {
				b.WriteByte('_')
			}
			b.WriteRune(unicode.ToLower(c))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// singular is a table name's model name, as ORMs derive it (users -> user,
// categories -> category, addresses -> address).
func singular(table string) string {
	switch {
	case strings.HasSuffix(table, "ies"):
		return strings.TrimSuffix(table, "ies") + "y"
	case strings.HasSuffix(table, "sses"), strings.HasSuffix(table, "xes"), strings.HasSuffix(table, "ches"), strings.HasSuffix(table, "shes"):
		return strings.TrimSuffix(table, "es")
	case strings.HasSuffix(table, "ss"):
		return table
	}
	return strings.TrimSuffix(table, "s")
}

// tableSpellings adds the model names an ORM derives from a table name:
// users -> User, order_items -> OrderItem.
func tableSpellings(table string) []string {
	out := spellings(table)
	if s := singular(table); s != table && s != "" {
		out = append(out, spellings(s)...)
	}
	return dedupe(out)
}

func title(s string) string {
	if s == "" {
		return s
	}
	r := []rune(s)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func identByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}

// hasWord reports whether word occurs in text as a whole identifier.
func hasWord(text, word string) bool { return wordAt(text, word) >= 0 }

// wordAt is the offset of word's first whole-identifier occurrence, or -1.
func wordAt(text, word string) int {
	for off := 0; ; {
		i := strings.Index(text[off:], word)
		if i < 0 {
			return -1
		}
		start, end := off+i, off+i+len(word)
		if (start == 0 || !identByte(text[start-1])) && (end == len(text) || !identByte(text[end])) {
			return start
		}
		off = start + 1
	}
}
