package pg

import (
	"fmt"
	"slices"
	"strings"

	"github.com/fluxlint/fluxlint/analyzers/catalog"
	"github.com/fluxlint/fluxlint/analyzers/ir"
	pganalyzer "github.com/fluxlint/fluxlint/analyzers/pg"
	"github.com/fluxlint/fluxlint/rules"
	"github.com/fluxlint/fluxlint/rules/sqlgen"
)

// boundCheck is a CHECK expression that implies a partition bound, for a
// single-column range or list key; "" when none can be written.
func boundCheck(key *ir.PartitionKey, b ir.PartitionBound) string {
	if key == nil || len(key.Columns) != 1 || b.Default {
		return ""
	}
	k := sqlgen.Ident(key.Columns[0])
	switch key.Strategy {
	case "range":
		if len(b.From) != 1 || len(b.To) != 1 {
			return ""
		}
		parts := []string{k + " IS NOT NULL"}
		if b.From[0] != "MINVALUE" {
			parts = append(parts, fmt.Sprintf("%s >= %s", k, b.From[0]))
		}
		if b.To[0] != "MAXVALUE" {
			parts = append(parts, fmt.Sprintf("%s < %s", k, b.To[0]))
		}
		return strings.Join(parts, " AND ")
	case "list":
		var vals []string
		for _, v := range b.In {
			if strings.EqualFold(v, "NULL") {
				return ""
			}
			vals = append(vals, v)
		}
		return fmt.Sprintf("%s IS NOT NULL AND %s IN (%s)", k, k, strings.Join(vals, ", "))
	}
	return ""
}

// outsideRange is a CHECK for the DEFAULT partition that refutes a new
// single-column range bound, so attaching it need not scan the default.
func outsideRange(key *ir.PartitionKey, b ir.PartitionBound) string {
	if key == nil || len(key.Columns) != 1 || key.Strategy != "range" || len(b.From) != 1 || len(b.To) != 1 {
		return ""
	}
	k := sqlgen.Ident(key.Columns[0])
	var parts []string
	if b.From[0] != "MINVALUE" {
		parts = append(parts, fmt.Sprintf("%s < %s", k, b.From[0]))
	}
	if b.To[0] != "MAXVALUE" {
		parts = append(parts, fmt.Sprintf("%s >= %s", k, b.To[0]))
	}
	if len(parts) == 0 {
		return ""
	}
	return strings.Join(parts, " OR ")
}

var attachPartition = &rules.Rule{
	Code: "PG114", Name: "attach-partition-scan", Engine: ir.Postgres, Severity: rules.Error, Sized: true,
	Doc: rules.Doc{
		Title: "ATTACH PARTITION that scans under an ACCESS EXCLUSIVE lock",
		Why: "ATTACH PARTITION takes ACCESS EXCLUSIVE on the partition and scans it to prove every row fits the " +
			"bound, unless a validated CHECK constraint already implies it. When the parent has a DEFAULT partition, " +
			"it also scans the default partition under ACCESS EXCLUSIVE, blocking its reads and writes, to prove no " +
			"row there belongs to the new bound.",
		Bad:      "ALTER TABLE measurements ATTACH PARTITION measurements_2026 FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');",
		Good:     "First add a CHECK matching the bound to the partition NOT VALID and VALIDATE it (no write lock); with a DEFAULT partition, likewise add a CHECK excluding the new range to the default. The attach then skips both scans. Drop the helper checks afterwards.",
		Versions: "All supported versions (declarative partitioning, PostgreSQL 10+).",
	},
	Check: func(p *rules.Pass) {
		op, ok := p.Op.(ir.AlterTable)
		if !ok {
			return
		}
		for _, cmd := range op.Cmds {
			a, ok := cmd.(ir.AttachPartition)
			if !ok {
				continue
			}
			parent := p.Catalog.Table(op.Table)
			var key *ir.PartitionKey
			if parent != nil {
				key = parent.PartitionBy
			}
			def := p.Catalog.DefaultPartition(op.Table)
			scansPart := p.Existing(a.Partition) && !hasBoundCheck(p.Catalog, a.Partition, key)
			scansDef := def != nil && !a.Bound.Default && !hasBoundCheck(p.Catalog, def.Name, key)
			if !scansPart && !scansDef {
				continue
			}
			var what []string
			if scansPart {
				what = append(what, fmt.Sprintf("scans partition %s under an ACCESS EXCLUSIVE lock to prove its rows fit the bound", tableLabel(a.Partition)))
			}
			if scansDef {
				what = append(what, fmt.Sprintf("scans the DEFAULT partition %s under an ACCESS EXCLUSIVE lock, blocking its reads and writes", tableLabel(def.Name)))
			}
			msg := fmt.Sprintf("ATTACH PARTITION %s %s", tableLabel(a.Partition), strings.Join(what, ", and "))
			scanned := a.Partition
			if !scansPart {
				scanned = def.Name
			}
			p.Report(msg, attachPlan(p, op.Table, a, key, def, scansPart, scansDef)).Claims(rules.Takes(rules.AccessExclusive, scanned).Scanning())
		}
	},
}

// hasBoundCheck reports whether a partition has a validated CHECK on all
// partition key columns, which fluxlint takes as proving its bound (or, on
// the DEFAULT partition, excluding the new one).
func hasBoundCheck(c *catalog.Catalog, part ir.QName, key *ir.PartitionKey) bool {
	t := c.Table(part)
	if t == nil || key == nil || len(key.Columns) == 0 {
		return false
	}
	for _, k := range t.Constraints {
		if k.Kind != ir.Check || !k.Validated {
			continue
		}
		all := true
		for _, col := range key.Columns {
			all = all && slices.Contains(k.Columns, col)
		}
		if all {
			return true
		}
	}
	return false
}

func attachPlan(p *rules.Pass, parent ir.QName, a ir.AttachPartition, key *ir.PartitionKey, def *catalog.Table, scansPart, scansDef bool) *rules.Plan {
	var steps, after []rules.Step
	helper := func(table ir.QName, name, expr string) {
		k := ir.Constraint{Kind: ir.Check, Name: name, Expr: expr}
		steps = append(steps, notValidSteps(p, table, k)...)
		drop := migration(p, fmt.Sprintf("drop the helper check on %s, no longer needed", table),
			withLockTimeout(p, sqlgen.DropConstraint(table, name)), withLockTimeout(p, sqlgen.AddConstraint(table, k, true)), "ACCESS EXCLUSIVE", false)
		after = append(after, drop)
	}
	if scansPart {
		expr := boundCheck(key, a.Bound)
		if expr == "" {
			return nil
		}
		helper(a.Partition, suffixed(a.Partition.Name, "_bound_check"), expr)
	}
	if scansDef {
		expr := outsideRange(key, a.Bound)
		if expr == "" {
			return nil
		}
		helper(def.Name, suffixed(def.Name.Name, "_excl_check"), expr)
	}
	attach := migration(p, "attach the partition: the validated checks prove the bounds, so nothing is scanned",
		withLockTimeout(p, fmt.Sprintf("ALTER TABLE %s ATTACH PARTITION %s %s;", sqlgen.Name(parent), sqlgen.Name(a.Partition), sqlgen.Bound(a.Bound))),
		withLockTimeout(p, fmt.Sprintf("ALTER TABLE %s DETACH PARTITION %s;", sqlgen.Name(parent), sqlgen.Name(a.Partition))), "ACCESS EXCLUSIVE on the partition, SHARE UPDATE EXCLUSIVE on the parent", false)
	steps = append(append(steps, attach), after...)
	return &rules.Plan{Title: "prove the bounds with validated checks, then attach without scanning", Steps: steps}
}

var detachPartition = &rules.Rule{
	Code: "PG115", Name: "detach-partition-without-concurrently", Engine: ir.Postgres, Severity: rules.Error, Sized: true,
	Doc: rules.Doc{
		Title: "DETACH PARTITION without CONCURRENTLY",
		Why: "A plain DETACH PARTITION takes ACCESS EXCLUSIVE on the parent table: every query on any partition " +
			"waits while it waits for the lock and runs.",
		Bad:      "ALTER TABLE measurements DETACH PARTITION measurements_2024;",
		Good:     "ALTER TABLE measurements DETACH PARTITION measurements_2024 CONCURRENTLY; in its own migration outside a transaction (PostgreSQL 14+). It is not allowed while the parent has a DEFAULT partition. If it is interrupted, finish it with DETACH PARTITION ... FINALIZE.",
		Versions: "CONCURRENTLY exists from PostgreSQL 14.",
	},
	Check: func(p *rules.Pass) {
		rules.AlterCmds(p, func(table ir.QName, d ir.DetachPartition) {
			if d.Concurrently || d.Finalize {
				return
			}
			msg := fmt.Sprintf("DETACH PARTITION %s without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on %s: queries on every partition wait", tableLabel(d.Partition), tableLabel(table))
			switch {
			case p.Version < 14:
				p.Report(msg+fmt.Sprintf("; PostgreSQL %d has no DETACH ... CONCURRENTLY: run it with lock_timeout at a quiet time", p.Version), nil).
					Claims(rules.Takes(rules.AccessExclusive, table))
				return
			case p.Catalog.DefaultPartition(table) != nil:
				p.Report(msg+"; CONCURRENTLY is not allowed while the parent has a DEFAULT partition: run it with lock_timeout at a quiet time", nil).
					Claims(rules.Takes(rules.AccessExclusive, table))
				return
			}
			part := p.Catalog.Table(d.Partition)
			parent := p.Catalog.Table(table)
			// CONCURRENTLY leaves the bound behind as a CHECK constraint on
			// the detached table, named as PostgreSQL names it.
			var key *ir.PartitionKey
			if parent != nil {
				key = parent.PartitionBy
			}
			var leftover string
			if key != nil && len(key.Columns) == 1 {
				leftover = pganalyzer.ObjectName(d.Partition.Name, key.Columns[0], "check")
			}
			rollback := ""
			if part != nil && part.Bound != nil {
				rollback = fmt.Sprintf("ALTER TABLE %s ATTACH PARTITION %s %s;", sqlgen.Name(table), sqlgen.Name(d.Partition), sqlgen.Bound(*part.Bound))
				if leftover != "" {
					rollback += "\n" + sqlgen.DropConstraint(d.Partition, leftover)
				}
				rollback = withLockTimeout(p, rollback)
			}
			step := migration(p, "detach concurrently, in its own migration outside a transaction",
				fmt.Sprintf("ALTER TABLE %s DETACH PARTITION %s CONCURRENTLY;", sqlgen.Name(table), sqlgen.Name(d.Partition)), rollback, "SHARE UPDATE EXCLUSIVE on the parent", true)
			step.Note = rules.JoinNotes(step.Note, fmt.Sprintf("If it is interrupted, finish it with: ALTER TABLE %s DETACH PARTITION %s FINALIZE;", sqlgen.Name(table), sqlgen.Name(d.Partition)))
			if rollback == "" {
				step.Note = rules.JoinNotes(step.Note, "The partition's bound is not in the migrations fluxlint read, so the rollback cannot re-attach it.")
			}
			steps := []rules.Step{step}
			if expr := boundCheck(key, boundOf(part)); leftover != "" && expr != "" {
				k := ir.Constraint{Kind: ir.Check, Name: leftover, Expr: expr}
				steps = append(steps, migration(p, fmt.Sprintf("drop the CHECK %s that CONCURRENTLY left on the detached table (keep it instead if you may re-attach it)", leftover),
					withLockTimeout(p, sqlgen.DropConstraint(d.Partition, leftover)), withLockTimeout(p, sqlgen.AddConstraint(d.Partition, k, false)), "ACCESS EXCLUSIVE on the detached table", false))
			}
			p.Report(msg, &rules.Plan{Title: "detach without blocking the parent", Steps: steps}).Claims(rules.Takes(rules.AccessExclusive, table))
		})
	},
}

func boundOf(t *catalog.Table) ir.PartitionBound {
	if t == nil || t.Bound == nil {
		return ir.PartitionBound{Default: true} // no bound known: boundCheck writes none
	}
	return *t.Bound
}
