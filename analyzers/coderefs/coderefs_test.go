package coderefs

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/fluxlint/fluxlint/analyzers/ir"
)

// copyTree copies a fixture into a scratch git work tree (git decides what
// is ignored), and returns it.
func copyTree(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	if out, err := exec.Command("cp", "-r", src+"/.", dst).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	if out, err := exec.Command("git", "-C", dst, "init", "-q").CombinedOutput(); err != nil {
		t.Fatalf("git init: %v %s", err, out)
	}
	return dst
}

// wants reads the inline expectations: "want users.email=sql" on a line
// says the search finds that query there, of that kind.
func wants(t *testing.T, root string) (map[string]bool, []Query, map[string][]string) {
	t.Helper()
	want := map[string]bool{}
	err := filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || info.Name() == "README.md" || info.Name() == "queries.txt" {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		rel, _ := filepath.Rel(root, p)
		for line := 1; sc.Scan(); line++ {
			_, spec, ok := strings.Cut(sc.Text(), "want ")
			if !ok {
				continue
			}
			for _, w := range strings.Fields(spec) {
				want[fmt.Sprintf("%s:%d %s", filepath.ToSlash(rel), line, w)] = true
			}
		}
		return sc.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, "queries.txt"))
	if err != nil {
		t.Fatal(err)
	}
	// "table(a,b,c)" lists a table's columns, as the catalog knows them.
	var qs []Query
	columns := map[string][]string{}
	for _, l := range strings.Fields(string(data)) {
		if table, cols, ok := strings.Cut(strings.TrimSuffix(l, ")"), "("); ok {
			columns[table] = strings.Split(cols, ",")
			continue
		}
		table, col, _ := strings.Cut(l, ".")
		qs = append(qs, Query{Table: table, Column: col})
	}
	return want, qs, columns
}

func (q Query) String() string {
	if q.Column == "" {
		return q.Table
	}
	return q.Table + "." + q.Column
}

// TestSearchPatterns runs the search on a tree holding each pattern of
// real applications, in every language the search reads: model fields
// mapped to the table (Go tags and TableName, sqlc models with Go
// initialisms, Prisma @map, TypeORM, Django db_table, SQLAlchemy, Rails,
// diesel), SQL in strings and query files parsed with the engine's parser
// (aliases, joins, sqlc parameters, template literals, Ruby heredocs), and
// what must not count: another table's same-named column, comments, error
// strings, schema dumps, other dialects' migration folders, test
// fixtures, vendored and git-ignored code, fields the ORM ignores.
func TestSearchPatterns(t *testing.T) {
	src := filepath.Join("..", "..", "fixtures", "coderefs", "_patterns")
	root := copyTree(t, src)
	want, qs, columns := wants(t, src)
	res, err := Search(Options{Roots: []string{root}, Engine: ir.Postgres, Columns: columns}, qs)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for q, refs := range res.Refs {
		for _, r := range refs {
			rel, _ := filepath.Rel(root, r.Path)
			got[fmt.Sprintf("%s:%d %s=%s", filepath.ToSlash(rel), r.Line, q, r.Kind)] = true
		}
	}
	var missing, extra []string
	for w := range want {
		if !got[w] {
			missing = append(missing, w)
		}
	}
	for g := range got {
		if !want[g] {
			extra = append(extra, g)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing)+len(extra) > 0 {
		t.Errorf("missing:\n  %s\nunexpected:\n  %s", strings.Join(missing, "\n  "), strings.Join(extra, "\n  "))
	}
}

// TestIgnoredColumns: ActiveRecord's ignored_columns marks a column as
// already removed from the code.
func TestIgnoredColumns(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "user.rb"), []byte("class User < ApplicationRecord\n  self.ignored_columns += [\"score\"]\n  validates :score\nend\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	q := Query{Table: "users", Column: "score"}
	res, err := Search(Options{Roots: []string{root}}, []Query{q})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Ignored[q] || len(res.Refs[q]) != 0 {
		t.Errorf("ignored %v, refs %v: want ignored and none", res.Ignored[q], res.Refs[q])
	}
}

// TestSearchRevision reads a revision's files from git, without a
// checkout: the deployed code still uses users.email, the work tree no
// longer does.
func TestSearchRevision(t *testing.T) {
	root := t.TempDir()
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", root, "-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v %s", args, err, out)
		}
	}
	write := func(name, body string) {
		t.Helper()
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git("init", "-q", "-b", "main")
	write("api/user.go", "package api\n\nconst q = `SELECT email FROM users WHERE id = $1`\n")
	git("add", ".")
	git("commit", "-q", "-m", "deployed")
	write("api/user.go", "package api\n\nconst q = `SELECT id FROM users WHERE id = $1`\n")
	q := Query{Table: "users", Column: "email"}
	now, err := Search(Options{Roots: []string{filepath.Join(root, "api")}}, []Query{q})
	if err != nil {
		t.Fatal(err)
	}
	then, err := Search(Options{Roots: []string{filepath.Join(root, "api")}, Rev: "main"}, []Query{q})
	if err != nil {
		t.Fatal(err)
	}
	if len(now.Refs[q]) != 0 || len(then.Refs[q]) != 1 || then.Refs[q][0].Line != 3 || then.Refs[q][0].Kind != SQL {
		t.Errorf("work tree %v, revision main %v: want none now, one SQL use at line 3 in main", now.Refs[q], then.Refs[q])
	}
	if _, err := Search(Options{Roots: []string{root}, Rev: "--output=x"}, []Query{q}); err == nil {
		t.Error("a revision starting with - must be refused, not passed to git as an option")
	}
}

// TestPrefetchExclude: the tree is read before the migration directories
// are known, so Search leaves them out; SQL in a migration directory whose
// name does not say so is not a use, the same SQL in the code is. A
// directory excluded that is the root itself excludes nothing (migrations
// kept at the top of the code tree), as Search with Options does.
func TestPrefetchExclude(t *testing.T) {
	root := t.TempDir()
	for name, body := range map[string]string{
		"db/changes/0002.sql": "SELECT email FROM users;\n",
		"api/user.go":         "package api\n\nconst q = `SELECT email FROM users`\n",
	} {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := exec.Command("git", "-C", root, "init", "-q").CombinedOutput(); err != nil {
		t.Fatalf("git init: %v %s", err, out)
	}
	q := Query{Table: "users", Column: "email"}
	paths := func(res *Result) string {
		var ps []string
		for _, r := range res.Refs[q] {
			rel, _ := filepath.Rel(root, r.Path)
			ps = append(ps, filepath.ToSlash(rel))
		}
		sort.Strings(ps)
		return strings.Join(ps, ",")
	}
	tree := Prefetch([]string{root})
	for _, c := range []struct {
		exclude []string
		want    string
	}{
		{[]string{filepath.Join(root, "db", "changes")}, "api/user.go"},
		{nil, "api/user.go,db/changes/0002.sql"},
		{[]string{root}, "api/user.go,db/changes/0002.sql"},
	} {
		opt := Options{Roots: []string{root}, Engine: ir.Postgres, Exclude: c.exclude}
		early, err := tree.Search(opt, []Query{q})
		if err != nil {
			t.Fatal(err)
		}
		late, err := Search(opt, []Query{q})
		if err != nil {
			t.Fatal(err)
		}
		if paths(early) != c.want || paths(late) != c.want {
			t.Errorf("exclude %v: prefetched %q, read at search time %q, want %q", c.exclude, paths(early), paths(late), c.want)
		}
	}
}
