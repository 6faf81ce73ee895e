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

var alterColumnType = &rules.Rule{
	Code: "PG203", Name: "alter-column-type", Engine: ir.Postgres, Severity: rules.Error, Sized: true,
	Doc: rules.Doc{
		Title: "ALTER COLUMN ... TYPE that rewrites or scans an existing table",
		Why: "Most type changes rewrite the whole table and rebuild its indexes under an ACCESS EXCLUSIVE lock: " +
			"reads and writes block until it ends (int to bigint, int to text, varchar shrink, text to varchar(n), " +
			"numeric scale changes). Binary-compatible changes are instant and not flagged: varchar widening, " +
			"varchar or text to unbounded varchar or text, numeric precision increase, cidr to inet.",
		Bad: "ALTER TABLE events ALTER COLUMN seq TYPE bigint;",
		Good: "Expand and contract: add a column of the new type; keep it in sync with a trigger; backfill it in " +
			"batches with the cast; check parity; build its indexes concurrently; deploy code ready for the new type; " +
			"swap the two columns by renaming them in one brief transaction; finally drop the old column, the point " +
			"of no return.",
		Versions: "timestamp to timestamptz is binary-safe only when the session TimeZone is UTC (PostgreSQL 12+): not flagged after SET TimeZone = 'UTC' in the migration, else reported as a possible rewrite. More fractional digits for timestamp, timestamptz, time and interval (same fields) rewrite nothing. A column the fully known table does not have fails the migration (SQLSTATE 42703). A column added in the same change to an existing table is rewritten with its rows.",
	},
	Check: func(p *rules.Pass) {
		rules.AlterCmds(p, func(table ir.QName, a ir.AlterColumnType) {
			var col *catalog.Column
			t := p.Catalog.Table(table)
			if t != nil {
				col = t.Column(a.Column)
			}
			label := fmt.Sprintf("ALTER COLUMN %q TYPE %s on existing table %s", a.Column, a.Type.SQL, tableLabel(table))
			rewrite := "rewrites the table and its indexes under an ACCESS EXCLUSIVE lock: reads and writes block until it ends"
			switch {
			case len(usedByViews(p, table, a.Column)) > 0:
				// The statement fails: PG120 reports it.
			case col == nil && t != nil && !t.Unknown:
				// The table is known in full: the column is not there.
				p.Report(fmt.Sprintf("%s: the table has no column %q, so the migration fails (SQLSTATE 42703)", label, a.Column), nil).
					Claims(rules.Fails("42703", table))
			case p.Catalog.IsNewColumn(table, a.Column) && (a.Using != "" || !binaryCompatible(col.Type, a.Type)):
				// Added in this change, but to a table with rows: they are
				// rewritten all the same.
				p.Report(fmt.Sprintf("%s %s, although the column was added in this change: give it type %s in its ADD COLUMN instead", label, rewrite, a.Type.SQL), nil).
					Claims(rules.Takes(rules.AccessExclusive, table).Rewriting())
			case col == nil:
				f := p.Report(fmt.Sprintf("%s: the column's current type is not in the migrations fluxlint read; unless the change is binary-compatible it %s", label, rewrite), nil).
					Claims(rules.Takes(rules.AccessExclusive, table).Rewriting().Maybe())
				f.Severity = rules.Warning
			case a.Using == "" && binaryCompatible(col.Type, a.Type):
			case a.Using == "" && col.Type.Name == "timestamp" && a.Type.Name == "timestamptz" && !col.Type.Array && !a.Type.Array && p.Version >= 12 && utcSession(p):
				// Binary-safe in a UTC session: the stored values stay.
			case a.Using == "" && col.Type.Name == "timestamp" && a.Type.Name == "timestamptz" && !col.Type.Array && !a.Type.Array:
				f := p.Report(fmt.Sprintf("%s is binary-safe only when the session TimeZone is UTC (PostgreSQL 12+); with any other TimeZone it %s. Run it with SET TimeZone = 'UTC' in the same transaction", label, rewrite), nil).
					Claims(rules.Takes(rules.AccessExclusive, table).Rewriting().Maybe())
				f.Severity = rules.Warning
				if p.Version < 12 {
					f.Severity, f.Message = rules.Error, fmt.Sprintf("%s on PostgreSQL %d %s", label, p.Version, rewrite)
				}
			default:
				plan, why := shadowColumnPlan(p, table, col, a, defaultBefore(p, col, a.Column))
				msg := fmt.Sprintf("%s %s", label, rewrite)
				if plan == nil {
					msg += "; " + why
				}
				p.Report(msg, plan).Claims(rules.Takes(rules.AccessExclusive, table).Rewriting())
			}
		})
	},
}

// binaryCompatible reports whether PostgreSQL changes the type in the
// catalog only, without touching the rows or indexes.
func binaryCompatible(from, to ir.Type) bool {
	if from.Array != to.Array {
		return false
	}
	widens := func() bool { return len(to.Mods) == 0 || len(from.Mods) > 0 && to.Mods[0] >= from.Mods[0] }
	switch {
	case from.Name == to.Name && slices.Equal(from.Mods, to.Mods):
		return true
	case from.Name == "varchar" && (to.Name == "text" || to.Name == "varchar" && widens()):
		return true
	case from.Name == "text" && to.Name == "varchar" && len(to.Mods) == 0:
		return true
	case from.Name == "numeric" && to.Name == "numeric":
		// Precision may grow; the scale must stay.
		return len(to.Mods) == 0 || len(from.Mods) > 0 && to.Mods[0] >= from.Mods[0] && modAt(to, 1) == modAt(from, 1)
	case from.Name == "varbit" && to.Name == "varbit" && widens():
		return true
	case from.Name == "cidr" && to.Name == "inet":
		return true
	case from.Name == to.Name && (from.Name == "timestamp" || from.Name == "timestamptz" || from.Name == "time" || from.Name == "interval"):
		// More fractional digits change no stored value.
		fromRange, fromPrec := timePrecision(from)
		toRange, toPrec := timePrecision(to)
		return fromRange == toRange && toPrec >= fromPrec
	}
	return false
}

// timePrecision is a time type's fractional precision (6 unless given)
// and, for interval, its field range (all fields unless given).
func timePrecision(t ir.Type) (fields, precision int) {
	const allFields, defaultPrecision = 0x7FFF, 6
	if t.Name != "interval" {
		if len(t.Mods) > 0 {
			return 0, t.Mods[0]
		}
		return 0, defaultPrecision
	}
	switch len(t.Mods) {
	case 0:
		return allFields, defaultPrecision
	case 1:
		return t.Mods[0], defaultPrecision
	}
	return t.Mods[0], t.Mods[1]
}

// utcSession reports whether the migration sets the session's TimeZone to
// UTC before the statement, which makes timestamp to timestamptz a
// relabelling rather than a rewrite.
func utcSession(p *rules.Pass) bool {
	v, ok := p.SetBefore("timezone")
	v = strings.Trim(v, "'\" ")
	return ok && (strings.EqualFold(v, "UTC") || strings.EqualFold(v, "Etc/UTC") || strings.EqualFold(v, "GMT") || v == "0" || strings.EqualFold(v, "Z"))
}

func modAt(t ir.Type, i int) int {
	if i < len(t.Mods) {
		return t.Mods[i]
	}
	return 0
}

// suffixed names an object after base with a suffix, within 63 bytes.
func suffixed(base, suffix string) string {
	if len(base)+len(suffix) > 63 {
		base = base[:63-len(suffix)]
	}
	return base + suffix
}

// movableColumn checks that a column's dependencies can follow it to a
// replacement column: plain indexes can be rebuilt; constraints, foreign keys
// pointing at it, expression or partial indexes, identity and generated
// columns cannot (yet). It returns the indexes to rebuild, or why not.
func movableColumn(p *rules.Pass, table ir.QName, col *catalog.Column) ([]*catalog.Index, string) {
	tab := p.Catalog.Table(table)
	if tab == nil || tab.Unknown {
		return nil, "the migrations fluxlint read only partly define the table, so no faithful plan can be written"
	}
	if col.Identity != "" || col.Generated != nil {
		return nil, "identity and generated columns cannot be moved to a replacement column: plan this change by hand"
	}
	for _, k := range tab.Constraints {
		if slices.Contains(k.Columns, col.Name) {
			return nil, fmt.Sprintf("constraint %q uses the column: moving it would mean rebuilding the constraint, which fluxlint does not plan yet", k.Name)
		}
	}
	for _, other := range p.Catalog.TablesReferencing(table) {
		for _, k := range other.Constraints {
			if k.Kind == ir.ForeignKey && catalog.Resolve(k.RefTable) == catalog.Resolve(table) && slices.Contains(k.RefColumns, col.Name) {
				return nil, fmt.Sprintf("foreign key %q on %s references the column", k.Name, other.Name)
			}
		}
	}
	if vs := p.Catalog.ViewsUsing(table, col.Name); len(vs) > 0 {
		return nil, fmt.Sprintf("view %s reads the column, so the plan's final DROP COLUMN would fail (SQLSTATE 2BP01): move the view to the new column first, then plan this change", vs[0].Name)
	}
	var indexes []*catalog.Index
	for _, i := range p.Catalog.IndexesOn(table) {
		if !slices.Contains(i.Def.Refs, col.Name) {
			continue
		}
		if len(i.Def.Elems) != len(i.Def.Columns) || i.Def.Where != "" {
			return nil, fmt.Sprintf("index %q uses the column in an expression or predicate, which fluxlint does not rebuild yet", i.Def.Name)
		}
		indexes = append(indexes, i)
	}
	return indexes, ""
}

// onColumn returns an index definition moved from one column to another,
// under a new name.
func onColumn(def ir.IndexDef, name, from, to string) ir.IndexDef {
	def.Name = name
	def.Columns = slices.Clone(def.Columns)
	for k, n := range def.Columns {
		if n == from {
			def.Columns[k] = to
		}
	}
	def.Elems, def.Refs = nil, nil
	return def
}

// shadowColumnPlan changes a column's type through a shadow column of the
// new type, kept in sync by a trigger, then swapped in by renames. It
// returns nil with the reason when the column has dependencies the swap
// cannot carry over faithfully.
func shadowColumnPlan(p *rules.Pass, table ir.QName, col *catalog.Column, a ir.AlterColumnType, newDefault *ir.Expr) (*rules.Plan, string) {
	tab := p.Catalog.Table(table)
	indexes, why := movableColumn(p, table, col)
	if why != "" {
		return nil, why
	}
	var pk []*catalog.Column
	if pkc := tab.PrimaryKey(); pkc != nil {
		pk = pkc
	}

	t := sqlgen.Name(table)
	c, tmpName, oldName := col.Name, suffixed(col.Name, "_new"), suffixed(col.Name, "_old")
	tmp, old, cq := sqlgen.Ident(tmpName), sqlgen.Ident(oldName), sqlgen.Ident(c)
	conv := a.Using
	if conv == "" {
		conv = fmt.Sprintf("%s::%s", cq, a.Type.SQL)
	}
	syncSQL, dropSync := syncTrigger(p, table, c, fmt.Sprintf("  NEW.%s := (SELECT %s FROM (SELECT NEW.*) AS %s);", tmp, conv, sqlgen.Ident(table.Name)))

	shadow := &catalog.Column{Name: tmpName, Type: a.Type, Collation: col.Collation}
	steps := []rules.Step{
		migration(p, fmt.Sprintf("add the shadow column %s of the new type (instant, brief lock)", tmpName),
			withLockTimeout(p, fmt.Sprintf("ALTER TABLE %s ADD COLUMN IF NOT EXISTS %s;", t, sqlgen.ColumnDef(shadow, false))),
			withLockTimeout(p, fmt.Sprintf("ALTER TABLE %s DROP COLUMN IF EXISTS %s;", t, tmp)), "ACCESS EXCLUSIVE", false),
		migration(p, "keep it in sync on every insert and update (dual write by trigger)",
			withLockTimeout(p, syncSQL), withLockTimeout(p, dropSync), "SHARE ROW EXCLUSIVE", false),
	}
	fill := rules.Step{Kind: rules.StepBackfill, NoTransaction: true, SeparateDeploy: true, Lock: "ROW EXCLUSIVE",
		Title:   fmt.Sprintf("backfill %s with the cast in batches of %d", tmpName, p.Thresholds.BatchSize),
		Forward: sqlgen.BatchedUpdate(batching(p), table, pk, fmt.Sprintf("%s = %s", tmp, conv), fmt.Sprintf("%s IS DISTINCT FROM (%s)", tmp, conv)) + "\nANALYZE " + t + ";",
		Note:    "A value that does not fit the new type stops the backfill with an error: fix those rows, then run it again. Nothing to roll back: dropping the shadow column undoes it."}
	inToolFile(p, &fill)
	steps = append(steps, fill, rules.Step{Kind: rules.StepCheckpoint, Title: "check parity: every row's shadow value equals the cast",
		Forward: fmt.Sprintf("SELECT count(*) AS mismatches FROM %s WHERE %s IS DISTINCT FROM (%s);", t, tmp, conv), Expect: "0"})
	if col.NotNull {
		steps = append(steps, notNullSteps(p, table, tmpName)...)
	}
	// Indexes are rebuilt on the shadow column concurrently, before the swap.
	var renames, unrenames []string
	for _, i := range indexes {
		def := onColumn(i.Def, suffixed(i.Def.Name, "_new"), c, tmpName)
		build := buildIndexPlan(p, def).Steps
		steps = append(steps, build...)
		idx := sqlgen.Name(sqlgen.Sibling(table, i.Def.Name))
		oldIdx, newIdx := sqlgen.Ident(suffixed(i.Def.Name, "_old")), sqlgen.Name(sqlgen.Sibling(table, def.Name))
		renames = append(renames, fmt.Sprintf("ALTER INDEX %s RENAME TO %s;\nALTER INDEX %s RENAME TO %s;", idx, oldIdx, newIdx, sqlgen.Ident(i.Def.Name)))
		unrenames = append(unrenames, fmt.Sprintf("ALTER INDEX %s RENAME TO %s;\nALTER INDEX %s RENAME TO %s;",
			idx, sqlgen.Ident(def.Name), sqlgen.Name(sqlgen.Sibling(table, suffixed(i.Def.Name, "_old"))), sqlgen.Ident(i.Def.Name)))
	}
	steps = append(steps, rules.Step{Kind: rules.StepCodeDeploy, SeparateDeploy: true,
		Title: fmt.Sprintf("deploy code that reads and writes %s as %s", c, a.Type.SQL),
		Note:  "After the swap the column keeps its name with the new type: the code must accept it (e.g. 64-bit integers) before then."})

	swap := []string{dropSync,
		fmt.Sprintf("ALTER TABLE %s RENAME COLUMN %s TO %s;", t, cq, old),
		fmt.Sprintf("ALTER TABLE %s RENAME COLUMN %s TO %s;", t, tmp, cq)}
	unswap := []string{fmt.Sprintf("ALTER TABLE %s RENAME COLUMN %s TO %s;", t, cq, tmp),
		fmt.Sprintf("ALTER TABLE %s RENAME COLUMN %s TO %s;", t, old, cq)}
	// The default moves to the new column at the swap (newDefault: the
	// one it should have, the old one for a type change).
	if col.Default != nil {
		swap = append(swap, fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s DROP DEFAULT;", t, old))
		unswap = append([]string{fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s SET DEFAULT %s;", t, old, col.Default.SQL)}, unswap...)
	}
	if newDefault != nil {
		swap = append(swap, fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s SET DEFAULT %s;", t, cq, newDefault.SQL))
		unswap = append([]string{fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s DROP DEFAULT;", t, cq)}, unswap...)
	}
	if col.OwnedSeq != "" {
		// The sequence a serial column owns goes with the column when it
		// is dropped, and the default now on the new column reads it:
		// the new column owns it from the swap on.
		seq := sqlgen.Name(sqlgen.Sibling(table, col.OwnedSeq))
		swap = append(swap, fmt.Sprintf("ALTER SEQUENCE IF EXISTS %s OWNED BY %s.%s;", seq, t, cq))
		unswap = append(unswap, fmt.Sprintf("ALTER SEQUENCE IF EXISTS %s OWNED BY %s.%s;", seq, t, cq))
	}
	swap = append(swap, renames...)
	unswap = append(append(slices.Clone(unrenames), unswap...), syncSQL)
	swapStep := migration(p, "swap the columns by renaming them, in one transaction (brief lock, no rewrite)",
		withLockTimeout(p, strings.Join(swap, "\n")), withLockTimeout(p, strings.Join(unswap, "\n")), "ACCESS EXCLUSIVE", false)
	swapStep.SeparateDeploy = true

	oldCol := *col
	oldCol.Name = oldName
	oldCol.Default = nil
	oldCol.Serial, oldCol.OwnedSeq = "", "" // its sequence stays with the new column
	rollback := []string{fmt.Sprintf("ALTER TABLE %s ADD COLUMN IF NOT EXISTS %s;", t, sqlgen.ColumnDef(&oldCol, false))}
	note := fmt.Sprintf("The rollback recreates %s with its type; its values are not restored", oldName)
	if col.NotNull {
		if zero, ok := sqlgen.ZeroValue(col.Type, p.Catalog.Enum(ir.QName{Name: col.Type.Name})); ok {
			rollback = []string{fmt.Sprintf("ALTER TABLE %s ADD COLUMN IF NOT EXISTS %s NOT NULL DEFAULT %s;", t, sqlgen.ColumnDef(&oldCol, false), zero),
				fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s DROP DEFAULT;", t, old)}
			note += fmt.Sprintf(" (rows get %s)", zero)
		}
	}
	for _, i := range indexes {
		rollback = append(rollback, sqlgen.CreateIndex(onColumn(i.Def, suffixed(i.Def.Name, "_old"), c, oldName), false))
	}
	drop := migration(p, fmt.Sprintf("drop the old column %s: the point of no return", oldName),
		withLockTimeout(p, fmt.Sprintf("ALTER TABLE %s DROP COLUMN IF EXISTS %s;", t, old)), withLockTimeout(p, strings.Join(rollback, "\n")), "ACCESS EXCLUSIVE", false)
	drop.Irreversible, drop.SeparateDeploy = true, true
	drop.Note = note + "."
	steps = append(steps, swapStep, drop)
	return &rules.Plan{Title: fmt.Sprintf("change %s to %s through a shadow column", c, a.Type.SQL), Steps: steps}, ""
}

// defaultBefore is the column's default when the statement reaches its
// type change: the catalog's, as changed by the SET or DROP DEFAULT
// subcommands before it in the same ALTER TABLE (they run first, as
// written, in the plan).
func defaultBefore(p *rules.Pass, col *catalog.Column, column string) *ir.Expr {
	def := col.Default
	op, _ := p.Op.(ir.AlterTable)
	for _, cmd := range op.Cmds {
		switch c := cmd.(type) {
		case ir.SetDefault:
			if c.Column == column {
				def = c.Default
			}
		case ir.AlterColumnType:
			if c.Column == column {
				return def
			}
		}
	}
	return def
}
