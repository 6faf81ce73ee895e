package pg

import (
	"fmt"

	"github.com/fluxlint/fluxlint/analyzers/ir"
	"github.com/fluxlint/fluxlint/rules"
)

var failsOnServer = &rules.Rule{
	Code: "PG120", Name: "statement-fails-on-server", Engine: ir.Postgres, Severity: rules.Error,
	Doc: rules.Doc{
		Title: "A statement PostgreSQL rejects",
		Why: "Some statements are refused by the server whatever the data: a second PRIMARY KEY, CREATE INDEX CONCURRENTLY on a " +
			"partitioned table, DROP INDEX CONCURRENTLY of several indexes or with CASCADE, REFRESH MATERIALIZED " +
			"VIEW CONCURRENTLY of a view without a unique index. The migration fails at that statement, after " +
			"the ones before it may have run: a deploy that fails halfway is worse than one that locks.",
		Bad:      "CREATE INDEX CONCURRENTLY measurements_value_idx ON measurements (value);  -- measurements is partitioned",
		Good:     "Build a partitioned table's index partition by partition: CREATE INDEX ... ON ONLY the parent, CREATE INDEX CONCURRENTLY on each partition, ALTER INDEX ... ATTACH PARTITION each. Drop indexes concurrently one statement each, without CASCADE. Give a materialized view a unique index on plain columns before refreshing it concurrently.",
		Versions: "All supported versions (SQLSTATE 0A000 feature not supported, 55000 object not in prerequisite state).",
	},
	Check: func(p *rules.Pass) {
		rules.AlterCmds(p, func(table ir.QName, a ir.AddConstraint) {
			if a.Constraint.Kind == ir.PrimaryKey && hasPrimaryKey(p, table) {
				p.Report(fmt.Sprintf("ADD PRIMARY KEY on %s fails (SQLSTATE 42P16): the table has a primary key already; drop it first, or add a UNIQUE constraint instead", tableLabel(table)), nil).
					Claims(rules.Fails("42P16", table))
			}
		})
		switch op := p.Op.(type) {
		case ir.CreateIndex:
			t := p.Catalog.Table(op.Index.Table)
			if !op.Concurrently || t == nil || t.PartitionBy == nil {
				return
			}
			msg := fmt.Sprintf("CREATE INDEX CONCURRENTLY on partitioned table %s fails (SQLSTATE 0A000): PostgreSQL builds a partitioned table's index concurrently only partition by partition", tableLabel(op.Index.Table))
			p.Report(msg, partitionedIndexPlan(p, op.Index)).Claims(rules.Fails("0A000", op.Index.Table))
		case ir.Drop:
			if op.Kind != ir.KindIndex || !op.Concurrently || len(op.Names) < 2 && !op.Cascade {
				return
			}
			why := "of several indexes in one statement"
			if op.Cascade {
				why = "with CASCADE"
			}
			steps := concurrentDrops(p, op.Names, "in a statement of its own")
			msg := fmt.Sprintf("DROP INDEX CONCURRENTLY %s fails (SQLSTATE 0A000): it drops one index per statement, without CASCADE", why)
			if op.Cascade {
				msg += "; drop what depends on the index first, in its own statement"
			}
			table, _ := ownerTable(p.Catalog, op.Names[0])
			p.Report(msg, &rules.Plan{Title: "one concurrent drop per index", Steps: steps}).Claims(rules.Fails("0A000", table))
		case ir.Refresh:
			v := p.Catalog.Table(op.View)
			if !op.Concurrently || v == nil || v.Kind != ir.KindMatView || hasPlainUniqueIndex(p.Catalog, op.View) {
				return
			}
			msg := fmt.Sprintf("REFRESH MATERIALIZED VIEW CONCURRENTLY %s fails (SQLSTATE 55000): the view has no unique index on plain columns covering every row; create one (CREATE UNIQUE INDEX CONCURRENTLY on the columns that identify a row) in an earlier migration", tableLabel(op.View))
			p.Report(msg, nil).Claims(rules.Fails("55000", op.View))
		}
	},
}

// hasPrimaryKey reports a primary key on a table the catalog knows in full
// that the statement keeps: an ALTER that also drops a column or a
// constraint may drop the key before adding the new one.
func hasPrimaryKey(p *rules.Pass, table ir.QName) bool {
	if a, ok := p.Op.(ir.AlterTable); ok {
		for _, c := range a.Cmds {
			switch c.(type) {
			case ir.DropColumn, ir.DropConstraint:
				return false
			}
		}
	}
	t := p.Catalog.Table(table)
	return t != nil && !t.Unknown && len(t.PrimaryKey()) > 0
}
