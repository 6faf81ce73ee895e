package lint_test

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/fluxlint/fluxlint/analyzers/ir"
	"github.com/fluxlint/fluxlint/analyzers/migrations"
	"github.com/fluxlint/fluxlint/analyzers/onlineddl"
	"github.com/fluxlint/fluxlint/internal/lint"
	"github.com/fluxlint/fluxlint/internal/report"
	myrules "github.com/fluxlint/fluxlint/rules/mysql"
	pgrules "github.com/fluxlint/fluxlint/rules/pg"
)

// jsonReport renders a result as the JSON report: every finding, plan,
// error and file the output would show.
func jsonReport(t *testing.T, res *lint.Result) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := report.JSON(&b, res); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestHistoryCacheSameResults lints the newest migration of every set of
// both corpora with its history, without the cache, then with it twice:
// the second cached run must parse only the new file, and all three
// reports must be identical. It holds the catalog snapshot to the replay
// it replaces, on real histories with every kind of object.
func TestHistoryCacheSameResults(t *testing.T) {
	if _, err := os.Stat(corpusRoot); err != nil {
		t.Skipf("the shared corpus is not beside the project (%v): this test needs ../shared", err)
	}
	for _, c := range []struct {
		dir string
		opt lint.Options
	}{
		{corpusDir, lint.Options{Engine: ir.Postgres, Version: 15, Rules: pgrules.Rules()}},
		{corpusRoot + "/mysql", lint.Options{Engine: ir.MySQL, Rules: myrules.Rules(), Server: onlineddl.Default(onlineddl.MySQL)}},
	} {
		sets, _ := migrations.Discover([]string{c.dir})
		cached := c.opt
		cached.CacheDir = t.TempDir()
		checked := 0
		for _, set := range sets {
			if len(set.Migrations) < 2 {
				continue
			}
			newest := set.Migrations[len(set.Migrations)-1].Path
			plain := jsonReport(t, lint.Run([]string{newest}, c.opt))
			first := jsonReport(t, lint.Run([]string{newest}, cached))
			before := lint.ParsedFiles.Load()
			second := jsonReport(t, lint.Run([]string{newest}, cached))
			parsed := lint.ParsedFiles.Load() - before
			if !bytes.Equal(plain, first) || !bytes.Equal(plain, second) {
				t.Errorf("%s: the report differs with the cache (plain %d bytes, storing run %d, restoring run %d)", newest, len(plain), len(first), len(second))
			}
			if parsed > 1 {
				t.Errorf("%s: the run with a cached history parsed %d files, want only the new one", newest, parsed)
			}
			checked++
		}
		if checked < 5 {
			t.Fatalf("%s: only %d sets checked", c.dir, checked)
		}
		t.Logf("%s: %d sets, the same reports with and without the history cache", c.dir, checked)
	}
}

// TestHistoryCacheInvalidation checks that the cache never stands in for a
// different history: a changed history file is replayed again (its new
// column reaches the catalog), a corrupt entry is ignored and replaced, and
// runs sharing the cache at once all get the right result.
func TestHistoryCacheInvalidation(t *testing.T) {
	dir := t.TempDir()
	write := func(name, sql string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(sql), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("0001_init.sql", "CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);\n")
	write("0002_change.sql", "ALTER TABLE users ALTER COLUMN email SET NOT NULL;\n")
	opt := lint.Options{Engine: ir.Postgres, Version: 15, Rules: pgrules.Rules(), CacheDir: t.TempDir()}
	target := filepath.Join(dir, "0002_change.sql")
	// codes lists the findings but PG113's lock_timeout reminder, which
	// the statement gets either way.
	codes := func() []string {
		var out []string
		for _, f := range lint.Run([]string{target}, opt).Findings {
			if f.Rule.Code != "PG113" {
				out = append(out, f.Rule.Code)
			}
		}
		return out
	}
	// email is NOT NULL in the history: the statement changes nothing, no
	// finding; once the history makes it nullable: PG104 (a scan under
	// ACCESS EXCLUSIVE).
	for range 2 { // replayed, then restored
		if got := codes(); len(got) != 0 {
			t.Fatalf("email NOT NULL in the history: %v, want no finding", got)
		}
	}
	write("0001_init.sql", "CREATE TABLE users (id bigint PRIMARY KEY, email text);\n")
	if got := codes(); len(got) == 0 || got[0] != "PG104" {
		t.Fatalf("after the history changed: %v, want PG104 first (the cache served the old history?)", got)
	}
	// Files older than the racy window are found by their metadata: a
	// change that moves the modification time is replayed again.
	past := func(ago time.Duration) {
		when := time.Now().Add(-ago)
		if err := os.Chtimes(filepath.Join(dir, "0001_init.sql"), when, when); err != nil {
			t.Fatal(err)
		}
	}
	past(time.Hour)
	for range 2 { // stored under both keys, then found by the metadata key
		if got := codes(); len(got) == 0 || got[0] != "PG104" {
			t.Fatalf("an old history file: %v, want PG104 first", got)
		}
	}
	if links, _ := filepath.Glob(filepath.Join(opt.CacheDir, "stat-*")); len(links) != 1 {
		t.Fatalf("%d metadata links, want 1 (for the old file)", len(links))
	}
	write("0001_init.sql", "CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);\n")
	past(30 * time.Minute)
	if got := codes(); len(got) != 0 {
		t.Fatalf("after an old history file changed: %v, want no finding (the metadata key served the old history?)", got)
	}
	write("0001_init.sql", "CREATE TABLE users (id bigint PRIMARY KEY, email text);\n")
	entries, _ := filepath.Glob(filepath.Join(opt.CacheDir, "history-*.gob"))
	if len(entries) != 2 {
		t.Fatalf("%d cache entries, want one per history (2)", len(entries))
	}
	for _, e := range entries {
		if err := os.WriteFile(e, []byte("not a snapshot"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if got := codes(); len(got) == 0 || got[0] != "PG104" {
		t.Fatalf("with corrupt entries: %v, want PG104 first", got)
	}
	before := lint.ParsedFiles.Load()
	var wg sync.WaitGroup
	results := make([][]string, 4)
	for i := range results {
		wg.Add(1)
		go func() { defer wg.Done(); results[i] = codes() }()
	}
	wg.Wait()
	for i, got := range results {
		if len(got) == 0 || got[0] != "PG104" {
			t.Errorf("concurrent run %d: %v, want PG104 first", i, got)
		}
	}
	if n := lint.ParsedFiles.Load() - before; n != 4 {
		t.Errorf("concurrent runs parsed %d files, want 4 (the rewritten entry served every history)", n)
	}
}
