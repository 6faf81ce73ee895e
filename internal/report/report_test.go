package report

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/fluxlint/fluxlint/analyzers/ir"
	_ "github.com/fluxlint/fluxlint/internal/golden"
	"github.com/fluxlint/fluxlint/internal/lint"
	"github.com/fluxlint/fluxlint/rules"
)

// TestTextBudget checks that one finding's box never exceeds 40 lines
// without -v, names the HTML report that shows the rest (in the box and
// after the summary), and that -v lifts the budget.
func TestTextBudget(t *testing.T) {
	r := &rules.Rule{Code: "PG999", Name: "test", Severity: rules.Error}
	f := rules.NewFinding(r, "m.sql", ir.Pos{Line: 1, Col: 1}, ir.Pos{Line: 1, Col: 9}, "message")
	f.Plan = &rules.Plan{Title: "long"}
	for i := 0; i < 30; i++ {
		f.Plan.Steps = append(f.Plan.Steps, rules.Step{Kind: rules.StepMigration, Title: fmt.Sprintf("step %d", i),
			Forward: "SELECT 1;", Rollback: "SELECT 2;", Lock: "ACCESS EXCLUSIVE"})
	}
	res := &lint.Result{Findings: []*rules.Finding{f}}
	for _, verbose := range []bool{false, true} {
		var b bytes.Buffer
		if err := Text(&b, res, TextOptions{Verbose: verbose}); err != nil {
			t.Fatal(err)
		}
		box := strings.Split(strings.TrimSpace(b.String()), "\n\n")[0]
		lines := strings.Count(box, "\n") + 1
		switch {
		case !verbose && lines > MaxBoxLines:
			t.Errorf("box has %d lines, budget %d", lines, MaxBoxLines)
		case !verbose && !strings.Contains(box, "the HTML report (--format html --output report.html) shows the whole plan"):
			t.Errorf("a cut box must name the HTML report:\n%s", box)
		case !verbose && !strings.Contains(b.String(), "1 finding was cut to fit 40 lines: rerun with --format html --output report.html"):
			t.Errorf("the summary must name the HTML report when a box was cut:\n%s", b.String())
		case verbose && strings.Contains(b.String(), "cut to fit"):
			t.Errorf("-v cuts nothing:\n%s", b.String())
		case verbose && lines <= MaxBoxLines:
			t.Errorf("-v must show everything, got %d lines", lines)
		}
	}
}

// TestSnippet checks how the text box shows the flagged statement: its
// lines numbered from the finding's line, the span underlined when it is
// one line (at its column), and a long statement cut after three lines
// with a count of the rest.
func TestSnippet(t *testing.T) {
	one := &rules.Finding{Source: "DROP INDEX i", Pos: ir.Pos{Line: 9, Col: 5}, End: ir.Pos{Line: 9, Col: 17}}
	if got, want := strings.Join(snippet(one), "\n"), "│  9 │     DROP INDEX i\n│    │     ^^^^^^^^^^^^"; got != want {
		t.Errorf("one line:\n%s\nwant:\n%s", got, want)
	}
	long := &rules.Finding{Source: "CREATE TABLE t (\n  a int,\n  b int,\n  c int,\n  d int\n)", Pos: ir.Pos{Line: 98, Col: 1}, End: ir.Pos{Line: 103, Col: 2}}
	want := "│   98 │ CREATE TABLE t (\n│   99 │   a int,\n│  100 │   b int,\n│      │ … 3 more lines"
	if got := strings.Join(snippet(long), "\n"); got != want {
		t.Errorf("long statement:\n%s\nwant:\n%s", got, want)
	}
	if got := snippet(&rules.Finding{}); got != nil {
		t.Errorf("no source: %q", got)
	}
}

// TestHTMLOrder checks the HTML report's order and summary: cards by
// severity, then file; the by-rule table lists the severities its findings
// really have (an error raised by the code search beside the rule's default
// warning); only the first cards start open.
func TestHTMLOrder(t *testing.T) {
	warn := &rules.Rule{Code: "PG301", Name: "drop-column", Severity: rules.Warning}
	info := &rules.Rule{Code: "PG113", Name: "lock-timeout-missing", Severity: rules.Info}
	var fs []*rules.Finding
	for i := range 12 {
		f := rules.NewFinding(info, fmt.Sprintf("a_%02d.sql", i), ir.Pos{Line: 1, Col: 1}, ir.Pos{Line: 1, Col: 2}, "reminder")
		fs = append(fs, f)
	}
	w := rules.NewFinding(warn, "b.sql", ir.Pos{Line: 1, Col: 1}, ir.Pos{Line: 1, Col: 2}, "drop w")
	e := rules.NewFinding(warn, "c.sql", ir.Pos{Line: 1, Col: 1}, ir.Pos{Line: 1, Col: 2}, "drop e")
	e.Severity = rules.Error // code still uses the column
	fs = append(fs, w, e)
	var b bytes.Buffer
	if err := HTML(&b, &lint.Result{Findings: fs}); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	if i, j, k := strings.Index(page, "c.sql:1:1"), strings.Index(page, "b.sql:1:1"), strings.Index(page, "a_00.sql:1:1"); i < 0 || i >= j || j >= k {
		t.Errorf("cards not ordered error, warning, info: %d %d %d", i, j, k)
	}
	if !strings.Contains(page, `<span class="sev error">error</span> <span class="sev warning">warning</span>`) {
		t.Error("the by-rule row of PG301 must show both severities its findings have")
	}
	if n := strings.Count(page, `" open>`); n != openCards {
		t.Errorf("%d cards open, want the first %d", n, openCards)
	}
}

// TestTextColor checks the colours: none by default, the header in its
// severity's colour and the point of no return red when asked.
func TestTextColor(t *testing.T) {
	r := &rules.Rule{Code: "PG301", Name: "drop-column", Severity: rules.Warning}
	f := rules.NewFinding(r, "m.sql", ir.Pos{Line: 1, Col: 1}, ir.Pos{Line: 1, Col: 9}, "message")
	f.Plan = &rules.Plan{Title: "p", Steps: []rules.Step{{Kind: rules.StepMigration, Title: "drop", Forward: "SELECT 1;", Irreversible: true}}}
	res := &lint.Result{Findings: []*rules.Finding{f}}
	var plain, color bytes.Buffer
	if err := Text(&plain, res, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := Text(&color, res, TextOptions{Color: true}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(plain.String(), "\x1b[") {
		t.Error("colours without being asked")
	}
	if !strings.Contains(color.String(), "\x1b[33m╭─ PG301") || !strings.Contains(color.String(), "\x1b[31m⚠ point of no return\x1b[0m") {
		t.Errorf("colours missing:\n%q", color.String())
	}
}

// TestTextWrap checks wrapping to a terminal's width: prose lines fit and
// keep every word in order, continuations are indented, SQL lines are left
// whole so they stay copyable.
func TestTextWrap(t *testing.T) {
	r := &rules.Rule{Code: "PG201", Name: "add-not-null-column-without-default", Severity: rules.Error}
	f := rules.NewFinding(r, "m.sql", ir.Pos{Line: 1, Col: 1}, ir.Pos{Line: 1, Col: 9}, strings.Repeat("every existing row blocks ", 8)+"end")
	sql := "ALTER TABLE users ADD COLUMN tenant_id bigint NOT NULL DEFAULT 0, ADD COLUMN region text NOT NULL DEFAULT 'eu';"
	f.Plan = &rules.Plan{Title: "p", Steps: []rules.Step{{Kind: rules.StepMigration, Title: "add it", Forward: sql}}}
	var b bytes.Buffer
	if err := Text(&b, &lint.Result{Findings: []*rules.Finding{f}}, TextOptions{Width: 60}); err != nil {
		t.Fatal(err)
	}
	var prose []string
	sqlWhole := false
	for _, l := range strings.Split(b.String(), "\n") {
		switch {
		case strings.Contains(l, sql):
			sqlWhole = true
		case strings.HasPrefix(l, "╭") || strings.HasPrefix(l, "╰") || !strings.HasPrefix(l, "│"):
		case len([]rune(l)) > 60:
			t.Errorf("line of %d columns: %q", len([]rune(l)), l)
		}
		if strings.Contains(l, "every existing row") || strings.HasSuffix(l, " end") {
			prose = append(prose, strings.Fields(strings.TrimPrefix(l, "│"))...)
		}
	}
	if !sqlWhole {
		t.Error("the SQL line was wrapped")
	}
	if got := strings.Join(prose, " "); !strings.Contains(got, strings.TrimSpace(strings.Repeat("every existing row blocks ", 8))+" end") {
		t.Errorf("the message's words changed: %q", got)
	}
}
