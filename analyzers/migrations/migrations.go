// Package migrations finds migration files, tells which tool's convention
// they follow, puts them in the order the tool applies them, splits up from
// down, and knows how each tool wraps a file in a transaction.
package migrations

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/fluxlint/fluxlint/internal/readfile"
)

// Tool is a migration tool's convention.
type Tool string

const (
	Plain         Tool = "plain"
	GolangMigrate Tool = "golang-migrate"
	Goose         Tool = "goose"
	Dbmate        Tool = "dbmate"
	Flyway        Tool = "flyway"
	Prisma        Tool = "prisma"
	Drizzle       Tool = "drizzle"
	Diesel        Tool = "diesel"
)

// TxMode is how a tool runs a file with respect to transactions.
type TxMode string

const (
	// TxWrapped: the tool runs the whole file in one transaction.
	TxWrapped TxMode = "wrapped"
	// TxImplicit: the tool sends the file as one multi-statement query, which
	// PostgreSQL runs as one implicit transaction when it holds more than one
	// statement (golang-migrate, Prisma).
	TxImplicit TxMode = "implicit"
	// TxAuto: wrapped unless every statement must run outside a transaction
	// (Flyway detects CONCURRENTLY and the like).
	TxAuto TxMode = "auto"
	// TxNone: each statement commits on its own unless the file says BEGIN.
	TxNone TxMode = "none"
)

// AfterCommit is what becomes of the statements after a COMMIT or ROLLBACK
// in a section that a tool runs in a transaction of its own.
type AfterCommit int

const (
	// Autocommit: the tool sends the statements one at a time on the
	// transaction's connection, and its driver opens no other transaction,
	// so each statement after the COMMIT commits on its own until a BEGIN
	// (goose's database/sql, drizzle's node-postgres).
	Autocommit AfterCommit = iota
	// Rebegun: the driver opens a new transaction before the next
	// statement (Flyway: pgjdbc with autocommit off).
	Rebegun
	// RestOfQuery: the tool sends the section as one query, whose rest
	// PostgreSQL runs as one implicit transaction (dbmate and diesel in
	// their transaction; golang-migrate and Prisma, whose query is one).
	RestOfQuery
)

// AfterCommit says how the tool runs the statements after a COMMIT that
// ends the transaction it runs a file in.
func (t Tool) AfterCommit() AfterCommit {
	switch t {
	case Flyway:
		return Rebegun
	case Dbmate, Diesel, GolangMigrate, Prisma:
		return RestOfQuery
	}
	return Autocommit
}

// Migration is one migration file.
type Migration struct {
	Path    string // as found, relative to the working directory when given so
	Set     string // the directory whose files form one ordered history
	Tool    Tool
	Version string // the ordering key the tool uses
	Down    bool   // the whole file is a rollback
	// Repeatable marks Flyway R__ scripts, applied after all versioned ones.
	Repeatable bool
	// Baseline marks Flyway B scripts: the schema up to their version in
	// one file, applied instead of those versions to an empty database
	// only, never to one that has them.
	Baseline bool
	UpTx     TxMode // for the up statements
	DownTx   TxMode // for statements in a down section or file
	Src      []byte // nil until Read
	Target   bool   // reported on; the others are history
	// MaxSize bounds the file's size (0: readfile.DefaultMax).
	MaxSize int64
	// Info is the file's metadata as Discover saw it (nil when it did not
	// stat it, or the path is a symlink).
	Info fs.FileInfo
}

// Read loads the file's content, unless it is already loaded. Only a
// regular file within MaxSize is read.
func (m *Migration) Read() error {
	if m.Src != nil {
		return nil
	}
	max := m.MaxSize
	if max <= 0 {
		max = readfile.DefaultMax
	}
	src, err := readfile.Read(m.Path, max)
	if err != nil {
		return err
	}
	if src == nil {
		src = []byte{}
	}
	m.Src = src
	return nil
}

// Unit identifies the migration a file belongs to: up and down files of one
// version form one unit, which is also the default change set.
func (m *Migration) Unit() string { return m.Set + "\x00" + m.Version }

// Set is an ordered history of migrations from one directory.
type Set struct {
	Dir        string
	Migrations []*Migration
}

// FileError is a problem reading one input file; the others still run.
type FileError struct {
	Path string
	Err  error
}

func (e *FileError) Error() string { return fmt.Sprintf("%s: %v", e.Path, e.Err) }
func (e *FileError) Unwrap() error { return e.Err }

// ErrNoMigrations reports a directory without any .sql file.
var ErrNoMigrations = errors.New("no .sql migration files found")

// skipDirs are never migration directories.
var skipDirs = map[string]bool{"node_modules": true, "vendor": true, ".git": true, "target": true, "dist": true, "build": true}

// Discover finds the migrations named by args (directories are searched
// recursively; a file is linted with its set's earlier migrations as
// history) and returns them grouped into ordered sets. A file reached under
// two spellings (a relative and an absolute path, a symlinked directory) is
// one file, kept under the first.
func Discover(args []string) ([]*Set, []*FileError) {
	var errs []*FileError
	targets := map[string]bool{}   // real paths
	bySet := map[string][]string{} // a set's real directory -> its files
	setName := map[string]string{} // a set's real directory -> as first spelled
	seen := map[string]bool{}
	var order []string  // set directories (real) in the order first seen
	var walked []string // real directories walked in full
	// Each path's identity is resolved once, and a file that is no symlink
	// is its resolved directory's entry: EvalSymlinks would walk every
	// component of every file again, and large trees have many files.
	realOf := map[string]string{}
	infoOf := map[string]fs.FileInfo{}
	var real func(p string) string
	real = func(p string) string {
		if r, ok := realOf[p]; ok {
			return r
		}
		var r string
		if dir := filepath.Dir(p); dir != p && filepath.Base(p) != ".." {
			if st, err := os.Lstat(p); err == nil && st.Mode()&fs.ModeSymlink == 0 {
				r = filepath.Join(real(dir), filepath.Base(p))
				infoOf[p] = st
			}
		}
		if r == "" {
			r = RealPath(p)
		}
		realOf[p] = r
		return r
	}
	add := func(f string) {
		id := real(f)
		if seen[id] {
			return
		}
		seen[id] = true
		dir := real(setDir(f))
		if _, ok := bySet[dir]; !ok {
			order = append(order, dir)
			setName[dir] = setDir(f)
		}
		bySet[dir] = append(bySet[dir], f)
	}
	covered := func(dir string) bool {
		for _, w := range walked {
			if dir == w || strings.HasPrefix(dir, w+string(filepath.Separator)) {
				return true
			}
		}
		return false
	}
	var single []string
	for _, arg := range args {
		st, err := os.Stat(arg)
		switch {
		case err != nil:
			errs = append(errs, &FileError{Path: arg, Err: err})
		case st.IsDir():
			if covered(real(arg)) {
				continue // already walked under another spelling
			}
			files, werrs := walk(arg)
			errs = append(errs, werrs...)
			if len(files) == 0 && len(werrs) == 0 {
				errs = append(errs, &FileError{Path: arg, Err: ErrNoMigrations})
			}
			walked = append(walked, real(arg))
			for _, f := range files {
				targets[real(f)] = true
				add(f)
			}
		default:
			p := filepath.Clean(arg)
			targets[real(p)] = true
			single = append(single, p)
		}
	}
	// A file named on its own brings its set's other files as history.
	for _, p := range single {
		dir := setDir(p)
		if !covered(real(dir)) {
			files, werrs := walk(dir)
			errs = append(errs, werrs...)
			walked = append(walked, real(dir))
			for _, f := range files {
				if real(setDir(f)) == real(dir) {
					add(f)
				}
			}
		}
		add(p) // linted even when its name does not end in .sql
	}
	var sets []*Set
	for _, dir := range order {
		set := &Set{Dir: setName[dir]}
		drizzle := hasJournal(set.Dir)
		for _, f := range bySet[dir] {
			m := &Migration{Path: f, Set: set.Dir, Target: targets[real(f)], Info: infoOf[f]}
			if err := classify(m, drizzle); err != nil {
				errs = append(errs, err)
			}
			set.Migrations = append(set.Migrations, m)
		}
		if err := sortSet(set); err != nil {
			errs = append(errs, err)
		}
		if len(set.Migrations) > 0 {
			sets = append(sets, set)
		}
	}
	return sets, errs
}

// RealPath is the absolute path with symlinks resolved, the identity of a
// file however it is spelled (the cleaned path itself when that fails).
func RealPath(p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		return filepath.Clean(p)
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		return real
	}
	return abs
}

// walk lists the .sql files under dir, following no symlinked directories
// below it (so a symlink loop cannot trap it); dir itself may be a symlink.
// A non-regular file named like a migration (a FIFO, a device, a socket) is
// an error that names it, never read.
func walk(dir string) ([]string, []*FileError) {
	var files []string
	var errs []*FileError
	root := dir
	if st, err := os.Lstat(dir); err == nil && st.Mode()&fs.ModeSymlink != 0 {
		if real, err := filepath.EvalSymlinks(dir); err == nil {
			root = real
		}
	}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if root != dir { // show the paths under the name given
			if rel, rerr := filepath.Rel(root, p); rerr == nil {
				p = filepath.Join(dir, rel)
			}
		}
		if err != nil {
			errs = append(errs, &FileError{Path: p, Err: err})
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			if p != dir && (skipDirs[d.Name()] || strings.HasPrefix(d.Name(), ".")) {
				return fs.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(strings.ToLower(d.Name()), ".sql") {
			return nil
		}
		if t := d.Type(); t&fs.ModeSymlink == 0 && !t.IsRegular() {
			if info, ierr := d.Info(); ierr == nil {
				errs = append(errs, &FileError{Path: p, Err: readfile.Regular(info)})
			}
			return nil
		}
		files = append(files, filepath.Clean(p))
		return nil
	})
	if err != nil {
		errs = append(errs, &FileError{Path: dir, Err: err})
	}
	return files, errs
}

// setDir is the directory that holds a file's migration history: Prisma and
// diesel keep one directory per migration, the others one file.
func setDir(p string) string {
	dir := filepath.Dir(p)
	switch filepath.Base(p) {
	case "migration.sql", "up.sql", "down.sql":
		return filepath.Dir(dir)
	}
	return dir
}

// classify sets the tool, version, direction and transaction mode of m from
// its name and its directory; drizzle tells whether the set has drizzle's
// journal. Files named like plain migrations may turn out to be goose or
// dbmate files: FromMarkers decides that once the content is read.
func classify(m *Migration, drizzle bool) *FileError {
	base := filepath.Base(m.Path)
	lower := strings.ToLower(base)
	dirName := filepath.Base(filepath.Dir(m.Path))
	m.UpTx, m.DownTx = TxNone, TxNone
	switch {
	case base == "migration.sql":
		m.Tool, m.Version = Prisma, dirName
		m.UpTx = TxImplicit
	case base == "up.sql" || base == "down.sql":
		m.Tool, m.Version, m.Down = Diesel, dirName, base == "down.sql"
		m.UpTx, m.DownTx = TxWrapped, TxWrapped
		meta := filepath.Join(filepath.Dir(m.Path), "metadata.toml")
		noTx, err := keyIsFalse(meta, "run_in_transaction")
		if err != nil {
			return &FileError{Path: meta, Err: err}
		}
		if noTx {
			m.UpTx, m.DownTx = TxNone, TxNone
		}
	case drizzle:
		m.Tool, m.Version = Drizzle, strings.TrimSuffix(base, filepath.Ext(base))
		m.UpTx = TxWrapped
	case isFlyway(base):
		m.Tool = Flyway
		kind := base[0]
		rest := strings.TrimSuffix(base[1:], filepath.Ext(base))
		ver, _, _ := strings.Cut(rest, "__")
		m.Version = ver
		m.Down = kind == 'U'
		m.Repeatable = kind == 'R'
		m.Baseline = kind == 'B'
		if m.Repeatable {
			m.Version = rest
		}
		m.UpTx, m.DownTx = TxAuto, TxAuto
		noTx, err := keyIsFalse(m.Path+".conf", "executeInTransaction")
		if err != nil {
			return &FileError{Path: m.Path + ".conf", Err: err}
		}
		if noTx {
			m.UpTx, m.DownTx = TxNone, TxNone
		}
	case strings.HasSuffix(lower, ".up.sql") || strings.HasSuffix(lower, ".down.sql"):
		m.Tool = GolangMigrate
		m.Down = strings.HasSuffix(lower, ".down.sql")
		m.Version = leadingVersion(base)
		m.UpTx, m.DownTx = TxImplicit, TxImplicit
	default:
		m.Tool, m.Version = Plain, leadingVersion(base)
	}
	return nil
}

// Markers are the tool annotations a file's content holds.
type Markers struct {
	Goose, GooseNoTx                     bool
	Dbmate, DbmateUpNoTx, DbmateDownNoTx bool
}

// FromMarkers finishes classifying a plainly named file from the
// annotations its content holds: goose and dbmate files are recognised by
// them, and their transaction mode follows them.
func (m *Migration) FromMarkers(mk Markers) {
	if m.Tool != Plain {
		return
	}
	switch {
	case mk.Goose:
		m.Tool, m.UpTx, m.DownTx = Goose, TxWrapped, TxWrapped
		if mk.GooseNoTx {
			m.UpTx, m.DownTx = TxNone, TxNone
		}
	case mk.Dbmate:
		m.Tool, m.UpTx, m.DownTx = Dbmate, TxWrapped, TxWrapped
		if mk.DbmateUpNoTx {
			m.UpTx = TxNone
		}
		if mk.DbmateDownNoTx {
			m.DownTx = TxNone
		}
	}
}

func isFlyway(base string) bool {
	if len(base) < 4 || !strings.Contains(base, "__") {
		return false
	}
	switch base[0] {
	case 'V', 'U', 'B':
		return base[1] >= '0' && base[1] <= '9'
	case 'R':
		return strings.HasPrefix(base, "R__")
	}
	return false
}

// leadingVersion is the version prefix of a file name: everything before the
// first underscore or dot that follows the leading digits.
func leadingVersion(base string) string {
	name := strings.TrimSuffix(base, filepath.Ext(base))
	end := strings.IndexFunc(name, func(r rune) bool { return r == '_' || r == '.' })
	if end < 0 {
		return name
	}
	return name[:end]
}

// UpTo reports whether m is at or before the baseline version, which makes
// it history. A version that begins with the baseline and goes on with a
// non-digit counts as the baseline itself, so "20240101000000" covers
// Prisma's "20240101000000_init". Flyway's repeatable scripts are re-applied
// whenever they change, so no baseline covers them.
func UpTo(m *Migration, baseline string) bool {
	if m.Repeatable {
		return false
	}
	if IsVersion(m, baseline) {
		return true
	}
	if m.Tool == Flyway {
		baseline = strings.ReplaceAll(baseline, ".", "_") // Flyway reads 1.2 and 1_2 alike
	}
	return NaturalCompare(m.Version, baseline) <= 0
}

// IsVersion reports whether m is the migration the version names, as UpTo
// reads a baseline.
func IsVersion(m *Migration, version string) bool {
	if m.Repeatable {
		return false
	}
	if m.Tool == Flyway {
		version = strings.ReplaceAll(version, ".", "_")
	}
	rest, ok := strings.CutPrefix(m.Version, version)
	return ok && (rest == "" || digitRun(rest) == 0)
}

// FromSource makes a one-migration set from content read elsewhere (stdin);
// name decides the tool convention, as a file name would.
func FromSource(name string, src []byte) *Set {
	m := &Migration{Path: name, Set: setDir(name), Src: src, Target: true}
	_ = classify(m, false) // reads a .conf or metadata.toml beside name when one exists; stdin has none
	return &Set{Dir: m.Set, Migrations: []*Migration{m}}
}

func hasJournal(set string) bool {
	_, err := os.Stat(filepath.Join(set, "meta", "_journal.json"))
	return err == nil
}

// journalOrder reads drizzle's meta/_journal.json: the tags in apply order.
// A journal that is not valid JSON orders nothing (the files sort by name).
func journalOrder(set string) (map[string]int, *FileError) {
	path := filepath.Join(set, "meta", "_journal.json")
	data, err := readfile.Read(path, readfile.SmallMax)
	if err != nil {
		return nil, &FileError{Path: path, Err: err}
	}
	var j struct {
		Entries []struct {
			Idx int    `json:"idx"`
			Tag string `json:"tag"`
		} `json:"entries"`
	}
	if json.Unmarshal(data, &j) != nil {
		return nil, nil
	}
	order := map[string]int{}
	for _, e := range j.Entries {
		order[e.Tag] = e.Idx
	}
	return order, nil
}

// keyIsFalse reads `key = false` from a diesel metadata.toml or a Flyway
// script's .conf; a missing file sets nothing.
func keyIsFalse(path, key string) (bool, error) {
	data, err := readfile.Read(path, readfile.SmallMax)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if ok && strings.TrimSpace(k) == key && strings.Trim(strings.TrimSpace(v), `"'`) == "false" {
			return true, nil
		}
	}
	return false, nil
}

// sortSet orders a set as its tool applies it: by version (numbers compared
// as numbers, so V1_2 precedes V1_12), each up before its down, Flyway's
// repeatable scripts last, drizzle by its journal.
func sortSet(s *Set) *FileError {
	journal := map[string]int(nil)
	var jerr *FileError
	for _, m := range s.Migrations {
		if m.Tool == Drizzle {
			journal, jerr = journalOrder(s.Dir)
			break
		}
	}
	sort.SliceStable(s.Migrations, func(i, j int) bool {
		a, b := s.Migrations[i], s.Migrations[j]
		if a.Repeatable != b.Repeatable {
			return b.Repeatable
		}
		if journal != nil {
			ia, oka := journal[a.Version]
			ib, okb := journal[b.Version]
			if oka != okb {
				return oka
			}
			if oka && ia != ib {
				return ia < ib
			}
		}
		if c := NaturalCompare(a.Version, b.Version); c != 0 {
			return c < 0
		}
		if a.Down != b.Down {
			return b.Down
		}
		return NaturalCompare(a.Path, b.Path) < 0
	})
	return jerr
}

// NaturalCompare compares strings with runs of digits compared as numbers;
// strings that are numerically equal ("1", "0001") fall back to byte order.
func NaturalCompare(a, b string) int {
	if c := naturalCompare(a, b); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

func naturalCompare(a, b string) int {
	for a != "" && b != "" {
		da, db := digitRun(a), digitRun(b)
		if da > 0 && db > 0 {
			na := strings.TrimLeft(a[:da], "0")
			nb := strings.TrimLeft(b[:db], "0")
			if len(na) != len(nb) {
				return cmp(len(na), len(nb))
			}
			if na != nb {
				return strings.Compare(na, nb)
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			return cmp(int(a[0]), int(b[0]))
		}
		a, b = a[1:], b[1:]
	}
	return cmp(len(a), len(b))
}

func digitRun(s string) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}

func cmp(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
