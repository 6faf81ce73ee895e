package report

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/fluxlint/fluxlint/analyzers/ir"
	"github.com/fluxlint/fluxlint/analyzers/migrations"

	"github.com/fluxlint/fluxlint/internal/lint"
	"github.com/fluxlint/fluxlint/rules"
)

// ProjectURL is fluxlint's home, where bugs are reported.
const ProjectURL = "https://github.com/fluxlint/fluxlint"

// DocsURL is where each rule's documentation lives, by code.
const DocsURL = ProjectURL + "/blob/main/docs/rules/%s.md"

// The reviewdog Diagnostic Format (rdjson), as reviewdog reads it.
type (
	rdPosition struct {
		Line   int `json:"line"`
		Column int `json:"column,omitempty"`
	}
	rdRange struct {
		Start rdPosition  `json:"start"`
		End   *rdPosition `json:"end,omitempty"`
	}
	rdLocation struct {
		Path  string  `json:"path"`
		Range rdRange `json:"range"`
	}
	rdCode struct {
		Value string `json:"value"`
		URL   string `json:"url,omitempty"`
	}
	rdRelated struct {
		Message  string     `json:"message,omitempty"`
		Location rdLocation `json:"location"`
	}
	rdSource struct {
		Name string `json:"name"`
		URL  string `json:"url,omitempty"`
	}
	rdSuggestion struct {
		Range rdRange `json:"range"`
		Text  string  `json:"text"`
	}
	rdDiagnostic struct {
		Message          string         `json:"message"`
		Location         rdLocation     `json:"location"`
		Severity         string         `json:"severity"`
		Source           rdSource       `json:"source"`
		Code             rdCode         `json:"code"`
		Suggestions      []rdSuggestion `json:"suggestions,omitempty"`
		RelatedLocations []rdRelated    `json:"related_locations,omitempty"`
	}
)

var rdSeverity = map[rules.Severity]string{rules.Error: "ERROR", rules.Warning: "WARNING", rules.Info: "INFO"}

var source = rdSource{Name: "fluxlint", URL: ProjectURL}

// rdDiag converts a finding: the message carries the plan as Markdown, and
// the range covers the statement. A single-step in-place plan becomes a
// suggestion over exactly the diagnostic's range, as GitHub requires.
func rdDiag(f *rules.Finding) rdDiagnostic {
	rng := rdRange{Start: rdPosition{Line: f.Pos.Line, Column: f.Pos.Col}, End: &rdPosition{Line: f.End.Line, Column: f.End.Col}}
	d := rdDiagnostic{
		Message:  f.Labelled() + PlanMarkdown(f.Plan),
		Location: rdLocation{Path: f.Path, Range: rng},
		Severity: rdSeverity[f.Severity],
		Source:   source,
		Code:     rdCode{Value: f.Rule.Code, URL: fmt.Sprintf(DocsURL, f.Rule.Code)},
	}
	if f.Rewrite != "" {
		d.Suggestions = []rdSuggestion{{Range: rng, Text: f.Rewrite}}
	}
	for _, r := range f.Related {
		d.RelatedLocations = append(d.RelatedLocations, rdRelated{Message: r.Message, Location: rdLocation{Path: r.Path, Range: rdRange{Start: rdPosition{Line: r.Line}}}})
	}
	return d
}

// PlanMarkdown renders a plan as Markdown for review comments: numbered
// steps with their SQL, locks, deploy boundaries and point of no return.
func PlanMarkdown(p *rules.Plan) string {
	if p == nil {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n\n**Plan: %s**", p.Title)
	if p.KeepsStatement {
		b.WriteString(" (keep the statement; add these steps " + p.Where() + " it)")
	}
	b.WriteString("\n")
	for i, s := range p.Steps {
		fmt.Fprintf(&b, "\n%d. %s %s", i+1, stepTag(s), s.Title)
		if s.Lock != "" {
			fmt.Fprintf(&b, " (lock: %s)", s.Lock)
		}
		if s.Irreversible {
			b.WriteString(" **point of no return**")
		}
		if s.Forward != "" {
			fmt.Fprintf(&b, "\n   ```sql\n%s\n   ```", indentMD(s.ForwardSQL()))
		}
		if s.Rollback != "" {
			fmt.Fprintf(&b, "\n   Rollback:\n   ```sql\n%s\n   ```", indentMD(s.RollbackSQL()))
		}
		if s.Note != "" {
			fmt.Fprintf(&b, "\n   %s", strings.ReplaceAll(s.Note, "\n", "\n   "))
		}
	}
	return b.String()
}

func indentMD(sql string) string {
	return "   " + strings.ReplaceAll(strings.TrimRight(sql, "\n"), "\n", "\n   ")
}

// RDJSON writes one rdjson document.
func RDJSON(w io.Writer, res *lint.Result) error {
	doc := struct {
		Source      rdSource       `json:"source"`
		Diagnostics []rdDiagnostic `json:"diagnostics"`
	}{Source: source, Diagnostics: []rdDiagnostic{}}
	for _, f := range res.Findings {
		doc.Diagnostics = append(doc.Diagnostics, rdDiag(f))
	}
	for _, e := range res.Errors {
		doc.Diagnostics = append(doc.Diagnostics, rdError(e))
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(doc)
}

// RDJSONL writes one rdjson diagnostic per line.
func RDJSONL(w io.Writer, res *lint.Result) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for _, f := range res.Findings {
		if err := enc.Encode(rdDiag(f)); err != nil {
			return err
		}
	}
	for _, e := range res.Errors {
		if err := enc.Encode(rdError(e)); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// GitHub writes workflow-command annotations (::error file=...::message).
func GitHub(w io.Writer, res *lint.Result) error {
	bw := bufio.NewWriter(w)
	level := map[rules.Severity]string{rules.Error: "error", rules.Warning: "warning", rules.Info: "notice"}
	for _, f := range res.Findings {
		fmt.Fprintf(bw, "::%s file=%s,line=%d,col=%d,endLine=%d,title=%s::%s\n", level[f.Severity],
			ghProperty(f.Path), f.Pos.Line, f.Pos.Col, f.End.Line, ghProperty(f.Rule.Code+" "+f.Rule.Name),
			ghData(f.Labelled()+"\nfluxlint explain "+f.Rule.Code))
	}
	for _, e := range res.Errors {
		path, pos, msg := errorAt(e)
		switch {
		case path == "":
			fmt.Fprintf(bw, "::error title=fluxlint::%s\n", ghData(msg))
		case pos.Line == 0:
			fmt.Fprintf(bw, "::error file=%s,title=fluxlint::%s\n", ghProperty(path), ghData(msg))
		default:
			fmt.Fprintf(bw, "::error file=%s,line=%d,col=%d,title=fluxlint::%s\n", ghProperty(path), pos.Line, pos.Col, ghData(msg))
		}
	}
	return bw.Flush()
}

// errorAt splits an input error into the file it is about (if any), the
// position in it (if known) and the message.
func errorAt(e error) (path string, pos ir.Pos, msg string) {
	msg = e.Error()
	var fe *migrations.FileError
	if errors.As(e, &fe) {
		path, msg = fe.Path, fe.Err.Error()
	}
	var ie *ir.Error
	if errors.As(e, &ie) {
		pos, msg = ie.Pos, ie.Msg
	}
	return path, pos, msg
}

// rdError is an input error as an rdjson diagnostic at error severity: the
// run could not check what it names.
func rdError(e error) rdDiagnostic {
	path, pos, msg := errorAt(e)
	d := rdDiagnostic{Message: "fluxlint could not check this: " + msg, Location: rdLocation{Path: path},
		Severity: "ERROR", Source: source, Code: rdCode{Value: rules.InputError.Code, URL: fmt.Sprintf(DocsURL, rules.InputError.Code)}}
	if pos.Line > 0 {
		d.Location.Range = rdRange{Start: rdPosition{Line: pos.Line, Column: pos.Col}}
	}
	return d
}

// ghData and ghProperty escape workflow-command values as the runner expects.
func ghData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func ghProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}
