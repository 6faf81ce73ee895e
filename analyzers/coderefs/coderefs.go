// Package coderefs finds where application code uses a table or a column,
// so that a drop or rename can list the code still using it. A use is
// scoped to its table:
//
//   - SQL: a string literal (or a query file outside migrations) that the
//     engine's own parser accepts, naming the column of that table or of an
//     alias of it, or naming the table;
//   - model: an ORM model mapped to the table (Go struct tags and
//     TableName(), sqlc models, Prisma, TypeORM, Django, SQLAlchemy,
//     ActiveRecord, diesel) and its field for the column;
//   - mention: the name (snake_case, camelCase, PascalCase, Go initialisms)
//     as an identifier in a file that names the table, outside comments:
//     a weak hint, never proof.
//
// Comments, migration folders, schema dumps (SQL that defines rather than
// uses), test fixtures, vendored code and whatever git ignores are not
// code that runs, and are skipped. Files come from git's own list
// (`git ls-files`), or from a revision (`git ls-tree`, read with `git
// cat-file`) to search the code that is deployed.
package coderefs

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"

	"github.com/fluxlint/fluxlint/analyzers/ir"
	"github.com/fluxlint/fluxlint/internal/crash"
)

// Query asks for the uses of a table, or of one of its columns.
type Query struct {
	Table  string
	Column string // "" for the table itself
}

// Kind is how a reference was matched.
type Kind string

const (
	SQL     Kind = "sql"     // a parsed SQL statement names it
	Model   Kind = "model"   // an ORM model maps it
	Mention Kind = "mention" // the name appears as an identifier: a weak hint
)

// Ref is one reference: a line of a file.
type Ref struct {
	Path string
	Line int
	Text string
	Kind Kind
}

// Result holds the references found per query.
type Result struct {
	Refs map[Query][]Ref
	// Ignored lists queries whose column an ActiveRecord ignored_columns
	// declaration already removes from the code.
	Ignored map[Query]bool
	Files   int // files scanned
}

// Options say where and how to search.
type Options struct {
	Roots []string
	// Exclude lists directories (the migration directories being linted)
	// whose files never count.
	Exclude []string
	// Engine is the SQL dialect of the queries in the code.
	Engine ir.Engine
	// Rev, when set, searches the files of this git revision (read from
	// git, no checkout) instead of the working tree.
	Rev string
	// Only, with Rev, limits the search to these files (absolute paths):
	// the ones that differ from the work tree, since the others hold the
	// same references.
	Only map[string]bool
	// Columns are each queried table's columns, where the catalog knows
	// them (by table name).
	Columns map[string][]string
}

// sourceExts are the files searched: application code, ORM schemas and SQL
// kept outside migrations.
var sourceExts = map[string]bool{
	".go": true, ".py": true, ".rb": true, ".ts": true, ".tsx": true, ".js": true, ".jsx": true,
	".mjs": true, ".cjs": true, ".java": true, ".kt": true, ".scala": true, ".cs": true, ".php": true,
	".prisma": true, ".sql": true, ".ex": true, ".exs": true, ".rs": true, ".swift": true,
	".vue": true, ".svelte": true,
}

// skipDirs are never code that runs in production.
var skipDirs = map[string]bool{
	".git": true, "node_modules": true, "vendor": true, "dist": true, "build": true, "target": true, "out": true,
	".next": true, "__pycache__": true, ".venv": true, "venv": true, "coverage": true, "migrate": true,
	"testdata": true, "fixtures": true, "__fixtures__": true, "__mocks__": true,
}

// maxFileSize skips generated bundles and data dumps.
const maxFileSize = 1 << 20

// skipped reports whether a path (slash-separated, relative to the root)
// is outside the code that runs: a skipped directory, any migrations
// folder (whatever the engine or dialect), a hidden one, or a schema dump.
func skipped(rel string) bool {
	parts := strings.Split(rel, "/")
	for _, d := range parts[:len(parts)-1] {
		l := strings.ToLower(d)
		if skipDirs[l] || strings.HasPrefix(d, ".") || strings.Contains(l, "migration") {
			return true
		}
	}
	base := strings.ToLower(parts[len(parts)-1])
	if strings.Contains(base, "_test.") || strings.Contains(base, ".test.") || strings.Contains(base, ".spec.") || strings.HasPrefix(base, "test_") {
		return true
	}
	return base == "schema.rb" || base == "structure.sql" || strings.HasSuffix(base, ".min.js")
}

// file is one source file to search.
type file struct {
	path string // as reported
	abs  string // absolute
	root string // the absolute root it was found under
	// data returns the content; a file on disk is read into *buf, which
	// each worker reuses (less garbage to collect), or, with a nil buf,
	// into memory of its own.
	data func(buf *[]byte) ([]byte, error)
}

// Search scans the roots for the queries.
func Search(opt Options, queries []Query) (*Result, error) {
	if len(queries) == 0 {
		return &Result{Refs: map[Query][]Ref{}, Ignored: map[Query]bool{}}, nil
	}
	files, err := listAll(opt)
	if err != nil {
		return nil, err
	}
	return search(files, opt, queries)
}

// listAll lists the source files of every root, except those under
// opt.Exclude.
func listAll(opt Options) ([]file, error) {
	var files []file
	for _, root := range opt.Roots {
		fs, err := list(root, opt.Rev, opt.Only)
		if err != nil {
			return nil, err
		}
		files = append(files, fs...)
	}
	return outside(files, opt.Exclude), nil
}

// outside drops the files under the excluded directories (the migration
// directories being linted).
func outside(files []file, exclude []string) []file {
	excluded := map[string]bool{}
	for _, e := range exclude {
		if abs, err := filepath.Abs(e); err == nil {
			excluded[abs] = true
		}
	}
	if len(excluded) == 0 {
		return files
	}
	kept := make([]file, 0, len(files))
	for _, f := range files {
		in := false
		for dir := filepath.Dir(f.abs); !in && len(dir) > len(f.root); dir = filepath.Dir(dir) {
			in = excluded[dir]
		}
		if !in {
			kept = append(kept, f)
		}
	}
	return kept
}

// Tree is the work tree's source files, listed and read into memory (up to
// prefetchMax bytes; the rest are read when searched) in the background
// while git is asked what changed and the lint runs, so that the search
// after it only scans. It is started before the migration directories are
// known: Search leaves them out.
type Tree struct {
	roots []string
	ready chan struct{}
	files []file
	err   error
}

// prefetchMax bounds the code held in memory ahead of a search.
const prefetchMax = 64 << 20

// Prefetch starts reading the work tree's source files under roots.
func Prefetch(roots []string) *Tree {
	t := &Tree{roots: roots, ready: make(chan struct{})}
	go func() {
		defer close(t.ready)
		defer func() {
			if r := recover(); r != nil {
				t.files, t.err = nil, nil // fall back to reading at search time
			}
		}()
		if t.files, t.err = listAll(Options{Roots: roots}); t.err != nil {
			return
		}
		budget := prefetchMax
		for i, f := range t.files {
			data, err := f.data(nil)
			if err != nil || len(data) > budget {
				continue // read again when searched
			}
			budget -= len(data)
			t.files[i].data = func(*[]byte) ([]byte, error) { return data, nil }
		}
	}()
	return t
}

// Search scans the prefetched tree for the queries, as opt.Engine's SQL,
// outside opt.Exclude (opt.Roots are the tree's).
func (t *Tree) Search(opt Options, queries []Query) (*Result, error) {
	<-t.ready
	if t.err != nil || t.files == nil {
		opt.Roots = t.roots
		return Search(opt, queries)
	}
	if len(queries) == 0 {
		return &Result{Refs: map[Query][]Ref{}, Ignored: map[Query]bool{}}, nil
	}
	return search(outside(t.files, opt.Exclude), opt, queries)
}

// search scans files for the queries.
func search(files []file, opt Options, queries []Query) (*Result, error) {
	res := &Result{Refs: map[Query][]Ref{}, Ignored: map[Query]bool{}}
	m := newMatcher(queries, opt.Engine)
	m.columns = opt.Columns
	res.Files = len(files)
	type found struct {
		refs    map[Query][]Ref
		ignored map[Query]bool
	}
	work := make(chan file)
	results := make(chan found)
	var bugOnce sync.Once
	var bug *crash.Error
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			for f := range work {
				refs, ignored, b := m.safeFile(f, &buf)
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
	go func() {
		for _, f := range files {
			work <- f
		}
		close(work)
		wg.Wait()
		close(results)
	}()
	for f := range results {
		for q, rs := range f.refs {
			res.Refs[q] = append(res.Refs[q], rs...)
		}
		for q := range f.ignored {
			res.Ignored[q] = true
		}
	}
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
	return res, nil
}

// list returns the source files under root: git's list of tracked and
// untracked files that are not ignored (git applies .gitignore, nested
// ones and the global excludes exactly), or a revision's tree; outside a
// git repository, every file.
func list(root, rev string, only map[string]bool) ([]file, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	keep := func(rel string) bool {
		return sourceExts[strings.ToLower(filepath.Ext(rel))] && !skipped(rel)
	}
	if rev != "" {
		var paths []string // the files to read, when only some differ
		if only != nil {
			for p := range only {
				if rel, err := filepath.Rel(abs, p); err == nil && !strings.HasPrefix(rel, "..") && keep(filepath.ToSlash(rel)) {
					paths = append(paths, filepath.ToSlash(rel))
				}
			}
			if len(paths) == 0 {
				return nil, nil
			}
			sort.Strings(paths)
		}
		return revFiles(abs, rev, paths, keep)
	}
	out, err := exec.Command("git", "-C", abs, "ls-files", "--cached", "--others", "--exclude-standard", "-z", "--", ".").Output()
	if err != nil {
		return walkFiles(abs, keep) // not a git work tree
	}
	var files []file
	seen := map[string]bool{}
	for _, rel := range strings.Split(string(out), "\x00") {
		if rel == "" || seen[rel] || !keep(rel) {
			continue
		}
		seen[rel] = true
		p := filepath.Join(abs, rel)
		files = append(files, file{path: relative(root, rel), abs: p, root: abs, data: func(buf *[]byte) ([]byte, error) { return readSource(p, buf) }})
	}
	return files, nil
}

func relative(root, rel string) string { return filepath.Join(root, filepath.FromSlash(rel)) }

// readSource reads a regular file of at most maxFileSize bytes; a
// symlink, a file deleted from the work tree, a FIFO or device (opened
// without blocking, never read) or a bigger file reads as nothing. It uses
// the system calls directly: an os.File costs a poller registration and
// an allocation per file, a third of the time for a tree of small files.
func readSource(p string, buf *[]byte) ([]byte, error) {
	fd, err := syscall.Open(p, syscall.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer syscall.Close(fd)
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil || st.Mode&syscall.S_IFMT != syscall.S_IFREG || st.Size > maxFileSize {
		return nil, errors.New("not a source file")
	}
	var data []byte
	switch size := int(st.Size); {
	case buf == nil:
		data = make([]byte, size) // kept by the caller
	case cap(*buf) < size:
		*buf = make([]byte, 0, max(size, 256<<10))
		fallthrough
	default:
		data = (*buf)[:size]
	}
	for n := 0; n < len(data); {
		k, err := syscall.Read(fd, data[n:])
		switch {
		case err == syscall.EINTR:
			continue
		case err != nil:
			return nil, err
		case k == 0:
			return data[:n], nil // shorter than it was: read what is there
		}
		n += k
	}
	return data, nil
}

func walkFiles(abs string, keep func(string) bool) ([]file, error) {
	var files []file
	err := filepath.WalkDir(abs, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		rel, _ := filepath.Rel(abs, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if p != abs && skipped(rel+"/x") {
				return fs.SkipDir
			}
			return nil
		}
		if info, err := d.Info(); err != nil || !info.Mode().IsRegular() || info.Size() > maxFileSize || !keep(rel) {
			return nil
		}
		files = append(files, file{path: p, abs: p, root: abs, data: func(buf *[]byte) ([]byte, error) { return readSource(p, buf) }})
		return nil
	})
	return files, err
}

// revFiles lists a revision's files under abs and reads them from git's
// object store, so the deployed code is searched without a checkout.
func revFiles(abs, rev string, paths []string, keep func(string) bool) ([]file, error) {
	if strings.HasPrefix(rev, "-") {
		return nil, fmt.Errorf("%q is not a git revision", rev)
	}
	prefix, err := exec.Command("git", "-C", abs, "rev-parse", "--show-prefix").Output()
	if err != nil {
		return nil, fmt.Errorf("%s is not in a git repository: cannot read revision %s", abs, rev)
	}
	top := strings.TrimSpace(string(prefix))
	spec := []string{":(top,literal)" + top}
	if paths != nil {
		spec = spec[:0]
		for _, p := range paths {
			spec = append(spec, ":(top,literal)"+top+p)
		}
	}
	out, err := exec.Command("git", append([]string{"-C", abs, "ls-tree", "-r", "-z", "-l", "--full-tree", rev, "--"}, spec...)...).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return nil, fmt.Errorf("git ls-tree %s: %s", rev, bytes.TrimSpace(ee.Stderr))
		}
		return nil, err
	}
	var blobs []string
	var names []string
	for _, entry := range strings.Split(string(out), "\x00") {
		// "<mode> blob <sha> <size>\t<path>"
		meta, path, ok := strings.Cut(entry, "\t")
		f := strings.Fields(meta)
		if !ok || len(f) != 4 || f[1] != "blob" {
			continue
		}
		rel := strings.TrimPrefix(path, top)
		var size int
		if _, err := fmt.Sscan(f[3], &size); err != nil || size > maxFileSize || !keep(rel) {
			continue
		}
		blobs, names = append(blobs, f[2]), append(names, rel)
	}
	contents, err := catBlobs(abs, blobs)
	if err != nil {
		return nil, err
	}
	files := make([]file, len(names))
	for i := range names {
		data := contents[i]
		p := filepath.Join(abs, filepath.FromSlash(names[i]))
		files[i] = file{path: p, abs: p, root: abs, data: func(*[]byte) ([]byte, error) { return data, nil }}
	}
	return files, nil
}

// catBlobs reads blobs with one `git cat-file --batch`.
func catBlobs(dir string, shas []string) ([][]byte, error) {
	if len(shas) == 0 {
		return nil, nil
	}
	cmd := exec.Command("git", "-C", dir, "cat-file", "--batch")
	cmd.Stdin = strings.NewReader(strings.Join(shas, "\n") + "\n")
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("git cat-file: %w", err)
	}
	var blobs [][]byte
	for range shas {
		// "<sha> blob <size>\n<content>\n"
		nl := bytes.IndexByte(out, '\n')
		if nl < 0 {
			return nil, errors.New("git cat-file: short output")
		}
		var sha, typ string
		var size int
		if _, err := fmt.Sscan(string(out[:nl]), &sha, &typ, &size); err != nil || nl+1+size > len(out) {
			return nil, errors.New("git cat-file: unexpected output")
		}
		blobs = append(blobs, out[nl+1:nl+1+size])
		out = out[nl+1+size+1:]
	}
	return blobs, nil
}

// Searched reports whether the search reads a file, by its path relative
// to the root: source code that runs, not migrations, fixtures, vendored
// code or schema dumps (git-ignored files aside).
func Searched(rel string) bool {
	rel = filepath.ToSlash(rel)
	return sourceExts[strings.ToLower(filepath.Ext(rel))] && !skipped(rel)
}

// Spellings are the identifier forms the search looks for a column under.
func Spellings(column string) []string { return spellings(column) }
