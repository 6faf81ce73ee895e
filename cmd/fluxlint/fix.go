package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pmezard/go-difflib/difflib"

	"github.com/fluxlint/fluxlint/analyzers/livestats"
	"github.com/fluxlint/fluxlint/internal/atomicfile"
	"github.com/fluxlint/fluxlint/internal/fix"
	"github.com/fluxlint/fluxlint/internal/lint"
)

// fixCmd is `fluxlint fix`: the plans of the findings in the change set,
// as migration files in the tool's convention. Without --write it prints
// the diff and the deployment sequence; with it, it writes the files
// atomically, never over a file other than the migration it replaces.
func fixCmd(res *lint.Result, paths []string, opt lint.Options, write bool, src *livestats.Source, notesDir string, stdout, stderr io.Writer) int {
	for _, e := range append(res.Errors, res.Internal...) {
		fmt.Fprintf(stderr, "fluxlint: error: %v\n", e)
	}
	if len(res.Errors)+len(res.Internal) > 0 {
		fmt.Fprintln(stderr, "fluxlint: fix writes nothing while the migrations have errors")
		return exitUsage
	}
	sets, _ := lint.Discover(paths, opt)
	if wd, err := os.Getwd(); err == nil && notesDir != "" {
		if rel, err := filepath.Rel(wd, notesDir); err == nil && !strings.HasPrefix(rel, "..") {
			notesDir = rel // paths in messages stay relative, like the migrations'
		}
	}
	changes, errs := fix.Plan(res, sets, lint.InChange(sets, opt), opt.Engine, notesDir)
	for _, err := range errs {
		fmt.Fprintf(stderr, "fluxlint: fix: %v\n", err)
	}
	if len(errs) > 0 && write {
		fmt.Fprintln(stderr, "fluxlint: fix: nothing written")
		return exitUsage
	}
	if len(changes) == 0 && len(errs) > 0 {
		return exitUsage
	}
	if len(changes) == 0 {
		fmt.Fprintln(stdout, "fluxlint fix: no finding with a plan to write")
		return exitOK
	}
	// Check everything before writing anything: a collision or an applied
	// migration stops the whole fix.
	for _, c := range changes {
		for _, f := range c.Files {
			if _, err := os.Lstat(f.Path); err == nil && !f.Replaces {
				fmt.Fprintf(stderr, "fluxlint: fix: %s exists: fluxlint never overwrites a file (nothing written)\n", f.Path)
				return exitUsage
			}
		}
	}
	if src != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for _, set := range sets {
			for _, m := range set.Migrations {
				if !changed(changes, m.Path) {
					continue
				}
				applied, err := livestats.Applied(ctx, src, m)
				if err != nil {
					fmt.Fprintf(stderr, "fluxlint: fix: %v\n", err)
					return exitUsage
				}
				if applied {
					fmt.Fprintf(stderr, "fluxlint: fix: %s is already applied (the %s version table says so): rewriting applied history breaks every other environment; write a new migration instead (nothing written)\n", m.Path, m.Tool)
					return exitUsage
				}
			}
		}
	}
	for _, c := range changes {
		for _, f := range c.Files {
			old, err := os.ReadFile(f.Path)
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				fmt.Fprintf(stderr, "fluxlint: fix: %v\n", err)
				return exitUsage
			}
			if !write {
				from := "a/" + filepath.ToSlash(f.Path)
				if old == nil {
					from = "/dev/null"
				}
				diff, _ := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{A: difflib.SplitLines(string(old)), B: difflib.SplitLines(f.Content),
					FromFile: from, ToFile: "b/" + filepath.ToSlash(f.Path), Context: 3})
				fmt.Fprint(stdout, diff)
			}
		}
	}
	for _, c := range changes {
		note := ""
		for _, f := range c.Files {
			if f.Path == c.Deploy {
				note = f.Content
			}
		}
		fmt.Fprintf(stdout, "\n%s", note)
	}
	if !write {
		fmt.Fprintln(stdout, "\nfluxlint fix: nothing written; run fluxlint fix --write to write these files")
		if len(errs) > 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range changes {
		for _, f := range c.Files {
			if err := os.MkdirAll(filepath.Dir(f.Path), 0o755); err != nil {
				fmt.Fprintf(stderr, "fluxlint: fix: %v\n", err)
				return exitUsage
			}
			if err := atomicfile.Write(f.Path, []byte(f.Content), 0o644); err != nil {
				fmt.Fprintf(stderr, "fluxlint: fix: %v\n", err)
				return exitUsage
			}
			fmt.Fprintf(stderr, "fluxlint fix: wrote %s\n", f.Path)
		}
	}
	return exitOK
}

func changed(changes []fix.Change, path string) bool {
	for _, c := range changes {
		if c.Migration == path {
			return true
		}
	}
	return false
}
