// Package mysql holds the MySQL and MariaDB rules, with their docs. Codes
// share their suffix with the PostgreSQL rule of the same concept: MY301 is
// PG301's DROP COLUMN.
package mysql

import (
	"fmt"
	"slices"

	"github.com/fluxlint/fluxlint/analyzers/catalog"
	"github.com/fluxlint/fluxlint/analyzers/ir"
	"github.com/fluxlint/fluxlint/rules"
	"github.com/fluxlint/fluxlint/rules/sqlgen/mysqlgen"
)

// Rules returns the MySQL rules, ordered by code.
func Rules() []*rules.Rule {
	rs := []*rules.Rule{lockWaitTimeout, failsOnServer, tableCopy, tableRebuild, blocksWrites, unbatchedDML, notNullWithoutDefault, rowVersionBudget, dropColumn, dropTable, renameColumn, renameTable}
	rules.Sort(rs)
	return rs
}

// Verified names the server the plans are executed on by the test suite.
const Verified = "MariaDB 10.11"

// migration builds a migration step; SQL with a procedure body carries its
// file in the tool's convention when the tool needs one.
func migration(p *rules.Pass, title, forward, rollback, lock string) rules.Step {
	return rules.Step{Kind: rules.StepMigration, Title: title, Forward: forward, Rollback: rollback, Lock: lock,
		File: mysqlgen.MigrationFile(p.File.Tool, forward, rollback)}
}

// withLockWait prefixes DDL with lock_wait_timeout, so that a step blocked
// behind a long transaction fails fast instead of queueing every query.
func withLockWait(p *rules.Pass, sql string) string {
	return mysqlgen.LockWaitTimeout(p.Thresholds.LockTimeout) + "\n" + sql
}

func batching(p *rules.Pass) mysqlgen.Batching {
	return mysqlgen.Batching{Size: p.Thresholds.BatchSize, Pause: p.Thresholds.BatchPause}
}

func tableLabel(q ir.QName) string { return fmt.Sprintf("%q", q.String()) }

// incomingKey is a foreign key of another table that references a table.
type incomingKey struct {
	Table ir.QName
	Key   ir.Constraint
}

// incomingKeys lists the foreign keys of other tables that reference table.
func incomingKeys(c *catalog.Catalog, table ir.QName) []incomingKey {
	var out []incomingKey
	for _, other := range c.TablesReferencing(table) {
		for _, k := range other.Constraints {
			if k.Kind == ir.ForeignKey && c.Same(k.RefTable, table) && !c.Same(other.Name, table) {
				out = append(out, incomingKey{other.Name, k.Constraint})
			}
		}
	}
	return out
}

// referencedBy names, as "table.constraint", the foreign keys of other
// tables that reference any of the table's columns cols.
func referencedBy(c *catalog.Catalog, table ir.QName, cols []string) []string {
	var out []string
	for _, in := range incomingKeys(c, table) {
		if slices.ContainsFunc(in.Key.RefColumns, func(n string) bool { return slices.Contains(cols, n) }) {
			out = append(out, in.Table.Name+"."+in.Key.Name)
		}
	}
	return out
}

// prefixName is name cut to MySQL's 64-character identifier limit.
func prefixName(parts ...string) string {
	name := ""
	for i, s := range parts {
		if i > 0 {
			name += "_"
		}
		name += s
	}
	if len(name) > 64 {
		name = name[:64]
	}
	return name
}
