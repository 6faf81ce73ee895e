package pg

import (
	"fmt"

	"github.com/fluxlint/fluxlint/analyzers/catalog"
	"github.com/fluxlint/fluxlint/analyzers/ir"
	"github.com/fluxlint/fluxlint/rules"
	"github.com/fluxlint/fluxlint/rules/sqlgen"
)

var addColumnRewrite = &rules.Rule{
	Code: "PG202", Name: "add-column-rewrites-table", Engine: ir.Postgres, Severity: rules.Error, Sized: true,
	Doc: rules.Doc{
		Title: "ADD COLUMN that rewrites an existing table",
		Why: "PostgreSQL 11+ adds a column with a constant default without touching the rows. A volatile default " +
			"(random(), clock_timestamp(), gen_random_uuid(), nextval()), serial, identity and GENERATED ... STORED " +
			"columns need a value computed for every row, and a column of a domain with CHECK or NOT NULL " +
			"constraints needs every row's value checked, so the whole table and its indexes are rewritten under an " +
			"ACCESS EXCLUSIVE lock: reads and writes block until it ends. Before PostgreSQL 11 any default rewrites.",
		Bad:      "ALTER TABLE users ADD COLUMN token uuid NOT NULL DEFAULT gen_random_uuid();",
		Good:     "Add the column nullable without the default; SET DEFAULT so new rows get it; backfill existing rows in batches; then add NOT NULL through a validated check. For serial and identity, back the column with a sequence the same way. A stored generated column has no online path.",
		Versions: "Constant defaults are instant from PostgreSQL 11 and not flagged there. A default calling a function fluxlint does not know is reported as a possible rewrite.",
	},
	Check: func(p *rules.Pass) {
		rules.AlterCmds(p, func(table ir.QName, add ir.AddColumn) {
			c := add.Column
			t := tableLabel(table)
			rewrite := fmt.Sprintf("rewrites existing table %s under an ACCESS EXCLUSIVE lock: reads and writes block until every row is rewritten", t)
			claim := rules.Takes(rules.AccessExclusive, table).Rewriting()
			switch {
			case c.Generated != nil:
				p.Report(fmt.Sprintf("ADD COLUMN %q GENERATED ALWAYS AS (...) STORED %s; there is no online way to add a stored generated column: add a plain column kept in sync by a trigger, or accept the rewrite at a quiet time", c.Name, rewrite), nil).Claims(claim)
			case c.Serial || c.Identity != "":
				kind := c.Type.SQL
				if c.Identity != "" {
					kind = "GENERATED " + upper(c.Identity) + " AS IDENTITY"
				}
				p.Report(fmt.Sprintf("ADD COLUMN %q %s %s", c.Name, kind, rewrite), sequencePlan(p, table, c)).Claims(claim)
			case constrainedDomain(p, c.Type) != nil:
				d := constrainedDomain(p, c.Type)
				if d.NotNull && (c.Default == nil || c.Default.SQL == "NULL") {
					p.Report(fmt.Sprintf("ADD COLUMN %q of domain %s, which is NOT NULL, without a DEFAULT fails on existing table %s as soon as it has a row (SQLSTATE 23502: the new column is NULL in every row)", c.Name, d.Name.Name, t), nil).
						Claims(rules.Fails("23502", table))
					return
				}
				p.Report(fmt.Sprintf("ADD COLUMN %q of domain %s, which has constraints, %s: PostgreSQL checks the new value of every row against the domain. There is no online way to add a column of a constrained domain: add it with the domain's base type and put the check on the table (ADD CONSTRAINT ... CHECK ... NOT VALID, then VALIDATE CONSTRAINT), or accept the rewrite at a quiet time", c.Name, d.Name.Name, rewrite), nil).Claims(claim)
			case c.Default == nil || c.Default.SQL == "NULL":
			case c.Default.Volatility == ir.Volatile:
				p.Report(fmt.Sprintf("ADD COLUMN %q with volatile DEFAULT %s %s", c.Name, c.Default.SQL, rewrite), defaultPlan(p, table, c)).Claims(claim)
			case p.Version < 11:
				p.Report(fmt.Sprintf("ADD COLUMN %q with DEFAULT %s on PostgreSQL %d %s", c.Name, c.Default.SQL, p.Version, rewrite), defaultPlan(p, table, c)).Claims(claim)
			case c.Default.Volatility == ir.VolatilityUnknown:
				f := p.Report(fmt.Sprintf("ADD COLUMN %q with DEFAULT %s calls a function fluxlint does not know: if it is volatile, this %s", c.Name, c.Default.SQL, rewrite), defaultPlan(p, table, c)).Claims(claim.Maybe())
				f.Severity = rules.Warning
			}
		})
	},
}

// constrainedDomain returns the domain a type is when it has CHECK or NOT
// NULL constraints, or nil.
func constrainedDomain(p *rules.Pass, t ir.Type) *catalog.Domain {
	if d := p.Catalog.DomainOf(t); d != nil && d.Constrained() {
		return d
	}
	return nil
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// addNullable adds the column with no default and no NOT NULL: instant.
func addNullable(p *rules.Pass, table ir.QName, c ir.ColumnDef, typ ir.Type) rules.Step {
	col := &catalog.Column{Name: c.Name, Type: typ, Collation: c.Collation}
	return migration(p, "add the column as nullable, without the default (instant: no rewrite, brief lock)",
		withLockTimeout(p, fmt.Sprintf("ALTER TABLE %s ADD COLUMN IF NOT EXISTS %s;", sqlgen.Name(table), sqlgen.ColumnDef(col, false))),
		withLockTimeout(p, fmt.Sprintf("ALTER TABLE %s DROP COLUMN IF EXISTS %s;", sqlgen.Name(table), sqlgen.Ident(c.Name))), "ACCESS EXCLUSIVE", false)
}

// backfillSteps fill existing rows with value in batches, then check none is left.
func backfillSteps(p *rules.Pass, table ir.QName, column, value string) []rules.Step {
	var pk []*catalog.Column
	if t := p.Catalog.Table(table); t != nil {
		pk = t.PrimaryKey()
	}
	col := sqlgen.Ident(column)
	fill := rules.Step{Kind: rules.StepBackfill, NoTransaction: true, SeparateDeploy: true, Lock: "ROW EXCLUSIVE",
		Title:   fmt.Sprintf("backfill existing rows with %s in batches of %d", value, p.Thresholds.BatchSize),
		Forward: sqlgen.BatchedUpdate(batching(p), table, pk, fmt.Sprintf("%s = %s", col, value), col+" IS NULL") + "\nANALYZE " + sqlgen.Name(table) + ";",
		Note:    "Nothing to roll back: dropping the column undoes it."}
	if len(pk) == 0 {
		fill.Note = "The table's primary key is not in the migrations fluxlint read, so batches go by ctid. " + fill.Note
	}
	inToolFile(p, &fill)
	check := rules.Step{Kind: rules.StepCheckpoint, Title: "confirm no row is left without a value",
		Forward: fmt.Sprintf("SELECT count(*) AS rows_left FROM %s WHERE %s IS NULL;", sqlgen.Name(table), col), Expect: "0"}
	return []rules.Step{fill, check}
}

// defaultPlan adds a column whose default must be computed per row.
// rewritesOnAdd reports whether PG202 reports adding the column (its value
// is computed or checked for every row): then PG202's plan adds the
// column's constraints too, and the constraint rules stand down, so that
// the statement gets one plan.
func rewritesOnAdd(p *rules.Pass, c ir.ColumnDef) bool {
	hasDefault := c.Default != nil && c.Default.SQL != "NULL"
	return c.Generated != nil || c.Serial || c.Identity != "" || constrainedDomain(p, c.Type) != nil ||
		hasDefault && (c.Default.Volatility == ir.Volatile || c.Default.Volatility == ir.VolatilityUnknown || p.Version < 11)
}

// inlineConstraintSteps add, the online way, the constraints written
// inside an ADD COLUMN, once the column exists and holds its values.
func inlineConstraintSteps(p *rules.Pass, table ir.QName, c ir.ColumnDef) []rules.Step {
	var steps []rules.Step
	for _, k := range c.Constraints {
		switch k.Kind {
		case ir.Unique, ir.PrimaryKey:
			steps = append(steps, uniqueViaIndexPlan(p, table, k).Steps...)
		case ir.Check, ir.ForeignKey:
			if k.NotValid {
				steps = append(steps, migration(p, "add the constraint NOT VALID, as the migration does", withLockTimeout(p, sqlgen.AddConstraint(table, k, true)), withLockTimeout(p, sqlgen.DropConstraint(table, k.Name)), "ACCESS EXCLUSIVE", false))
				continue
			}
			steps = append(steps, notValidSteps(p, table, k)...)
		}
	}
	return steps
}

func defaultPlan(p *rules.Pass, table ir.QName, c ir.ColumnDef) *rules.Plan {
	t, col := sqlgen.Name(table), sqlgen.Ident(c.Name)
	steps := []rules.Step{
		addNullable(p, table, c, c.Type),
		migration(p, "set the default, so new rows get it from now on (brief lock, no rewrite)",
			withLockTimeout(p, fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s SET DEFAULT %s;", t, col, c.Default.SQL)),
			withLockTimeout(p, fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s DROP DEFAULT;", t, col)), "ACCESS EXCLUSIVE", false),
	}
	steps = append(steps, backfillSteps(p, table, c.Name, c.Default.SQL)...)
	if c.NotNull {
		steps = append(steps, notNullSteps(p, table, c.Name)...)
	}
	steps = append(steps, inlineConstraintSteps(p, table, c)...)
	return &rules.Plan{Title: fmt.Sprintf("add %s without a rewrite: default for new rows, batched backfill for old ones", c.Name), Steps: steps}
}

// sequencePlan adds a serial or identity column backed by a sequence,
// filled in batches, instead of numbering every row under the lock.
func sequencePlan(p *rules.Pass, table ir.QName, c ir.ColumnDef) *rules.Plan {
	t, col := sqlgen.Name(table), sqlgen.Ident(c.Name)
	typ := c.Type
	seqType := "bigint"
	switch typ.Name {
	case "serial", "serial4":
		typ, seqType = ir.Type{SQL: "int", Name: "int4"}, "integer"
	case "smallserial", "serial2":
		typ, seqType = ir.Type{SQL: "smallint", Name: "int2"}, "smallint"
	case "bigserial", "serial8":
		typ = ir.Type{SQL: "bigint", Name: "int8"}
	case "int4":
		seqType = "integer"
	case "int2":
		seqType = "smallint"
	}
	seqName := table.Name + "_" + c.Name + "_seq"
	if c.Identity != "" {
		// The identity column gets its own t_col_seq: the helper must not take that name.
		seqName = table.Name + "_" + c.Name + "_fill_seq"
	}
	seq := sqlgen.Name(sqlgen.Sibling(table, seqName))
	next := fmt.Sprintf("nextval(%s::regclass)", sqlgen.Literal(seq))
	steps := []rules.Step{
		migration(p, "create the sequence that numbers the rows",
			fmt.Sprintf("CREATE SEQUENCE IF NOT EXISTS %s AS %s;", seq, seqType),
			fmt.Sprintf("DROP SEQUENCE IF EXISTS %s;", seq), "", false),
		addNullable(p, table, c, typ),
		migration(p, "number new rows from the sequence (brief lock, no rewrite)",
			withLockTimeout(p, fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s SET DEFAULT %s;\nALTER SEQUENCE %s OWNED BY %s.%s;", t, col, next, seq, t, col)),
			withLockTimeout(p, fmt.Sprintf("ALTER SEQUENCE %s OWNED BY NONE;\nALTER TABLE %s ALTER COLUMN %s DROP DEFAULT;", seq, t, col)), "ACCESS EXCLUSIVE", false),
	}
	steps = append(steps, backfillSteps(p, table, c.Name, next)...)
	steps = append(steps, notNullSteps(p, table, c.Name)...)
	if c.Identity != "" {
		ident := migration(p, "turn the column into an identity column, continuing after the highest value (brief lock, no rewrite)",
			withLockTimeout(p, fmt.Sprintf("ALTER TABLE %[1]s ALTER COLUMN %[2]s DROP DEFAULT, ALTER COLUMN %[2]s ADD GENERATED %[3]s AS IDENTITY;\nSELECT setval(pg_get_serial_sequence(%[4]s, %[5]s), (SELECT COALESCE(max(%[2]s), 0) + 1 FROM %[1]s), false);",
				t, col, upper(c.Identity), sqlgen.Literal(t), sqlgen.Literal(c.Name))),
			withLockTimeout(p, fmt.Sprintf("ALTER TABLE %[1]s ALTER COLUMN %[2]s DROP IDENTITY IF EXISTS, ALTER COLUMN %[2]s SET DEFAULT %[3]s;", t, col, next)), "ACCESS EXCLUSIVE", false)
		drop := migration(p, "drop the helper sequence",
			fmt.Sprintf("ALTER SEQUENCE %s OWNED BY NONE;\nDROP SEQUENCE IF EXISTS %s;", seq, seq),
			fmt.Sprintf("CREATE SEQUENCE IF NOT EXISTS %s AS %s;\nALTER SEQUENCE %s OWNED BY %s.%s;", seq, seqType, seq, t, col), "", false)
		steps = append(steps, ident, drop)
	}
	steps = append(steps, inlineConstraintSteps(p, table, c)...)
	return &rules.Plan{Title: fmt.Sprintf("add %s backed by a sequence, filled in batches", c.Name), Steps: steps}
}
