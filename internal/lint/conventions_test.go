package lint_test

import (
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/fluxlint/fluxlint/analyzers/ir"
	_ "github.com/fluxlint/fluxlint/internal/golden"
	"github.com/fluxlint/fluxlint/internal/lint"
	pgrules "github.com/fluxlint/fluxlint/rules/pg"
)

// TestConventions lints one fixture directory per migration tool and checks
// what discovery learned (apply order, tool, direction, transaction mode per
// section) and which findings result from that knowledge.
func TestConventions(t *testing.T) {
	cases := []struct {
		dir      string
		files    []string // "relative path tool down up_tx/down_tx", in apply order
		findings []string // "relative path:line:col CODE"
	}{
		{"plain",
			[]string{"001_init.sql plain up none/none", "002_index.sql plain up none/none", "010_name.sql plain up none/none"},
			[]string{"002_index.sql:1:1 PG101"}},
		{"golang-migrate",
			[]string{"1_init.up.sql golang-migrate up implicit/implicit", "1_init.down.sql golang-migrate down implicit/implicit",
				"2_index.up.sql golang-migrate up implicit/implicit", "2_index.down.sql golang-migrate down implicit/implicit",
				"10_columns.up.sql golang-migrate up implicit/implicit", "10_columns.down.sql golang-migrate down implicit/implicit"},
			nil},
		{"goose",
			[]string{"20240101000000_init.sql goose up wrapped/wrapped", "20240102000000_index.sql goose up none/none",
				"20240103000000_trigger.sql goose up wrapped/wrapped"},
			[]string{"20240103000000_trigger.sql:10:1 PG103"}},
		{"dbmate",
			[]string{"20240101000000_init.sql dbmate up wrapped/wrapped", "20240102000000_index.sql dbmate up none/none"},
			nil},
		{"flyway",
			[]string{"V1__init.sql flyway up auto/auto", "V1_1__index.sql flyway up auto/auto", "V1_2__a.sql flyway up none/none",
				"V1_12__b.sql flyway up auto/auto", "V2__mixed.sql flyway up auto/auto", "U2__mixed.sql flyway down auto/auto",
				"R__views.sql flyway up auto/auto"},
			[]string{"V2__mixed.sql:2:1 PG125"}}, // Flyway refuses a script that mixes SET with CONCURRENTLY
		{"prisma",
			[]string{"migrations/20240101000000_init/migration.sql prisma up implicit/none",
				"migrations/20240102000000_index/migration.sql prisma up implicit/none"},
			[]string{"migrations/20240102000000_index/migration.sql:2:1 PG101"}},
		{"drizzle",
			[]string{"0000_init.sql drizzle up wrapped/none", "0002_late_name.sql drizzle up wrapped/none", "0001_bio.sql drizzle up wrapped/none"},
			[]string{"0002_late_name.sql:2:1 PG101"}},
		{"diesel",
			[]string{"migrations/2024-01-01-000000_init/up.sql diesel up wrapped/wrapped", "migrations/2024-01-01-000000_init/down.sql diesel down wrapped/wrapped",
				"migrations/2024-01-02-000000_index/up.sql diesel up none/none", "migrations/2024-01-02-000000_index/down.sql diesel down none/none"},
			nil},
	}
	for _, c := range cases {
		t.Run(c.dir, func(t *testing.T) {
			root := filepath.Join("..", "..", "fixtures", "conventions", c.dir)
			res := lint.Run([]string{root}, lint.Options{Engine: ir.Postgres, Version: 15, Rules: pgrules.Rules(), LockTimeoutSet: true})
			if len(res.Errors) > 0 {
				t.Fatalf("errors: %v", res.Errors)
			}
			rel := func(p string) string { r, _ := filepath.Rel(root, p); return filepath.ToSlash(r) }
			var files []string
			for _, f := range res.Files {
				dir := map[bool]string{false: "up", true: "down"}[f.Down]
				files = append(files, fmt.Sprintf("%s %s %s %s/%s", rel(f.Path), f.Tool, dir, f.UpTx, f.DownTx))
			}
			if !reflect.DeepEqual(files, c.files) {
				t.Errorf("files:\n got %s\nwant %s", strings.Join(files, "\n     "), strings.Join(c.files, "\n     "))
			}
			var findings []string
			for _, f := range res.Findings {
				findings = append(findings, fmt.Sprintf("%s:%d:%d %s", rel(f.Path), f.Pos.Line, f.Pos.Col, f.Rule.Code))
			}
			if !reflect.DeepEqual(findings, c.findings) {
				t.Errorf("findings:\n got %q\nwant %q", findings, c.findings)
			}
		})
	}
}

// TestSingleFileReplaysHistory checks that linting one file replays every
// earlier migration of its directory as history and reports only that file.
func TestSingleFileReplaysHistory(t *testing.T) {
	dir := filepath.Join("..", "..", "fixtures", "conventions", "goose")
	target := filepath.Join(dir, "20240103000000_trigger.sql")
	res := lint.Run([]string{target}, lint.Options{Engine: ir.Postgres, Version: 15, Rules: pgrules.Rules()})
	targets := 0
	for _, f := range res.Files {
		if f.Target {
			targets++
			if f.Path != target {
				t.Errorf("unexpected target %s", f.Path)
			}
		}
	}
	if targets != 1 || len(res.Files) != 3 {
		t.Errorf("files = %+v, want 3 replayed with 1 target", res.Files)
	}
	for _, f := range res.Findings {
		if f.Path != target {
			t.Errorf("history was reported on: %s %s", f.Path, f.Rule.Code)
		}
	}
	if len(res.Findings) != 1 || res.Findings[0].Rule.Code != "PG103" {
		t.Errorf("findings = %d, want the one PG103 in the target", len(res.Findings))
	}
}
