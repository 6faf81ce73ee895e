package report_test

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/fluxlint/fluxlint/analyzers/ir"
	"github.com/fluxlint/fluxlint/internal/clients"
	"github.com/fluxlint/fluxlint/internal/lint"
	"github.com/fluxlint/fluxlint/internal/report"
	"github.com/fluxlint/fluxlint/rules"
	pgrules "github.com/fluxlint/fluxlint/rules/pg"
)

// TestSARIFSchema validates fluxlint's SARIF for the demo migrations (plans,
// code references as related locations) and for an input error against the
// official SARIF 2.1.0 JSON schema, and checks what code scanning needs: every
// result's rule is described with a help URI, levels map to SARIF's.
func TestSARIFSchema(t *testing.T) {
	schemaPath := clients.File(t, "sarif-2.1.0-rtm.5.json")
	c := jsonschema.NewCompiler()
	f, err := os.Open(schemaPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AddResource("sarif.json", doc); err != nil {
		t.Fatal(err)
	}
	schema, err := c.Compile("sarif.json")
	if err != nil {
		t.Fatal(err)
	}
	// The validator must catch a broken log, or it proves nothing.
	bad, err := jsonschema.UnmarshalJSON(strings.NewReader(`{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{"message": {"text": "m"}, "level": "fatal"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if schema.Validate(bad) == nil {
		t.Fatal("the schema accepts a result with level \"fatal\": it is not the SARIF schema")
	}
	known := append(rules.Tool(), pgrules.Rules()...)
	opt := lint.Options{Engine: ir.Postgres, Version: pgrules.DefaultVersion, Rules: pgrules.Rules(), CodePaths: []string{"../../fixtures/demo/app"}}
	demo := lint.Run([]string{"../../fixtures/demo/migrations"}, opt)
	broken := lint.Run([]string{"../../fixtures/demo/migrations", "no/such/dir"}, opt)
	if len(demo.Findings) == 0 || len(broken.Errors) == 0 {
		t.Fatalf("the inputs must give findings (%d) and an input error (%d)", len(demo.Findings), len(broken.Errors))
	}
	for name, res := range map[string]*lint.Result{"demo": demo, "input error": broken} {
		var buf bytes.Buffer
		if err := report.SARIF(&buf, res, known, "v1.2.3"); err != nil {
			t.Fatal(err)
		}
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		if err := schema.Validate(inst); err != nil {
			t.Errorf("%s: SARIF does not validate against the 2.1.0 schema: %v", name, err)
		}
		var log struct {
			Runs []struct {
				Tool struct {
					Driver struct {
						Rules []struct{ ID, HelpURI string }
					}
				}
				Results []struct {
					RuleID           string
					RuleIndex        int
					Level            string
					RelatedLocations []json.RawMessage
				}
				Invocations []struct{ ExecutionSuccessful bool }
			}
		}
		if err := json.Unmarshal(buf.Bytes(), &log); err != nil {
			t.Fatal(err)
		}
		run := log.Runs[0]
		if run.Invocations[0].ExecutionSuccessful != (len(res.Errors) == 0) {
			t.Errorf("%s: executionSuccessful must say whether input errors occurred", name)
		}
		related := 0
		for i, r := range run.Results {
			rule := run.Tool.Driver.Rules[r.RuleIndex]
			if rule.ID != r.RuleID || !strings.HasSuffix(rule.HelpURI, "/docs/rules/"+r.RuleID+".md") {
				t.Errorf("%s: result %d names %s but its rule entry is %+v", name, i, r.RuleID, rule)
			}
			if want := map[rules.Severity]string{rules.Error: "error", rules.Warning: "warning", rules.Info: "note"}[res.Findings[i].Severity]; r.Level != want {
				t.Errorf("%s: result %d level %q, want %q", name, i, r.Level, want)
			}
			related += len(r.RelatedLocations)
		}
		if len(run.Results) != len(res.Findings) || related == 0 {
			t.Errorf("%s: %d results for %d findings, %d related locations (the demo app references what is dropped)", name, len(run.Results), len(res.Findings), related)
		}
	}
}
