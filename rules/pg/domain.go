package pg

import (
	"fmt"
	"slices"
	"strings"

	"github.com/fluxlint/fluxlint/analyzers/catalog"
	"github.com/fluxlint/fluxlint/analyzers/ir"
	"github.com/fluxlint/fluxlint/rules"
	"github.com/fluxlint/fluxlint/rules/sqlgen"
)

var alterDomain = &rules.Rule{
	Code: "PG121", Name: "alter-domain-checks-every-row", Engine: ir.Postgres, Severity: rules.Error,
	Doc: rules.Doc{
		Title: "ALTER DOMAIN that checks every row of the tables using the domain",
		Why: "ALTER DOMAIN ... ADD CONSTRAINT (without NOT VALID), VALIDATE CONSTRAINT and SET NOT NULL read every " +
			"column of the domain in every table that has one, each table under a SHARE lock: writes to those " +
			"tables block until the scan ends. Unlike a table's constraint, a domain's has no online validation: " +
			"VALIDATE CONSTRAINT takes the same SHARE lock.",
		Bad:      "ALTER DOMAIN positive_int ADD CONSTRAINT positive_int_check CHECK (VALUE > 0);",
		Good:     "Add the constraint NOT VALID (instant: new and updated values are checked from then on), find the old values that break it with a read that blocks nothing, and VALIDATE at a quiet time, or keep such checks on the tables (ADD CONSTRAINT ... CHECK ... NOT VALID, then VALIDATE CONSTRAINT, which blocks no write).",
		Versions: "All supported versions.",
	},
	Check: func(p *rules.Pass) {
		op, ok := p.Op.(ir.AlterDomain)
		if !ok || !domainScans(op) {
			return
		}
		var users []catalog.ColumnRef
		for _, u := range p.Catalog.DomainUsers(op.Name) {
			if p.Existing(u.Table) {
				users = append(users, u)
			}
		}
		if len(users) == 0 {
			return
		}
		var tables []string
		for _, u := range users {
			if !slices.Contains(tables, tableLabel(u.Table)) {
				tables = append(tables, tableLabel(u.Table))
			}
		}
		msg := fmt.Sprintf("ALTER DOMAIN %s %s reads every value of the domain in existing table %s under a SHARE lock: writes block until the scan ends",
			op.Name.Name, op.Kind, strings.Join(tables, ", "))
		claim := rules.Takes(rules.Share, users[0].Table).Scanning()
		var plan *rules.Plan
		switch op.Kind {
		case "ADD CONSTRAINT":
			plan = domainCheckPlan(p, op, users)
		case "VALIDATE CONSTRAINT", "SET NOT NULL":
			msg += "; PostgreSQL has no online way to do this for a domain: run it at a quiet time, after checking the old values with a read that blocks nothing"
		}
		f := p.Report(msg, plan).Claims(claim)
		if plan == nil {
			f.Severity = rules.Warning
		}
	},
}

// domainCheckPlan adds a domain's CHECK constraint NOT VALID, checks the
// old values without blocking writes, then validates.
func domainCheckPlan(p *rules.Pass, op ir.AlterDomain, users []catalog.ColumnRef) *rules.Plan {
	if op.Check == "" {
		return nil
	}
	domain := sqlgen.Name(op.Name)
	name := op.Constraint
	if name == "" {
		name = op.Name.Name + "_check" // PostgreSQL's own name for it
	}
	add := migration(p, "add the constraint NOT VALID: new and updated values are checked from now on, old ones are not read",
		fmt.Sprintf("ALTER DOMAIN %s ADD CONSTRAINT %s CHECK (%s) NOT VALID;", domain, sqlgen.Ident(name), op.Check),
		fmt.Sprintf("ALTER DOMAIN %s DROP CONSTRAINT IF EXISTS %s;", domain, sqlgen.Ident(name)), "", false)
	var reads []string
	for _, u := range users {
		// A cast through text coerces the stored value into the domain
		// again, which checks every constraint, NOT VALID ones too.
		reads = append(reads, fmt.Sprintf("SELECT count(%s::text::%s) FROM %s;", sqlgen.Ident(u.Column), domain, sqlgen.Name(u.Table)))
	}
	check := rules.Step{Kind: rules.StepCheckpoint, Title: "read the old values through the domain: a plain read, no lock that blocks writes",
		Forward: strings.Join(reads, "\n"),
		Note:    "Each query fails with SQLSTATE 23514 at the first value that breaks the constraint; fix those rows (in batches) and run it again until every query returns its count."}
	validate := migration(p, "validate at a quiet time: this still blocks writes to the tables while it reads them (SHARE lock)",
		withLockTimeout(p, fmt.Sprintf("ALTER DOMAIN %s VALIDATE CONSTRAINT %s;", domain, sqlgen.Ident(name))), "", rules.Share, false)
	validate.SeparateDeploy = true
	return &rules.Plan{Title: "add the domain constraint NOT VALID, check old values, validate later", Steps: []rules.Step{add, check, validate}}
}
