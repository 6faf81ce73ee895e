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
