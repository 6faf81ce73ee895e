package livestats

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/fluxlint/fluxlint/analyzers/catalog"
	"github.com/fluxlint/fluxlint/analyzers/ir"
	"github.com/fluxlint/fluxlint/analyzers/mysql"
	"github.com/fluxlint/fluxlint/analyzers/pg"
)

// Difference is one way the live table differs from the table the
// migrations replay to.
type Difference struct {
	Column string // the column it is about, "" for an index or constraint
	Text   string
}

// Drift compares a table as the replayed migrations leave it with the
// same table in the database: missing and extra columns, other types or
// nullability, missing indexes, INVALID indexes and NOT VALID constraints.
// A table the catalog knows only in part (a statement it could not model
// touched it) is compared only on what it knows.
func Drift(t *catalog.Table, idx []*catalog.Index, live *Table, engine ir.Engine) []Difference {
	var out []Difference
	for _, c := range t.Columns {
		lc := live.Column(c.Name)
		if lc == nil {
			if !t.Unknown {
				out = append(out, Difference{c.Name, fmt.Sprintf("column %q is in the migrations but not in the database", c.Name)})
			}
			continue
		}
		if lt, ok := parseType(lc.Type, engine); ok && !sameType(c.Type, lt, engine) {
			out = append(out, Difference{c.Name, fmt.Sprintf("column %q is %s in the database, %s in the migrations", c.Name, lc.Type, c.Type.SQL)})
		}
		if lc.NotNull != c.NotNull && !primaryKeyColumn(t, c.Name) {
			out = append(out, Difference{c.Name, fmt.Sprintf("column %q is %s in the database, %s in the migrations", c.Name, nullability(lc.NotNull), nullability(c.NotNull))})
		}
	}
	if !t.Unknown {
		for _, lc := range live.Columns {
			if t.Column(lc.Name) == nil {
				out = append(out, Difference{lc.Name, fmt.Sprintf("column %q (%s) is in the database but no migration adds it", lc.Name, lc.Type)})
			}
		}
	}
	for _, i := range idx {
		if !hasIndex(live, i.Def) {
			out = append(out, Difference{"", fmt.Sprintf("index %q is in the migrations but not in the database", i.Def.Name)})
		}
	}
	for _, li := range live.Indexes {
		if !li.Valid {
			out = append(out, Difference{"", fmt.Sprintf("index %q is INVALID in the database (a failed CREATE INDEX CONCURRENTLY left it): it is kept up to date on every write but never used; drop it and build it again", li.Name)})
		}
	}
	for _, lc := range live.Constraints {
		if !lc.Validated {
			out = append(out, Difference{"", fmt.Sprintf("constraint %q is NOT VALID in the database: rows written before it was added were never checked", lc.Name)})
		}
	}
	return out
}

func nullability(notNull bool) string {
	if notNull {
		return "NOT NULL"
	}
	return "nullable"
}

// primaryKeyColumn: primary key columns are NOT NULL whatever their
// definition says, so the catalog's declared nullability does not count.
func primaryKeyColumn(t *catalog.Table, name string) bool {
	for _, c := range t.PrimaryKey() {
		if c.Name == name {
			return true
		}
	}
	return false
}

// hasIndex reports whether the database has the index: by name, or (for
// indexes whose name the server chose) by its columns.
func hasIndex(live *Table, d ir.IndexDef) bool {
	for _, li := range live.Indexes {
		if li.Name == d.Name || len(d.Columns) > 0 && len(d.Elems) == 0 && slices.Equal(li.Columns, d.Columns) {
			return true
		}
	}
	return false
}

// parseType reads a type as the server renders it with the engine's own
// parser, so that "character varying(20)" and varchar(20) compare equal.
func parseType(text string, engine ir.Engine) (ir.Type, bool) {
	key := [2]string{fmt.Sprint(engine), text}
	if v, ok := types.Load(key); ok {
		r := v.(parsedType)
		return r.t, r.ok
	}
	t, ok := parseTypeText(text, engine)
	types.Store(key, parsedType{t, ok})
	return t, ok
}

// types caches parsed types: a database has thousands of columns and a
// few dozen distinct types.
var types sync.Map

type parsedType struct {
	t  ir.Type
	ok bool
}

func parseTypeText(text string, engine ir.Engine) (ir.Type, bool) {
	stmt := "CREATE TABLE t (c " + text + ")"
	var ops []ir.Op
	var err error
	if engine == ir.MySQL {
		ops, err = mysql.Parse(stmt)
	} else {
		ops, err = pg.Parse(stmt)
	}
	if err != nil || len(ops) != 1 {
		return ir.Type{}, false
	}
	ct, ok := ops[0].(ir.CreateTable)
	if !ok || len(ct.Columns) != 1 {
		return ir.Type{}, false
	}
	return ct.Columns[0].Type, true
}

// sameType compares base type, modifiers and array-ness; on MySQL an
// integer's display width (int(11)) is no difference, and neither is a
// serial column's integer type on PostgreSQL.
func sameType(a, b ir.Type, engine ir.Engine) bool {
	if !strings.EqualFold(alias(a.Name, engine), alias(b.Name, engine)) || a.Array != b.Array {
		return false
	}
	if engine == ir.MySQL {
		if a.Unsigned != b.Unsigned {
			return false
		}
		switch alias(a.Name, engine) {
		case "tinyint", "smallint", "mediumint", "int", "integer", "bigint":
			return true
		}
	}
	return slices.Equal(a.Mods, b.Mods)
}

// alias maps MySQL's synonyms to the type the server stores: BOOLEAN is
// TINYINT(1), INTEGER is INT, and MariaDB's JSON is LONGTEXT.
func alias(name string, engine ir.Engine) string {
	name = strings.ToLower(name)
	if engine != ir.MySQL {
		return name
	}
	switch name {
	case "bool", "boolean":
		return "tinyint"
	case "integer":
		return "int"
	case "json":
		return "longtext"
	}
	return name
}

// Adopt lists the ALTER TABLE subcommands that make the catalog's table
// match the database's columns: drop what the database lacks, add what
// only it has, and take its types and nullability.
func Adopt(t *catalog.Table, live *Table, engine ir.Engine) []ir.AlterCmd {
	var cmds []ir.AlterCmd
	for _, c := range t.Columns {
		lc := live.Column(c.Name)
		if lc == nil {
			if !t.Unknown {
				cmds = append(cmds, ir.DropColumn{Column: c.Name})
			}
			continue
		}
		if lt, ok := parseType(lc.Type, engine); ok && !sameType(c.Type, lt, engine) {
			cmds = append(cmds, ir.AlterColumnType{Column: c.Name, Type: lt})
		}
		if lc.NotNull != c.NotNull && !primaryKeyColumn(t, c.Name) {
			if lc.NotNull {
				cmds = append(cmds, ir.SetNotNull{Column: c.Name})
			} else {
				cmds = append(cmds, ir.DropNotNull{Column: c.Name})
			}
		}
	}
	if !t.Unknown {
		for _, lc := range live.Columns {
			if t.Column(lc.Name) == nil {
				if lt, ok := parseType(lc.Type, engine); ok {
					cmds = append(cmds, ir.AddColumn{Column: ir.ColumnDef{Name: lc.Name, Type: lt, NotNull: lc.NotNull}})
				}
			}
		}
	}
	return cmds
}
