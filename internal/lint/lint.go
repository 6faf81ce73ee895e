// Package lint runs the pipeline: discover migrations, split and parse them,
// replay history into the catalog, run the rules on the files under review
// and apply suppression directives.
package lint

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"
	"unsafe"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/fluxlint/fluxlint/analyzers/catalog"
	"github.com/fluxlint/fluxlint/analyzers/coderefs"
	"github.com/fluxlint/fluxlint/analyzers/ir"
	"github.com/fluxlint/fluxlint/analyzers/livestats"
	"github.com/fluxlint/fluxlint/analyzers/migrations"
	"github.com/fluxlint/fluxlint/analyzers/mysql"
	"github.com/fluxlint/fluxlint/analyzers/onlineddl"
	"github.com/fluxlint/fluxlint/analyzers/pg"
	"github.com/fluxlint/fluxlint/analyzers/split"
	"github.com/fluxlint/fluxlint/internal/crash"
	"github.com/fluxlint/fluxlint/rules"
	"github.com/fluxlint/fluxlint/rules/sizing"
)

// Options configure a run.
type Options struct {
	Engine  ir.Engine
	Version int // PostgreSQL major version
	// Server is the MySQL or MariaDB server (zero: MySQL's default).
	Server onlineddl.Server
	Rules  []*rules.Rule // the enabled checks
	// Severity overrides a rule's severity, by code.
	Severity map[string]rules.Severity
	// CodePaths are the application code trees searched for references to
	// dropped or renamed objects; none: no search.
	CodePaths []string
	// Code is CodePaths' files, read ahead by the caller as soon as the
	// paths are known (nil: the lint starts reading them).
	Code *coderefs.Tree
	// DeployedRef is a git revision holding the code that is deployed (the
	// merge base of --changed-since): its code is searched too, because
	// it still runs while the migration applies. DeployedName is how
	// messages name it (origin/main).
	DeployedRef, DeployedName string
	// DeployedDiff lists the files (absolute paths) that differ between
	// the deployed revision and the work tree: only those are read from
	// the revision (nil: all of them).
	DeployedDiff map[string]bool
	// LockTimeoutSet declares lock_timeout set outside the migrations.
	LockTimeoutSet bool
	// CacheDir, when set, keeps each set's replayed history there, so that
	// a run with the same history skips its replay (historycache.go).
	CacheDir string
	// Changed, when set, limits the files reported on to these (absolute
	// paths, symlinks resolved), with every other migration replayed as
	// history; together they form one change set, as a pull request
	// deploys them at once.
	Changed map[string]bool
	// Include and Exclude are absolute globs choosing which discovered
	// files are migrations at all (none: every .sql file).
	Include, Exclude []string
	// Baseline makes migrations up to this version history only.
	Baseline string
	// Thresholds are the numbers plans are built with.
	Thresholds rules.Thresholds
	// Target is where the online schema change commands connect.
	Target rules.ToolTarget
	// MaxFileSize bounds the migrations read (0: readfile.DefaultMax).
	MaxFileSize int64
	// Live are the database's facts (a connection or a stats file): the
	// findings and plans are sized to the real tables, and where the
	// replayed history differs from the database, that is reported and the
	// database's schema is used.
	Live *livestats.Facts
	// LockOf, when set, says which lock an op waits for on an existing
	// table; the run then lists them in Result.Locks (for preflight).
	LockOf func(*catalog.Catalog, ir.Op) (ir.QName, string, bool)
}

// FileInfo is what discovery and splitting learned about a file.
type FileInfo struct {
	Path       string            `json:"path"`
	Tool       migrations.Tool   `json:"tool"`
	UpTx       migrations.TxMode `json:"up_tx"`
	DownTx     migrations.TxMode `json:"down_tx"`
	Down       bool              `json:"down"`
	Statements int               `json:"statements"`
	Target     bool              `json:"target"`
}

// Result is a run's outcome.
type Result struct {
	Findings []*rules.Finding
	Errors   []error // input errors that stopped a file or an argument
	Files    []FileInfo
	// Internal are fluxlint's own failures (a panic while linting a file),
	// never the input's fault.
	Internal []error
	// Locks are the locks the migrations under review wait for, the
	// strongest per table (with Options.LockOf).
	Locks []livestats.Want
}

// Run lints the migrations named by args.
func Run(args []string, opt Options) *Result {
	sets, errs := migrations.Discover(args)
	return run(sets, errs, opt)
}

// RunSource lints one migration given as content (read from stdin), named
// as its file would be; it has no history.
func RunSource(name string, src []byte, opt Options) *Result {
	return run([]*migrations.Set{migrations.FromSource(name, src)}, nil, opt)
}

// RunBuffer lints an editor's buffer for the migration at path: the
// migrations before it in its directory are history, the ones after it are
// left out (they do not exist yet from the buffer's point of view), and
// the buffer's content stands for the file's. A path outside any
// migration set is linted alone.
func RunBuffer(path string, src []byte, opt Options) *Result {
	abs, err := filepath.Abs(path)
	if err != nil {
		return RunSource(path, src, opt)
	}
	sets, _ := migrations.Discover([]string{filepath.Dir(migrations.RealPath(abs))})
	for _, set := range sets {
		for i, m := range set.Migrations {
			mp, err := filepath.Abs(m.Path)
			if err != nil || migrations.RealPath(mp) != migrations.RealPath(abs) {
				continue
			}
			set.Migrations = set.Migrations[:i+1]
			for _, h := range set.Migrations {
				h.Target = false
			}
			m.Target, m.Src, m.Path = true, src, path
			return run([]*migrations.Set{set}, nil, opt)
		}
	}
	return RunSource(path, src, opt)
}

func run(sets []*migrations.Set, errs []*migrations.FileError, opt Options) *Result {
	res := &Result{}
	for _, e := range errs {
		res.Errors = append(res.Errors, e)
	}
	if opt.Thresholds == (rules.Thresholds{}) {
		opt.Thresholds = rules.DefaultThresholds
	}
	found := countFiles(sets)
	sets = selectFiles(sets, opt.Include, opt.Exclude)
	if found > 0 && len(sets) == 0 {
		res.Errors = append(res.Errors, fmt.Errorf("the config's include and exclude globs select none of the %d .sql files found: nothing would be linted", found))
	}
	if opt.Baseline != "" && found > 0 && !namesMigration(sets, opt.Baseline) {
		res.Errors = append(res.Errors, fmt.Errorf("baseline %q names no migration found (the newest is %q): nothing would be linted as new, or the wrong files would", opt.Baseline, newest(sets)))
	}
	markTargets(sets, opt)
	// The code search reads the application code while the lint runs.
	tree := opt.Code
	if tree == nil && len(opt.CodePaths) > 0 {
		tree = coderefs.Prefetch(opt.CodePaths)
	}
	// Sets are independent histories: lint them concurrently, and merge
	// their results in set order so that output stays deterministic.
	parts := make([]*Result, len(sets))
	var wg sync.WaitGroup
	slots := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i, set := range sets {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer func() { <-slots; wg.Done() }()
			parts[i] = &Result{}
			lintSet(set, opt, parts[i])
		}()
	}
	wg.Wait()
	var setDirs []string
	for i, part := range parts {
		res.Findings = append(res.Findings, part.Findings...)
		res.Errors = append(res.Errors, part.Errors...)
		res.Files = append(res.Files, part.Files...)
		res.Internal = append(res.Internal, part.Internal...)
		res.Locks = append(res.Locks, part.Locks...)
		setDirs = append(setDirs, sets[i].Dir)
	}
	if len(opt.CodePaths) > 0 {
		inChange := InChange(sets, opt)
		if err := attachCodeRefs(res, opt, tree, setDirs, func(f *rules.Finding) bool { return inChange(f.Path) }); err != nil {
			res.Errors = append(res.Errors, err)
		}
	}
	sortFindings(res.Findings)
	return res
}

// InChange tells the migrations of the change under review, by path:
// every target with --changed-since or a baseline; otherwise, when every
// file is a target, only the newest migration of each set, which is what a
// pull request adds (old drops and renames shipped long ago; old files are
// applied history). The code search and fix work on these only.
func InChange(sets []*migrations.Set, opt Options) func(path string) bool {
	all := 0
	newest := map[string]bool{}
	for _, set := range sets {
		var last *migrations.Migration
		for _, m := range set.Migrations {
			if m.Target {
				all++
				if !m.Repeatable && !m.Down {
					last = m
				}
			}
		}
		if last != nil {
			newest[last.Path] = true
			// Its down file, when the tool keeps one apart.
			for _, m := range set.Migrations {
				if m.Down && m.Target && m.Version == last.Version {
					newest[m.Path] = true
				}
			}
		}
	}
	if opt.Changed != nil || opt.Baseline != "" || all <= len(sets) {
		return func(string) bool { return true }
	}
	return func(path string) bool { return newest[path] }
}

// Discover finds the migrations as Run does and marks the ones under
// review (--changed-since, the baseline): what fix works on.
func Discover(args []string, opt Options) ([]*migrations.Set, []*migrations.FileError) {
	sets, errs := migrations.Discover(args)
	sets = selectFiles(sets, opt.Include, opt.Exclude)
	markTargets(sets, opt)
	return sets, errs
}

// markTargets limits the files reported on to the change under review.
func markTargets(sets []*migrations.Set, opt Options) {
	for _, set := range sets {
		for _, m := range set.Migrations {
			m.MaxSize = opt.MaxFileSize
			if opt.Changed != nil {
				// git reports real paths: resolve symlinks the same way.
				abs, err := filepath.Abs(m.Path)
				if err == nil {
					abs, err = filepath.EvalSymlinks(abs)
				}
				m.Target = m.Target && err == nil && opt.Changed[abs]
			}
			if opt.Baseline != "" && migrations.UpTo(m, opt.Baseline) {
				m.Target = false
			}
		}
	}
}

func countFiles(sets []*migrations.Set) int {
	n := 0
	for _, set := range sets {
		n += len(set.Migrations)
	}
	return n
}

// namesMigration reports whether some migration is the baseline itself.
func namesMigration(sets []*migrations.Set, baseline string) bool {
	for _, set := range sets {
		for _, m := range set.Migrations {
			if migrations.IsVersion(m, baseline) {
				return true
			}
		}
	}
	return false
}

// newest is the highest version among the sets, for messages.
func newest(sets []*migrations.Set) string {
	v := ""
	for _, set := range sets {
		for _, m := range set.Migrations {
			if !m.Repeatable && (v == "" || migrations.NaturalCompare(m.Version, v) > 0) {
				v = m.Version
			}
		}
	}
	return v
}

// selectFiles keeps the migrations that the include globs (when any) match
// and the exclude globs do not, and drops sets left empty.
func selectFiles(sets []*migrations.Set, include, exclude []string) []*migrations.Set {
	if len(include) == 0 && len(exclude) == 0 {
		return sets
	}
	matches := func(globs []string, path string) bool {
		for _, g := range globs {
			if ok, _ := doublestar.PathMatch(g, path); ok {
				return true
			}
		}
		return false
	}
	var out []*migrations.Set
	for _, set := range sets {
		var kept []*migrations.Migration
		for _, m := range set.Migrations {
			abs, err := filepath.Abs(m.Path)
			if err != nil {
				abs = m.Path
			}
			if (len(include) == 0 || matches(include, abs)) && !matches(exclude, abs) {
				kept = append(kept, m)
			}
		}
		if len(kept) > 0 {
			set.Migrations = kept
			out = append(out, set)
		}
	}
	return out
}

// attachCodeRefs searches the code once for everything the findings of
// the change under review name (never history), in the working tree and,
// with a deployed revision, in the code that is deployed, and hands each
// finding's references to its rule.
func attachCodeRefs(res *Result, opt Options, tree *coderefs.Tree, migrationDirs []string, inChange func(*rules.Finding) bool) error {
	var queries []coderefs.Query
	seen := map[coderefs.Query]bool{}
	query := func(u *rules.Uses) coderefs.Query {
		return coderefs.Query{Table: u.Table.Name, Column: u.Column}
	}
	searched := func(f *rules.Finding) bool { return f.Uses != nil && f.Rule.WithRefs != nil && inChange(f) }
	for _, f := range res.Findings {
		if searched(f) && !seen[query(f.Uses)] {
			seen[query(f.Uses)] = true
			queries = append(queries, query(f.Uses))
		}
	}
	if len(queries) == 0 {
		return nil
	}
	columns := map[string][]string{}
	for _, f := range res.Findings {
		if searched(f) && f.Uses.Def != nil && columns[f.Uses.Table.Name] == nil {
			for _, c := range f.Uses.Def.Columns {
				columns[f.Uses.Table.Name] = append(columns[f.Uses.Table.Name], c.Name)
			}
		}
	}
	search := func(rev string) (*coderefs.Result, error) {
		o := coderefs.Options{Roots: opt.CodePaths, Exclude: migrationDirs, Engine: opt.Engine, Rev: rev, Columns: columns}
		var found *coderefs.Result
		var err error
		if rev == "" {
			found, err = tree.Search(o, queries)
		} else {
			o.Only = opt.DeployedDiff
			found, err = coderefs.Search(o, queries)
		}
		var bug *crash.Error
		if errors.As(err, &bug) {
			res.Internal = append(res.Internal, bug)
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("searching code for references: %w", err)
		}
		return found, nil
	}
	found, err := search("")
	if err != nil || found == nil {
		return err
	}
	var deployed *coderefs.Result
	if opt.DeployedRef != "" {
		if deployed, err = search(opt.DeployedRef); err != nil || deployed == nil {
			return err
		}
	}
	for _, f := range res.Findings {
		if !searched(f) {
			continue
		}
		q := query(f.Uses)
		var related []rules.Related
		add := func(r coderefs.Ref, rev string) {
			msg := fmt.Sprintf("(%s) %s", r.Kind, r.Text)
			if rev != "" {
				msg = fmt.Sprintf("(%s, deployed %s) %s", r.Kind, opt.DeployedName, r.Text)
			}
			related = append(related, rules.Related{Path: relative(r.Path), Line: r.Line, Message: msg, Kind: string(r.Kind), Deployed: opt.DeployedName})
			if rev == "" {
				related[len(related)-1].Deployed = ""
			}
		}
		for _, r := range found.Refs[q] {
			add(r, "")
		}
		if deployed != nil {
			for _, r := range deployed.Refs[q] {
				add(r, opt.DeployedRef)
			}
		}
		f.Rule.WithRefs(f, related, found.Ignored[q])
	}
	return nil
}

// schemaNeutral lists statement openings that never change what the catalog
// models. History only feeds the catalog, so these are not parsed there.
var schemaNeutral = map[string]bool{
	"insert": true, "update": true, "delete": true, "select": true, "copy": true, "grant": true, "revoke": true,
	"comment": true, "analyze": true, "vacuum": true, "refresh": true, "reindex": true, "cluster": true, "lock": true,
	"notify": true, "values": true, "with": true, "explain": true, "create function": true, "create procedure": true,
	"create trigger": true, "create policy": true, "create or replace function": true, "create or replace procedure": true,
	"create or replace trigger": true, "drop function": true, "drop procedure": true, "drop trigger": true,
	"drop policy": true, "alter function": true, "alter procedure": true,
}

// unchecked lists the schema-neutral statements no rule looks into either:
// in files under review they need a syntax check, not a parse tree.
var unchecked = map[string]bool{
	"insert": true, "select": true, "copy": true, "grant": true, "revoke": true, "comment": true, "analyze": true,
	"notify": true, "values": true, "explain": true, "create function": true, "create procedure": true,
	"create trigger": true, "create policy": true, "create or replace function": true,
	"create or replace procedure": true, "create or replace trigger": true, "drop function": true,
	"drop procedure": true, "drop trigger": true, "drop policy": true, "alter function": true, "alter procedure": true,
}

// triggers are the statements that add or drop a trigger.
var triggers = map[string]bool{"create trigger": true, "drop trigger": true}

// lockingOnPostgres are statements of unchecked that PostgreSQL's rules
// read for the lock they take on a table.
var lockingOnPostgres = map[string]bool{"create trigger": true, "create or replace trigger": true, "drop trigger": true}

// selectChanges reports whether a SELECT may change the schema, for the
// parse to decide: PostgreSQL's SELECT ... INTO creates a table (the word
// INTO is in it), and a function passed a string may create partitions of
// the table it names (a call with a string constant).
func selectChanges(lead, text string) bool {
	if !strings.HasPrefix(lead, "select") {
		return false
	}
	if strings.Contains(text, "(") && strings.Contains(text, "'") {
		return true
	}
	for i := 0; i+4 <= len(text); i++ {
		if strings.EqualFold(text[i:i+4], "into") {
			return true
		}
	}
	return false
}

// leadIn reports whether a statement's leading keywords start with an entry
// of set.
func leadIn(set map[string]bool, lead string) bool {
	w := strings.Fields(lead)
	for n := len(w); n > 0; n-- {
		if set[strings.Join(w[:n], " ")] {
			return true
		}
	}
	return false
}

// ParseFile splits and parses one migration's source, keeping every
// statement and comment. For history (files that are replayed, not
// reported) it skips what cannot change the catalog: down sections and
// schema-neutral statements.
func ParseFile(m *migrations.Migration, engine ir.Engine, history bool) ([]*ir.Stmt, []ir.Comment, error) {
	f, err := parseFile(m, engine, history, false)
	if err != nil {
		return nil, nil, err
	}
	return f.stmts, f.comments, nil
}

// fileParse is one file, split and parsed.
type fileParse struct {
	stmts    []*ir.Stmt
	comments []ir.Comment
	count    int                  // statements in the file, kept or not
	toolTx   [2]migrations.TxMode // how the tool runs the up and down sections
	refused  [2]*ir.Stmt          // where the tool refuses a section (rules.File.Refused)
}

// parseFile is ParseFile. With compact, it works through the file a window
// at a time and keeps only what linting reads, so that memory follows what
// the file does rather than its size: the directive comments, and the
// statements that have ops the catalog or a rule reads, an error, or a
// directive beside them. Statements only syntax-checked are counted and
// dropped, as are, in history, those nothing parsed; after an ALTER TYPE ...
// ADD VALUE every statement stays, since a rule looks for the new value's
// use later in its transaction.
func parseFile(m *migrations.Migration, engine ir.Engine, history, compact bool) (*fileParse, error) {
	if err := m.Read(); err != nil {
		return nil, err
	}
	defer func() { m.Src = nil }()
	if err := checkText(m.Src); err != nil {
		return nil, err
	}
	// The statements' texts alias the source, which is never written after
	// it is read: one copy of the file however many statements it has.
	text := unsafe.String(unsafe.SliceData(m.Src), len(m.Src))
	out := &fileParse{}
	var dropped [2]int // statements dropped, up and down, for markTransactions
	type client struct {
		stmt *ir.Stmt
		name string
	}
	var clients []client
	var window []*ir.Stmt
	var sqlSegs, checkSegs []int // indexes into window
	keepAll := !compact
	var lines *split.Lines
	flush := func() {
		if len(window) == 0 {
			return
		}
		parseStatements(engine, m.Src, lines, window, sqlSegs)
		checkStatements(engine, m.Src, lines, window, checkSegs)
		for _, s := range window {
			if !keepAll && hasEnumValue(s) {
				keepAll = true
			}
		}
		for _, s := range window {
			if keepAll || s.Err != nil || s.Near || len(s.Ops) > 0 && !isChecked(s) {
				out.stmts = append(out.stmts, s)
				continue
			}
			dropped[boolIndex(s.Down)]++
		}
		window, sqlSegs, checkSegs = window[:0], sqlSegs[:0], checkSegs[:0]
	}
	opt := split.Options{Emit: func(seg split.Segment) {
		s := &ir.Stmt{Pos: lines.Pos(seg.Start), End: lines.Pos(seg.End), Text: text[seg.Start:seg.End], Down: seg.Down || m.Down, Near: seg.Near}
		out.count++
		switch {
		case seg.Err != "":
			s.Err = &ir.Error{Pos: lines.Pos(seg.ErrAt), Msg: seg.Err}
		case seg.Client != "":
			s.Near = true // kept: whether it is an error depends on the tool, known once the file is split
			clients = append(clients, client{s, seg.Client})
		case engine == ir.Postgres && (!history || !s.Down) && selectChanges(seg.Lead, s.Text):
			sqlSegs = append(sqlSegs, len(window)) // SELECT ... INTO creates a table, a function may create partitions
		case engine == ir.MySQL && (!history || !s.Down) && leadIn(triggers, seg.Lead):
			sqlSegs = append(sqlSegs, len(window)) // the catalog keeps MySQL tables' triggers (the online schema change tools need to know)
		case history && (s.Down || !seg.Block && leadIn(schemaNeutral, seg.Lead)):
		case !seg.Block && leadIn(unchecked, seg.Lead) && (engine != ir.Postgres || !leadIn(lockingOnPostgres, seg.Lead)):
			checkSegs = append(checkSegs, len(window))
		default:
			sqlSegs = append(sqlSegs, len(window))
		}
		window = append(window, s)
		if s.End.Offset-window[0].Pos.Offset > parseWindow {
			flush()
		}
	}}
	if compact {
		opt.Directive = isDirective
	}
	lines = split.NewLines(m.Src)
	sp := split.ScanLines(m.Src, engine, lines, opt)
	flush()
	mk := sp.Markers
	m.FromMarkers(migrations.Markers{Goose: mk.Goose, GooseNoTx: mk.GooseNoTx, Dbmate: mk.Dbmate, DbmateUpNoTx: mk.DbmateUpNoTx, DbmateDownNoTx: mk.DbmateDownNoTx})
	for _, c := range clients {
		// The mysql client runs DELIMITER, and psql its backslash
		// commands: a plain SQL file is a script for them. A tool that
		// sends the file to the server sends those too, and fails.
		name := c.name
		psql := strings.HasPrefix(name, "\\") && m.Tool == migrations.Plain
		if !psql && (engine != ir.MySQL || name != "DELIMITER") {
			c.stmt.Err = &ir.Error{Pos: c.stmt.Pos, Msg: fmt.Sprintf("%s is a client command, not SQL: %s rejects it (%s sends it to the server)", name, engineName(engine), m.Tool)}
		}
	}
	out.toolTx, out.refused = markTransactions(out.stmts, m, engine, dropped)
	out.comments = sp.Comments
	return out, nil
}

func boolIndex(b bool) int {
	if b {
		return 1
	}
	return 0
}

// isDirective tells a fluxlint directive comment, or a squawk-ignore one.
func isDirective(text string) bool {
	t := strings.TrimSpace(text)
	return strings.HasPrefix(t, DirectivePrefix) || strings.HasPrefix(t, "squawk-ignore")
}

// isChecked reports a statement whose syntax was checked without a tree.
func isChecked(s *ir.Stmt) bool { return len(s.Ops) == 1 && &s.Ops[0] == &checkedOps[0] }

func hasEnumValue(s *ir.Stmt) bool {
	for _, op := range s.Ops {
		if _, ok := op.(ir.AddEnumValue); ok {
			return true
		}
	}
	return false
}

func engineName(e ir.Engine) string {
	if e == ir.MySQL {
		return "MySQL"
	}
	return "PostgreSQL"
}

// parseStatements fills in the ops of the statements at idx. PostgreSQL's
// are parsed a window of the file at a time (one parser call for many
// statements is much faster than one each), falling back to statement by
// statement in a window that does not parse, so that an error stays with its
// statement; MySQL's are parsed one by one.
func parseStatements(engine ir.Engine, src []byte, lines *split.Lines, stmts []*ir.Stmt, idx []int) {
	if engine != ir.Postgres {
		parseEach(engine, lines, stmts, idx)
		return
	}
	for _, w := range windows(stmts, idx) {
		if !parseWhole(src, stmts, w) {
			parseEach(engine, lines, stmts, w)
		}
	}
}

// parseWindow bounds the source one parser call sees, so that no parse
// tree holds much of a large file at once: memory stays proportional to
// the window, not to the file.
const parseWindow = 256 << 10

// windows cuts idx into runs of statements whose source spans at most
// parseWindow bytes (a longer statement is a window of its own).
func windows(stmts []*ir.Stmt, idx []int) [][]int {
	var out [][]int
	start := 0
	for i := range idx {
		if i > start && stmts[idx[i]].End.Offset-stmts[idx[start]].Pos.Offset > parseWindow {
			out = append(out, idx[start:i])
			start = i
		}
	}
	if start < len(idx) {
		out = append(out, idx[start:])
	}
	return out
}

// parseEach parses the statements at idx one by one, so that a syntax error
// is placed in its own statement.
func parseEach(engine ir.Engine, lines *split.Lines, stmts []*ir.Stmt, idx []int) {
	for _, i := range idx {
		s := stmts[i]
		if engine == ir.MySQL {
			ops, err := mysql.Parse(s.Text)
			var se *mysql.SyntaxError
			switch {
			case errors.As(err, &se):
				s.Err = &ir.Error{Pos: lines.Pos(s.Pos.Offset + se.Offset), Msg: se.Msg, Unsupported: true}
			case err != nil:
				s.Err = &ir.Error{Pos: s.Pos, Msg: err.Error()}
			}
			s.Ops = ops
			continue
		}
		ops, err := pg.Parse(s.Text)
		if err != nil {
			s.Err = &ir.Error{Pos: s.Pos, Msg: err.Error()}
			var se *pg.SyntaxError
			if errors.As(err, &se) {
				s.Err.Pos = lines.Pos(s.Pos.Offset + se.Offset)
			}
		}
		s.Ops = ops
	}
}

// checkStatements checks the syntax of statements whose content nothing
// needs, a window at a time; the statements get no ops but an Other, so
// that they still count as statements. In a window with an error they are
// parsed one by one to place it.
func checkStatements(engine ir.Engine, src []byte, lines *split.Lines, stmts []*ir.Stmt, idx []int) {
	if engine != ir.Postgres {
		parseEach(engine, lines, stmts, idx)
		return
	}
	for _, w := range windows(stmts, idx) {
		if masked, _ := maskTo(src, stmts, w); pg.CheckScript(string(masked)) == nil {
			for _, i := range w {
				stmts[i].Ops = checkedOps
			}
			continue
		}
		parseEach(engine, lines, stmts, w)
	}
}

// checkedOps are the ops of every statement whose syntax was checked without
// a tree: one shared, read-only slice.
var checkedOps = []ir.Op{ir.Other{Kind: "checked"}}

// maskTo copies the source from the first statement at idx to the last,
// blanking every byte outside those statements and putting a semicolon
// after each, so that an offset in the result plus base is a file offset.
func maskTo(src []byte, stmts []*ir.Stmt, idx []int) (masked []byte, base int) {
	base = stmts[idx[0]].Pos.Offset
	masked = bytes.Repeat([]byte{' '}, stmts[idx[len(idx)-1]].End.Offset-base+1)
	for _, i := range idx {
		s := stmts[i]
		copy(masked[s.Pos.Offset-base:], src[s.Pos.Offset:s.End.Offset])
		masked[s.End.Offset-base] = ';'
	}
	return masked, base
}

// parseWhole parses the statements at idx in one call, with every byte
// outside them blanked and a semicolon after each, so offsets map straight
// back. It reports false when the file does not parse as a whole.
func parseWhole(src []byte, stmts []*ir.Stmt, idx []int) bool {
	masked, base := maskTo(src, stmts, idx)
	if located, err := pg.ParseScript(string(masked)); err == nil {
		j := 0
		for _, l := range located {
			// A statement's location starts right after the previous
			// semicolon: skip the blanked gap to reach its first byte.
			off := l.Offset
			for off < len(masked) && masked[off] == ' ' {
				off++
			}
			for j+1 < len(idx) && stmts[idx[j+1]].Pos.Offset-base <= off {
				j++
			}
			s := stmts[idx[j]]
			s.Ops = append(s.Ops, l.Ops...)
		}
		return true
	}
	return false
}

// checkText rejects input that is not text: binary files and invalid UTF-8.
func checkText(src []byte) error {
	if at := bytes.IndexByte(src, 0); at >= 0 {
		return &ir.Error{Pos: split.NewLines(src).Pos(at), Msg: "NUL byte: a binary file, or text in UTF-16, not a SQL migration (SQL text never holds NUL)"}
	}
	if !utf8.Valid(src) {
		off := 0
		for off < len(src) {
			r, size := utf8.DecodeRune(src[off:])
			if r == utf8.RuneError && size <= 1 {
				break
			}
			off += size
		}
		return &ir.Error{Pos: split.NewLines(src).Pos(off), Msg: "not valid UTF-8: save the file as UTF-8"}
	}
	return nil
}

// markTransactions decides, for every statement, whether it runs inside a
// transaction: from the tool's mode for its section and explicit BEGIN/COMMIT.
// dropped counts the statements of each section (up, down) not in stmts:
// only syntax-checked ones, which never control transactions. It returns
// how the tool runs each section (up, down): in a transaction of its own
// (TxWrapped), as one multi-statement query (TxImplicit), or statement by
// statement (TxNone).
func markTransactions(stmts []*ir.Stmt, m *migrations.Migration, engine ir.Engine, dropped [2]int) (toolTx [2]migrations.TxMode, refused [2]*ir.Stmt) {
	for _, down := range []bool{false, true} {
		var section []*ir.Stmt
		for _, s := range stmts {
			if s.Down == down {
				section = append(section, s)
			}
		}
		mode := m.UpTx
		if down {
			mode = m.DownTx
		}
		// Flyway runs a script outside a transaction when every statement
		// is one it must (auto), and refuses a script that mixes those
		// with others, whatever executeInTransaction says, unless its
		// mixed setting is on, which runs the whole script outside one:
		// what follows is linted that way.
		var outside *ir.Stmt
		mixed := dropped[boolIndex(down)] > 0
		if m.Tool == migrations.Flyway && engine == ir.Postgres {
			for _, s := range section {
				if flywayOutsideTx(s) {
					outside = cmp.Or(outside, s)
				} else {
					mixed = true // BEGIN and COMMIT too: Flyway runs them as statements
				}
			}
			if outside != nil && mixed {
				refused[boolIndex(down)] = outside
				mode = migrations.TxNone
			}
		}
		wrapped := false
		switch mode {
		case migrations.TxWrapped:
			wrapped = true
		case migrations.TxImplicit:
			wrapped = len(section)+dropped[boolIndex(down)] > 1
		case migrations.TxAuto:
			wrapped = outside == nil
		}
		toolTx[boolIndex(down)] = migrations.TxNone
		if wrapped {
			toolTx[boolIndex(down)] = migrations.TxWrapped
			if mode == migrations.TxImplicit {
				toolTx[boolIndex(down)] = migrations.TxImplicit
			}
		}
		// A COMMIT or ROLLBACK ends the tool's transaction too; what runs
		// after it depends on how the tool sends the statements.
		explicit, tool := false, wrapped
		for _, s := range section {
			kind, isTx := txKind(s)
			if isTx && kind == ir.TxBegin {
				explicit = true
			}
			s.InTx = tool || explicit
			if isTx && (kind == ir.TxCommit || kind == ir.TxRollback) {
				explicit = false
				tool = tool && m.Tool.AfterCommit() != migrations.Autocommit
			}
		}
	}
	return toolTx, refused
}

// flywayOutsideTx reports whether Flyway's PostgreSQL parser runs the
// statement outside a transaction (its detectCanExecuteInTransaction
// patterns): CREATE and DROP DATABASE, TABLESPACE and SUBSCRIPTION, ALTER
// SYSTEM, CREATE and DROP INDEX CONCURRENTLY, REINDEX SCHEMA, DATABASE and
// SYSTEM, VACUUM and DISCARD ALL (and ALTER TYPE ... ADD VALUE on
// PostgreSQL before 12, which is not modelled). REINDEX INDEX or TABLE
// CONCURRENTLY and DETACH PARTITION CONCURRENTLY are not among them: Flyway
// runs those in its transaction, where they fail.
func flywayOutsideTx(s *ir.Stmt) bool {
	for _, op := range s.Ops {
		switch o := op.(type) {
		case ir.CreateIndex:
			return o.Concurrently
		case ir.Drop:
			return o.Kind == ir.KindIndex && o.Concurrently
		case ir.Reindex:
			return o.Kind == "schema" || o.Kind == "database" || o.Kind == "system"
		case ir.Rebuild:
			return o.Kind == "VACUUM FULL"
		case ir.Other:
			return flywayOutside[o.Kind]
		}
	}
	return false
}

var flywayOutside = map[string]bool{
	"Vacuum": true, "Createdb": true, "Dropdb": true, "CreateTableSpace": true, "DropTableSpace": true,
	"CreateSubscription": true, "DropSubscription": true, "AlterSystem": true, "DiscardAll": true,
}

// nextTx numbers the transaction s runs in, given the current number and
// whether a transaction is open before it, and says whether one is open
// after it: a statement outside a transaction is one of its own; BEGIN,
// or the first statement in a transaction after none, starts one; COMMIT
// and ROLLBACK end it.
func nextTx(s *ir.Stmt, tx int, open bool) (int, bool) {
	kind, isTx := txKind(s)
	switch {
	case !s.InTx:
		return tx + 1, false
	case isTx && (kind == ir.TxCommit || kind == ir.TxRollback):
		return tx, false
	case isTx && kind == ir.TxBegin, !open:
		return tx + 1, true
	}
	return tx, true
}

func txKind(s *ir.Stmt) (ir.TxKind, bool) {
	for _, op := range s.Ops {
		if t, ok := op.(ir.TxControl); ok {
			return t.Kind, true
		}
	}
	return 0, false
}

// parsed is one file's statements, parsed ahead of the replay.
type parsed struct {
	stmts    []*ir.Stmt
	comments []ir.Comment
	count    int // statements in the file, kept or not
	toolTx   [2]migrations.TxMode
	refused  [2]*ir.Stmt
	err      error
	bug      *crash.Error
}

// parsedFiles counts the files parsed, for the tests of the history cache.
var parsedFiles atomic.Int64

// parseAhead parses the set's files on every core, at most window files
// ahead of the consumer, and delivers them in order: the replay must stay
// sequential, and memory stays bounded however many files there are.
func parseAhead(ms []*migrations.Migration, engine ir.Engine) (next func(i int) parsed) {
	out := make([]chan parsed, len(ms))
	for i := range out {
		out[i] = make(chan parsed, 1)
	}
	window := make(chan struct{}, 4*runtime.GOMAXPROCS(0))
	go func() {
		for i, m := range ms {
			window <- struct{}{} // released when the consumer takes a file
			go func() {
				var p parsed
				defer func() { out[i] <- p }()
				defer crash.Recover(m.Path, &p.bug)
				if (m.Down || m.Baseline) && !m.Target {
					return // a rollback or a baseline in history changes nothing after it
				}
				parsedFiles.Add(1)
				f, err := parseFile(m, engine, !m.Target, true)
				if err != nil {
					p.err = err
					return
				}
				p.stmts, p.comments, p.count, p.toolTx, p.refused = f.stmts, f.comments, f.count, f.toolTx, f.refused
			}()
		}
	}()
	return func(i int) parsed {
		p := <-out[i]
		<-window
		return p
	}
}

func lintSet(set *migrations.Set, opt Options, res *Result) {
	cat := catalog.NewFor(opt.Engine)
	unit := ""
	var drift map[ir.QName][]livestats.Difference
	// With a cache, the history before the first target is restored when
	// it is unchanged, and stored after its replay when not.
	start, key, metaKey := 0, "", ""
	first := slices.IndexFunc(set.Migrations, func(m *migrations.Migration) bool { return m.Target })
	if opt.CacheDir != "" && first > 0 {
		var c *catalog.Catalog
		var e *history
		if c, e, key, metaKey = findHistory(set, set.Migrations[:first], opt); c != nil {
			cat, unit, start = c, e.Unit, first
			for i, m := range set.Migrations[:first] {
				// What the parse would have read from the file's markers.
				f := e.Files[i]
				m.Tool, m.UpTx, m.DownTx = f.Tool, f.UpTx, f.DownTx
				res.Files = append(res.Files, fileInfo(m, f.Statements))
			}
		}
	}
	// Counted by name, before the parse reads the files' markers (and
	// writes the tool they tell) on other goroutines.
	unversioned := 0
	for _, m := range set.Migrations {
		if unnumbered(m) {
			unversioned++
		}
	}
	next := parseAhead(set.Migrations[start:], opt.Engine)
	// A bug ends this set's lint at the file it happened in; the other sets
	// go on.
	current := set.Dir
	defer func() {
		if r := recover(); r != nil {
			res.Internal = append(res.Internal, &crash.Error{Path: current, Value: r, Stack: debug.Stack()})
		}
	}()
	// Transactions are numbered for the catalog (SetTx): each file opens
	// its own, except that drizzle's migrator applies every pending
	// migration in one transaction (drizzle-orm's dialect migrate).
	tx, open, shared := 0, false, false
	var prevFile *rules.File // the last file linted, for a transaction that spans files
	for i, m := range set.Migrations {
		if i < start {
			continue
		}
		if i == first && key != "" && len(res.Errors) == 0 && len(res.Internal) == 0 {
			storeHistory(opt.CacheDir, key, metaKey, cat, unit, res.Files)
		}
		current = m.Path
		u := m.Unit()
		if opt.Changed != nil && m.Target {
			u = "\x00changed" // every changed migration belongs to one change set
		}
		if u != unit {
			if m.Target && drift == nil && opt.Live != nil {
				// The change under review starts here: the history before
				// it is what the database should hold.
				drift = reconcile(cat, opt.Live, opt.Engine)
			}
			cat.BeginChange()
			unit = u
		}
		p := next(i - start) // after it, the parse has set m.Tool from the file's markers
		pending := m.Tool == migrations.Drizzle && m.Target
		if !pending || !shared {
			open = false
		}
		continues := pending && shared // the transaction before goes on in this file
		shared = pending
		if p.bug != nil {
			res.Internal = append(res.Internal, p.bug)
			continue
		}
		stmts, comments, err := p.stmts, p.comments, p.err
		res.Files = append(res.Files, fileInfo(m, p.count))
		if err != nil {
			var textErr *ir.Error
			if !m.Target && !errors.As(err, &textErr) {
				// History that cannot be read leaves the catalog incomplete.
				res.Errors = append(res.Errors, &migrations.FileError{Path: m.Path, Err: err})
			}
			if m.Target {
				pos := ir.Pos{Line: 1, Col: 1}
				var ie *ir.Error
				if errors.As(err, &ie) {
					pos, err = ie.Pos, errors.New(ie.Msg)
				}
				res.Findings = append(res.Findings, rules.NewFinding(rules.InputError, m.Path, pos, pos, err.Error()))
			}
			continue
		}
		f := &rules.File{Path: m.Path, Tool: m.Tool, Stmts: stmts, ToolTx: p.toolTx, Refused: p.refused, Unordered: unnumbered(m) && unversioned > 1}
		if continues {
			f.Prev = prevFile
		}
		prevFile = nil
		if pending {
			prevFile = f // held only while the transaction may go on
		}
		keep := func(fd *rules.Finding) { res.Findings = append(res.Findings, fd) }
		var dirs *directives
		if m.Target {
			dirs = fileDirectives(f, comments, opt, keep)
		}
		report := func(fd *rules.Finding) {
			if !dirs.suppressedBy(fd) {
				keep(fd)
			}
		}
		var downCat, baseCat *catalog.Catalog
		if m.Baseline {
			// A baseline runs on an empty database only: it is linted on
			// an empty schema and leaves the history alone.
			baseCat = catalog.NewFor(opt.Engine)
			baseCat.BeginChange() // what it creates is new
		}
		for _, s := range stmts {
			c := cat
			switch {
			case baseCat != nil:
				c = baseCat
				tx, open = nextTx(s, tx, open)
				c.SetTx(tx)
			case s.Down:
				// A rollback is evaluated on the schema its up produced and
				// never becomes part of the history that follows.
				if downCat == nil {
					downCat = cat.Clone()
					downCat.SetTx(0) // its transactions are not tracked
				}
				c = downCat
			default:
				tx, open = nextTx(s, tx, open)
				cat.SetTx(tx)
			}
			if m.Target && s.Err != nil {
				r := rules.SyntaxError
				if s.Err.Unsupported {
					r = rules.Unsupported
				}
				fd := rules.NewFinding(r, f.Path, s.Err.Pos, s.End, s.Err.Msg)
				fd.Down = s.Down
				if s.Err.Pos == s.Pos {
					fd.Source = s.Text
				}
				report(fd)
			}
			// Each op is checked on the schema left by the ops before it, so
			// a table created earlier in the same statement block counts as new.
			var stmtFound []*rules.Finding // composed once the statement is checked
			for i, op := range s.Ops {
				if m.Target {
					reportDrift(f, s, op, c, drift, report)
					checkOp(f, s, i, c, opt, func(fd *rules.Finding) {
						if !dirs.suppressedBy(fd) {
							stmtFound = append(stmtFound, fd)
						}
					})
					if opt.LockOf != nil && !s.Down {
						if t, mode, ok := opt.LockOf(c, op); ok {
							res.Locks = addLock(res.Locks, livestats.Want{Table: t, Mode: mode})
						}
					}
				}
				c.Apply(op)
			}
			rules.ComposeBlock(stmtFound)
			for _, fd := range stmtFound {
				keep(fd)
			}
		}
		if m.Target {
			dirs.unused(f.Path, keep)
		}
	}
}

// unnumbered reports whether a plain file's name has no number to order it
// by (schema.sql, schema-16.sql): sorted by name, its place is a guess.
func unnumbered(m *migrations.Migration) bool {
	return m.Tool == migrations.Plain && (m.Version == "" || m.Version[0] < '0' || m.Version[0] > '9')
}

func fileInfo(m *migrations.Migration, statements int) FileInfo {
	return FileInfo{Path: m.Path, Tool: m.Tool, UpTx: m.UpTx, DownTx: m.DownTx, Down: m.Down, Statements: statements, Target: m.Target}
}

// checkOp runs every enabled rule on one op of a statement. A reminder
// (PG113's lock_timeout) goes where another finding's plan for the op
// already sets what it reminds of.
func checkOp(f *rules.File, s *ir.Stmt, i int, c *catalog.Catalog, opt Options, report func(*rules.Finding)) {
	var found []*rules.Finding
	p := rules.NewPass(nil, f, s, s.Ops[i], c, opt.Version, func(fd *rules.Finding) {
		if sev, ok := opt.Severity[fd.Rule.Code]; ok {
			fd.Severity = sev
		}
		found = append(found, fd)
	})
	p.LockTimeoutSet = opt.LockTimeoutSet
	p.Thresholds = opt.Thresholds
	p.Target = opt.Target
	if t := ir.TablesOf(s.Ops[i]); len(t) > 0 && opt.Live != nil {
		p.Thresholds = sizing.Batching(p.Thresholds, opt.Live.Table(t[0]), opt.Engine)
	}
	if opt.Server != (onlineddl.Server{}) {
		p.Server = opt.Server
	}
	p.OpIndex = i
	for _, r := range opt.Rules {
		if r.Check == nil || (r.Destructive && s.Down) {
			continue
		}
		p.Rule = r
		r.Check(p)
	}
	for _, fd := range found {
		sizing.Apply(fd, opt.Live, p.Thresholds, opt.Engine)
	}
	p.Compose(found)
	for _, fd := range found {
		if fd.Rule.Reminder == "" || !setByOther(found, fd) {
			report(fd)
		}
	}
}

// reconcile compares every table the history built with the database's
// table of the same name, returns the differences by table, and makes the
// catalog hold what the database really has, so that plans are built on
// it: columns the database lacks are dropped, its extra columns added,
// types and nullability taken from it.
func reconcile(cat *catalog.Catalog, live *livestats.Facts, engine ir.Engine) map[ir.QName][]livestats.Difference {
	out := map[ir.QName][]livestats.Difference{}
	for i := range live.Tables {
		lt := &live.Tables[i]
		q := lt.QName()
		if engine == ir.MySQL && lt.Schema == live.Database {
			q.Schema = "" // the catalog keeps the connection's tables unqualified
		}
		t := cat.Table(q)
		if t == nil || t.Kind != ir.KindTable {
			continue
		}
		diffs := livestats.Drift(t, cat.IndexesOn(q), lt, engine)
		for _, l := range live.Leftovers {
			if l.Table == lt.Name {
				diffs = append(diffs, livestats.Difference{Text: fmt.Sprintf("%s is left over from an interrupted %s run: finish or clean up that change first", l.What, l.By)})
			}
		}
		if len(diffs) == 0 {
			continue
		}
		out[t.Name] = diffs
		if cmds := livestats.Adopt(t, lt, engine); len(cmds) > 0 {
			cat.Apply(ir.AlterTable{Table: t.Name, Cmds: cmds})
		}
	}
	return out
}

// addLock adds a wanted lock, keeping the strongest per table.
func addLock(locks []livestats.Want, w livestats.Want) []livestats.Want {
	for i, l := range locks {
		if l.Table == w.Table {
			if slices.Index(rules.LockModes, w.Mode) > slices.Index(rules.LockModes, l.Mode) {
				locks[i] = w
			}
			return locks
		}
	}
	return append(locks, w)
}

// reportDrift reports, at the first statement of the change that touches
// a table, how the database's table differs from the history's.
func reportDrift(f *rules.File, s *ir.Stmt, op ir.Op, c *catalog.Catalog, drift map[ir.QName][]livestats.Difference, report func(*rules.Finding)) {
	if len(drift) == 0 {
		return
	}
	for _, q := range ir.TablesOf(op) {
		t := c.Table(q)
		if t == nil || drift[t.Name] == nil {
			continue
		}
		var texts []string
		for _, d := range drift[t.Name] {
			texts = append(texts, d.Text)
		}
		delete(drift, t.Name)
		fd := rules.NewFinding(rules.Drift, f.Path, s.Pos, s.End, fmt.Sprintf("the database's table %s differs from what the migrations before this change build: %s; the checks and plans here use the database's schema", t.Name, strings.Join(texts, "; ")))
		fd.Down, fd.Source, fd.Table = s.Down, s.Text, t.Name
		report(fd)
	}
}

// setByOther reports whether a finding other than the reminder has a plan
// step that sets what the reminder asks for.
func setByOther(found []*rules.Finding, reminder *rules.Finding) bool {
	for _, fd := range found {
		if fd == reminder || fd.Plan == nil {
			continue
		}
		for _, st := range fd.Plan.Steps {
			if strings.Contains(st.Forward, "SET "+reminder.Rule.Reminder) || strings.Contains(st.Forward, "SET SESSION "+reminder.Rule.Reminder) {
				return true
			}
		}
	}
	return false
}

// relative shortens a path to one relative to the working directory, when
// it lies below it.
func relative(p string) string {
	wd, err := os.Getwd()
	if err != nil {
		return p
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	if rel, err := filepath.Rel(wd, abs); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return p
}

func sortFindings(fs []*rules.Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		if a.Pos.Offset != b.Pos.Offset {
			return a.Pos.Offset < b.Pos.Offset
		}
		return a.Rule.Code < b.Rule.Code
	})
}
