package report

import (
	"bufio"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/fluxlint/fluxlint/internal/lint"
	"github.com/fluxlint/fluxlint/rules"
)

//go:embed html.tmpl
var htmlSource string

var htmlPage = template.Must(template.New("report").Parse(htmlSource))

// The HTML report's view of a result: what the template shows, computed
// once here so the template stays declarative.
type (
	htmlReport struct {
		Total, Files, Plans, Steps int
		Counts                     map[string]int
		ByRule                     []htmlRuleCount
		Errors                     []string
		Findings                   []htmlFinding
	}
	htmlRuleCount struct {
		Code, Name, URL string
		// Severities are those of the rule's findings, highest first: the
		// config or the code search may change a rule's default.
		Severities []string
		Count      int
	}
	htmlFinding struct {
		JSONFinding
		DocsURL string
		Plan    *htmlPlan
		Open    bool // the first few cards open; the rest collapsed
	}
	htmlPlan struct {
		Title, Shape   string
		KeepsStatement bool
		Where          string // before or after the statement, when it keeps it
		Groups         []htmlDeploy
		Checklist      []string
	}
	// htmlDeploy is the steps shipped in one deploy.
	htmlDeploy struct {
		Deploy int
		Steps  []htmlStep
	}
	htmlStep struct {
		JSONStep
		Number     int
		KindLabel  string
		LockEffect string
		Strong     bool // blocks writes while held
	}
)

// HTML writes the result as one self-contained page: a summary with counts
// by severity and rule, then every finding with its whole plan (numbered
// steps grouped by deploy, forward and rollback SQL with copy buttons, locks
// and the point of no return). Its Content-Security-Policy forbids every
// network fetch.
func HTML(w io.Writer, res *lint.Result) error {
	v := htmlReport{Total: len(res.Findings), Counts: map[string]int{"error": 0, "warning": 0, "info": 0}}
	for _, f := range res.Files {
		if f.Target {
			v.Files++
		}
	}
	for _, e := range res.Errors {
		v.Errors = append(v.Errors, e.Error())
	}
	byRule := map[string]*htmlRuleCount{}
	sevs := map[string]map[rules.Severity]bool{}
	// Cards go by severity, then file and position (the order findings come in).
	findings := slices.Clone(res.Findings)
	sort.SliceStable(findings, func(i, j int) bool { return findings[i].Severity > findings[j].Severity })
	for _, f := range findings {
		v.Counts[f.Severity.String()]++
		rc := byRule[f.Rule.Code]
		if rc == nil {
			rc = &htmlRuleCount{Code: f.Rule.Code, Name: f.Rule.Name, URL: fmt.Sprintf(DocsURL, f.Rule.Code)}
			byRule[f.Rule.Code] = rc
			sevs[f.Rule.Code] = map[rules.Severity]bool{}
		}
		rc.Count++
		sevs[f.Rule.Code][f.Severity] = true
		hf := htmlFinding{JSONFinding: ToJSONFinding(f), DocsURL: fmt.Sprintf(DocsURL, f.Rule.Code), Open: len(v.Findings) < openCards}
		if f.Plan != nil && len(f.Plan.Steps) > 0 {
			v.Plans++
			v.Steps += len(f.Plan.Steps)
			hf.Plan = htmlPlanOf(f.Plan)
		}
		v.Findings = append(v.Findings, hf)
	}
	for code, rc := range byRule {
		for sev := rules.Error; sev >= rules.Info; sev-- {
			if sevs[code][sev] {
				rc.Severities = append(rc.Severities, sev.String())
			}
		}
		v.ByRule = append(v.ByRule, *rc)
	}
	sort.Slice(v.ByRule, func(i, j int) bool {
		if v.ByRule[i].Count != v.ByRule[j].Count {
			return v.ByRule[i].Count > v.ByRule[j].Count
		}
		return v.ByRule[i].Code < v.ByRule[j].Code
	})
	bw := bufio.NewWriter(w)
	if err := htmlPage.Execute(bw, v); err != nil {
		return err
	}
	return bw.Flush()
}

// openCards is how many finding cards a report opens; the rest start
// collapsed, so a long report stays readable.
const openCards = 10

func htmlPlanOf(p *rules.Plan) *htmlPlan {
	hp := &htmlPlan{Title: p.Title, Shape: fmt.Sprintf("%s · %s", plural(len(p.Steps), "step"), planType(p)),
		KeepsStatement: p.KeepsStatement, Where: p.Where(), Checklist: checklist(p)}
	for i, s := range p.Steps {
		if i == 0 || s.SeparateDeploy {
			hp.Groups = append(hp.Groups, htmlDeploy{Deploy: len(hp.Groups) + 1})
		}
		g := &hp.Groups[len(hp.Groups)-1]
		g.Steps = append(g.Steps, htmlStep{JSONStep: toJSONStep(s), Number: i + 1,
			KindLabel: strings.ReplaceAll(string(s.Kind), "_", " "), LockEffect: rules.LockEffect(s.Lock),
			Strong: rules.BlocksWrites(s.Lock)})
	}
	return hp
}
