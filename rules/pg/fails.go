package pg

import (
	"fmt"
	"slices"
	"strings"

	"github.com/fluxlint/fluxlint/analyzers/catalog"
	"github.com/fluxlint/fluxlint/rules/sqlgen"

	"github.com/fluxlint/fluxlint/analyzers/ir"
	"github.com/fluxlint/fluxlint/rules"
)

var failsOnServer = &rules.Rule{
	Code: "PG120", Name: "statement-fails-on-server", Engine: ir.Postgres, Severity: rules.Error,
	Doc: rules.Doc{
		Title: "A statement PostgreSQL rejects",
		Why: "Some statements are refused by the server whatever the data: a second PRIMARY KEY, CREATE INDEX CONCURRENTLY on a " +
			"partitioned table, DROP INDEX CONCURRENTLY of a partitioned table's index, of several indexes or with CASCADE, REFRESH MATERIALIZED " +
			"VIEW CONCURRENTLY of a view without a unique index. The migration fails at that statement, after " +
			"the ones before it may have run: a deploy that fails halfway is worse than one that locks.",
		Bad:      "CREATE INDEX CONCURRENTLY measurements_value_idx ON measurements (value);  -- measurements is partitioned",
		Good:     "Build a partitioned table's index partition by partition: CREATE INDEX ... ON ONLY the parent, CREATE INDEX CONCURRENTLY on each partition, ALTER INDEX ... ATTACH PARTITION each. Drop indexes concurrently one statement each, without CASCADE; a partitioned table's index without CONCURRENTLY, under a short lock_timeout. Give a materialized view a unique index on plain columns before refreshing it concurrently.",
		Versions: "All supported versions (SQLSTATE 0A000 feature not supported, 55000 object not in prerequisite state).",
	},
	Check: func(p *rules.Pass) {
		rules.AlterCmds(p, func(table ir.QName, a ir.AddConstraint) {
			if a.Constraint.Kind == ir.PrimaryKey && hasPrimaryKey(p, table) {
				p.Report(fmt.Sprintf("ADD PRIMARY KEY on %s fails (SQLSTATE 42P16): the table has a primary key already; drop it first, or add a UNIQUE constraint instead", tableLabel(table)), nil).
					Claims(rules.Fails("42P16", table))
			}
		})
		viewsBlockColumns(p)
		alreadyExists(p)
		namedTwice(p)
		switch op := p.Op.(type) {
		case ir.CreateIndex:
			t := p.Catalog.Table(op.Index.Table)
			if !op.Concurrently || t == nil || t.PartitionBy == nil {
				return
			}
			msg := fmt.Sprintf("CREATE INDEX CONCURRENTLY on partitioned table %s fails (SQLSTATE 0A000): PostgreSQL builds a partitioned table's index concurrently only partition by partition", tableLabel(op.Index.Table))
			p.Report(msg, partitionedIndexPlan(p, op.Index)).Claims(rules.Fails("0A000", op.Index.Table))
		case ir.Drop:
			dependedOn(p, op)
			if op.Kind != ir.KindIndex || !op.Concurrently {
				return
			}
			if len(op.Names) == 1 && !op.Cascade {
				if table, idx := ownerTable(p.Catalog, op.Names[0]); idx != nil && partitioned(p.Catalog, table) {
					msg := fmt.Sprintf("DROP INDEX CONCURRENTLY %q fails (SQLSTATE 0A000): %s is partitioned, and PostgreSQL drops a partitioned table's index only without CONCURRENTLY", op.Names[0].String(), tableLabel(table))
					p.Report(msg, &rules.Plan{Title: "drop it without CONCURRENTLY, with a short lock_timeout", Steps: []rules.Step{partitionedDrop(p, op.Names[0], idx)}}).Claims(rules.Fails("0A000", table))
				}
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

// usedByViews returns the views (with the views that read them) that
// stop a column's type change or drop, in creation order, or nil.
func usedByViews(p *rules.Pass, table ir.QName, column string) []*catalog.Table {
	direct := p.Catalog.ViewsUsing(table, column)
	if len(direct) == 0 {
		return nil
	}
	seen := map[ir.QName]bool{}
	var out []*catalog.Table
	for _, v := range direct {
		for _, w := range append([]*catalog.Table{v}, p.Catalog.Dependents(v.Name)...) {
			if !seen[w.Name] {
				seen[w.Name] = true
				out = append(out, w)
			}
		}
	}
	slices.SortStableFunc(out, catalog.CreatedBefore)
	return out
}

// viewsBlockColumns reports ALTER COLUMN ... TYPE and DROP COLUMN (without
// CASCADE) of a column that a view uses: PostgreSQL refuses both.
func viewsBlockColumns(p *rules.Pass) {
	op, ok := p.Op.(ir.AlterTable)
	if !ok {
		return
	}
	for _, cmd := range op.Cmds {
		switch c := cmd.(type) {
		case ir.AlterColumnType:
			views := usedByViews(p, op.Table, c.Column)
			if len(views) == 0 {
				continue
			}
			msg := fmt.Sprintf("ALTER COLUMN %q TYPE on %s fails (SQLSTATE 0A000): view %s uses the column, and PostgreSQL changes no type under a view; drop the views, change the type and create them again, in one transaction",
				c.Column, tableLabel(op.Table), viewNames(views))
			p.Report(msg, viewSwapPlan(p, op.Table, c, views)).Claims(rules.Fails("0A000", op.Table))
		case ir.DropColumn:
			views := usedByViews(p, op.Table, c.Column)
			if len(views) == 0 || c.Cascade {
				continue
			}
			msg := fmt.Sprintf("DROP COLUMN %q on %s fails (SQLSTATE 2BP01): view %s uses the column; redefine the view without it (CREATE OR REPLACE VIEW cannot drop a column: DROP VIEW, then CREATE VIEW) in an earlier migration, or drop the view first",
				c.Column, tableLabel(op.Table), viewNames(views))
			p.Report(msg, nil).Claims(rules.Fails("2BP01", op.Table))
		}
	}
}

// dependedOn reports DROP TABLE / VIEW without CASCADE of a relation that
// views read (other than those dropped with it): PostgreSQL refuses it.
func dependedOn(p *rules.Pass, op ir.Drop) {
	if op.Cascade || op.Kind != ir.KindTable && op.Kind != ir.KindView && op.Kind != ir.KindMatView {
		return
	}
	for _, n := range op.Names {
		views := blockingViews(p, op, n)
		if len(views) == 0 {
			continue
		}
		msg := fmt.Sprintf("DROP %s %s fails (SQLSTATE 2BP01): view %s reads it; drop or redefine the views first, or drop them with it",
			strings.ToUpper(string(op.Kind)), tableLabel(n), viewNames(views))
		p.Report(msg, nil).Claims(rules.Fails("2BP01", n))
	}
}

// blockingViews are the views that read a relation a DROP without CASCADE
// names, other than those it drops too: they make the drop fail.
func blockingViews(p *rules.Pass, op ir.Drop, name ir.QName) []*catalog.Table {
	if op.Cascade {
		return nil
	}
	dropped := map[ir.QName]bool{}
	for _, n := range op.Names {
		dropped[catalog.Resolve(n)] = true
	}
	var views []*catalog.Table
	for _, v := range p.Catalog.Dependents(name) {
		if !dropped[v.Name] {
			views = append(views, v)
		}
	}
	return views
}

func viewNames(views []*catalog.Table) string {
	var names []string
	for _, v := range views {
		names = append(names, tableLabel(v.Name))
	}
	return strings.Join(names, ", ")
}

// viewSwapPlan drops the views, changes the type and creates the views
// again, in one migration: one transaction, so no query sees them gone.
func viewSwapPlan(p *rules.Pass, table ir.QName, a ir.AlterColumnType, views []*catalog.Table) *rules.Plan {
	drops, creates, ok := recreateViews(p, views)
	t := p.Catalog.Table(table)
	if !ok || t == nil || t.Column(a.Column) == nil {
		return nil
	}
	col := t.Column(a.Column)
	alter := fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s TYPE %s", sqlgen.Name(table), sqlgen.Ident(a.Column), a.Type.SQL)
	if a.Using != "" {
		alter += " USING " + a.Using
	}
	back := fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s TYPE %s USING %s::%s;", sqlgen.Name(table), sqlgen.Ident(a.Column), col.Type.SQL, sqlgen.Ident(a.Column), col.Type.SQL)
	step := migration(p, "drop the views that use the column, change its type, create the views again: one transaction",
		withLockTimeout(p, drops+"\n"+alter+";\n"+creates), withLockTimeout(p, drops+"\n"+back+"\n"+creates), rules.AccessExclusive, false)
	step.Note = "The views are gone only inside the transaction. The type change itself still rewrites the table unless the new type is binary compatible (PG203 says which)."
	return &rules.Plan{Title: "change the type under its views", Steps: []rules.Step{step}}
}

// recreateViews renders DROP statements for views (dependents first) and
// the statements that create them again as they were defined, with a
// materialized view's indexes; ok is false when a definition is unknown.
func recreateViews(p *rules.Pass, views []*catalog.Table) (drops, creates string, ok bool) {
	var d, c []string
	for i := len(views) - 1; i >= 0; i-- {
		d = append(d, fmt.Sprintf("DROP %s IF EXISTS %s;", strings.ToUpper(string(views[i].Kind)), sqlgen.Name(views[i].Name)))
	}
	for _, v := range views {
		sql, _ := recreateView(p, v.Name)
		if sql == "" {
			return "", "", false
		}
		c = append(c, sql)
	}
	return strings.Join(d, "\n"), strings.Join(c, "\n"), true
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

// alreadyExists reports creating what the schema has already (SQLSTATE
// 42P07 for a relation, 42701 for a column), or twice in one statement:
// known from the migrations replayed before, so only what they created
// counts, and only where that schema is known (Pass.KnownBefore).
func alreadyExists(p *rules.Pass) {
	if !p.KnownBefore() {
		return
	}
	switch op := p.Op.(type) {
	case ir.CreateTable:
		if t := p.Recreates(op); t != nil {
			p.Report(fmt.Sprintf("CREATE TABLE %s fails (SQLSTATE 42P07): %s of that name exists already, created before this statement; add IF NOT EXISTS only if the existing one is the same table", tableLabel(op.Table), withArticle(string(t.Kind))), nil).
				Claims(rules.Fails("42P07", op.Table))
			return
		}
		if dup := repeated(op.Columns); dup != "" {
			p.Report(fmt.Sprintf("CREATE TABLE %s fails (SQLSTATE 42701): column %q is declared twice", tableLabel(op.Table), dup), nil).
				Claims(rules.Fails("42701", op.Table))
		}
	case ir.CreateIndex:
		name := op.Index.Name
		if name == "" || op.IfNotExists {
			return
		}
		q := ir.QName{Schema: op.Index.Table.Schema, Name: name}
		kind := ""
		if t := p.Catalog.Table(q); t != nil && !t.Temp {
			kind = string(t.Kind)
		} else if p.Catalog.Index(q) != nil {
			kind = "index"
		}
		if kind != "" {
			p.Report(fmt.Sprintf("CREATE INDEX %q fails (SQLSTATE 42P07): %s of that name exists already in the schema, created before this statement; name the index differently, or add IF NOT EXISTS only if the existing one is the same index", name, withArticle(kind)), nil).
				Claims(rules.Fails("42P07", op.Index.Table))
		}
	case ir.AlterTable:
		t := p.Catalog.Table(op.Table)
		var added []ir.ColumnDef
		dropped := map[string]bool{} // by an earlier subcommand: DROP COLUMN x, ADD COLUMN x re-creates it
		for _, cmd := range op.Cmds {
			if d, ok := cmd.(ir.DropColumn); ok {
				dropped[d.Column] = true
				added = slices.DeleteFunc(added, func(c ir.ColumnDef) bool { return c.Name == d.Column })
			}
			add, ok := cmd.(ir.AddColumn)
			if !ok || add.IfNotExists {
				continue
			}
			added = append(added, add.Column)
			name := add.Column.Name
			switch {
			case t != nil && !t.Temp && t.Column(name) != nil && !dropped[name]:
				p.Report(fmt.Sprintf("ADD COLUMN %q on %s fails (SQLSTATE 42701): the table has the column already, added before this statement", name, tableLabel(op.Table)), nil).
					Claims(rules.Fails("42701", op.Table))
				return
			case repeated(added) != "":
				p.Report(fmt.Sprintf("ALTER TABLE %s fails (SQLSTATE 42701): it adds column %q twice", tableLabel(op.Table), name), nil).
					Claims(rules.Fails("42701", op.Table))
				return
			}
		}
	}
}

// namedTwice reports statements that name one column twice where the
// server refuses it: an UPDATE that assigns it twice (42601), a view with
// two output columns of one name (42701).
func namedTwice(p *rules.Pass) {
	switch op := p.Op.(type) {
	case ir.Write:
		if op.Twice != "" {
			p.Report(fmt.Sprintf("UPDATE of %s fails (SQLSTATE 42601): it assigns column %q twice", tableLabel(op.Table), op.Twice), nil).
				Claims(rules.Fails("42601", op.Table))
		}
	case ir.CreateView:
		if op.Twice != "" {
			p.Report(fmt.Sprintf("CREATE VIEW %s fails (SQLSTATE 42701): it would have two columns named %q; give one an alias", tableLabel(op.Name), op.Twice), nil).
				Claims(rules.Fails("42701", op.Name))
		}
	}
}

// repeated returns the first column name that comes twice, or "".
func repeated(cols []ir.ColumnDef) string {
	seen := map[string]bool{}
	for _, c := range cols {
		if seen[c.Name] {
			return c.Name
		}
		seen[c.Name] = true
	}
	return ""
}

func withArticle(noun string) string {
	if strings.ContainsRune("aeiou", rune(noun[0])) {
		return "an " + noun
	}
	return "a " + noun
}
