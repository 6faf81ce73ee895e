package pg

import (
	"strings"

	pgq "github.com/pganalyze/pg_query_go/v6"
)

// MaxIdentifier is the longest identifier PostgreSQL keeps, in bytes
// (NAMEDATALEN - 1); a longer one is truncated, with a NOTICE.
const MaxIdentifier = 63

// LongIdentifiers returns the identifiers in SQL text longer than
// PostgreSQL keeps, as written (quoted ones unquoted), each once, read with
// PostgreSQL's own scanner. Text with no run of more than MaxIdentifier
// name bytes is not scanned.
func LongIdentifiers(text string) []string {
	if !longRun(text) {
		return nil
	}
	scan, err := pgq.Scan(text)
	if err != nil {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	for _, t := range scan.Tokens {
		if t.Token != pgq.Token_IDENT || int(t.End) > len(text) || t.Start < 0 || t.Start > t.End {
			continue
		}
		name := text[t.Start:t.End]
		if len(name) >= 2 && name[0] == '"' && name[len(name)-1] == '"' {
			name = strings.ReplaceAll(name[1:len(name)-1], `""`, `"`)
		}
		if len(name) > MaxIdentifier && !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	return out
}

// Truncated is name as PostgreSQL keeps it: its first MaxIdentifier bytes,
// cut back to a whole UTF-8 character.
func Truncated(name string) string {
	if len(name) <= MaxIdentifier {
		return name
	}
	n := MaxIdentifier
	for n > 0 && name[n]&0xC0 == 0x80 {
		n-- // inside a multi-byte character
	}
	return name[:n]
}

// longRun reports whether text has more than MaxIdentifier bytes in a row
// that could be one identifier (letters, digits, _, $, non-ASCII, or
// anything between double quotes).
func longRun(text string) bool {
	run, quoted := 0, false
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case c == '"' && quoted && i+1 < len(text) && text[i+1] == '"':
			i++ // "" inside quotes is one " of the name
			if run++; run > MaxIdentifier {
				return true
			}
		case c == '"':
			quoted, run = !quoted, 0
		case quoted || c == '_' || c == '$' || c >= 0x80 || c >= '0' && c <= '9' || c|0x20 >= 'a' && c|0x20 <= 'z':
			run++
			if run > MaxIdentifier {
				return true
			}
		default:
			run = 0
		}
	}
	return false
}
