// Command fluxlint lints database migrations for changes that lock busy
// tables, rewrite them or break deployed code, and writes the safe plan.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-isatty"
	"golang.org/x/sys/unix"

	"github.com/fluxlint/fluxlint/analyzers/coderefs"
	"github.com/fluxlint/fluxlint/analyzers/ir"
	"github.com/fluxlint/fluxlint/analyzers/migrations"
	"github.com/fluxlint/fluxlint/analyzers/onlineddl"
	"github.com/fluxlint/fluxlint/internal/atomicfile"
	"github.com/fluxlint/fluxlint/internal/config"
	"github.com/fluxlint/fluxlint/internal/lint"
	"github.com/fluxlint/fluxlint/internal/readfile"
	"github.com/fluxlint/fluxlint/internal/report"
	"github.com/fluxlint/fluxlint/rules"
	myrules "github.com/fluxlint/fluxlint/rules/mysql"
	pgrules "github.com/fluxlint/fluxlint/rules/pg"
)

// Exit codes.
const (
	exitOK       = 0
	exitFindings = 1
	exitUsage    = 2
	exitInternal = 3
)

func main() {
	// Collect garbage harder as the heap nears 384 MiB, so that a huge
	// migration costs a small multiple of its size rather than twice the
	// live heap (GOGC's default); a run that needs more still gets it.
	// GOMEMLIMIT overrides this.
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(384 << 20)
	}
	// FLUXLINT_CPUPROFILE=FILE writes a CPU profile of the run, for
	// developers measuring where the time goes.
	if path := os.Getenv("FLUXLINT_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err == nil && pprof.StartCPUProfile(f) == nil {
			code := run(os.Args[1:], os.Stdout, os.Stderr)
			pprof.StopCPUProfile()
			f.Close()
			os.Exit(code)
		}
		fmt.Fprintf(os.Stderr, "fluxlint: FLUXLINT_CPUPROFILE: cannot profile to %s\n", path)
		os.Exit(exitUsage)
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// stdin is where `fluxlint -` reads; tests replace it.
var stdin io.Reader = os.Stdin

// reportBug follows every internal error.
const reportBug = "This is a bug in fluxlint: please report it at " + report.ProjectURL + "/issues with the output above (and the file, if you can share it).\n"

// testRules are added to every run's rules; only tests set them (a rule
// that panics proves a bug ends as exit 3).
var testRules []*rules.Rule

const usage = `usage:
  fluxlint [flags] PATH...        lint migration files or directories
  fluxlint [flags] -              lint SQL read from stdin (name it with --stdin-filename)
  fluxlint rules [--format json]  list the rules
  fluxlint explain CODE           show a rule's documentation
  fluxlint baseline PATH...       record the newest migration as the baseline: it and
                                  everything before it become history, never reported
  fluxlint fix [--write] [flags] PATH...
                                  write the plans as migration files in the tool's
                                  convention (without --write: show the diff)
  fluxlint stats export --database-url URL [--output FILE]
                                  write the database's facts (sizes, schema, version;
                                  no rows, no passwords) for --stats
  fluxlint preflight --database-url URL PATH...
                                  just before a deploy: report sessions and long
                                  transactions that the migrations' locks would queue behind
  fluxlint lsp                    the language server (stdio), for editors
  fluxlint version                print fluxlint's version and VCS revision

flags:
`

func run(args []string, stdout, stderr io.Writer) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "fluxlint: internal error: %v\n%s%s", r, debug.Stack(), reportBug)
			code = exitInternal
		}
	}()
	if len(args) > 0 {
		switch args[0] {
		case "rules":
			return listRules(args[1:], stdout, stderr)
		case "explain":
			return explain(args[1:], stdout, stderr)
		case "baseline":
			return baseline(args[1:], stdout, stderr)
		case "stats":
			return statsCmd(args[1:], stdout, stderr)
		case "preflight":
			return preflightCmd(args[1:], stdout, stderr)
		case "fix":
			return lintOrFix(args[1:], stdout, stderr, true)
		case "lsp":
			return lspCmd(args[1:], stderr)
		case "version", "--version", "-version":
			fmt.Fprintln(stdout, versionLine())
			return 0
		case "help":
			return lintCmd([]string{"--help"}, stdout, stderr)
		}
		if unknownCommand(args[0]) {
			fmt.Fprintf(stderr, "fluxlint: %q is neither a command (rules, explain, baseline, fix, stats, preflight, lsp, version, help) nor an existing path\n", args[0])
			return exitUsage
		}
	}
	return lintCmd(args, stdout, stderr)
}

// parseInterleaved parses flags that may come before or after paths.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

func lintCmd(args []string, stdout, stderr io.Writer) int {
	return lintOrFix(args, stdout, stderr, false)
}

// lintOrFix lints, and with fixing writes the plans as migration files
// (fluxlint fix) instead of a report: both take the same flags, so fix
// sees exactly the findings the lint reports.
func lintOrFix(args []string, stdout, stderr io.Writer, fixing bool) int {
	fs := flag.NewFlagSet("fluxlint", flag.ContinueOnError)
	var writeFix *bool
	if fixing {
		writeFix = fs.Bool("write", false, "fix: write the files (default: print what would be written, as a diff, and the deployment sequence)")
	}
	fs.SetOutput(stderr)
	printUsage := func(w io.Writer) { fs.SetOutput(w); fmt.Fprint(w, usage); fs.PrintDefaults(); fs.SetOutput(stderr) }
	fs.Usage = func() {} // printed below: --help to stdout, a usage error to stderr
	format := fs.String("format", "text", "output format: text, json, html (one self-contained page; use with --output), sarif (code scanning), rdjson, rdjsonl (reviewdog) or github (workflow annotations)")
	failLevel := fs.String("fail-level", "warning", "exit 1 when a finding has at least this severity: info, warning or error (none: never)")
	engine := fs.String("engine", "", "database engine: postgres (default), mysql or mariadb")
	version := fs.String("server-version", "", fmt.Sprintf("server version the migrations run on. PostgreSQL: a major (15) or major.minor (15.4), %d to %d (default %d). MySQL: %s (default %s). MariaDB: mariadb-10.11, mariadb-11.4.2, or 10.11 with --engine mariadb (default %s)",
		pgrules.MinVersion, pgrules.MaxVersion, pgrules.DefaultVersion, onlineddl.Known(), onlineddl.Default(onlineddl.MySQL).Flag(), onlineddl.Default(onlineddl.MariaDB).Flag()))
	configPath := fs.String("config", "", "config file (default: "+config.FileName+" found by walking up from the first path)")
	verbose := fs.Bool("v", false, "text format: show the full SQL of every plan step")
	color := fs.String("color", "auto", "text format: colours: auto (on a terminal, unless NO_COLOR is set), always or never")
	output := fs.String("output", "", "write the report to this file (atomically) instead of stdout; never a migration")
	fs.StringVar(format, "f", "text", "shorthand for --format")
	fs.StringVar(output, "o", "", "shorthand for --output")
	stdinName := fs.String("stdin-filename", "stdin.sql", "with the path -, the file name to report and to take the tool convention from")
	var target rules.ToolTarget
	fs.StringVar(&target.Host, "osc-host", "", "MySQL: the host the gh-ost and pt-online-schema-change commands in plans connect to (default: a <host> placeholder)")
	fs.StringVar(&target.User, "osc-user", "", "MySQL: the user those commands connect as (default: a <user> placeholder; the password is always asked for)")
	fs.StringVar(&target.Database, "osc-database", "", "MySQL: the database of unqualified tables in those commands (default: a <database> placeholder)")
	fs.Func("osc-tool", "MySQL: the online schema change tool plans use for table copies: auto (gh-ost where it can run, else pt-online-schema-change), gh-ost, pt-online-schema-change, or none (expand/contract plans instead)", func(s string) error {
		switch s {
		case "auto":
			target.Tool = ""
		case "gh-ost", "pt-online-schema-change", "none":
			target.Tool = s
		default:
			return fmt.Errorf("want auto, gh-ost, pt-online-schema-change or none")
		}
		return nil
	})
	cache := fs.Bool("cache", false, "keep each migration set's replayed history in the user cache directory (or $FLUXLINT_CACHE_DIR), so that a run with the same history skips its replay")
	live := addLiveFlags(fs)
	deployedRef := fs.String("deployed-ref", "", "git revision of the code that is deployed, searched for references too (default: the merge base of --changed-since)")
	changedSince := fs.String("changed-since", "", "report only on migrations added or changed since this git ref (and uncommitted or untracked ones); the others are history")
	var codePaths []string
	fs.Func("code-path", "application code to search for references to dropped or renamed objects (repeatable; default: the git repository containing the migrations; \"none\" turns the search off)", func(s string) error {
		codePaths = append(codePaths, s)
		return nil
	})
	paths, err := parseInterleaved(fs, args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		printUsage(stdout)
		return 0
	case err != nil:
		printUsage(stderr)
		return exitUsage
	case len(paths) == 0:
		printUsage(stderr)
		return exitUsage
	}
	write, ok := writers[*format]
	if !ok {
		fmt.Fprintf(stderr, "fluxlint: unknown --format %q (want text, json, html, sarif, rdjson, rdjsonl or github)\n", *format)
		return exitUsage
	}
	if *color != "auto" && *color != "always" && *color != "never" {
		fmt.Fprintf(stderr, "fluxlint: unknown --color %q (want auto, always or never)\n", *color)
		return exitUsage
	}
	if strings.EqualFold(filepath.Ext(*output), ".sql") {
		fmt.Fprintf(stderr, "fluxlint: --output %s: a report is not a migration; fluxlint never writes .sql files\n", *output)
		return exitUsage
	}
	cfg, err := loadConfig(*configPath, paths[0])
	if err != nil {
		fmt.Fprintf(stderr, "fluxlint: %v\n", err)
		return exitUsage
	}
	facts, err := live.facts(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "fluxlint: %v\n", err)
		return exitUsage
	}
	if *engine == "" && cfg.Engine == "" {
		*engine = liveEngine(facts)
	}
	opt, err := options(cfg, *engine, *version)
	if err != nil {
		fmt.Fprintf(stderr, "fluxlint: %v\n", err)
		return exitUsage
	}
	opt.Live = facts
	if *cache || cfg.Cache {
		if opt.CacheDir, err = cacheDir(); err != nil {
			fmt.Fprintf(stderr, "fluxlint: --cache: %v\n", err)
			return exitUsage
		}
	}
	useLiveVersion(&opt, facts, firstNonEmpty(*version, cfg.ServerVersion), stderr)
	opt.MaxFileSize = cfg.MaxBytes
	opt.Target = target
	if opt.CodePaths, err = searchRoots(codePaths, cfg.CodePaths, paths[0]); err != nil {
		fmt.Fprintf(stderr, "fluxlint: %v\n", err)
		return exitUsage
	}
	if len(opt.CodePaths) > 0 {
		opt.Code = coderefs.Prefetch(opt.CodePaths) // read while git is asked what changed
	}
	if *changedSince != "" {
		c, err := changedFiles(*changedSince, paths)
		if err != nil {
			fmt.Fprintf(stderr, "fluxlint: --changed-since: %v\n", err)
			return exitUsage
		}
		// The code at the merge base is what runs while the migration
		// applies: search it too, where it differs from the work tree.
		opt.Changed, opt.DeployedRef, opt.DeployedName, opt.DeployedDiff = c.files, c.base, *changedSince, c.differing
	}
	if *deployedRef != "" {
		opt.DeployedRef, opt.DeployedName = *deployedRef, *deployedRef
	}
	fail, err := rules.ParseSeverity(*failLevel)
	if *failLevel == "none" {
		fail, err = rules.Error+1, nil
	}
	if err != nil {
		fmt.Fprintf(stderr, "fluxlint: --fail-level: %v\n", err)
		return exitUsage
	}
	var res *lint.Result
	if len(paths) == 1 && paths[0] == "-" {
		src, err := readfile.ReadAll(stdin, maxSize(cfg))
		if err != nil {
			fmt.Fprintf(stderr, "fluxlint: reading stdin: %v\n", err)
			return exitUsage
		}
		res = lint.RunSource(*stdinName, src, opt)
	} else {
		res = lint.Run(paths, opt)
	}
	if fixing {
		src, err := live.source(cfg)
		if err != nil {
			fmt.Fprintf(stderr, "fluxlint: %v\n", err)
			return exitUsage
		}
		return fixCmd(res, paths, opt, *writeFix, src, cfg.DeployNotes, stdout, stderr)
	}
	out := stdout
	var buf bytes.Buffer
	if *output != "" {
		out = &buf
	}
	if err := write(out, res, report.TextOptions{Verbose: *verbose, Color: useColor(*color, out), Width: termWidth(out)}); err != nil {
		fmt.Fprintf(stderr, "fluxlint: writing output: %v\n", err)
		return exitInternal
	}
	if *output != "" {
		if err := writeOutput(*output, buf.Bytes(), res, cfg.Path); err != nil {
			fmt.Fprintf(stderr, "fluxlint: --output: %v\n", err)
			return exitUsage
		}
	}
	// Whatever the format, stderr says what went wrong: a report read by a
	// program (rdjson through reviewdog, SARIF) is not where a person looks.
	for _, e := range res.Errors {
		fmt.Fprintf(stderr, "fluxlint: error: %v\n", e)
	}
	for _, f := range res.Findings {
		if f.Rule == rules.InputError {
			fmt.Fprintf(stderr, "fluxlint: error: %s:%d:%d: %s\n", f.Path, f.Pos.Line, f.Pos.Col, f.Message)
		}
	}
	for _, e := range res.Internal {
		fmt.Fprintf(stderr, "fluxlint: internal error: %v\n%s", e, reportBug)
	}
	return exitCode(res, fail)
}

// loadConfig reads the config named by --config, else the one found by
// walking up from the first path.
func loadConfig(path, first string) (*config.Config, error) {
	if path != "" {
		return config.Load(path)
	}
	return config.Find(first)
}

// maxSize is the largest migration the config lets fluxlint read.
func maxSize(cfg *config.Config) int64 {
	if cfg.MaxBytes > 0 {
		return cfg.MaxBytes
	}
	return readfile.DefaultMax
}

// writers are the output formats.
var writers = map[string]func(w io.Writer, res *lint.Result, opt report.TextOptions) error{
	"text": report.Text,
	"json": func(w io.Writer, res *lint.Result, _ report.TextOptions) error { return report.JSON(w, res) },
	"html": func(w io.Writer, res *lint.Result, _ report.TextOptions) error { return report.HTML(w, res) },
	"sarif": func(w io.Writer, res *lint.Result, _ report.TextOptions) error {
		return report.SARIF(w, res, allRules(), buildVersion())
	},
	"rdjson":  func(w io.Writer, res *lint.Result, _ report.TextOptions) error { return report.RDJSON(w, res) },
	"rdjsonl": func(w io.Writer, res *lint.Result, _ report.TextOptions) error { return report.RDJSONL(w, res) },
	"github":  func(w io.Writer, res *lint.Result, _ report.TextOptions) error { return report.GitHub(w, res) },
}

// termWidth is the terminal's width when out is one, else 0 (no wrapping).
func termWidth(out io.Writer) int {
	f, ok := out.(*os.File)
	if !ok || !isatty.IsTerminal(f.Fd()) {
		return 0
	}
	ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ)
	if err != nil || ws.Col < 40 {
		return 0
	}
	return int(ws.Col)
}

// useColor decides --color: always, never, or auto (a terminal, unless
// NO_COLOR is set or TERM is dumb).
func useColor(mode string, out io.Writer) bool {
	switch mode {
	case "always":
		return true
	case "never":
		return false
	}
	f, ok := out.(*os.File)
	return ok && isatty.IsTerminal(f.Fd()) && os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb"
}

// writeOutput writes the report to path atomically, refusing to replace
// any file that fluxlint read: a migration, a file beside one that sets how
// it runs, or the config. Files are compared by identity (device and inode),
// so no symlink, "..", bind mount or hard link slips past.
func writeOutput(path string, data []byte, res *lint.Result, configPath string) error {
	if st, err := os.Stat(path); err == nil {
		if st.IsDir() {
			return fmt.Errorf("%s is a directory", path)
		}
		type input struct{ path, what string }
		read := []input{{configPath, "the config"}}
		for _, f := range res.Files {
			dir := filepath.Dir(f.Path)
			read = append(read, input{f.Path, "a migration"}, input{f.Path + ".conf", "a migration's settings"},
				input{filepath.Join(dir, "metadata.toml"), "a migration's settings"},
				input{filepath.Join(dir, "meta", "_journal.json"), "a migration journal"},
				input{filepath.Join(filepath.Dir(dir), "meta", "_journal.json"), "a migration journal"})
		}
		for _, in := range read {
			if other, err := os.Stat(in.path); in.path != "" && err == nil && os.SameFile(st, other) {
				return fmt.Errorf("%s is %s (%s), which fluxlint reads: it never overwrites an input", path, in.what, in.path)
			}
		}
	}
	return atomicfile.Write(path, data, 0o644)
}

// buildVersion is fluxlint's module version when it was installed as a
// module ("" for a local build).
// versionLine is what `fluxlint version` prints: the module version and
// the VCS revision the binary was built from, as the build info records.
func versionLine() string {
	v, rev, dirty := "(devel)", "", false
	if bi, ok := debug.ReadBuildInfo(); ok {
		v = bi.Main.Version
		for _, kv := range bi.Settings {
			switch kv.Key {
			case "vcs.revision":
				rev = kv.Value
			case "vcs.modified":
				dirty = kv.Value == "true"
			}
		}
	}
	out := "fluxlint " + v
	if rev != "" {
		out += " (" + rev
		if dirty {
			out += ", modified"
		}
		out += ")"
	}
	return out
}

// unknownCommand reports whether a first argument reads as a command
// fluxlint does not have rather than a path: a bare lower-case word that
// names no file.
func unknownCommand(arg string) bool {
	if arg == "" || strings.IndexFunc(arg, func(r rune) bool { return r < 'a' || r > 'z' }) >= 0 {
		return false
	}
	_, err := os.Stat(arg)
	return errors.Is(err, os.ErrNotExist)
}

func buildVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return ""
}

// exitCode: a bug beats input errors, which beat findings; findings count
// from the fail level.
func exitCode(res *lint.Result, fail rules.Severity) int {
	if len(res.Internal) > 0 {
		return exitInternal
	}
	if len(res.Errors) > 0 {
		return exitUsage
	}
	code := exitOK
	for _, f := range res.Findings {
		if f.Rule == rules.InputError {
			return exitUsage
		}
		if f.Severity >= fail {
			code = exitFindings
		}
	}
	return code
}

// options merges the config file and the flags (flags win).
func options(cfg *config.Config, engine, version string) (lint.Options, error) {
	opt := lint.Options{Engine: ir.Postgres, Version: pgrules.DefaultVersion, Severity: map[string]rules.Severity{}, LockTimeoutSet: cfg.AssumeLockTimeout,
		Include: cfg.Include, Exclude: cfg.Exclude, Baseline: cfg.Baseline, Thresholds: thresholds(cfg)}
	if cfg.Engine != "" {
		engine = firstNonEmpty(engine, cfg.Engine)
	}
	all := pgrules.Rules()
	switch engine {
	case "", "postgres", "postgresql":
	case "mysql":
		opt.Engine, all, opt.Server = ir.MySQL, myrules.Rules(), onlineddl.Default(onlineddl.MySQL)
	case "mariadb":
		opt.Engine, all, opt.Server = ir.MySQL, myrules.Rules(), onlineddl.Default(onlineddl.MariaDB)
	default:
		return opt, fmt.Errorf("unknown engine %q (supported: postgres, mysql, mariadb)", engine)
	}
	var err error
	switch {
	case version != "":
		if err = serverVersion(&opt, engine == "mariadb", version); err != nil {
			return opt, fmt.Errorf("--server-version: %w", err)
		}
	case cfg.ServerVersion != "":
		if err = serverVersion(&opt, engine == "mariadb", cfg.ServerVersion); err != nil {
			return opt, fmt.Errorf("%s: server_version: %w", cfg.Path, err)
		}
	}
	switch t := opt.Thresholds; {
	case opt.Engine == ir.MySQL && t.LockTimeout > maxLockWait:
		return opt, fmt.Errorf("%s: thresholds: lock_timeout must be at most %v for MySQL (lock_wait_timeout's maximum), not %v", cfg.Path, maxLockWait, t.LockTimeout)
	case opt.Engine == ir.Postgres && t.LockTimeout > maxLockTimeout:
		return opt, fmt.Errorf("%s: thresholds: lock_timeout must be at most %v (PostgreSQL's maximum, 2147483647ms), not %v", cfg.Path, maxLockTimeout, t.LockTimeout)
	}
	pick := func(key string, names []string) (map[*rules.Rule]bool, error) {
		set := map[*rules.Rule]bool{}
		for _, name := range names {
			r := rules.Find(all, name)
			if r == nil {
				return nil, fmt.Errorf("%s: %s: unknown %s rule %q", cfg.Path, key, opt.Engine, name)
			}
			set[r] = true
		}
		return set, nil
	}
	enabled, err := pick("enable", cfg.Enable)
	if err != nil {
		return opt, err
	}
	disabled, err := pick("disable", cfg.Disable)
	if err != nil {
		return opt, err
	}
	for name, level := range cfg.Severity {
		r := rules.Find(append(all, rules.Tool()...), name)
		if r == nil {
			return opt, fmt.Errorf("%s: severity: unknown rule %q", cfg.Path, name)
		}
		sev, err := rules.ParseSeverity(level)
		if err != nil {
			return opt, fmt.Errorf("%s: severity of %s: %w", cfg.Path, name, err)
		}
		opt.Severity[r.Code] = sev
	}
	for _, r := range all {
		if (len(enabled) == 0 || enabled[r]) && !disabled[r] {
			opt.Rules = append(opt.Rules, r)
		}
	}
	opt.Rules = append(opt.Rules, testRules...)
	return opt, nil
}

// The largest lock timeouts the servers accept: PostgreSQL's lock_timeout
// is an int of milliseconds, MySQL's lock_wait_timeout at most a year.
const (
	maxLockTimeout = 2147483647 * time.Millisecond
	maxLockWait    = 31536000 * time.Second
)

// serverVersion reads a server version as users write it into opt.
// PostgreSQL: a major (15) or major.minor (15.4), of the majors fluxlint
// knows. MySQL: 5.7, 8.0, 8.0.29, 8.4; MariaDB: mariadb-10.11 (a bare 10.11
// with --engine mariadb), of the release lines fluxlint knows.
func serverVersion(opt *lint.Options, mariadb bool, s string) error {
	if opt.Engine == ir.MySQL {
		srv, err := onlineddl.Parse(s, mariadb)
		if err != nil {
			return err
		}
		opt.Server = srv
		return nil
	}
	major, minor, hasMinor := strings.Cut(s, ".")
	v, err := strconv.Atoi(major)
	if err == nil && hasMinor {
		_, err = strconv.ParseUint(minor, 10, 16)
	}
	if err != nil || v < pgrules.MinVersion || v > pgrules.MaxVersion {
		return fmt.Errorf("unknown PostgreSQL version %q: fluxlint knows %d to %d (write a major such as 15, or 15.4)", s, pgrules.MinVersion, pgrules.MaxVersion)
	}
	opt.Version = v
	return nil
}

// cacheDir is where --cache keeps replayed histories.
func cacheDir() (string, error) {
	if dir := os.Getenv("FLUXLINT_CACHE_DIR"); dir != "" {
		return dir, nil
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no user cache directory (%w): set FLUXLINT_CACHE_DIR", err)
	}
	return filepath.Join(dir, "fluxlint"), nil
}

// thresholds fills the config's unset thresholds with the defaults.
func thresholds(cfg *config.Config) rules.Thresholds {
	t, c := rules.DefaultThresholds, cfg.Thresholds
	if c.LockTimeout != nil {
		t.LockTimeout = *c.LockTimeout
	}
	if c.LockRetries != nil {
		t.LockRetries = *c.LockRetries
	}
	if c.BatchSize != nil {
		t.BatchSize = *c.BatchSize
	}
	if c.BatchPause != nil {
		t.BatchPause = *c.BatchPause
	}
	t.BatchSet = c.BatchSize != nil || c.BatchPause != nil
	if c.SmallTableRows != nil {
		t.SmallRows = *c.SmallTableRows
	}
	if cfg.SmallTableBytes > 0 {
		t.SmallBytes = cfg.SmallTableBytes
	}
	return t
}

// branchChange is what a branch changed since it left a ref, as absolute paths.
type branchChange struct {
	files map[string]bool // added or modified since the merge base, untracked ones too
	base  string          // the merge base: the code that is deployed
	// differing lists the merge base's files that the work tree changed,
	// deleted or renamed away: the only ones whose code search results can
	// differ from the work tree's.
	differing map[string]bool
}

// changedFiles asks git what changed since ref in the repository
// containing paths[0], uncommitted files and the untracked ones under paths
// (the migrations: the only files it is asked about) included. Names come
// NUL-separated (-z), so git quotes none of them, and the ref is verified
// as a commit first, so it never reaches git as an option.
func changedFiles(ref string, paths []string) (branchChange, error) {
	if strings.HasPrefix(ref, "-") {
		return branchChange{}, fmt.Errorf("%q is not a git ref", ref)
	}
	near := paths[0]
	dir := near
	if st, err := os.Stat(near); err == nil && !st.IsDir() {
		dir = filepath.Dir(near)
	}
	git := func(args ...string) (string, error) {
		out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).Output()
		if err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				return string(out), fmt.Errorf("git %s: %s", strings.Join(args, " "), strings.TrimSpace(string(ee.Stderr)))
			}
			return "", err
		}
		return string(out), nil
	}
	// One rev-parse for the top level and the commit, then the merge
	// base, the diff from it and the untracked files at once: each git
	// process costs a few milliseconds to start, on every pull request.
	out, err := git("rev-parse", "--show-toplevel", "--verify", "--quiet", "--end-of-options", ref+"^{commit}")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) == 0 || lines[0] == "" {
		return branchChange{}, err // not a git work tree: git's own words
	}
	root := lines[0]
	if err != nil || len(lines) != 2 {
		return branchChange{}, fmt.Errorf("%q is not a commit in %s", ref, root)
	}
	commit := lines[1]
	// Untracked files are listed under the migration paths only: listing
	// the whole tree walks every directory.
	list := []string{"ls-files", "-z", "--others", "--exclude-standard", "--full-name", "--"}
	for _, p := range paths {
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			continue // "-", or a path that does not exist: no file of it is in git
		}
		abs, err := filepath.Abs(real)
		if err != nil {
			continue
		}
		switch rel, err := filepath.Rel(root, abs); {
		case err != nil || rel == ".." || strings.HasPrefix(rel, "../"): // another repository's
		case rel == ".":
			list = append(list, ":(top)") // the whole tree ("literal" matches no file for ".")
		default:
			list = append(list, ":(top,literal)"+filepath.ToSlash(rel))
		}
	}
	// What the branch changed since it left ref (REF...HEAD), plus the work
	// tree: edits made on ref since then are not the branch's. The diff is
	// "<status>\0<path>\0" per file; without rename detection a rename is
	// a deletion and an addition.
	cmds := [][]string{{"merge-base", commit, "HEAD"}, {"diff", "-z", "--name-status", "--no-renames", "--merge-base", commit, "--"}}
	if list[len(list)-1] != "--" {
		cmds = append(cmds, list)
	}
	outs, errs := make([]string, len(cmds)), make([]error, len(cmds))
	var wg sync.WaitGroup
	for i, args := range cmds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i], errs[i] = git(args...)
		}()
	}
	wg.Wait()
	if errs[0] != nil {
		if shallow, _ := git("rev-parse", "--is-shallow-repository"); strings.TrimSpace(shallow) == "true" {
			return branchChange{}, fmt.Errorf("%q and HEAD have no common commit in this shallow clone: fetch the history (actions/checkout with fetch-depth: 0)", ref)
		}
		return branchChange{}, fmt.Errorf("%q and HEAD have no common commit: %w", ref, errs[0])
	}
	for _, err := range errs[1:] {
		if err != nil {
			return branchChange{}, err
		}
	}
	c := branchChange{files: map[string]bool{}, base: strings.TrimSpace(outs[0]), differing: map[string]bool{}}
	diff, untracked := outs[1], ""
	if len(outs) > 2 {
		untracked = outs[2]
	}
	fields := strings.Split(strings.TrimSuffix(diff, "\x00"), "\x00")
	for i := 0; i+1 < len(fields); i += 2 {
		status, name := fields[i], filepath.Join(root, fields[i+1])
		c.differing[name] = true
		if status == "A" || status == "M" {
			c.files[name] = true
		}
	}
	for _, name := range strings.Split(untracked, "\x00") {
		if name != "" {
			c.files[filepath.Join(root, name)] = true
		}
	}
	return c, nil
}

// searchRoots picks where to search for code references: the flags, else
// the config, else the git repository that contains the migrations. A root
// that does not exist is an error: searching nothing would weaken every
// verdict without a word.
func searchRoots(flags, config []string, first string) ([]string, error) {
	roots := flags
	if len(roots) == 0 {
		roots = config
	}
	if len(roots) == 1 && roots[0] == "none" {
		return nil, nil
	}
	if len(roots) > 0 {
		for _, r := range roots {
			if _, err := os.Stat(r); err != nil {
				return nil, fmt.Errorf("code path %s: %w", r, err)
			}
		}
		return roots, nil
	}
	dir, err := filepath.Abs(first)
	if err != nil {
		return nil, nil
	}
	for {
		if st, err := os.Stat(filepath.Join(dir, ".git")); err == nil && st.IsDir() {
			rel, err := filepath.Rel(".", dir)
			if err != nil {
				return []string{dir}, nil
			}
			return []string{rel}, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return nil, nil
		}
		dir = parent
	}
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func allRules() []*rules.Rule {
	rs := append(append(rules.Tool(), pgrules.Rules()...), myrules.Rules()...)
	rules.Sort(rs)
	return rs
}

func listRules(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fluxlint rules", flag.ContinueOnError)
	fs.SetOutput(stderr)
	format := fs.String("format", "text", "output format: text or json")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	type entry struct {
		Code     string `json:"code"`
		Name     string `json:"name"`
		Engine   string `json:"engine"`
		Severity string `json:"severity"`
		Title    string `json:"title"`
	}
	var list []entry
	for _, r := range allRules() {
		engine := string(r.Engine)
		if engine == "" {
			engine = "any"
		}
		list = append(list, entry{r.Code, r.Name, engine, r.Severity.String(), r.Doc.Title})
	}
	switch *format {
	case "json":
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(list); err != nil {
			return exitInternal
		}
	case "text":
		for _, e := range list {
			fmt.Fprintf(stdout, "%-6s %-38s %-8s %s\n", e.Code, e.Name, e.Severity, e.Title)
		}
	default:
		fmt.Fprintf(stderr, "fluxlint rules: unknown --format %q\n", *format)
		return exitUsage
	}
	return exitOK
}

// baseline writes the newest migration's version under PATH into the
// config, so that adopting fluxlint on a long history reports only what
// comes next.
func baseline(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fluxlint baseline", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "config file to write (default: the "+config.FileName+" found by walking up from the first path, else one in the current directory)")
	paths, err := parseInterleaved(fs, args)
	if err != nil {
		return exitUsage
	}
	if len(paths) == 0 {
		fmt.Fprintln(stderr, "usage: fluxlint baseline [--config FILE] PATH...")
		return exitUsage
	}
	target := *configPath
	if target == "" {
		cfg, err := config.Find(paths[0])
		if err != nil {
			fmt.Fprintf(stderr, "fluxlint: %v\n", err)
			return exitUsage
		}
		target = cfg.Path
		if target == "" {
			target = config.FileName
		}
	}
	sets, errs := migrations.Discover(paths)
	for _, e := range errs {
		fmt.Fprintf(stderr, "fluxlint: %v\n", e)
	}
	if len(errs) > 0 {
		return exitUsage
	}
	newest := ""
	for _, set := range sets {
		for _, m := range set.Migrations {
			if !m.Repeatable && (newest == "" || migrations.NaturalCompare(m.Version, newest) > 0) {
				newest = m.Version
			}
		}
	}
	if err := config.SetBaseline(target, newest); err != nil {
		fmt.Fprintf(stderr, "fluxlint: %v\n", err)
		return exitInternal
	}
	fmt.Fprintf(stdout, "%s: baseline: %q (migrations up to it are history from now on)\n", target, newest)
	return exitOK
}

func explain(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: fluxlint explain CODE")
		return exitUsage
	}
	// A name may belong to one rule per engine (drop-column is PG301 and
	// MY301): explain each.
	found := 0
	for _, r := range allRules() {
		if rules.Find([]*rules.Rule{r}, args[0]) != nil {
			if found > 0 {
				fmt.Fprintln(stdout)
			}
			fmt.Fprint(stdout, report.RuleMarkdown(r))
			found++
		}
	}
	if found == 0 {
		fmt.Fprintf(stderr, "fluxlint explain: unknown rule %q (fluxlint rules lists them)\n", args[0])
		return exitUsage
	}
	return exitOK
}
