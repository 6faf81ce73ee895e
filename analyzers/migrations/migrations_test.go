package migrations

import (
	"sort"
	"testing"

	_ "github.com/fluxlint/fluxlint/internal/golden"
)

// TestNaturalCompare checks version order as the tools apply it: numbers
// compare as numbers (V1_2 before V1_12), zero padding only breaks ties, and
// timestamps longer than an int64 still order correctly.
func TestNaturalCompare(t *testing.T) {
	got := []string{"1_12", "10", "1_2", "2", "0001", "1", "20240101000000000000001", "20240101000000000000000"}
	want := []string{"0001", "1", "1_2", "1_12", "2", "10", "20240101000000000000000", "20240101000000000000001"}
	sort.SliceStable(got, func(i, j int) bool { return NaturalCompare(got[i], got[j]) < 0 })
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("order %v, want %v", got, want)
		}
	}
}

// TestUpTo checks which migrations a baseline makes history: versions at or
// before it, a Prisma or diesel version that is the baseline plus a name,
// Flyway's 1.2 written as 1_2, and never a repeatable script.
func TestUpTo(t *testing.T) {
	cases := []struct {
		m        Migration
		baseline string
		want     bool
	}{
		{Migration{Tool: Goose, Version: "20240101000000"}, "20240101000000", true},
		{Migration{Tool: Goose, Version: "20231231000000"}, "20240101000000", true},
		{Migration{Tool: Goose, Version: "20240102000000"}, "20240101000000", false},
		{Migration{Tool: Prisma, Version: "20240101000000_init"}, "20240101000000", true},
		{Migration{Tool: Prisma, Version: "20240101000001_next"}, "20240101000000", false},
		{Migration{Tool: Plain, Version: "0009"}, "10", true},
		{Migration{Tool: Plain, Version: "100"}, "10", false},
		{Migration{Tool: Flyway, Version: "1_2"}, "1.2", true},
		{Migration{Tool: Flyway, Version: "1_12"}, "1.2", false},
		{Migration{Tool: Flyway, Version: "views", Repeatable: true}, "9999", false},
	}
	for _, c := range cases {
		if got := UpTo(&c.m, c.baseline); got != c.want {
			t.Errorf("UpTo(%s %q, baseline %q) = %v, want %v", c.m.Tool, c.m.Version, c.baseline, got, c.want)
		}
	}
}
