package pg

import (
	"fmt"

	"github.com/fluxlint/fluxlint/analyzers/ir"
	"github.com/fluxlint/fluxlint/rules"
	"github.com/fluxlint/fluxlint/rules/sqlgen"
)

var addJSONColumn = &rules.Rule{
	Code: "PG307", Name: "add-json-column", Engine: ir.Postgres, Severity: rules.Warning,
	Doc: rules.Doc{
		Title: "ADD COLUMN of type json on an existing table",
		Why: "The json type has no equality operator. Once an existing table has a json column, the deployed queries " +
			"that compare its whole rows fail: SELECT DISTINCT *, a UNION (without ALL) of SELECT *, a GROUP BY or " +
			"DISTINCT ON every column, an IN or = on a row of the table (SQLSTATE 42883, could not identify an " +
			"equality operator for type json). jsonb has the operator, and is what nearly every use wants.",
		Bad:      "ALTER TABLE events ADD COLUMN payload json;",
		Good:     "ALTER TABLE events ADD COLUMN payload jsonb;",
		Versions: "All supported versions.",
	},
	Check: func(p *rules.Pass) {
		rules.AlterCmds(p, func(table ir.QName, a ir.AddColumn) {
			if a.Column.Type.Name != "json" {
				return
			}
			query := fmt.Sprintf("SELECT DISTINCT * FROM %s", sqlgen.Name(table))
			msg := fmt.Sprintf("ADD COLUMN %q json on existing table %s: json has no equality operator, so deployed queries that compare its whole rows (%s, a UNION of SELECT *, GROUP BY every column) fail from now on with SQLSTATE 42883; use jsonb",
				a.Column.Name, tableLabel(table), query)
			p.Report(msg, nil).Claims(rules.BreaksQuery(table, query, "42883"))
		})
	},
}
