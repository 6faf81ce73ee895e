// Package pg holds the PostgreSQL rules, one file per rule with its docs.
package pg

import (
	"fmt"
	"strings"

	"github.com/fluxlint/fluxlint/analyzers/catalog"
	"github.com/fluxlint/fluxlint/analyzers/ir"
	"github.com/fluxlint/fluxlint/rules"
	"github.com/fluxlint/fluxlint/rules/sqlgen"
)

// Rules returns the PostgreSQL rules, ordered by code.
func Rules() []*rules.Rule {
	rs := []*rules.Rule{createIndex, dropIndex, concurrentlyInTx, setNotNull, addCheck, addForeignKey, validateSameTx, attachPartition, detachPartition,
		enumAddValue, excludeConstraint, setLogged, strongLocks, pg14Concurrent,
		addUniqueOrPK, foreignKeyWithoutIndex, reindex, refreshMatView, rebuild, lockTimeout, addRequiredColumn, addColumnRewrite, alterColumnType,
		unbatchedDML, dropColumn, dropTable, renameColumn, renameTable, truncate}
	rules.Sort(rs)
	return rs
}

// DefaultVersion is the PostgreSQL major version assumed when none is given.
const DefaultVersion = 15

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
	s.Note = joinNotes(s.Note, why)
}

// withLockTimeout prefixes SQL that takes a strong lock with lock_timeout.
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

// attachRefs is the WithRefs of the rules about dropping or renaming: the
// code references become related locations, listed in the plan's code
// deploy step, and decide the severity: an error while code still uses the
// object, a warning (data loss, separate deploy) when none is found.
func attachRefs(f *rules.Finding, refs []rules.Related, ignored bool) {
	f.Related = refs
	f.Severity = rules.Warning
	note := "The code search found no reference left."
	if ignored {
		note = "The code already declares it removed (ActiveRecord ignored_columns)."
	}
	if len(refs) > 0 {
		f.Severity = rules.Error
		var b strings.Builder
		if len(refs) == 1 {
			b.WriteString("Remove this reference first:")
		} else {
			fmt.Fprintf(&b, "Remove these %d references first:", len(refs))
		}
		for _, r := range refs {
			fmt.Fprintf(&b, "\n  %s:%d %s", r.Path, r.Line, r.Message)
		}
		note = b.String()
	}
	if f.Plan == nil {
		return
	}
	for i := range f.Plan.Steps {
		if f.Plan.Steps[i].Kind == rules.StepCodeDeploy {
			f.Plan.Steps[i].Note = joinNotes(note, f.Plan.Steps[i].Note)
			return
		}
	}
}

// alterCmds calls fn for every subcommand of type T of an ALTER TABLE on a
// table that existed before the change under review.
func alterCmds[T ir.AlterCmd](p *rules.Pass, fn func(table ir.QName, cmd T)) {
	op, ok := p.Op.(ir.AlterTable)
	if !ok || !p.Existing(op.Table) {
		return
	}
	for _, c := range op.Cmds {
		if x, ok := c.(T); ok {
			fn(op.Table, x)
		}
	}
}
