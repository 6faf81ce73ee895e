package report

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/fluxlint/fluxlint/analyzers/ir"
	"github.com/fluxlint/fluxlint/internal/lint"
	"github.com/fluxlint/fluxlint/rules"
)

// SARIF 2.1.0, the subset GitHub code scanning reads: the tool with its rules
// (descriptions, help text and help URI), one result per finding with the
// statement's region, related locations for code references, and the input
// errors as tool notifications.
type (
	sarifLog struct {
		Schema  string     `json:"$schema"`
		Version string     `json:"version"`
		Runs    []sarifRun `json:"runs"`
	}
	sarifRun struct {
		Tool        sarifTool         `json:"tool"`
		ColumnKind  string            `json:"columnKind"`
		Invocations []sarifInvocation `json:"invocations"`
		Results     []sarifResult     `json:"results"`
	}
	sarifTool struct {
		Driver sarifDriver `json:"driver"`
	}
	sarifDriver struct {
		Name           string      `json:"name"`
		Version        string      `json:"version,omitempty"`
		InformationURI string      `json:"informationUri"`
		Rules          []sarifRule `json:"rules"`
	}
	sarifText struct {
		Text     string `json:"text"`
		Markdown string `json:"markdown,omitempty"`
	}
	sarifRule struct {
		ID                   string             `json:"id"`
		Name                 string             `json:"name"`
		ShortDescription     sarifText          `json:"shortDescription"`
		FullDescription      sarifText          `json:"fullDescription"`
		HelpURI              string             `json:"helpUri"`
		Help                 sarifText          `json:"help"`
		DefaultConfiguration sarifConfiguration `json:"defaultConfiguration"`
		Properties           sarifRuleProps     `json:"properties"`
	}
	sarifConfiguration struct {
		Level string `json:"level"`
	}
	sarifRuleProps struct {
		Tags []string `json:"tags"`
	}
	sarifResult struct {
		RuleID           string           `json:"ruleId"`
		RuleIndex        int              `json:"ruleIndex"`
		Level            string           `json:"level"`
		Message          sarifText        `json:"message"`
		Locations        []sarifLocation  `json:"locations"`
		RelatedLocations []sarifLocation  `json:"relatedLocations,omitempty"`
		Properties       sarifResultProps `json:"properties"`
	}
	// sarifResultProps: section is up, or down for a down migration.
	sarifResultProps struct {
		Section string `json:"section"`
	}
	sarifLocation struct {
		ID               *int          `json:"id,omitempty"`
		PhysicalLocation sarifPhysical `json:"physicalLocation"`
		Message          *sarifText    `json:"message,omitempty"`
	}
	sarifPhysical struct {
		ArtifactLocation sarifArtifact `json:"artifactLocation"`
		Region           sarifRegion   `json:"region"`
	}
	sarifArtifact struct {
		URI string `json:"uri"`
	}
	sarifRegion struct {
		StartLine   int `json:"startLine"`
		StartColumn int `json:"startColumn,omitempty"`
		EndLine     int `json:"endLine,omitempty"`
		EndColumn   int `json:"endColumn,omitempty"`
	}
	sarifInvocation struct {
		ExecutionSuccessful        bool                `json:"executionSuccessful"`
		ToolExecutionNotifications []sarifNotification `json:"toolExecutionNotifications,omitempty"`
	}
	sarifNotification struct {
		Level     string          `json:"level"`
		Message   sarifText       `json:"message"`
		Locations []sarifLocation `json:"locations,omitempty"`
	}
)

// SARIFSchema is the schema URI SARIF files name.
const SARIFSchema = "https://json.schemastore.org/sarif-2.1.0.json"

var sarifLevel = map[rules.Severity]string{rules.Error: "error", rules.Warning: "warning", rules.Info: "note"}

// SARIF writes the result as a SARIF 2.1.0 log. known lists the rules to
// describe (every rule a finding can come from); version is fluxlint's.
func SARIF(w io.Writer, res *lint.Result, known []*rules.Rule, version string) error {
	driver := sarifDriver{Name: "fluxlint", Version: version, InformationURI: source.URL, Rules: []sarifRule{}}
	index := map[string]int{}
	for _, r := range known {
		index[r.Code] = len(driver.Rules)
		driver.Rules = append(driver.Rules, sarifRule{
			ID:                   r.Code,
			Name:                 r.Name,
			ShortDescription:     sarifText{Text: r.Doc.Title},
			FullDescription:      sarifText{Text: r.Doc.Why},
			HelpURI:              fmt.Sprintf(DocsURL, r.Code),
			Help:                 sarifText{Text: r.Doc.Good, Markdown: RuleMarkdown(r)},
			DefaultConfiguration: sarifConfiguration{Level: sarifLevel[r.Severity]},
			Properties:           sarifRuleProps{Tags: ruleTags(r)},
		})
	}
	run := sarifRun{Tool: sarifTool{Driver: driver}, Results: []sarifResult{}, ColumnKind: "utf16CodeUnits",
		Invocations: []sarifInvocation{{ExecutionSuccessful: len(res.Errors) == 0}}}
	for _, e := range res.Errors {
		n := sarifNotification{Level: "error", Message: sarifText{Text: e.Error()}}
		if path, pos, msg := errorAt(e); path != "" {
			n.Message.Text = msg
			n.Locations = []sarifLocation{{PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifact{URI: sarifURI(path)}, Region: sarifRegion{StartLine: max(pos.Line, 1), StartColumn: col16(pos)}}}}
		}
		run.Invocations[0].ToolExecutionNotifications = append(run.Invocations[0].ToolExecutionNotifications, n)
	}
	for _, f := range res.Findings {
		i, ok := index[f.Rule.Code]
		if !ok {
			return fmt.Errorf("sarif: finding of %s, a rule the log does not describe", f.Rule.Code)
		}
		r := sarifResult{
			RuleID: f.Rule.Code, RuleIndex: i, Level: sarifLevel[f.Severity],
			Message:    sarifText{Text: f.Labelled() + PlanText(f.Plan), Markdown: f.Labelled() + PlanMarkdown(f.Plan)},
			Properties: sarifResultProps{Section: f.Section()},
			Locations: []sarifLocation{{PhysicalLocation: sarifPhysical{
				ArtifactLocation: sarifArtifact{URI: sarifURI(f.Path)},
				Region:           sarifRegion{StartLine: f.Pos.Line, StartColumn: col16(f.Pos), EndLine: f.End.Line, EndColumn: max(col16(f.End), 1)},
			}}},
		}
		for j, rel := range f.Related {
			id := j + 1
			r.RelatedLocations = append(r.RelatedLocations, sarifLocation{ID: &id, Message: &sarifText{Text: rel.Message},
				PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifact{URI: sarifURI(rel.Path)}, Region: sarifRegion{StartLine: rel.Line}}})
		}
		run.Results = append(run.Results, r)
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(sarifLog{Schema: SARIFSchema, Version: "2.1.0", Runs: []sarifRun{run}})
}

// sarifURI is a path as a URI reference: relative paths stay relative (code
// scanning resolves them against the repository root), with forward
// slashes, and every character a URI reserves (#, ?, %, spaces, non-ASCII)
// percent-encoded.
func sarifURI(path string) string {
	u := url.URL{Path: filepath.ToSlash(path)}
	if filepath.IsAbs(path) {
		u.Scheme = "file"
	}
	return u.String()
}

// col16 is a position's column in UTF-16 code units, SARIF's default
// columnKind (a position made without source text has only Col).
func col16(p ir.Pos) int {
	if p.Col16 > 0 {
		return p.Col16
	}
	return p.Col
}

// ruleTags are the code scanning tags of a rule: its engine and its family.
func ruleTags(r *rules.Rule) []string {
	tags := []string{"migrations"}
	if r.Engine != "" {
		tags = append(tags, string(r.Engine))
	}
	switch {
	case strings.HasPrefix(r.Code, "FL"):
		tags = append(tags, "fluxlint")
	case len(r.Code) > 2 && r.Code[2] == '1':
		tags = append(tags, "locking")
	case len(r.Code) > 2 && r.Code[2] == '2':
		tags = append(tags, "rewrite")
	case len(r.Code) > 2 && r.Code[2] == '3':
		tags = append(tags, "breaking-change")
	}
	return tags
}

// PlanText renders a plan as plain text for viewers without Markdown: the
// numbered steps with their kind, lock and point of no return.
func PlanText(p *rules.Plan) string {
	if p == nil {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n\nPlan: %s", p.Title)
	if p.KeepsStatement {
		b.WriteString(" (keep the statement; add these steps " + p.Where() + " it)")
	}
	for i, s := range p.Steps {
		fmt.Fprintf(&b, "\n%d. %s %s", i+1, stepTag(s), s.Title)
		if s.Lock != "" {
			fmt.Fprintf(&b, " (lock: %s)", s.Lock)
		}
		if s.Irreversible {
			b.WriteString(" - point of no return")
		}
	}
	return b.String()
}
