package mysql

import (
	"fmt"
	"slices"
	"strings"

	"github.com/fluxlint/fluxlint/analyzers/catalog"
	"github.com/fluxlint/fluxlint/analyzers/ir"
	"github.com/fluxlint/fluxlint/analyzers/onlineddl"
	"github.com/fluxlint/fluxlint/rules"
	"github.com/fluxlint/fluxlint/rules/sqlgen/mysqlgen"
)

var tableCopy = &rules.Rule{
	Code: "MY201", Name: "alter-table-copy", Engine: ir.MySQL, Severity: rules.Error, Sized: true,
	Doc: rules.Doc{
		Title: "ALTER TABLE that only ALGORITHM=COPY can run, on an existing table",
		Why: "Some changes cannot be made in place: the server builds a new copy of the table row by row and keeps " +
			"writes waiting (LOCK=SHARED) until the copy is done, minutes to hours on a large table, and replicas " +
			"then replay the whole copy. Which changes copy depends on the server: measured on MariaDB 10.11, " +
			"changing a column's type (int to bigint, shrinking a VARCHAR, an ENUM value inserted before the last, a " +
			"VARCHAR of 128-255 bytes widened past 255), adding a foreign key while foreign_key_checks is on, adding " +
			"a CHECK constraint or a STORED generated column, dropping the primary key, a column default that is an " +
			"expression such as (UUID()), and CONVERT TO CHARACTER SET. MySQL also copies to widen any VARCHAR across " +
			"255 bytes (its length prefix grows to two bytes), where MariaDB is instant for one of at most 127 bytes. " +
			"MariaDB 11.2 and later copy online (writes continue): still reported, as a warning, for the time, I/O " +
			"and replica lag.",
		Bad: "ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id);",
		Good: "A foreign key: check for orphans, then add it with foreign_key_checks off, which builds its index in " +
			"place (ALGORITHM=INPLACE, LOCK=NONE), and check again. A column with an expression default: add it " +
			"without one (instant), fill it in batches, then set the default. Anything else: the plan runs the change " +
			"through gh-ost (or pt-online-schema-change where gh-ost cannot: foreign keys), which copies the table in " +
			"throttled chunks while writes continue and swaps it in with a brief lock, with the reverse command and " +
			"the SQL that cleans up an interrupted run. Pass --osc-host, --osc-user and --osc-database to fill in the " +
			"commands; neither tool is installed by fluxlint, and their flags are checked against their sources. " +
			"Without a tool (--osc-tool none), a type change moves the column through a shadow column of the new type: " +
			"a trigger copies every write, existing rows are copied in batches by the primary key (its leading column " +
			"when it has several), and after a parity check and a code deploy the two swap names under a brief " +
			"LOCK TABLES ... WRITE.",
		Versions: "Verdicts per server (--server-version): MariaDB 10.6-11.8 measured on MariaDB 10.11 by fluxlint's " +
			"truth test (10.6 agrees by MariaDB's docs; 11.2+ copies online); MySQL 5.7, 8.0 and 8.4 from MySQL's " +
			"manual (InnoDB Online DDL Operations), which cannot run here. Plans are executed on MariaDB 10.11.",
	},
	Check: func(p *rules.Pass) {
		v, ok := verdictOf(p)
		if !ok || demanded(v.op) || v.all.Algorithm != onlineddl.Copy {
			return
		}
		op, tab := v.op, v.tab
		var plan *rules.Plan
		tail := ""
		for _, c := range v.cmds {
			if c.v.Algorithm != onlineddl.Copy {
				continue
			}
			switch x := c.cmd.(type) {
			case ir.AddConstraint:
				switch x.Constraint.Kind {
				case ir.ForeignKey:
					plan = foreignKeyPlan(p, op.Table, x.Constraint)
				case ir.Check:
					tail = "; MariaDB has no in-place way to add a CHECK: enforce it in the application or a trigger, or copy the table online (gh-ost, pt-online-schema-change)"
				}
			case ir.AddColumn:
				if d := x.Column.Default; d != nil && d.Volatility == ir.VolatilityUnknown {
					plan = expressionDefaultPlan(p, op.Table, x)
				}
			case ir.OtherAlter:
				tail = "; no in-place way exists: copy the table online (gh-ost, pt-online-schema-change)"
			}
		}
		what := v.why(func(x onlineddl.Verdict) bool { return x.Algorithm == onlineddl.Copy })
		if op.Algorithm == "COPY" {
			what = []string{"ALGORITHM=COPY"}
		}
		if len(v.cmds) > 1 && plan != nil {
			plan = nil // the plan replaces one change, and the statement makes others
		}
		if plan == nil {
			var why string
			if plan, why = toolPlan(p, v); plan == nil && why != "" {
				tail += "; no online schema change tool can run it: " + why
				if m, ok := onlyTypeChange(v); ok {
					var whyNot string
					if plan, whyNot = typeChangePlan(p, tab, m); plan == nil {
						tail += "; nor can it change by expand and contract: " + whyNot
					} else {
						tail += "; the plan moves the column through a new one instead"
					}
				}
			}
		}
		reportCopy(p, v, strings.Join(what, ", "), tail, plan)
	},
}

// onlyTypeChange returns the statement's one subcommand when it is a
// MODIFY or CHANGE that changes the column's type.
func onlyTypeChange(v verdict) (ir.ModifyColumn, bool) {
	if len(v.op.Cmds) != 1 {
		return ir.ModifyColumn{}, false
	}
	m, ok := v.op.Cmds[0].(ir.ModifyColumn)
	return m, ok && typeChange(v.tab, m) != ""
}

func reportCopy(p *rules.Pass, v verdict, what, tail string, plan *rules.Plan) {
	msg := fmt.Sprintf("%s on existing table %s can only run with ALGORITHM=COPY: the table is copied row by row while writes wait (LOCK=SHARED), and replicas lag by the whole copy", what, tableLabel(v.op.Table))
	online := !v.all.BlocksWrites()
	if online {
		msg = fmt.Sprintf("%s on existing table %s can only run with ALGORITHM=COPY: the table is copied row by row; writes continue (MariaDB's online copy, LOCK=NONE), but every row is read and written again and replicas lag by the whole copy", what, tableLabel(v.op.Table))
	}
	switch {
	case plan != nil && plan.Steps[0].Tool != nil:
		tail += "; the plan runs it through " + plan.Steps[0].Tool.Name + ", which copies the table while writes continue"
	case plan == nil && tail == "":
		tail = "; copy the table online instead (gh-ost, pt-online-schema-change), or move the column through a new one as for a rename"
	}
	f := p.Report(msg+tail, plan)
	if online {
		f.Severity = rules.Warning // nothing blocks: the cost is time, I/O and replica lag
	}
}

// typeChange describes how MODIFY or CHANGE changes a column's type, or ""
// when the type stays (only nullability, default or position change).
func typeChange(tab *catalog.Table, m ir.ModifyColumn) string {
	old := m.From()
	if tab == nil || tab.Column(old) == nil {
		return ""
	}
	from, to := tab.Column(old).Type, m.Column.Type
	if from.SQL == to.SQL && from.Charset == to.Charset {
		return ""
	}
	describe := func(t ir.Type) string {
		if t.Charset != "" {
			return t.SQL + " CHARACTER SET " + t.Charset
		}
		return t.SQL
	}
	what := fmt.Sprintf("changing column %q from %s to %s", old, describe(from), describe(to))
	if from.Name == to.Name && (to.Name == "varchar" || to.Name == "varbinary") && len(from.Mods) == 1 && len(to.Mods) == 1 && from.Charset == to.Charset {
		per := 1
		if to.Name == "varchar" {
			charset := to.Charset
			if charset == "" {
				charset = tab.Charset
			}
			per = onlineddl.BytesPerChar(charset)
		}
		switch a, b := from.Mods[0]*per, to.Mods[0]*per; {
		case b < a:
			return what + " (shrinking it)"
		case a <= 255 && b > 255:
			return what + fmt.Sprintf(" (%d to %d bytes: each value's length prefix grows from one byte to two)", a, b)
		}
	}
	return what
}

// foreignKeyChecksOff reports whether the migration turned
// foreign_key_checks off before the statement.
func foreignKeyChecksOff(p *rules.Pass) bool {
	v, _ := p.SetBefore("foreign_key_checks")
	return v == "0" || strings.EqualFold(v, "off")
}

// orphans is a checkpoint query counting the rows whose key points nowhere.
func orphans(table ir.QName, k ir.Constraint) string {
	var on, null []string
	for i, c := range k.Columns {
		on = append(on, fmt.Sprintf("p.%s = c.%s", mysqlgen.Ident(k.RefColumns[i]), mysqlgen.Ident(c)))
		null = append(null, fmt.Sprintf("c.%s IS NOT NULL", mysqlgen.Ident(c)))
	}
	return fmt.Sprintf("SELECT COUNT(*) AS orphans FROM %s c LEFT JOIN %s p ON %s WHERE %s AND p.%s IS NULL;",
		mysqlgen.Name(table), mysqlgen.Name(k.RefTable), strings.Join(on, " AND "), strings.Join(null, " AND "), mysqlgen.Ident(k.RefColumns[0]))
}

func foreignKeyPlan(p *rules.Pass, table ir.QName, k ir.Constraint) *rules.Plan {
	if len(k.RefColumns) != len(k.Columns) || len(k.Columns) == 0 {
		return nil
	}
	t := mysqlgen.Name(table)
	check := func(title string) rules.Step {
		return rules.Step{Kind: rules.StepCheckpoint, Title: title, Forward: orphans(table, k), Expect: "0"}
	}
	rollback := fmt.Sprintf("ALTER TABLE %s DROP FOREIGN KEY %s, %s;", t, mysqlgen.Ident(k.Name), mysqlgen.Online)
	indexed := slices.ContainsFunc(p.Catalog.IndexesOn(table), func(i *catalog.Index) bool {
		return len(i.Def.Columns) >= len(k.Columns) && slices.Equal(i.Def.Columns[:len(k.Columns)], k.Columns)
	})
	if !indexed {
		// The index InnoDB builds for the key stays when the key goes.
		rollback += fmt.Sprintf("\nALTER TABLE %s DROP INDEX %s, %s;", t, mysqlgen.Ident(k.Name), mysqlgen.Online)
	}
	add := migration(p, "add the foreign key without checking existing rows, which builds its index in place",
		withLockWait(p, fmt.Sprintf("SET SESSION foreign_key_checks = 0;\nALTER TABLE %s ADD %s, %s;\nSET SESSION foreign_key_checks = 1;", t, mysqlgen.ConstraintClause(k), mysqlgen.Online)),
		withLockWait(p, rollback), rules.MySQLNone)
	add.Note = "With foreign_key_checks off the server trusts existing rows, so the checks before and after take its place: new writes are checked from this step on."
	return &rules.Plan{Title: "check for orphans, then add the foreign key in place", Steps: []rules.Step{
		check("confirm no row points at a missing parent"), add, check("confirm again: no orphan slipped in before the key was in force"),
	}}
}

func expressionDefaultPlan(p *rules.Pass, table ir.QName, a ir.AddColumn) *rules.Plan {
	tab := p.Catalog.Table(table)
	var pk []*catalog.Column
	if tab != nil {
		pk = tab.PrimaryKey()
	}
	if len(pk) == 0 {
		return nil
	}
	t, col := mysqlgen.Name(table), mysqlgen.Ident(a.Column.Name)
	bare := catalog.ColumnOf(a.Column)
	bare.Default, bare.NotNull = nil, false
	pos := ""
	switch {
	case a.Position.First:
		pos = " FIRST"
	case a.Position.After != "":
		pos = " AFTER " + mysqlgen.Ident(a.Position.After)
	}
	steps := []rules.Step{migration(p, fmt.Sprintf("add %s without a default (instant)", a.Column.Name),
		withLockWait(p, fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s%s, %s;", t, mysqlgen.ColumnDef(bare), pos, mysqlgen.Online)),
		withLockWait(p, fmt.Sprintf("ALTER TABLE %s DROP COLUMN %s, %s;", t, col, mysqlgen.Online)), rules.MySQLNone)}
	steps = append(steps, migration(p, "set the default, so that rows written from now on get it",
		withLockWait(p, fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s SET DEFAULT %s;", t, col, a.Column.Default.SQL)),
		withLockWait(p, fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s DROP DEFAULT;", t, col)), rules.MySQLMetadata))
	fill := rules.Step{Kind: rules.StepBackfill, SeparateDeploy: true, Lock: rules.MySQLRows,
		Title:   fmt.Sprintf("fill existing rows in batches of %d", p.Thresholds.BatchSize),
		Forward: mysqlgen.BatchedUpdate(batching(p), table, pk[0], fmt.Sprintf("%s = %s", col, a.Column.Default.SQL), col+" IS NULL", prefixName("fluxlint", table.Name, a.Column.Name, "fill")),
		Note:    "Each row gets its own value of the expression, as the server would give it. Nothing to roll back: dropping the column undoes it."}
	fill.File = mysqlgen.MigrationFile(p.File.Tool, fill.Forward, "")
	steps = append(steps, fill, rules.Step{Kind: rules.StepCheckpoint, Title: "confirm every row has a value",
		Forward: fmt.Sprintf("SELECT COUNT(*) AS rows_left FROM %s WHERE %s IS NULL;", t, col), Expect: "0"})
	if a.Column.NotNull {
		final := catalog.ColumnOf(a.Column)
		steps = append(steps, migration(p, "make it NOT NULL (rebuilds the table in place; reads and writes continue)",
			withLockWait(p, fmt.Sprintf("ALTER TABLE %s MODIFY COLUMN %s, %s;", t, mysqlgen.ColumnDef(final), mysqlgen.Online)),
			withLockWait(p, fmt.Sprintf("ALTER TABLE %s MODIFY COLUMN %s, %s;", t, mysqlgen.ColumnDef(&catalog.Column{Name: final.Name, Type: final.Type, Default: final.Default, Collation: final.Collation}), mysqlgen.Online)), rules.MySQLNone))
	}
	return &rules.Plan{Title: fmt.Sprintf("add %s, fill it in batches, then its default", a.Column.Name), Steps: steps}
}
