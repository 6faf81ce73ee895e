// Package report writes findings: a box-drawn text summary for people and
// JSON for machines.
package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/fluxlint/fluxlint/internal/lint"
	"github.com/fluxlint/fluxlint/rules"
)

// JSONStep is a plan step in JSON output.
type JSONStep struct {
	Kind           rules.StepKind `json:"kind"`
	Title          string         `json:"title"`
	Forward        string         `json:"forward"`
	Rollback       string         `json:"rollback"`
	File           string         `json:"file,omitempty"`
	Lock           string         `json:"lock"`
	NoTransaction  bool           `json:"no_transaction"`
	SeparateDeploy bool           `json:"separate_deploy"`
	Irreversible   bool           `json:"irreversible"`
	ManualRollback bool           `json:"manual_rollback,omitempty"`
	DeletesRows    bool           `json:"deletes_rows,omitempty"`
	Note           string         `json:"note,omitempty"`
	Expect         string         `json:"expect,omitempty"`
	Tool           *rules.ToolRun `json:"tool,omitempty"`
	Estimate       string         `json:"estimate,omitempty"`
	LockRetries    int            `json:"-"` // Forward and Rollback have them written out
}

// toJSONStep is a step as the reports write it: its SQL as it runs.
func toJSONStep(s rules.Step) JSONStep {
	js := JSONStep(s)
	js.Forward, js.Rollback = s.ForwardSQL(), s.RollbackSQL()
	return js
}

// JSONPlan is a plan in JSON output.
type JSONPlan struct {
	Title          string     `json:"title"`
	KeepsStatement bool       `json:"keeps_statement,omitempty"`
	Before         bool       `json:"before,omitempty"` // with keeps_statement: the steps go before it
	Steps          []JSONStep `json:"steps"`
}

// JSONFinding is a finding in JSON output.
type JSONFinding struct {
	Code      string          `json:"code"`
	Name      string          `json:"name"`
	Severity  string          `json:"severity"`
	Path      string          `json:"path"`
	Line      int             `json:"line"`
	Column    int             `json:"column"`
	EndLine   int             `json:"end_line"`
	EndColumn int             `json:"end_column"`
	Message   string          `json:"message"`
	Section   string          `json:"section"` // up, or down for a down migration
	Plan      *JSONPlan       `json:"plan"`
	Related   []rules.Related `json:"related"`
	// Claim is what the server does, as data: lock mode and table, rewrite,
	// full scan, or the SQLSTATE it fails with.
	Claim *JSONClaim `json:"claim,omitempty"`
	// Size is the table's size from live facts.
	Size string `json:"size,omitempty"`
}

// JSONClaim is a finding's claim in JSON output: rules.Claim's fields, with
// its table names as text (these outer fields hide the embedded ones).
type JSONClaim struct {
	Table string `json:"table"`
	rules.Claim
	OnDeleteFrom string `json:"on_delete_from,omitempty"`
}

// JSONError is an input error in JSON output.
type JSONError struct {
	Path    string `json:"path"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Message string `json:"message"`
}

// JSONReport is the whole JSON document.
type JSONReport struct {
	Findings []JSONFinding   `json:"findings"`
	Errors   []JSONError     `json:"errors"`
	Files    []lint.FileInfo `json:"files"`
}

// ToJSONFinding converts a finding to its JSON form.
func ToJSONFinding(f *rules.Finding) JSONFinding {
	jf := JSONFinding{Code: f.Rule.Code, Name: f.Rule.Name, Severity: f.Severity.String(), Path: f.Path,
		Line: f.Pos.Line, Column: f.Pos.Col, EndLine: f.End.Line, EndColumn: f.End.Col, Message: f.Message,
		Section: f.Section(), Related: f.Related, Size: f.Size}
	if jf.Related == nil {
		jf.Related = []rules.Related{}
	}
	if c := f.Claim; c != nil {
		jf.Claim = &JSONClaim{Table: c.Table.String(), Claim: *c}
		if c.OnDeleteFrom.Name != "" {
			jf.Claim.OnDeleteFrom = c.OnDeleteFrom.String()
		}
	}
	if f.Plan != nil {
		jp := &JSONPlan{Title: f.Plan.Title, KeepsStatement: f.Plan.KeepsStatement, Before: f.Plan.Before, Steps: []JSONStep{}}
		for _, s := range f.Plan.Steps {
			jp.Steps = append(jp.Steps, toJSONStep(s))
		}
		jf.Plan = jp
	}
	return jf
}

func toJSONErrors(res *lint.Result) []JSONError {
	out := []JSONError{}
	for _, e := range res.Errors {
		path, pos, msg := errorAt(e)
		out = append(out, JSONError{Path: path, Line: pos.Line, Column: pos.Col, Message: msg})
	}
	return out
}

// JSON writes the result as one JSON document, {"findings", "errors",
// "files"}, one element at a time so that a large run never holds the whole
// document in memory.
func JSON(w io.Writer, res *lint.Result) error {
	bw := bufio.NewWriter(w)
	files := res.Files
	if files == nil {
		files = []lint.FileInfo{}
	}
	errs := toJSONErrors(res)
	bw.WriteString("{")
	writeArray(bw, "findings", len(res.Findings), func(i int) any { return ToJSONFinding(res.Findings[i]) })
	bw.WriteString(",")
	writeArray(bw, "errors", len(errs), func(i int) any { return errs[i] })
	bw.WriteString(",")
	writeArray(bw, "files", len(files), func(i int) any { return files[i] })
	bw.WriteString("\n}\n")
	return bw.Flush()
}

// writeArray writes `"key": [elements]` indented as json.MarshalIndent would.
// Elements are encoded on every core, a chunk at a time (a large run's
// findings are most of the output's time), and written in order.
func writeArray(bw *bufio.Writer, key string, n int, elem func(int) any) {
	fmt.Fprintf(bw, "\n  %q: [", key)
	const chunk = 64
	bufs := make([][]byte, min(n, chunk))
	workers := runtime.GOMAXPROCS(0)
	for base := 0; base < n; base += chunk {
		size := min(chunk, n-base)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := w; k < size; k += workers {
					bufs[k] = encodeElement(elem(base + k))
				}
			}()
		}
		wg.Wait()
		for k := range size {
			if base+k > 0 {
				bw.WriteString(",")
			}
			bw.WriteString("\n    ")
			bw.Write(bufs[k])
		}
	}
	if n > 0 {
		bw.WriteString("\n  ")
	}
	bw.WriteString("]")
}

// encodeElement is one array element, indented for its place.
func encodeElement(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("    ", "  ")
	if err := enc.Encode(v); err != nil {
		return []byte(strconv.Quote(err.Error())) // unreachable: every element type marshals
	}
	return bytes.TrimRight(buf.Bytes(), "\n")
}

// MaxBoxLines is the line budget of one finding's text summary.
const MaxBoxLines = 40

// TextOptions style the text report.
type TextOptions struct {
	Verbose bool // the full SQL of every step (and no line budget)
	Color   bool // ANSI colours for a terminal
	Width   int  // wrap prose to this many columns (a terminal's width); 0: no wrapping
}

// ANSI colours of the text report, by severity.
var sevColor = map[rules.Severity]string{rules.Error: "\x1b[1;31m", rules.Warning: "\x1b[33m", rules.Info: "\x1b[36m"}

const (
	colorOff = "\x1b[0m"
	red      = "\x1b[31m"
)

// Text writes each finding as a box-drawn summary of at most MaxBoxLines
// lines; verbose adds the full SQL of every step (and lifts the budget).
func Text(w io.Writer, res *lint.Result, opt TextOptions) error {
	verbose := opt.Verbose
	bw := bufio.NewWriter(w)
	cut := 0
	shown := map[*rules.Plan]*rules.Finding{} // the statement's plans, each with the finding it was shown with
	var stmt *rules.Finding
	for _, f := range res.Findings {
		if stmt == nil || f.Path != stmt.Path || f.Pos != stmt.Pos {
			stmt = f
			clear(shown)
		}
		var lines []string
		if first := shown[f.Plan]; f.Plan != nil && first != nil {
			// Findings composed into one plan for their statement: the
			// plan once, under the first.
			alone := *f
			alone.Plan = nil
			lines = box(&alone, verbose)
			lines = append(lines[:len(lines)-1], "│", fmt.Sprintf("│  Plan: the plan of the %s finding above, one plan for the whole statement", first.Rule.Code), lines[len(lines)-1])
		} else {
			lines = box(f, verbose)
			shown[f.Plan] = f
		}
		if !verbose && len(lines) > MaxBoxLines {
			cut++
			lines = append(lines[:MaxBoxLines-2], "│  … cut to fit 40 lines: the HTML report (--format html --output report.html) shows the whole plan", lines[len(lines)-1])
		}
		if opt.Width > 0 {
			lines = wrap(lines, opt.Width)
		}
		if opt.Color {
			colorize(lines, f.Severity)
		}
		bw.WriteString(strings.Join(lines, "\n"))
		bw.WriteString("\n\n")
	}
	bw.WriteString(Summary(res))
	bw.WriteString("\n")
	if cut > 0 {
		fmt.Fprintf(bw, "%s cut to fit 40 lines: rerun with --format html --output report.html for one page with every plan in full (or -v here)\n", plural(cut, "finding")+map[bool]string{true: " was", false: " were"}[cut == 1])
	}
	return bw.Flush()
}

// wrap breaks the box's prose lines longer than width at spaces, each
// continuation indented like its line. SQL (set under a step by indent) is
// never wrapped, nor the statement's own lines, so they stay copyable.
func wrap(lines []string, width int) []string {
	var out []string
	for _, l := range lines {
		body := strings.TrimPrefix(l, "│  ")
		gutter := strings.Index(body, " │ ") // a snippet's numbered source line
		if utf8.RuneCountInString(l) <= width || strings.HasPrefix(l, "│      ") || !strings.HasPrefix(l, "│  ") || gutter >= 0 && gutter < 8 {
			out = append(out, l)
			continue
		}
		lead := "│  " + strings.Repeat(" ", len(body)-len(strings.TrimLeft(body, " ")))
		words := strings.Fields(body)
		line := lead
		for _, w := range words {
			if line != lead && utf8.RuneCountInString(line)+1+utf8.RuneCountInString(w) > width {
				out = append(out, line)
				line = lead + "  "
			}
			if line != lead && line != lead+"  " {
				line += " "
			}
			line += w
		}
		out = append(out, line)
	}
	return out
}

// colorize colours a box: its header in the severity's colour, the points
// of no return red.
func colorize(lines []string, sev rules.Severity) {
	lines[0] = sevColor[sev] + lines[0] + colorOff
	for i, l := range lines {
		if strings.Contains(l, "⚠ point of no return") {
			lines[i] = strings.Replace(l, "⚠ point of no return", red+"⚠ point of no return"+colorOff, 1)
		}
	}
}

// Summary is the closing line: counts by severity.
func Summary(res *lint.Result) string {
	counts := map[rules.Severity]int{}
	for _, f := range res.Findings {
		counts[f.Severity]++
	}
	targets := 0
	for _, f := range res.Files {
		if f.Target {
			targets++
		}
	}
	s := fmt.Sprintf("%s (%s, %s, %d info) in %s", plural(len(res.Findings), "finding"),
		plural(counts[rules.Error], "error"), plural(counts[rules.Warning], "warning"), counts[rules.Info], plural(targets, "file"))
	if len(res.Errors) > 0 {
		s += "; " + plural(len(res.Errors), "input error") + " (on stderr)"
	}
	return s
}

// snippetLines is how many lines of a statement the box shows.
const snippetLines = 4

// snippet shows the flagged statement as a compiler does: its lines with
// their numbers, the flagged span underlined when it fits on one line.
func snippet(f *rules.Finding) []string {
	if f.Source == "" {
		return nil
	}
	lines := strings.Split(strings.TrimRight(f.Source, "\n"), "\n")
	width := len(strconv.Itoa(f.Pos.Line + len(lines) - 1))
	var out []string
	for i, line := range lines {
		if i == snippetLines-1 && len(lines) > snippetLines {
			out = append(out, fmt.Sprintf("│  %*s │ … %s", width, "", plural(len(lines)-i, "more line")))
			break
		}
		if i == 0 {
			line = strings.Repeat(" ", max(f.Pos.Col-1, 0)) + line
		}
		out = append(out, fmt.Sprintf("│  %*d │ %s", width, f.Pos.Line+i, strings.TrimRight(line, " \t\r")))
	}
	if len(lines) == 1 && f.End.Line == f.Pos.Line && f.End.Col > f.Pos.Col {
		out = append(out, fmt.Sprintf("│  %*s │ %s%s", width, "", strings.Repeat(" ", f.Pos.Col-1), strings.Repeat("^", f.End.Col-f.Pos.Col)))
	}
	return out
}

// shortPlan reports whether the box shows the plan's SQL without -v: one
// or two migration steps, with checkpoints at most beside them.
func shortPlan(p *rules.Plan) bool {
	n := 0
	for _, s := range p.Steps {
		switch s.Kind {
		case rules.StepMigration:
			n++
		case rules.StepCheckpoint:
		default:
			return false
		}
	}
	return n <= 2
}

func box(f *rules.Finding, verbose bool) []string {
	var l []string
	add := func(format string, a ...any) { l = append(l, "│  "+fmt.Sprintf(format, a...)) }
	l = append(l, fmt.Sprintf("╭─ %s %s · %s", f.Rule.Code, f.Rule.Name, f.Severity))
	if f.Down {
		add("%s:%d:%d (down migration)", f.Path, f.Pos.Line, f.Pos.Col)
	} else {
		add("%s:%d:%d", f.Path, f.Pos.Line, f.Pos.Col)
	}
	l = append(l, snippet(f)...)
	more := false // -v would show more than the box does
	add("%s", f.Message)
	for _, line := range relatedLines(f.Related) {
		add("%s", line)
	}
	if p := f.Plan; p != nil && len(p.Steps) > 0 {
		short := shortPlan(p)
		l = append(l, "│")
		add("Plan: %s · %s · %s", p.Title, plural(len(p.Steps), "step"), planType(p))
		if p.KeepsStatement {
			add("(keep the statement; run these steps %s it)", p.Where())
		}
		width := 0
		for _, s := range p.Steps {
			width = max(width, len([]rune(stepTag(s))))
		}
		for i, s := range p.Steps {
			add("%2d. %s %s", i+1, pad(stepTag(s), width), s.Title)
			if s.Lock != "" {
				if effect := rules.LockEffect(s.Lock); effect != s.Lock {
					add("    lock: %s (%s)", s.Lock, effect)
				} else {
					add("    lock: %s", s.Lock) // a description already, not a bare mode
				}
			}
			if s.Estimate != "" {
				add("    takes: %s", s.Estimate)
			}
			if s.Irreversible {
				add("    ⚠ point of no return")
			}
			if !verbose && short && s.Forward != "" {
				l = append(l, indent(s.Forward)...)
			}
			more = more || !short && s.Forward != "" || s.File != "" || s.Note != "" || s.Retried()
			if verbose {
				if s.Forward != "" {
					l = append(l, indent(s.ForwardSQL())...)
				}
				if s.File != "" {
					add("    as a migration file:")
					l = append(l, indent(s.File)...)
				}
				if s.Note != "" {
					add("    note: %s", s.Note)
				}
			}
		}
		l = append(l, "│")
		add("Rollback, in reverse order:")
		for i := len(p.Steps) - 1; i >= 0; i-- {
			s := p.Steps[i]
			if s.Kind != rules.StepMigration && s.Kind != rules.StepBackfill && s.Kind != rules.StepOnlineSchemaChange {
				continue
			}
			if verbose {
				s.Rollback = s.RollbackSQL()
			} else {
				more = more || s.RollbackSQL() != s.Rollback
			}
			switch {
			case s.Tool != nil && s.Rollback == "":
				add("%2d. no reverse command: undoing it is a new change; after an interrupted run: %s", i+1, firstSQL(s.Tool.Cleanup))
			case s.Tool != nil && !verbose:
				add("%2d. %s, the reverse ALTER (-v shows the command)", i+1, s.Tool.Name)
				more = true
			case s.Rollback == "":
				add("%2d. nothing to undo", i+1)
			case !strings.Contains(strings.TrimSpace(s.Rollback), "\n"):
				add("%2d. %s", i+1, strings.TrimSpace(s.Rollback))
			case verbose || strings.Count(strings.TrimSpace(s.Rollback), "\n") < rollbackLines:
				add("%2d.", i+1)
				l = append(l, indent(s.Rollback)...)
			default:
				add("%2d. %s … (%d lines: -v shows them all)", i+1, firstSQL(s.Rollback), strings.Count(strings.TrimSpace(s.Rollback), "\n")+1)
				more = true
			}
		}
		l = append(l, "│")
		add("Before deploying:")
		for _, c := range checklist(p) {
			add("☐ %s", c)
		}
	}
	l = append(l, fmt.Sprintf("╰─ fluxlint explain %s%s", f.Rule.Code, map[bool]string{true: " · -v shows the full SQL", false: ""}[more && !verbose]))
	return l
}

// maxRelated is how many related locations the box lists; the JSON, SARIF
// and HTML reports have them all.
const maxRelated = 6

// relatedLines lists a finding's related locations for the box: verified
// uses first, at most maxRelated, then a count of the rest by kind.
func relatedLines(rs []rules.Related) []string {
	sorted := append([]rules.Related(nil), rs...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Strong() && !sorted[j].Strong() })
	var out []string
	for i, r := range sorted {
		if i == maxRelated {
			more, mentions := len(sorted)-i, 0
			for _, r := range sorted[i:] {
				if !r.Strong() && r.Kind != "" {
					mentions++
				}
			}
			msg := fmt.Sprintf("  ↳ … %d more", more)
			if mentions > 0 {
				msg += fmt.Sprintf(" (%d of them mentions)", mentions)
			}
			out = append(out, msg+": the JSON report lists all")
			break
		}
		out = append(out, fmt.Sprintf("  ↳ %s:%d %s", r.Path, r.Line, r.Message))
	}
	return out
}

// rollbackLines is the longest rollback the box shows whole without -v.
const rollbackLines = 8

// planType names the plan's shape by how many deploys it needs: a step
// marked SeparateDeploy starts a new one.
func planType(p *rules.Plan) string {
	deploys := 1
	for i, s := range p.Steps {
		if s.SeparateDeploy && i > 0 {
			deploys++
		}
	}
	if deploys > 1 {
		return fmt.Sprintf("expand/contract over %d deploys", deploys)
	}
	return "online migration"
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func stepTag(s rules.Step) string {
	tag := strings.ReplaceAll(string(s.Kind), "_", " ")
	if s.NoTransaction {
		tag += ", no tx"
	}
	if s.SeparateDeploy {
		tag += ", own deploy"
	}
	return "[" + tag + "]"
}

// firstSQL is the first statement of a step's SQL, skipping the
// lock_timeout preamble or comment, for one-line summaries.
func firstSQL(sql string) string {
	for _, line := range strings.Split(sql, "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "SET lock_timeout") && !strings.HasPrefix(line, "-- lock_timeout") {
			if len(line) > 110 {
				line = line[:107] + "..."
			}
			return line
		}
	}
	return ""
}

// indent sets SQL under a step of the box.
func indent(text string) []string {
	var out []string
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		out = append(out, strings.TrimRight("│      "+line, " "))
	}
	return out
}

func pad(s string, width int) string {
	return s + strings.Repeat(" ", max(0, width-len([]rune(s))))
}

// checklist is what to confirm before shipping a plan.
func checklist(p *rules.Plan) []string {
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for i, s := range p.Steps {
		switch {
		case s.Retried():
			add("each step that takes a strong lock waits briefly for it and retries after a pause while a long transaction holds it (-v shows the retry block); if it still times out, rerun it (it is idempotent)")
		case strings.Contains(s.Forward, "lock_timeout"):
			add("lock_timeout is set before every strong lock: if a step times out, retry it (it is idempotent)")
		case strings.Contains(s.Forward, "lock_wait_timeout"):
			add("lock_wait_timeout is set before every DDL step: if one times out (error 1205), retry it once the long transaction ahead of it is gone")
		}
		if s.NoTransaction {
			add(fmt.Sprintf("step %d runs outside a transaction: give it its own migration file in your tool's convention (-v shows it)", i+1))
		}
		if s.Kind == rules.StepCheckpoint {
			add(fmt.Sprintf("run the check in step %d and confirm its result before going on", i+1))
		}
		if s.Irreversible {
			add(fmt.Sprintf("step %d cannot be undone: confirm nothing still uses what it drops, and that a backup exists", i+1))
		}
	}
	if planType(p) != "online migration" {
		add("ship each step marked 'own deploy' only after the previous one is live everywhere")
	}
	return out
}
