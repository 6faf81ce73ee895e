package main

import (
	"bytes"
	"fmt"
	"io"

	_ "github.com/tliron/commonlog/simple" // glsp logs through commonlog, which needs a backend

	"github.com/fluxlint/fluxlint/internal/config"
	"github.com/fluxlint/fluxlint/internal/lint"
	"github.com/fluxlint/fluxlint/internal/lsp"
)

// lspCmd is `fluxlint lsp`: the language server on stdin and stdout, with
// the same config, engine, history and code search as the CLI.
func lspCmd(args []string, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintln(stderr, "usage: fluxlint lsp (speaks the Language Server Protocol on stdin and stdout)")
		return exitUsage
	}
	lintBuffer := func(path string, src []byte, search bool) (*lint.Result, error) {
		cfg, err := config.Find(path)
		if err != nil {
			return nil, err
		}
		opt, err := options(cfg, "", "")
		if err != nil {
			return nil, err
		}
		if search {
			if opt.CodePaths, err = searchRoots(nil, cfg.CodePaths, path); err != nil {
				return nil, err
			}
		}
		return lint.RunBuffer(path, src, opt), nil
	}
	fixFile := func(path string) (string, error) {
		var out, errb bytes.Buffer
		if code := run([]string{"fix", "--write", path}, &out, &errb); code != exitOK {
			return "", fmt.Errorf("fluxlint fix: %s", errb.String())
		}
		return out.String() + errb.String(), nil
	}
	if err := lsp.New(lintBuffer, fixFile).RunStdio(); err != nil {
		fmt.Fprintf(stderr, "fluxlint lsp: %v\n", err)
		return exitInternal
	}
	return exitOK
}
