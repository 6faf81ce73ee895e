package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/fluxlint/fluxlint/analyzers/ir"
	"github.com/fluxlint/fluxlint/analyzers/livestats"
	"github.com/fluxlint/fluxlint/analyzers/onlineddl"
	"github.com/fluxlint/fluxlint/internal/atomicfile"
	"github.com/fluxlint/fluxlint/internal/config"
	"github.com/fluxlint/fluxlint/internal/lint"
	myrules "github.com/fluxlint/fluxlint/rules/mysql"
	pgrules "github.com/fluxlint/fluxlint/rules/pg"
)

// databaseEnv holds a database URL, so that a password need not be on the
// command line or in the config.
const databaseEnv = "FLUXLINT_DATABASE_URL"

// liveFlags are the flags that choose where live facts come from.
type liveFlags struct{ url, stats *string }

func addLiveFlags(fs *flag.FlagSet) liveFlags {
	return liveFlags{
		url:   fs.String("database-url", "", "read live facts (table sizes, server version, drift) from this database, read-only: postgres://... or mysql://user@host:port/db (default: $"+databaseEnv+"; keep passwords there, not on the command line)"),
		stats: fs.String("stats", "", "read live facts from a stats `FILE` written by fluxlint stats export, instead of a connection"),
	}
}

// source is the database to read, from the flag, the environment or the
// config, in that order; nil for none.
func (l liveFlags) source(cfg *config.Config) (*livestats.Source, error) {
	raw := firstNonEmpty(*l.url, os.Getenv(databaseEnv), cfg.DatabaseURL)
	if raw == "" {
		return nil, nil
	}
	return livestats.ParseURL(raw)
}

// facts reads the live facts the flags and config name: a stats file
// (flag, then config) or a database; nil for none.
func (l liveFlags) facts(cfg *config.Config) (*livestats.Facts, error) {
	statsPath := firstNonEmpty(*l.stats, cfg.Stats)
	src, err := l.source(cfg)
	if err != nil {
		return nil, err
	}
	switch {
	case statsPath != "" && src != nil && *l.url != "":
		return nil, errors.New("--stats and --database-url both give live facts: use one")
	case statsPath != "":
		return livestats.Load(statsPath)
	case src != nil:
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		return livestats.Read(ctx, src)
	}
	return nil, nil
}

// liveEngine is the engine the facts are of, as --engine spells it.
func liveEngine(f *livestats.Facts) string {
	if f == nil {
		return ""
	}
	return f.Engine
}

// useLiveVersion takes the server version from the facts unless one was
// given (a flag or the config); a given one that differs is a warning.
func useLiveVersion(opt *lint.Options, f *livestats.Facts, given string, stderr io.Writer) {
	if f == nil {
		return
	}
	if (opt.Engine == ir.MySQL) != (f.Engine != "postgres") {
		fmt.Fprintf(stderr, "fluxlint: warning: the live facts are of %s, the migrations are linted as %s\n", f.Engine, opt.Engine)
		return
	}
	var live lint.Options
	live.Engine = opt.Engine
	var err error
	if f.Engine == "postgres" {
		major, _, _ := strings.Cut(f.Version, ".")
		if _, err = strconv.Atoi(major); err == nil {
			err = serverVersion(&live, false, major)
		}
	} else {
		v, _, _ := strings.Cut(f.Version, "-") // "10.11.6-MariaDB-0+deb12u1"
		live.Server, err = onlineddl.Parse(v, f.Engine == "mariadb")
	}
	switch {
	case err != nil:
		fmt.Fprintf(stderr, "fluxlint: warning: the database runs %s %s, which fluxlint has no verdicts for; linting for %s\n", f.Engine, f.Version, versionName(*opt))
	case given != "":
		if versionName(live) != versionName(*opt) {
			fmt.Fprintf(stderr, "fluxlint: warning: the server version given (%s) is not the database's (%s %s); linting for %s as given\n", given, f.Engine, f.Version, versionName(*opt))
		}
	default:
		opt.Version, opt.Server = live.Version, live.Server
	}
}

// versionName names the server a run lints for.
func versionName(opt lint.Options) string {
	if opt.Engine == ir.MySQL {
		return opt.Server.String()
	}
	return fmt.Sprintf("PostgreSQL %d", opt.Version)
}

// statsCmd is `fluxlint stats export`: the database's facts, without row
// data or passwords, to a file that CI can lint with (--stats).
func statsCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "export" {
		fmt.Fprintln(stderr, "usage: fluxlint stats export --database-url URL [--output FILE]")
		return exitUsage
	}
	fs := flag.NewFlagSet("fluxlint stats export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	live := addLiveFlags(fs)
	output := fs.String("output", "", "write the stats file here (atomically; default: stdout)")
	fs.StringVar(output, "o", "", "shorthand for --output")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 || *live.stats != "" {
		fmt.Fprintln(stderr, "usage: fluxlint stats export --database-url URL [--output FILE]")
		return exitUsage
	}
	src, err := live.source(&config.Config{})
	if err == nil && src == nil {
		err = fmt.Errorf("no database: give --database-url or set %s", databaseEnv)
	}
	if err != nil {
		fmt.Fprintf(stderr, "fluxlint: %v\n", err)
		return exitUsage
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	facts, err := livestats.Read(ctx, src)
	if err != nil {
		fmt.Fprintf(stderr, "fluxlint: %v\n", err)
		return exitUsage
	}
	data, err := facts.Marshal()
	if err != nil {
		fmt.Fprintf(stderr, "fluxlint: %v\n", err)
		return exitInternal
	}
	if *output == "" {
		_, _ = stdout.Write(data)
		return exitOK
	}
	if strings.EqualFold(filepath.Ext(*output), ".sql") {
		fmt.Fprintf(stderr, "fluxlint: --output %s: a stats file is not a migration; fluxlint never writes .sql files\n", *output)
		return exitUsage
	}
	if err := atomicfile.Write(*output, data, 0o644); err != nil {
		fmt.Fprintf(stderr, "fluxlint: --output: %v\n", err)
		return exitUsage
	}
	fmt.Fprintf(stderr, "fluxlint: wrote the facts of %d tables of %s (%s %s) to %s\n", len(facts.Tables), facts.Database, facts.Engine, facts.Version, *output)
	return exitOK
}

// preflightCmd is `fluxlint preflight`: just before a deploy, the sessions
// that the migrations' locks would queue behind (and every query on the
// table behind those locks), long transactions, and replica lag. Exit 1
// when a lock would wait.
func preflightCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fluxlint preflight", flag.ContinueOnError)
	fs.SetOutput(stderr)
	live := addLiveFlags(fs)
	engine := fs.String("engine", "", "database engine (default: the database's)")
	configPath := fs.String("config", "", "config file (default: "+config.FileName+" found by walking up from the first path)")
	format := fs.String("format", "text", "output format: text or json")
	age := fs.Duration("max-transaction-age", time.Minute, "report transactions open longer than this, even when they hold no lock the migrations need")
	usage := "usage: fluxlint preflight --database-url URL [--max-transaction-age 1m] [--format text|json] MIGRATION..."
	paths, err := parseInterleaved(fs, args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case err != nil || len(paths) == 0 || *live.stats != "" || *format != "text" && *format != "json":
		fmt.Fprintln(stderr, usage)
		return exitUsage
	}
	cfg, err := loadConfig(*configPath, paths[0])
	if err != nil {
		fmt.Fprintf(stderr, "fluxlint: %v\n", err)
		return exitUsage
	}
	src, err := live.source(cfg)
	if err == nil && src == nil {
		err = fmt.Errorf("preflight reads the database: give --database-url or set %s", databaseEnv)
	}
	if err != nil {
		fmt.Fprintf(stderr, "fluxlint: %v\n", err)
		return exitUsage
	}
	if *engine == "" && cfg.Engine == "" {
		*engine = src.Engine
	}
	opt, err := options(cfg, *engine, "")
	if err != nil {
		fmt.Fprintf(stderr, "fluxlint: %v\n", err)
		return exitUsage
	}
	opt.Rules, opt.LockOf = nil, pgrules.LockOf
	if opt.Engine == ir.MySQL {
		opt.LockOf = myrules.LockOf
	}
	res := lint.Run(paths, opt)
	for _, e := range append(res.Errors, res.Internal...) {
		fmt.Fprintf(stderr, "fluxlint: error: %v\n", e)
	}
	if len(res.Errors)+len(res.Internal) > 0 {
		return exitUsage
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	act, err := livestats.ReadActivity(ctx, src, res.Locks, *age)
	if err != nil {
		fmt.Fprintf(stderr, "fluxlint: %v\n", err)
		return exitUsage
	}
	code := exitOK
	if len(act.Blockers) > 0 {
		code = exitFindings
	}
	if *format == "json" {
		out, _ := json.MarshalIndent(struct {
			Locks []livestats.Want `json:"locks"`
			*livestats.Activity
		}{res.Locks, act}, "", "  ")
		fmt.Fprintf(stdout, "%s\n", out)
		return code
	}
	if len(res.Locks) == 0 {
		fmt.Fprintln(stdout, "preflight: the migrations lock no existing table; nothing to wait for")
	} else {
		var names []string
		for _, l := range res.Locks {
			names = append(names, fmt.Sprintf("%s (%s)", l.Table, l.Mode))
		}
		fmt.Fprintf(stdout, "preflight: the migrations lock %s\n", strings.Join(names, ", "))
	}
	for _, b := range act.Blockers {
		holds := fmt.Sprintf("holds %s on %s", b.Mode, b.Table)
		if !b.Granted {
			holds = fmt.Sprintf("waits for %s on %s", b.Mode, b.Table)
		}
		if b.Table == "" {
			holds = "has a transaction open that may hold a metadata lock on the tables"
		}
		fmt.Fprintf(stdout, "✗ session %d (%s%s) %s, its transaction open %s: the migration's %s lock would queue behind it, and every query on the table behind that. Last query: %s\n",
			b.ID, b.User, appName(b.App), holds, seconds(b.Age), b.Conflicts, b.Query)
	}
	for _, l := range act.Long {
		fmt.Fprintf(stdout, "! session %d (%s%s) has a transaction open %s: it holds nothing the migrations lock, but CREATE INDEX CONCURRENTLY and VACUUM wait for it. Last query: %s\n",
			l.ID, l.User, appName(l.App), seconds(l.Age), l.Query)
	}
	if act.Unsure != "" {
		fmt.Fprintf(stdout, "note: %s\n", act.Unsure)
	}
	for name, lag := range act.Lag {
		fmt.Fprintf(stdout, "replica %s: %s behind\n", name, seconds(lag))
	}
	if code == exitOK {
		fmt.Fprintln(stdout, "preflight: no session holds a lock the migrations would wait for")
	} else {
		fmt.Fprintf(stdout, "preflight: %d session(s) would make the migrations' locks queue: deploy after they end (or end them)\n", len(act.Blockers))
	}
	return code
}

func appName(app string) string {
	if app == "" {
		return ""
	}
	return ", " + app
}

func seconds(s float64) string {
	return (time.Duration(s) * time.Second).String()
}
