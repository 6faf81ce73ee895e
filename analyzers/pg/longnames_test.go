package pg

import (
	"slices"
	"strings"
	"testing"
)

// TestLongIdentifiers checks which names PostgreSQL truncates, counted in
// bytes as written (a quoted name unquoted, "" as one "), and where the cut
// falls in a name of multi-byte characters.
func TestLongIdentifiers(t *testing.T) {
	a63 := strings.Repeat("a", 63)
	cases := []struct {
		sql  string
		want []string
	}{
		{"CREATE TABLE " + a63 + " (id int)", nil},
		{"CREATE TABLE " + a63 + "b (id int)", []string{a63 + "b"}},
		{`CREATE TABLE "` + a63 + `""b" (id int)`, []string{a63 + `"b`}},
		{`CREATE TABLE t (id int) -- ` + a63 + "bb in a comment", nil},
		{`COMMENT ON TABLE t IS '` + a63 + "bb in a string'", nil},
	}
	for _, c := range cases {
		if got := LongIdentifiers(c.sql); !slices.Equal(got, c.want) {
			t.Errorf("LongIdentifiers(%.40q...) = %q, want %q", c.sql, got, c.want)
		}
	}
	name := strings.Repeat("é", 40) // 80 bytes
	if got := Truncated(name); got != strings.Repeat("é", 31) {
		t.Errorf("Truncated(80 bytes of é) = %d bytes, want 62 (31 whole characters)", len(got))
	}
}
