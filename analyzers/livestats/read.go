package livestats

import (
	"context"
	"slices"
	"strings"
)

// Read connects to the database the source names, read-only, and reads its
// facts.
func Read(ctx context.Context, s *Source) (*Facts, error) {
	if s.Engine == "postgres" {
		return readPostgres(ctx, s)
	}
	return readMySQL(ctx, s)
}

// leftovers finds what interrupted plans and online schema change tools
// leave behind, by the names they give their objects: fluxlint's sync
// triggers and helper NOT NULL checks, gh-ost's _T_gho/_T_ghc/_T_del
// tables, pt-online-schema-change's _T_new/_T_old tables and pt_osc_
// triggers. A NOT VALID helper check is one whose plan stopped before its
// VALIDATE; an INVALID index is reported by drift, not here.
func leftovers(f *Facts) []Leftover {
	var out []Leftover
	names := map[string]bool{}
	for _, t := range f.Tables {
		names[t.Name] = true
	}
	for _, t := range f.Tables {
		for _, suffix := range []struct{ s, by string }{{"_gho", "gh-ost"}, {"_ghc", "gh-ost"}, {"_del", "gh-ost"}, {"_new", "pt-online-schema-change"}, {"_old", "pt-online-schema-change"}} {
			base, ok := strings.CutPrefix(t.Name, "_")
			if !ok {
				continue
			}
			if orig, ok := strings.CutSuffix(base, suffix.s); ok && names[orig] {
				out = append(out, Leftover{Table: orig, What: "table " + t.Name, By: suffix.by})
			}
		}
		for _, trg := range t.Triggers {
			switch {
			case strings.HasPrefix(trg, "pt_osc_"):
				out = append(out, Leftover{Table: t.Name, What: "trigger " + trg, By: "pt-online-schema-change"})
			case strings.HasSuffix(trg, "_sync") || strings.HasSuffix(trg, "_sync_insert") || strings.HasSuffix(trg, "_sync_update"):
				out = append(out, Leftover{Table: t.Name, What: "trigger " + trg, By: "fluxlint"})
			}
		}
		for _, c := range t.Constraints {
			if c.Kind == "check" && !c.Validated && strings.HasSuffix(c.Name, "_not_null") {
				out = append(out, Leftover{Table: t.Name, What: "NOT VALID check " + c.Name, By: "fluxlint"})
			}
		}
	}
	slices.SortFunc(out, func(a, b Leftover) int { return strings.Compare(a.Table+a.What, b.Table+b.What) })
	return out
}
