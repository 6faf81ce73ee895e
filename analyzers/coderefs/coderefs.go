// Package coderefs finds where application code refers to a table or a
// column, so that a drop or rename can list the code still using it. It
// scans a source tree once for every name asked about, honouring .gitignore
// and skipping migrations, vendored code and build output.
//
// A name matches as a whole identifier (name never matches username), also
// in the spellings ORMs derive from it (legacy_flag, legacyFlag,
// LegacyFlag). A column counts only in files that are about its table
// (they name the table or its model), which keeps comments and code of
// other tables out. ActiveRecord's ignored_columns marks a column as already
// removed from the code.
package coderefs

import (
	"bufio"
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"unicode"

	"github.com/fluxlint/fluxlint/internal/crash"
)

// Query asks for the references to a table, or to one of its columns.
type Query struct {
	Table  string
	Column string // "" for the table itself
}

// Ref is one reference: a line of a file.
type Ref struct {
	Path string
	Line int
	Text string
}

// Result holds the references found per query.
type Result struct {
	Refs map[Query][]Ref
	// Ignored lists queries whose column an ActiveRecord ignored_columns
	// declaration already removes from the code.
	Ignored map[Query]bool
	Files   int // files scanned
}

// sourceExts are the files searched: application code, ORM schemas and SQL
// kept outside migrations.
var sourceExts = map[string]bool{
	".go": true, ".py": true, ".rb": true, ".erb": true, ".ts": true, ".tsx": true, ".js": true, ".jsx": true,
	".mjs": true, ".cjs": true, ".java": true, ".kt": true, ".scala": true, ".cs": true, ".php": true,
	".prisma": true, ".sql": true, ".ex": true, ".exs": true, ".rs": true, ".swift": true, ".graphql": true,
	".yml": true, ".yaml": true, ".vue": true, ".svelte": true,
}

// skipDirs are never application code.
var skipDirs = map[string]bool{
	".git": true, "node_modules": true, "vendor": true, "dist": true, "build": true, "target": true, "out": true,
	".next": true, "__pycache__": true, ".venv": true, "venv": true, "coverage": true, "migrations": true,
	"migrate": true, "testdata": true,
}

// maxFileSize skips generated bundles and data dumps.
const maxFileSize = 1 << 20

// Search scans the roots for the queries. exclude lists directories (the
// migration directories being linted) whose files never count.
func Search(roots []string, exclude []string, queries []Query) (*Result, error) {
	res := &Result{Refs: map[Query][]Ref{}, Ignored: map[Query]bool{}}
	if len(queries) == 0 {
		return res, nil
	}
	m := newMatcher(queries)
	excluded := map[string]bool{}
	for _, e := range exclude {
		if abs, err := filepath.Abs(e); err == nil {
			excluded[abs] = true
		}
	}
	paths := make(chan string, 256)
	type found struct {
		refs    map[Query][]Ref
		ignored map[Query]bool
	}
	results := make(chan found, 256)
	var bugOnce sync.Once
	var bug *crash.Error // the first panic in a worker
	var wg sync.WaitGroup
	for i := 0; i < runtime.GOMAXPROCS(0); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range paths {
				refs, ignored, b := m.safeFile(p)
				if b != nil {
					bugOnce.Do(func() { bug = b })
					continue
				}
				if len(refs) > 0 || len(ignored) > 0 {
					results <- found{refs, ignored}
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() {
		for f := range results {
			for q, rs := range f.refs {
				res.Refs[q] = append(res.Refs[q], rs...)
			}
			for q := range f.ignored {
				res.Ignored[q] = true
			}
		}
		close(done)
	}()
	var walkErr error
	for _, root := range roots {
		n, err := walk(root, excluded, paths)
		res.Files += n
		if err != nil && walkErr == nil {
			walkErr = err
		}
	}
	close(paths)
	wg.Wait()
	close(results)
	<-done
	if bug != nil {
		return nil, bug // a bug in the search: the run ends with exit 3
	}
	for q, rs := range res.Refs {
		if res.Ignored[q] {
			delete(res.Refs, q)
			continue
		}
		sort.Slice(rs, func(i, j int) bool {
			if rs[i].Path != rs[j].Path {
				return rs[i].Path < rs[j].Path
			}
			return rs[i].Line < rs[j].Line
		})
	}
	return res, walkErr
}

// walk sends the source files under root, honouring .gitignore files.
func walk(root string, excluded map[string]bool, out chan<- string) (int, error) {
	n := 0
	ignores := map[string]*gitignore{} // directory -> its .gitignore
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			if p != root && (skipDirs[d.Name()] || strings.HasPrefix(d.Name(), ".")) {
				return fs.SkipDir
			}
			if abs, err := filepath.Abs(p); err == nil && excluded[abs] {
				return fs.SkipDir
			}
			if p != root && ignored(ignores, root, p, true) {
				return fs.SkipDir
			}
			if gi := loadGitignore(filepath.Join(p, ".gitignore")); gi != nil {
				ignores[p] = gi
			}
			return nil
		}
		if !sourceExts[strings.ToLower(filepath.Ext(p))] || ignored(ignores, root, p, false) {
			return nil
		}
		if info, err := d.Info(); err != nil || info.Size() > maxFileSize || !info.Mode().IsRegular() {
			return nil
		}
		n++
		out <- p
		return nil
	})
	return n, err
}

// ignored reports whether any .gitignore from root down to p's directory
// ignores p.
func ignored(ignores map[string]*gitignore, root, p string, dir bool) bool {
	for d := filepath.Dir(p); ; d = filepath.Dir(d) {
		if gi := ignores[d]; gi != nil {
			rel, err := filepath.Rel(d, p)
			if err == nil && gi.match(filepath.ToSlash(rel), dir) {
				return true
			}
		}
		if d == root || d == filepath.Dir(d) || !strings.HasPrefix(d, root) {
			return false
		}
	}
}

// matcher looks for every query's spellings at once.
type matcher struct {
	queries []Query
	needles map[string][]int // spelling -> indexes of the queries it serves
	tables  map[string][]string
}

func newMatcher(qs []Query) *matcher {
	m := &matcher{queries: qs, needles: map[string][]int{}, tables: map[string][]string{}}
	for i, q := range qs {
		names := tableSpellings(q.Table)
		if q.Column != "" {
			names = spellings(q.Column)
		}
		for _, s := range names {
			m.needles[s] = append(m.needles[s], i)
		}
		if _, ok := m.tables[q.Table]; !ok {
			m.tables[q.Table] = tableSpellings(q.Table)
		}
	}
	return m
}

// spellings are the forms code uses for a SQL name: as is, camelCase and
// PascalCase.
func spellings(name string) []string {
	out := []string{name}
	parts := strings.Split(name, "_")
	if len(parts) > 1 {
		camel := parts[0]
		pascal := ""
		for _, p := range parts[1:] {
			camel += title(p)
		}
		for _, p := range parts {
			pascal += title(p)
		}
		out = append(out, camel, pascal)
	} else {
		out = append(out, title(name))
	}
	return dedupe(out)
}

// tableSpellings adds the model names an ORM derives from a table name:
// users -> User, order_items -> OrderItem.
func tableSpellings(table string) []string {
	out := spellings(table)
	singular := strings.TrimSuffix(table, "s")
	if strings.HasSuffix(table, "ies") {
		singular = strings.TrimSuffix(table, "ies") + "y"
	}
	if singular != table && singular != "" {
		out = append(out, spellings(singular)...)
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

// safeFile is file, with a panic caught as a bug that names the file.
func (m *matcher) safeFile(path string) (refs map[Query][]Ref, ignored map[Query]bool, bug *crash.Error) {
	defer crash.Recover(path, &bug)
	refs, ignored = m.file(path)
	return refs, ignored, nil
}

// file finds the references in one file.
func (m *matcher) file(path string) (map[Query][]Ref, map[Query]bool) {
	data, err := os.ReadFile(path)
	if err != nil || bytes.IndexByte(data, 0) >= 0 {
		return nil, nil
	}
	// Cheap filter first: does any spelling occur at all?
	any := false
	for s := range m.needles {
		if bytes.Contains(data, []byte(s)) {
			any = true
			break
		}
	}
	if !any {
		return nil, nil
	}
	about := map[string]bool{} // table -> the file names it or its model
	for t, names := range m.tables {
		for _, n := range names {
			if hasWord(data, n) {
				about[t] = true
				break
			}
		}
	}
	refs := map[Query][]Ref{}
	ignored := map[Query]bool{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), maxFileSize)
	for line := 1; sc.Scan(); line++ {
		text := sc.Bytes()
		decorator := bytes.HasPrefix(bytes.TrimSpace(text), []byte("@"))
		for s, idxs := range m.needles {
			if !hasWord(text, s) || decorator && onlyOptionKey(text, s) {
				continue
			}
			for _, i := range idxs {
				q := m.queries[i]
				if q.Column != "" && !about[q.Table] {
					continue // a column of another table, or a comment elsewhere
				}
				if q.Column != "" && bytes.Contains(text, []byte("ignored_columns")) {
					ignored[q] = true
					continue
				}
				r := Ref{Path: path, Line: line, Text: strings.TrimSpace(string(text))}
				if n := len(refs[q]); n == 0 || refs[q][n-1].Line != line {
					refs[q] = append(refs[q], r)
				}
			}
		}
	}
	return refs, ignored
}

// hasWord reports whether word occurs in data as a whole identifier.
func hasWord(data []byte, word string) bool {
	w := []byte(word)
	for off := 0; ; {
		i := bytes.Index(data[off:], w)
		if i < 0 {
			return false
		}
		start, end := off+i, off+i+len(w)
		if (start == 0 || !identByte(data[start-1])) && (end == len(data) || !identByte(data[end])) {
			return true
		}
		off = start + 1
	}
}

// onlyOptionKey reports whether every occurrence of word in a decorator
// line is an option's key (`@Column({ name: "x" })`: name is TypeORM's
// option, not a column called name).
func onlyOptionKey(line []byte, word string) bool {
	w := []byte(word)
	for off := 0; ; {
		i := bytes.Index(line[off:], w)
		if i < 0 {
			return true
		}
		start, end := off+i, off+i+len(w)
		off = start + 1
		if start > 0 && identByte(line[start-1]) || end < len(line) && identByte(line[end]) {
			continue // not this word
		}
		if rest := bytes.TrimLeft(line[end:], " \t"); !bytes.HasPrefix(rest, []byte(":")) {
			return false
		}
	}
}

func identByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}
