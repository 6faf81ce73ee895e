package pg

import (
	"fmt"

	"github.com/fluxlint/fluxlint/analyzers/ir"
	pganalyzer "github.com/fluxlint/fluxlint/analyzers/pg"
	"github.com/fluxlint/fluxlint/rules"
)

var identifierTooLong = &rules.Rule{
	Code: "PG124", Name: "identifier-too-long", Engine: ir.Postgres, Severity: rules.Warning,
	Doc: rules.Doc{
		Title: "a name longer than the 63 bytes PostgreSQL keeps",
		Why: "PostgreSQL keeps the first 63 bytes of a name (NAMEDATALEN - 1) and drops the rest with only a NOTICE " +
			"(SQLSTATE 42622). The object gets a name other than the one written: code, ORMs and schema-diff tools " +
			"that use the full name do not find it, and two names alike in their first 63 bytes are one, so the " +
			"second CREATE fails (42P07) or, with IF NOT EXISTS, silently does nothing.",
		Bad:      "CREATE INDEX index_subscriptions_on_account_id_and_plan_id_and_status_and_created_at ON subscriptions (account_id, plan_id, status, created_at);",
		Good:     "Name it within 63 bytes: CREATE INDEX subscriptions_account_plan_status_created_idx ON subscriptions (account_id, plan_id, status, created_at);",
		Versions: "All versions built with the default NAMEDATALEN of 64.",
	},
	Check: func(p *rules.Pass) {
		if p.OpIndex != 0 || !definesNames(p.Stmt.Ops) {
			return // once per statement, where it names what it creates
		}
		for _, name := range pganalyzer.LongIdentifiers(p.Stmt.Text) {
			msg := fmt.Sprintf("name %q is %d bytes: PostgreSQL keeps only its first %d, %q, so code and tools that use the full name will not find it, and another name alike in those bytes is the same one; shorten it",
				abbreviate(name), len(name), pganalyzer.MaxIdentifier, pganalyzer.Truncated(name))
			p.Report(msg, nil).Claims(rules.Notes("42622"))
		}
	},
}

// definesNames reports whether a statement creates or renames something,
// where a name too long is given rather than only referred to.
func definesNames(ops []ir.Op) bool {
	for _, op := range ops {
		switch o := op.(type) {
		case ir.CreateTable, ir.CreateIndex, ir.CreateView, ir.CreateEnum, ir.CreateSchema, ir.RenameIndex, ir.RenameEnumValue, ir.AddEnumValue:
			return true
		case ir.AlterTable:
			for _, c := range o.Cmds {
				switch c.(type) {
				case ir.AddColumn, ir.AddConstraint, ir.RenameTable, ir.RenameColumn:
					return true
				}
			}
		}
	}
	return false
}

// abbreviate shortens a long name for a message, keeping both ends.
func abbreviate(name string) string {
	if len(name) <= 80 {
		return name
	}
	return name[:40] + "…" + name[len(name)-20:]
}
