package report

import (
	"fmt"
	"strings"

	"github.com/fluxlint/fluxlint/rules"
)

// RuleMarkdown renders a rule's documentation as Markdown: what explain
// prints, what docs/rules/CODE.md holds, and SARIF's help text.
func RuleMarkdown(r *rules.Rule) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s %s\n\n%s. Severity: %s.\n", r.Code, r.Name, r.Doc.Title, r.Severity)
	if r.Destructive {
		b.WriteString("Does not fire on down migrations, which are rollbacks by intent.\n")
	}
	section := func(title, body string, code bool) {
		if body == "" {
			return
		}
		if code {
			fmt.Fprintf(&b, "\n## %s\n\n```sql\n%s\n```\n", title, body)
		} else {
			fmt.Fprintf(&b, "\n## %s\n\n%s\n", title, body)
		}
	}
	section("Why", r.Doc.Why, false)
	section("Bad", r.Doc.Bad, true)
	section("Safe plan", r.Doc.Good, false)
	section("Versions", r.Doc.Versions, false)
	return b.String()
}
