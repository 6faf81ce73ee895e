// Package pg holds the PostgreSQL rules, one file per rule with its docs.
package pg

import (
	"fmt"

	"github.com/fluxlint/fluxlint/analyzers/catalog"
	"github.com/fluxlint/fluxlint/analyzers/ir"
	"github.com/fluxlint/fluxlint/rules"
	"github.com/fluxlint/fluxlint/rules/sqlgen"
)

// Rules returns the PostgreSQL rules, ordered by code.
func Rules() []*rules.Rule {
	rs := []*rules.Rule{createIndex, dropIndex, failsOnServer, concurrentlyInTx, setNotNull, addCheck, addForeignKey, validateSameTx, attachPartition, detachPartition,
		enumAddValue, excludeConstraint, setLogged, strongLocks, pg14Concurrent,
		addUniqueOrPK, foreignKeyWithoutIndex, reindex, refreshMatView, rebuild, lockTimeout, addRequiredColumn, addColumnRewrite, alterColumnType,
		unbatchedDML, dropColumn, dropTable, renameColumn, renameTable, truncate, alterDomain, txLeftOpen, txNesting, renameEnumValue, identifierTooLong, addJSONColumn, flywayMixed, dropNotNull}
	rules.Sort(rs)
	return rs
}

// DefaultVersion is the PostgreSQL major version assumed when none is given.
const DefaultVersion = 15

// MinVersion and MaxVersion bound the PostgreSQL majors fluxlint knows.
const (
	MinVersion = 10
	MaxVersion = 18
)

// migration builds a migration step; when it must run outside a transaction
// it carries the file in the tool's own convention.
func migration(p *rules.Pass, title, forward, rollback, lock string, noTx bool) rules.Step {
	s := rules.Step{Kind: rules.StepMigration, Title: title, Forward: forward, Rollback: rollback, Lock: lock, NoTransaction: noTx}
	inToolFile(p, &s)
	return s
}

// inToolFile gives a step that must run outside a transaction its complete
// migration file in the tool's convention, or says why the tool cannot.
func inToolFile(p *rules.Pass, s *rules.Step) {
	if !s.NoTransaction {
		return
	}
	file, why := sqlgen.MigrationFile(p.File.Tool, s.Forward, s.Rollback, true)
	s.File = file
	s.Note = rules.JoinNotes(s.Note, why)
}

// withLockTimeout prefixes SQL that takes a strong lock with lock_timeout;
// the step runs it in a retry block when it is output (Step.ForwardSQL).
func withLockTimeout(p *rules.Pass, sql string) string {
	return sqlgen.SetLockTimeout(p.Thresholds.LockTimeout) + "\n" + sql
}

// batching is how the pass's plans batch backfills and deletes.
func batching(p *rules.Pass) sqlgen.Batching {
	return sqlgen.Batching{Size: p.Thresholds.BatchSize, Pause: p.Thresholds.BatchPause}
}

// tableLabel names a table in messages the way the migration wrote it.
func tableLabel(q ir.QName) string { return fmt.Sprintf("%q", q.String()) }

// ownerTable resolves the table an index belongs to, when the catalog knows.
func ownerTable(c *catalog.Catalog, index ir.QName) (ir.QName, *catalog.Index) {
	i := c.Index(index)
	if i == nil {
		return ir.QName{}, nil
	}
	return i.Def.Table, i
}
