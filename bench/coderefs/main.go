//go:build bench

// Command coderefs measures the code-reference search on a real
// application: it lints the whole migration history without the search,
// searches the code for every drop and rename the history holds (as if
// each were new), and prints what the search claims, with a seeded random
// sample of claimed lines to label by hand. With -queries it drops the
// given columns instead, in a scratch migration after the history that
// fluxlint lints as a user would (the references are its findings'), and
// lists every line of the code that names each column as an identifier
// (outside migrations), so that the misses can be labelled too (recall).
//
//	go run -tags bench ./bench/coderefs -repo /tmp/apps/harbor -migrations make/migrations/postgresql
//	go run -tags bench ./bench/coderefs -repo /tmp/apps/lemmy -migrations migrations -queries person.name,post.url
package main

import (
	"flag"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/fluxlint/fluxlint/analyzers/coderefs"
	"github.com/fluxlint/fluxlint/analyzers/ir"
	"github.com/fluxlint/fluxlint/internal/lint"
	pgrules "github.com/fluxlint/fluxlint/rules/pg"
)

func main() {
	repo := flag.String("repo", "", "the application's work tree (a git repository)")
	migs := flag.String("migrations", "", "its migrations directory, relative to -repo")
	queries := flag.String("queries", "", "comma-separated table.column list to search for instead of the history's drops and renames")
	sample := flag.Int("sample", 15, "claimed lines to print for labelling")
	seed := flag.Int64("seed", 1, "sample seed")
	flag.Parse()
	if *repo == "" || *migs == "" {
		flag.Usage()
		os.Exit(2)
	}
	dir := filepath.Join(*repo, *migs)
	var qs []coderefs.Query
	if *queries != "" {
		for _, q := range strings.Split(*queries, ",") {
			t, c, _ := strings.Cut(q, ".")
			qs = append(qs, coderefs.Query{Table: t, Column: c})
		}
	} else {
		start := time.Now()
		res := lint.Run([]string{dir}, lint.Options{Engine: ir.Postgres, Version: pgrules.DefaultVersion, Rules: pgrules.Rules()})
		fmt.Printf("lint without search: %d findings in %v\n", len(res.Findings), time.Since(start).Round(time.Millisecond))
		seen := map[coderefs.Query]bool{}
		for _, f := range res.Findings {
			if f.Uses == nil || f.Rule.WithRefs == nil {
				continue
			}
			q := coderefs.Query{Table: f.Uses.Table.Name, Column: f.Uses.Column}
			if !seen[q] {
				seen[q] = true
				qs = append(qs, q)
			}
		}
	}
	start := time.Now()
	var found *coderefs.Result
	var err error
	if *queries != "" {
		found, err = scratchDrops(*repo, dir, qs)
	} else {
		found, err = coderefs.Search(coderefs.Options{Roots: []string{*repo}, Exclude: []string{dir}, Engine: ir.Postgres}, qs)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if *queries != "" {
		fmt.Printf("lint of the history and %d scratch drops, with the search: %v\n", len(qs), time.Since(start).Round(time.Millisecond))
	} else {
		fmt.Printf("search: %d queries over %d files in %v\n", len(qs), found.Files, time.Since(start).Round(time.Millisecond))
	}
	var strong []string
	kinds := map[coderefs.Kind]int{}
	claimed := 0
	for _, q := range qs {
		has := false
		for _, r := range found.Refs[q] {
			kinds[r.Kind]++
			if r.Kind != coderefs.Mention {
				has = true
				rel, _ := filepath.Rel(*repo, r.Path)
				strong = append(strong, fmt.Sprintf("%s.%s\t%s:%d\t(%s) %s", q.Table, q.Column, rel, r.Line, r.Kind, trim(r.Text)))
			}
		}
		if has {
			claimed++
		}
	}
	fmt.Printf("queries with verified uses: %d of %d; lines: %d sql, %d model, %d mentions\n", claimed, len(qs), kinds[coderefs.SQL], kinds[coderefs.Model], kinds[coderefs.Mention])
	sort.Strings(strong)
	r := rand.New(rand.NewSource(*seed))
	r.Shuffle(len(strong), func(i, j int) { strong[i], strong[j] = strong[j], strong[i] })
	for i := 0; i < *sample && i < len(strong); i++ {
		fmt.Println("  sample:", strong[i])
	}
	if *queries != "" {
		var misses []string
		for _, q := range qs {
			reported := map[string]bool{}
			for _, r := range found.Refs[q] {
				rel, _ := filepath.Rel(*repo, r.Path)
				reported[fmt.Sprintf("%s:%d", rel, r.Line)] = true
			}
			// Every line of searched code naming the column in one of
			// its spellings; those not reported are the candidates for
			// misses, to label.
			args := []string{"-C", *repo, "grep", "-n", "-w", "-I"}
			for _, s := range coderefs.Spellings(q.Column) {
				args = append(args, "-e", s)
			}
			out, _ := exec.Command("git", args...).Output()
			n := 0
			for _, l := range strings.Split(string(out), "\n") {
				parts := strings.SplitN(l, ":", 3)
				if len(parts) < 3 || !coderefs.Searched(parts[0]) || strings.HasPrefix(parts[0], *migs) {
					continue
				}
				if !reported[parts[0]+":"+parts[1]] {
					n++
					misses = append(misses, fmt.Sprintf("%s.%s\t%s:%s\t%s", q.Table, q.Column, parts[0], parts[1], trim(strings.TrimSpace(parts[2]))))
				}
			}
			fmt.Printf("%s.%s: %d verified, %d mentions, %d other lines name it\n", q.Table, q.Column, count(found.Refs[q], false), count(found.Refs[q], true), n)
		}
		var mentions []string
		for _, q := range qs {
			for _, ref := range found.Refs[q] {
				if ref.Kind == coderefs.Mention {
					rel, _ := filepath.Rel(*repo, ref.Path)
					mentions = append(mentions, fmt.Sprintf("%s.%s\t%s:%d\t%s", q.Table, q.Column, rel, ref.Line, trim(ref.Text)))
				}
			}
		}
		r.Shuffle(len(mentions), func(i, j int) { mentions[i], mentions[j] = mentions[j], mentions[i] })
		for i := 0; i < *sample && i < len(mentions); i++ {
			fmt.Println("  mention:", mentions[i])
		}
		r.Shuffle(len(misses), func(i, j int) { misses[i], misses[j] = misses[j], misses[i] })
		for i := 0; i < *sample && i < len(misses); i++ {
			fmt.Println("  unreported:", misses[i])
		}
	}
}

func count(refs []coderefs.Ref, mentions bool) int {
	n := 0
	for _, r := range refs {
		if (r.Kind == coderefs.Mention) == mentions {
			n++
		}
	}
	return n
}

func trim(s string) string {
	if len(s) > 110 {
		return s[:107] + "..."
	}
	return s
}

// scratchDrops writes a migration that drops each queried column after the
// history (in the tool's layout: prisma keeps a directory per migration),
// lints the set with the code search on, as `fluxlint DIR` would, and
// returns the references its findings list.
func scratchDrops(repo, dir string, qs []coderefs.Query) (*coderefs.Result, error) {
	var sql strings.Builder
	for _, q := range qs {
		fmt.Fprintf(&sql, "ALTER TABLE %q DROP COLUMN %q;\n", q.Table, q.Column)
	}
	path := filepath.Join(dir, "99999_fluxlint_scratch.sql")
	if _, err := os.Stat(filepath.Join(dir, "migration_lock.toml")); err == nil {
		path = filepath.Join(dir, "99999999999999_fluxlint_scratch", "migration.sql")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, []byte(sql.String()), 0o644); err != nil {
		return nil, err
	}
	defer func() {
		os.Remove(path)
		if filepath.Dir(path) != dir {
			os.Remove(filepath.Dir(path))
		}
	}()
	res := lint.Run([]string{dir}, lint.Options{Engine: ir.Postgres, Version: pgrules.DefaultVersion, Rules: pgrules.Rules(), CodePaths: []string{repo}})
	found := &coderefs.Result{Refs: map[coderefs.Query][]coderefs.Ref{}}
	for _, f := range res.Findings {
		if f.Uses == nil || f.Path != path {
			continue
		}
		q := coderefs.Query{Table: f.Uses.Table.Name, Column: f.Uses.Column}
		for _, r := range f.Related {
			p := r.Path
			if !filepath.IsAbs(p) {
				p, _ = filepath.Abs(p)
			}
			text := r.Message
			if _, after, ok := strings.Cut(text, ") "); ok {
				text = after
			}
			found.Refs[q] = append(found.Refs[q], coderefs.Ref{Path: p, Line: r.Line, Text: text, Kind: coderefs.Kind(r.Kind)})
		}
	}
	if len(res.Errors) > 0 {
		return nil, res.Errors[0]
	}
	return found, nil
}
