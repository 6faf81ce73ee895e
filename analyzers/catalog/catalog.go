// Package catalog replays migrations into a model of the schema. Every object
// remembers the change set that created it, so rules can tell a table that
// already holds production rows from one created moments earlier in the same
// change. What the catalog cannot model it marks unknown instead of guessing.
package catalog

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/fluxlint/fluxlint/analyzers/ir"
	"github.com/fluxlint/fluxlint/analyzers/pg"
)

// Column is a table column.
type Column struct {
	Name      string
	Type      ir.Type
	NotNull   bool
	Default   *ir.Expr
	Identity  string
	Generated *ir.Expr
	Collation string
	Serial    string // "serial", "bigserial", ... when declared so, until a rename leaves its sequence's name behind
	// OwnedSeq is the sequence a serial column created and owns; it keeps
	// its name when the table or column is renamed.
	OwnedSeq string
	// MySQL only.
	AutoIncrement bool
	Virtual       bool // generated VIRTUAL rather than STORED
	OnUpdate      string
	Comment       string
	created       int
}

// Constraint is a table constraint; Validated is false for NOT VALID ones.
type Constraint struct {
	ir.Constraint
	Validated bool
	tx        int // the transaction that added it (SetTx)
}

// Index is an index; Constraint names the constraint it backs, if any.
type Index struct {
	Def        ir.IndexDef
	Valid      bool
	Constraint string
	created    int
	owner      *Catalog // the catalog that may write it; a clone copies first
}

// Table is a table (or view or materialized view, by Kind).
type Table struct {
	Name       ir.QName // schema always set
	Kind       ir.ObjectKind
	Definition string // a view's CREATE statement, as the parser renders it
	// Renames are the renames of relations Definition names (the view's
	// own name too) and of columns it reads, made since it was defined, in
	// order: the definition as written, with these applied, is the view as
	// it is now.
	Renames []ir.Rename
	// Filled: created in the change with rows already (from a query), so
	// new is not empty.
	Filled bool
	// Temp: a temporary table, which lasts only as long as the session
	// that created it.
	Temp bool
	// Reads is what a view's query reads (names resolved).
	Reads ir.ViewReads
	// StarColumns are, for a view that selects *, the columns of each
	// table it reads as they were when it was defined: what its * stands
	// for, as PostgreSQL stores it.
	StarColumns map[ir.QName][]string
	order       int // creation order, for recreating views after what they read
	Columns     []*Column
	Constraints []*Constraint
	indexes     []string // names of its indexes, which live in its schema
	PartitionBy *ir.PartitionKey
	Parent      *ir.QName          // set for a partition
	Bound       *ir.PartitionBound // set for a partition
	// OpenPartitions: the partitioned table may have partitions the
	// migrations do not name, created by a function given its name or by a
	// statement whose effect is hidden (a DO block's dynamic SQL, CALL).
	OpenPartitions bool
	// Charset is MySQL's table default character set, as declared ("" when
	// not: the server's default); RowFormat its ROW_FORMAT ("" for the
	// server's default, DYNAMIC).
	Charset, RowFormat string
	// RowVersions counts MySQL's instant ADD and DROP COLUMNs since the
	// table was created or last rebuilt: MySQL 8.0.29+ keeps a row version
	// for each and allows 64 before it must rebuild.
	RowVersions int
	// Triggers names the table's triggers (MySQL).
	Triggers []string
	// Unknown is set when a statement the catalog cannot model touched the
	// table, or the table was never created in the replayed history: its
	// columns and constraints may be incomplete.
	Unknown bool
	created int
	owner   *Catalog
}

// Enum is an enum type.
type Enum struct {
	Name    ir.QName
	Values  []string
	created int
	owner   *Catalog
}

// Domain is a domain type. Its values are replaced, never written, so
// clones share them safely.
type Domain struct {
	Name    ir.QName
	Checks  []string // CHECK expressions on VALUE, as SQL
	NotNull bool
	created int
}

// Constrained reports whether the domain checks its values.
func (d *Domain) Constrained() bool { return len(d.Checks) > 0 || d.NotNull }

// Catalog is the schema state at one point of the replay.
type Catalog struct {
	tables  map[ir.QName]*Table
	indexes map[ir.QName]*Index
	enums   map[ir.QName]*Enum
	domains map[ir.QName]*Domain
	schemas map[string]int
	// Opaque lists statements (DO blocks, procedure calls) whose effect is
	// invisible: anything may have changed in ways the catalog cannot see.
	Opaque []string
	gen    int  // the current change set; objects with created == gen are new
	made   int  // relations created so far: the next one's order
	views  bool // a view was ever created: view lookups have work to do
	// tx numbers the transaction the ops being applied run in (0: not
	// tracked), so that a rule can tell what an earlier file of the same
	// transaction did (a tool that applies every pending migration in one).
	tx int
	// strays are the sequences of serial columns that no longer carry the
	// name serial would give them (see stray); an entry may outlive its
	// owner, and is checked before it counts.
	strays map[ir.QName]bool
	// droppedIndexes are the tables of the indexes dropped so far, by
	// index: a rule after a DROP INDEX can still tell which table it
	// locked.
	droppedIndexes map[ir.QName]ir.QName
	// mysql: index names are scoped to their table, unqualified names stay
	// unqualified (the connection's database), and the server's own rules
	// for implicit indexes and dropped columns apply.
	mysql bool
}

// New returns an empty PostgreSQL catalog with the public schema.
func New() *Catalog { return NewFor(ir.Postgres) }

// NewFor returns an empty catalog for the engine.
func NewFor(engine ir.Engine) *Catalog {
	return &Catalog{
		tables:  map[ir.QName]*Table{},
		indexes: map[ir.QName]*Index{},
		enums:   map[ir.QName]*Enum{},
		domains: map[ir.QName]*Domain{},
		schemas: map[string]int{"public": 0},
		mysql:   engine == ir.MySQL,
	}
}

// BeginChange starts a new change set: objects created from now on are new,
// and everything created before is existing.
func (c *Catalog) BeginChange() { c.gen++ }

// SetTx says which transaction the ops applied from now on run in: a
// number the caller increments at every transaction boundary (0: none
// tracked).
func (c *Catalog) SetTx(tx int) { c.tx = tx }

// NotValidInTx returns the table's constraint name when it was added NOT
// VALID, and is still not validated, in the current transaction (SetTx).
func (c *Catalog) NotValidInTx(table ir.QName, name string) *Constraint {
	t := c.Table(table)
	if t == nil || c.tx == 0 {
		return nil
	}
	if k := t.Constraint(name); k != nil && !k.Validated && k.tx == c.tx {
		return k
	}
	return nil
}

// Resolve qualifies an unqualified PostgreSQL name with the default schema.
func Resolve(q ir.QName) ir.QName {
	if q.Schema == "" {
		q.Schema = "public"
	}
	return q
}

// resolve qualifies a name as the catalog's engine does: PostgreSQL with
// its default schema; MySQL leaves it to the connection's database.
func (c *Catalog) resolve(q ir.QName) ir.QName {
	if c.mysql {
		return q
	}
	return Resolve(q)
}

// Same reports whether two names, as written, name the same object.
func (c *Catalog) Same(a, b ir.QName) bool { return c.resolve(a) == c.resolve(b) }

// indexKey is where an index of table lives: in its schema for
// PostgreSQL, in its table for MySQL.
func (c *Catalog) indexKey(table ir.QName, name string) ir.QName {
	table = c.resolve(table)
	if c.mysql {
		return ir.QName{Schema: table.Schema, Name: table.Name + "\x00" + name}
	}
	return ir.QName{Schema: table.Schema, Name: name}
}

// Table returns the table, view or materialized view named q, or nil.
func (c *Catalog) Table(q ir.QName) *Table { return c.tables[c.resolve(q)] }

// Index returns the PostgreSQL index named q, or nil.
func (c *Catalog) Index(q ir.QName) *Index { return c.indexes[c.resolve(q)] }

// IndexOn returns the index of table named name (MySQL's index names are
// scoped to their table), or nil.
func (c *Catalog) IndexOn(table ir.QName, name string) *Index {
	return c.indexes[c.indexKey(table, name)]
}

// Enum returns the enum type named q, or nil.
func (c *Catalog) Enum(q ir.QName) *Enum { return c.enums[c.resolve(q)] }

// IsNewEnum reports whether the enum type was created in the current
// change.
func (c *Catalog) IsNewEnum(q ir.QName) bool {
	e := c.Enum(q)
	return e != nil && c.gen > 0 && e.created == c.gen
}

// TablesIn lists the tables (not views) of a schema, by name.
func (c *Catalog) TablesIn(schema string) []*Table {
	var out []*Table
	for q, t := range c.tables {
		if q.Schema == schema && t.Kind == ir.KindTable {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(a, b *Table) int { return strings.Compare(a.Name.Name, b.Name.Name) })
	return out
}

// ownEnum returns this catalog's own copy of an enum shared with the
// catalog it was cloned from, for changing.
func (c *Catalog) ownEnum(e *Enum) *Enum {
	if e.owner != c {
		e = &Enum{Name: e.Name, Values: slices.Clone(e.Values), created: e.created, owner: c}
		c.enums[e.Name] = e
	}
	return e
}

// EnumUsers lists the columns of the tables whose type is the enum q (or
// an array of it), by table name. A type name carries no
// schema: a column of an enum of that name counts.
func (c *Catalog) EnumUsers(q ir.QName) []ColumnRef {
	if c.Enum(q) == nil {
		return nil
	}
	return c.columnsOfType(func(t ir.Type) bool { return t.Name == q.Name })
}

// columnsOfType lists the columns of tables (not views) whose type matches,
// by table name, each table's in their order.
func (c *Catalog) columnsOfType(match func(ir.Type) bool) []ColumnRef {
	var out []ColumnRef
	for _, t := range c.tables {
		if t.Kind != ir.KindTable {
			continue
		}
		for _, col := range t.Columns {
			if match(col.Type) {
				out = append(out, ColumnRef{Table: t.Name, Column: col.Name})
			}
		}
	}
	slices.SortStableFunc(out, func(a, b ColumnRef) int { return strings.Compare(a.Table.String(), b.Table.String()) })
	return out
}

// Domain returns the domain type named q, or nil.
func (c *Catalog) Domain(q ir.QName) *Domain { return c.domains[c.resolve(q)] }

// DomainOf returns the domain a column's type is, or nil. A type name
// carries no schema: a domain of that name in any schema counts, which
// errs toward reporting.
func (c *Catalog) DomainOf(t ir.Type) *Domain {
	if t.Array || len(c.domains) == 0 {
		return nil
	}
	for q, d := range c.domains {
		if q.Name == t.Name {
			return d
		}
	}
	return nil
}

// ColumnRef is one column of one table.
type ColumnRef struct {
	Table  ir.QName
	Column string
}

// DomainUsers lists the columns, in tables (not views), whose type is the
// domain, by table name.
func (c *Catalog) DomainUsers(q ir.QName) []ColumnRef {
	d := c.Domain(q)
	if d == nil {
		return nil
	}
	return c.columnsOfType(func(t ir.Type) bool { return c.DomainOf(t) == d })
}

// IsNew reports whether the table named q was created in the current change
// set, so that nothing outside the change can be using it yet.
func (c *Catalog) IsNew(q ir.QName) bool {
	t := c.Table(q)
	return t != nil && c.gen > 0 && t.created == c.gen
}

// ViewsUsing lists the views that use a column of a table (by name, or
// through *), in creation order.
func (c *Catalog) ViewsUsing(table ir.QName, column string) []*Table {
	if !c.views {
		return nil // the common case, and every DROP and ALTER asks
	}
	table = c.resolve(table)
	var out []*Table
	for _, v := range c.tables {
		if v.Kind != ir.KindTable && slices.Contains(v.Reads.Relations, table) && (v.Reads.Star || slices.Contains(v.Reads.Columns, column)) {
			out = append(out, v)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].order < out[j].order })
	return out
}

// CreatedBefore orders relations by creation, for sorting.
func CreatedBefore(a, b *Table) int { return a.order - b.order }

// Dependents lists the views that read a relation, directly or through
// other views, in creation order: the order to create them again in.
func (c *Catalog) Dependents(q ir.QName) []*Table {
	if !c.views {
		return nil
	}
	seen := map[ir.QName]bool{c.resolve(q): true}
	var out []*Table
	for grew := true; grew; {
		grew = false
		for _, v := range c.tables {
			if v.Kind == ir.KindTable || seen[v.Name] {
				continue
			}
			for _, r := range v.Reads.Relations {
				if seen[r] {
					seen[v.Name], grew = true, true
					out = append(out, v)
					break
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].order < out[j].order })
	return out
}

// IsNewAndEmpty reports whether the table was created in the current
// change set without rows: nobody uses it yet, and nothing it holds can
// make a statement fail. A table created from a query is new but has rows.
func (c *Catalog) IsNewAndEmpty(q ir.QName) bool {
	return c.IsNew(q) && !c.Table(q).Filled
}

// IsNewColumn reports whether the column was added in the current change set.
func (c *Catalog) IsNewColumn(q ir.QName, col string) bool {
	t := c.Table(q)
	if t == nil {
		return false
	}
	k := t.Column(col)
	return k != nil && c.gen > 0 && k.created == c.gen
}

// IsNewIndex reports whether the index was created in the current change set.
func (c *Catalog) IsNewIndex(q ir.QName) bool {
	i := c.Index(q)
	return i != nil && c.gen > 0 && i.created == c.gen
}

// IndexesOn lists the indexes of a table, by name.
func (c *Catalog) IndexesOn(q ir.QName) []*Index {
	t := c.Table(q)
	if t == nil {
		return nil
	}
	names := slices.Clone(t.indexes)
	slices.Sort(names)
	out := make([]*Index, 0, len(names))
	for _, n := range names {
		if i := c.indexes[c.indexKey(t.Name, n)]; i != nil {
			out = append(out, i)
		}
	}
	return out
}

// addIndex records a new index and lists it on its table.
// countRowVersions keeps MySQL's count of instant column changes: each
// ADD or DROP COLUMN adds a row version, and a statement that rebuilds the
// table starts the count again. Which statements rebuild is
// analyzers/onlineddl's verdict, which reads the catalog; this keeps to the
// changes that always rebuild (FORCE, ENGINE, ROW_FORMAT, CONVERT TO, the
// primary key, a column's type or nullability).
func (c *Catalog) countRowVersions(t *Table, o ir.AlterTable) {
	versions, rebuild := 0, false
	for _, cmd := range o.Cmds {
		switch x := cmd.(type) {
		case ir.AddColumn, ir.DropColumn:
			versions++
		case ir.OtherAlter:
			switch x.Kind {
			case "FORCE", "table option ENGINE", "table option ROW_FORMAT", "CONVERT TO CHARACTER SET":
				rebuild = true
			}
		case ir.AddConstraint:
			rebuild = rebuild || x.Constraint.Kind == ir.PrimaryKey
		case ir.DropConstraint:
			rebuild = rebuild || strings.EqualFold(x.Name, "PRIMARY")
		case ir.ModifyColumn:
			old := x.From()
			if col := t.Column(old); col == nil || col.NotNull != x.Column.NotNull || col.Type.Name != x.Column.Type.Name {
				rebuild = true
			}
		}
	}
	// Past the limit MySQL rebuilds the table for the statement instead,
	// which starts the count again too.
	if rebuild || t.RowVersions+versions > mysqlRowVersions {
		t.RowVersions = 0
		return
	}
	t.RowVersions += versions
}

// mysqlRowVersions is MySQL 8.0.29+'s limit of instant row versions per
// table (onlineddl.RowVersions, which imports this package).
const mysqlRowVersions = 64

// replaceForeignKeyIndexes drops the indexes InnoDB made for foreign keys
// (named after the key, on its columns) that the new index d can serve: the
// server drops them itself.
func (c *Catalog) replaceForeignKeyIndexes(t *Table, d ir.IndexDef) {
	for _, k := range t.Constraints {
		if k.Kind != ir.ForeignKey || strings.EqualFold(k.Name, d.Name) || len(d.Columns) < len(k.Columns) || !slices.Equal(d.Columns[:len(k.Columns)], k.Columns) {
			continue
		}
		key := c.indexKey(t.Name, k.Name)
		if i := c.indexes[key]; i != nil && slices.Equal(i.Def.Columns, k.Columns) {
			c.dropIndex(key)
		}
	}
}

func (c *Catalog) addIndex(i *Index) {
	t := c.table(i.Def.Table)
	c.indexes[c.indexKey(t.Name, i.Def.Name)] = i
	t.indexes = append(t.indexes, i.Def.Name)
}

// dropIndex forgets an index and unlists it from its table.
func (c *Catalog) dropIndex(key ir.QName) {
	i := c.indexes[key]
	if i == nil {
		return
	}
	delete(c.indexes, key)
	if c.droppedIndexes == nil {
		c.droppedIndexes = map[ir.QName]ir.QName{}
	}
	c.droppedIndexes[key] = i.Def.Table
	if t := c.Table(i.Def.Table); t != nil {
		t = c.ownTable(t)
		t.indexes = slices.DeleteFunc(t.indexes, func(n string) bool { return n == i.Def.Name })
	}
}

// IndexTable returns the table of an index, or of the index of that name
// dropped last when none exists now.
func (c *Catalog) IndexTable(q ir.QName) (ir.QName, bool) {
	if i := c.Index(q); i != nil {
		return i.Def.Table, true
	}
	t, ok := c.droppedIndexes[c.resolve(q)]
	return t, ok
}

// TablesReferencing lists the tables with a foreign key to the table q.
func (c *Catalog) TablesReferencing(q ir.QName) []*Table {
	q = c.resolve(q)
	var out []*Table
	for _, t := range c.tables {
		for _, k := range t.Constraints {
			if k.Kind == ir.ForeignKey && c.resolve(k.RefTable) == q {
				out = append(out, t)
				break
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name.String() < out[j].Name.String() })
	return out
}

// Partitions lists the partitions of a partitioned table, by name.
func (c *Catalog) Partitions(parent ir.QName) []*Table {
	parent = c.resolve(parent)
	var out []*Table
	for _, t := range c.tables {
		if t.Parent != nil && *t.Parent == parent {
			out = append(out, t)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name.String() < out[j].Name.String() })
	return out
}

// DefaultPartition returns the DEFAULT partition of a partitioned table, or nil.
func (c *Catalog) DefaultPartition(parent ir.QName) *Table {
	parent = c.resolve(parent)
	for _, t := range c.tables {
		if t.Parent != nil && *t.Parent == parent && t.Bound != nil && t.Bound.Default {
			return t
		}
	}
	return nil
}

// Column returns the named column, or nil.
func (t *Table) Column(name string) *Column {
	for _, c := range t.Columns {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// PrimaryKey returns the primary key's columns, or nil when there is none
// or it is not known.
func (t *Table) PrimaryKey() []*Column {
	for _, k := range t.Constraints {
		if k.Kind != ir.PrimaryKey {
			continue
		}
		var cols []*Column
		for _, n := range k.Columns {
			col := t.Column(n)
			if col == nil {
				return nil
			}
			cols = append(cols, col)
		}
		return cols
	}
	return nil
}

// Constraint returns the named constraint, or nil.
func (t *Table) Constraint(name string) *Constraint {
	for _, k := range t.Constraints {
		if k.Name == name {
			return k
		}
	}
	return nil
}

// table returns the table, creating an unknown placeholder when a statement
// refers to a table the replayed history never created.
func (c *Catalog) table(q ir.QName) *Table {
	q = c.resolve(q)
	if t := c.tables[q]; t != nil {
		return c.ownTable(t)
	}
	t := &Table{Name: q, Kind: ir.KindTable, Unknown: true, owner: c}
	c.tables[q] = t
	return t
}

// Apply replays one op.
func (c *Catalog) Apply(op ir.Op) {
	switch o := op.(type) {
	case ir.CreateTable:
		c.createTable(o)
	case ir.AlterTable:
		c.alterTable(o)
	case ir.CreateTrigger:
		if t := c.Table(o.Table); t != nil && c.mysql {
			t = c.ownTable(t)
			t.Triggers = append(t.Triggers, o.Name)
		}
	case ir.DropTrigger:
		for q, t := range c.tables {
			if i := slices.Index(t.Triggers, o.Name.Name); i >= 0 && (o.Name.Schema == "" || o.Name.Schema == q.Schema) {
				t = c.ownTable(t)
				t.Triggers = slices.Delete(t.Triggers, i, i+1)
			}
		}
	case ir.Truncate:
		// MySQL's TRUNCATE recreates the table: its row versions start over.
		for _, q := range o.Tables {
			if t := c.Table(q); t != nil && c.mysql && t.RowVersions > 0 {
				c.ownTable(t).RowVersions = 0
			}
		}
	case ir.CreateIndex:
		if c.indexes[c.indexKey(o.Index.Table, o.Index.Name)] == nil {
			c.addIndex(&Index{Def: o.Index, Valid: true, created: c.gen, owner: c})
		}
	case ir.Drop:
		c.drop(o)
	case ir.RenameIndex:
		c.renameIndex(o)
	case ir.CreateEnum:
		q := c.resolve(o.Name)
		c.enums[q] = &Enum{Name: q, Values: slices.Clone(o.Values), created: c.gen, owner: c}
	case ir.AddEnumValue:
		if e := c.Enum(o.Name); e != nil && !slices.Contains(e.Values, o.Value) {
			e = c.ownEnum(e)
			e.Values = append(e.Values, o.Value)
		}
	case ir.RenameEnumValue:
		if e := c.Enum(o.Name); e != nil {
			if i := slices.Index(e.Values, o.Old); i >= 0 {
				e = c.ownEnum(e)
				e.Values[i] = o.New
			}
		}
	case ir.CreateView:
		q := c.resolve(o.Name)
		kind := ir.KindView
		if o.Materialized {
			kind = ir.KindMatView
		}
		reads := o.Reads
		reads.Relations = nil
		for _, r := range o.Reads.Relations {
			reads.Relations = append(reads.Relations, c.resolve(r))
		}
		c.made++
		c.views = true
		v := &Table{Name: q, Kind: kind, Unknown: true, Definition: o.Definition, Reads: reads, order: c.made, created: c.gen, owner: c}
		if reads.Star {
			v.StarColumns = map[ir.QName][]string{}
			for _, r := range o.Reads.Relations {
				if t := c.Table(r); t != nil && !t.Unknown && t.Kind == ir.KindTable {
					for _, col := range t.Columns {
						v.StarColumns[Resolve(r)] = append(v.StarColumns[Resolve(r)], col.Name)
					}
				}
			}
		}
		c.tables[q] = v
	case ir.CreateDomain:
		q := c.resolve(o.Name)
		c.domains[q] = &Domain{Name: q, Checks: slices.Clone(o.Checks), NotNull: o.NotNull, created: c.gen}
	case ir.AlterDomain:
		if d := c.Domain(o.Name); d != nil {
			n := *d
			switch o.Kind {
			case "ADD CONSTRAINT":
				if o.Check != "" {
					n.Checks = append(slices.Clone(d.Checks), o.Check)
				}
			case "SET NOT NULL":
				n.NotNull = true
			case "DROP NOT NULL":
				n.NotNull = false
			}
			c.domains[n.Name] = &n
		}
	case ir.CreateSchema:
		if _, ok := c.schemas[o.Name]; !ok {
			c.schemas[o.Name] = c.gen
		}
	case ir.Opaque:
		c.Opaque = append(c.Opaque, o.Kind)
		for _, t := range c.tables {
			if t.PartitionBy != nil && !t.OpenPartitions {
				c.ownTable(t).OpenPartitions = true
			}
		}
	case ir.Call:
		for _, s := range o.Strings {
			if t := c.Table(nameIn(s)); t != nil && t.PartitionBy != nil {
				c.ownTable(t).OpenPartitions = true
			}
		}
	}
}

// nameIn reads a relation's name from a string as a function receives it
// ('events', 'public.events', '"Events"'); a string that is no name gives
// one that names nothing.
func nameIn(s string) ir.QName {
	parts := strings.Split(s, ".")
	for i, p := range parts {
		if len(p) >= 2 && p[0] == '"' && p[len(p)-1] == '"' {
			parts[i] = strings.ReplaceAll(p[1:len(p)-1], `""`, `"`)
		} else {
			parts[i] = strings.ToLower(p)
		}
	}
	switch len(parts) {
	case 1:
		return ir.QName{Name: parts[0]}
	case 2:
		return ir.QName{Schema: parts[0], Name: parts[1]}
	}
	return ir.QName{}
}

func (c *Catalog) createTable(o ir.CreateTable) {
	q := c.resolve(o.Table)
	if c.tables[q] != nil && o.IfNotExists {
		return
	}
	c.made++
	t := &Table{Name: q, Kind: ir.KindTable, created: c.gen, Unknown: o.AsSelect, Filled: o.Filled, Temp: o.Temp, order: c.made, owner: c, PartitionBy: o.PartitionBy, Bound: o.Bound, Charset: o.Charset, RowFormat: o.RowFormat}
	if o.PartitionOf != nil {
		parent := c.resolve(*o.PartitionOf)
		t.Parent = &parent
		if parent := c.Table(*o.PartitionOf); parent != nil {
			for _, col := range parent.Columns {
				k := *col
				k.created = c.gen
				t.Columns = append(t.Columns, &k)
			}
			t.Unknown = parent.Unknown
		} else {
			t.Unknown = true
		}
	}
	c.tables[q] = t
	for _, def := range o.Columns {
		c.addColumn(t, def)
	}
	for _, k := range o.Constraints {
		c.addConstraint(t, k)
	}
	for _, d := range o.Indexes {
		d.Table = t.Name
		c.addIndex(&Index{Def: d, Valid: true, created: c.gen, owner: c})
	}
}

// newColumn is the catalog's column for a definition, created now.
func (c *Catalog) newColumn(def ir.ColumnDef) *Column {
	col := ColumnOf(def)
	col.created = c.gen
	return col
}

// ColumnOf is the column a definition describes, as the catalog keeps it.
func ColumnOf(def ir.ColumnDef) *Column {
	return &Column{Name: def.Name, Type: def.Type, NotNull: def.NotNull, Default: def.Default,
		Identity: def.Identity, Generated: def.Generated, Collation: def.Collation,
		AutoIncrement: def.AutoIncrement, Virtual: def.Virtual, OnUpdate: def.OnUpdate, Comment: def.Comment}
}

// place moves the table's column named name to pos (MySQL's FIRST or AFTER).
func (t *Table) place(name string, pos ir.Position) {
	if !pos.First && pos.After == "" {
		return
	}
	i := slices.IndexFunc(t.Columns, func(k *Column) bool { return k.Name == name })
	after := slices.IndexFunc(t.Columns, func(k *Column) bool { return k.Name == pos.After })
	if i < 0 || !pos.First && after < 0 {
		return
	}
	col := t.Columns[i]
	t.Columns = slices.Delete(t.Columns, i, i+1)
	at := 0
	if !pos.First {
		at = slices.IndexFunc(t.Columns, func(k *Column) bool { return k.Name == pos.After }) + 1
	}
	t.Columns = slices.Insert(t.Columns, at, col)
}

func (c *Catalog) addColumn(t *Table, def ir.ColumnDef) {
	if t.Column(def.Name) != nil {
		return
	}
	col := c.newColumn(def)
	if def.Serial {
		// serial is int4/int8/int2 with a sequence default.
		col.Type = serialType(def.Type.Name)
		col.Serial = def.Type.Name
		col.OwnedSeq = c.freeName(t.Name, serialSequence(t.Name, def.Name))
		if col.OwnedSeq != serialSequence(t.Name, def.Name) {
			col.Serial = "" // a rollback creates the sequence under this name, not serial's
		}
		col.Default = &ir.Expr{SQL: fmt.Sprintf("nextval('%s'::regclass)", strings.ReplaceAll(quoteIdent(col.OwnedSeq), "'", "''")), Volatility: ir.Volatile}
	}
	t.Columns = append(t.Columns, col)
	if col.OwnedSeq != "" {
		c.stray(t)
	}
	for _, k := range def.Constraints {
		c.addConstraint(t, k)
	}
}

func serialType(name string) ir.Type {
	switch name {
	case "bigserial", "serial8":
		return ir.Type{SQL: "bigint", Name: "int8"}
	case "smallserial", "serial2":
		return ir.Type{SQL: "smallint", Name: "int2"}
	}
	return ir.Type{SQL: "int", Name: "int4"}
}

func (c *Catalog) addConstraint(t *Table, k ir.Constraint) {
	if t.Constraint(k.Name) != nil {
		return
	}
	t.Constraints = append(t.Constraints, &Constraint{Constraint: k, Validated: !k.NotValid, tx: c.tx})
	if k.Kind == ir.PrimaryKey {
		for _, n := range k.Columns {
			if col := t.Column(n); col != nil {
				col.NotNull = true
			}
		}
	}
	if k.Kind == ir.ForeignKey && c.mysql {
		c.foreignKeyIndex(t, k)
	}
	if k.Kind != ir.PrimaryKey && k.Kind != ir.Unique && k.Kind != ir.Exclude {
		return
	}
	idxName := c.indexKey(t.Name, k.Name)
	if k.UsingIndex != "" {
		// USING INDEX renames the existing index to the constraint's name.
		old := c.indexKey(t.Name, k.UsingIndex)
		if i := c.indexes[old]; i != nil {
			i = c.ownIndex(old, i)
			c.dropIndex(old)
			i.Def.Name, i.Constraint = k.Name, k.Name
			c.addIndex(i)
		}
		return
	}
	// A constraint's index has plain columns only: Elems stay empty.
	if c.indexes[idxName] == nil {
		c.addIndex(&Index{Def: ir.IndexDef{Name: k.Name, Table: t.Name, Unique: k.Kind != ir.Exclude, Method: "btree",
			Columns: slices.Clone(k.Columns), Refs: slices.Clone(k.Columns)}, Valid: true, Constraint: k.Name, created: c.gen, owner: c})
	}
}

// harmlessMySQL reports whether a MySQL ALTER TABLE subcommand changes
// nothing modelled: a rebuild, or a table option other than the character
// set (which later columns take).
func harmlessMySQL(kind string) bool {
	switch kind {
	case "FORCE", "OPTIMIZE":
		return true
	}
	option, ok := strings.CutPrefix(kind, "table option ")
	return ok && !strings.Contains(option, "CHARSET") && !strings.Contains(option, "CHARACTER") && !strings.Contains(option, "COLLATE")
}

// harmlessAlters are ALTER TABLE subcommands that change nothing modelled.
var harmlessAlters = map[string]bool{
	"ChangeOwner": true, "SetStatistics": true, "SetOptions": true, "ResetOptions": true, "SetStorage": true,
	"SetCompression": true, "ClusterOn": true, "DropCluster": true, "SetLogged": true, "SetUnLogged": true,
	"SetTableSpace": true, "SetRelOptions": true, "ResetRelOptions": true, "ReplaceRelOptions": true,
	"EnableTrig": true, "EnableAlwaysTrig": true, "EnableReplicaTrig": true, "DisableTrig": true,
	"EnableTrigAll": true, "DisableTrigAll": true, "EnableTrigUser": true, "DisableTrigUser": true,
	"EnableRule": true, "EnableAlwaysRule": true, "EnableReplicaRule": true, "DisableRule": true,
	"ReplicaIdentity": true, "EnableRowSecurity": true, "DisableRowSecurity": true, "ForceRowSecurity": true,
	"NoForceRowSecurity": true, "GenericOptions": true, "AttachPartition": true, "DetachPartition": true,
	"DetachPartitionFinalize": true, "SetAccessMethod": true,
}

// foreignKeyIndex gives a MySQL foreign key the index InnoDB creates for it
// when no index starts with its columns: named after the constraint.
func (c *Catalog) foreignKeyIndex(t *Table, k ir.Constraint) {
	for _, i := range c.IndexesOn(t.Name) {
		if len(i.Def.Columns) >= len(k.Columns) && slices.Equal(i.Def.Columns[:len(k.Columns)], k.Columns) {
			return
		}
	}
	if c.indexes[c.indexKey(t.Name, k.Name)] == nil {
		c.addIndex(&Index{Def: ir.IndexDef{Name: k.Name, Table: t.Name, Method: "btree", Columns: slices.Clone(k.Columns), Refs: slices.Clone(k.Columns)},
			Valid: true, created: c.gen, owner: c})
	}
}

func (c *Catalog) alterTable(o ir.AlterTable) {
	q := c.resolve(o.Table)
	if c.tables[q] == nil && o.IfExists {
		return
	}
	t := c.table(q)
	if c.mysql {
		c.countRowVersions(t, o)
	}
	for _, cmd := range o.Cmds {
		switch x := cmd.(type) {
		case ir.AddColumn:
			c.addColumn(t, x.Column)
			t.place(x.Column.Name, x.Position)
		case ir.ModifyColumn:
			c.modifyColumn(t, x)
		case ir.AddIndex:
			x.Index.Table = t.Name
			if c.indexes[c.indexKey(t.Name, x.Index.Name)] == nil {
				c.addIndex(&Index{Def: x.Index, Valid: true, created: c.gen, owner: c})
				if c.mysql {
					c.replaceForeignKeyIndexes(t, x.Index)
				}
			}
		case ir.DropIndex:
			if k := t.Constraint(x.Name); k != nil && k.Kind != ir.ForeignKey {
				c.dropConstraint(t, x.Name)
			} else {
				c.dropIndex(c.indexKey(t.Name, x.Name))
			}
		case ir.RenameIndexOn:
			c.renameIndexOn(t, x.Old, x.New)
		case ir.DropColumn:
			c.dropColumn(t, x.Column)
		case ir.AlterColumnType:
			if col := t.Column(x.Column); col != nil {
				col.Type = x.Type
			}
		case ir.SetNotNull:
			if col := t.Column(x.Column); col != nil {
				col.NotNull = true
			}
		case ir.DropNotNull:
			if col := t.Column(x.Column); col != nil {
				col.NotNull = false
			}
		case ir.SetDefault:
			if col := t.Column(x.Column); col != nil {
				col.Default = x.Default
			}
		case ir.AddConstraint:
			c.addConstraint(t, x.Constraint)
		case ir.ValidateConstraint:
			if k := t.Constraint(x.Name); k != nil {
				k.Validated = true
			}
		case ir.DropConstraint:
			c.dropConstraint(t, x.Name)
		case ir.RenameColumn:
			c.renameColumn(t, x.Old, x.New)
		case ir.RenameTable:
			c.moveTable(t, ir.QName{Schema: t.Name.Schema, Name: x.New})
		case ir.SetSchema:
			c.moveTable(t, ir.QName{Schema: x.Schema, Name: t.Name.Name})
		case ir.AttachPartition:
			if part := c.Table(x.Partition); part != nil {
				part = c.ownTable(part)
				parent, b := t.Name, x.Bound
				part.Parent, part.Bound = &parent, &b
			}
		case ir.DetachPartition:
			if part := c.Table(x.Partition); part != nil {
				part = c.ownTable(part)
				part.Parent, part.Bound = nil, nil
			}
		case ir.OtherAlter:
			if x.Kind == "table option ROW_FORMAT" {
				t.RowFormat = x.Value
			}
			if !harmlessAlters[x.Kind] && !harmlessMySQL(x.Kind) {
				t.Unknown = true
			}
		}
	}
}

// dropColumn removes a column with the indexes and constraints that use it,
// as PostgreSQL does. MySQL instead takes the column out of a multi-column
// index or key, and drops it only when no column is left.
func (c *Catalog) dropColumn(t *Table, name string) {
	t.Columns = slices.DeleteFunc(t.Columns, func(col *Column) bool { return col.Name == name })
	without := func(cols []string) []string {
		return slices.DeleteFunc(slices.Clone(cols), func(n string) bool { return n == name })
	}
	for _, k := range slices.Clone(t.Constraints) {
		if !slices.Contains(k.Columns, name) {
			continue
		}
		if rest := without(k.Columns); c.mysql && k.Kind != ir.ForeignKey && k.Kind != ir.Check && len(rest) > 0 {
			k.Columns = rest
			continue
		}
		c.dropConstraint(t, k.Name)
	}
	for _, i := range c.IndexesOn(t.Name) {
		if !slices.Contains(i.Def.Refs, name) {
			continue
		}
		key := c.indexKey(t.Name, i.Def.Name)
		if rest := without(i.Def.Columns); c.mysql && len(rest) > 0 && len(i.Def.Elems) == 0 {
			i = c.ownIndex(key, i)
			i.Def.Columns, i.Def.Refs = rest, without(i.Def.Refs)
			continue
		}
		c.dropIndex(key)
	}
}

// modifyColumn replaces a column's definition (MySQL's MODIFY and CHANGE),
// renaming it first for CHANGE.
func (c *Catalog) modifyColumn(t *Table, m ir.ModifyColumn) {
	old := m.From()
	col := t.Column(old)
	if col == nil {
		return
	}
	if old != m.Column.Name {
		c.renameColumn(t, old, m.Column.Name)
	}
	replaced := c.newColumn(m.Column)
	replaced.created = col.created
	i := slices.Index(t.Columns, t.Column(m.Column.Name))
	t.Columns[i] = replaced
	for _, k := range m.Column.Constraints {
		c.addConstraint(t, k)
	}
	if pk := t.PrimaryKey(); pk != nil && slices.ContainsFunc(pk, func(k *Column) bool { return k.Name == replaced.Name }) {
		replaced.NotNull = true
	}
	t.place(m.Column.Name, m.Position)
}

func (c *Catalog) dropConstraint(t *Table, name string) {
	t.Constraints = slices.DeleteFunc(t.Constraints, func(k *Constraint) bool { return k.Name == name })
	q := c.indexKey(t.Name, name)
	if i := c.indexes[q]; i != nil && i.Constraint == name {
		c.dropIndex(q)
	}
}

func (c *Catalog) renameColumn(t *Table, old, new string) {
	if col := t.Column(old); col != nil {
		col.Name = new
		col.Serial = "" // its sequence keeps the old name, which the default names
		c.stray(t)
	}
	for _, v := range c.ViewsUsing(t.Name, old) {
		v = c.ownTable(v)
		v.Reads.Columns = append(slices.Clone(v.Reads.Columns), new)
		if v.Definition != "" {
			// It now prints the new name, under the old one as its output.
			v.Renames = append(slices.Clone(v.Renames), ir.Rename{From: t.Name, Column: old, NewColumn: new})
		}
	}
	rename := func(names []string) {
		for i, n := range names {
			if n == old {
				names[i] = new
			}
		}
	}
	// Expressions name the column too: PostgreSQL keeps them by the
	// column's number, and prints the new name.
	renameIn := func(text string) string {
		if c.mysql {
			return text
		}
		return pg.RenameColumnIn(text, old, new)
	}
	for _, k := range t.Constraints {
		rename(k.Columns)
		k.Expr = renameIn(k.Expr)
	}
	for _, col := range t.Columns {
		if g := col.Generated; g != nil {
			col.Generated = &ir.Expr{SQL: renameIn(g.SQL), Volatility: g.Volatility}
		}
	}
	for _, i := range c.IndexesOn(t.Name) {
		i = c.ownIndex(c.indexKey(t.Name, i.Def.Name), i)
		rename(i.Def.Columns)
		rename(i.Def.Refs)
		rename(i.Def.Include)
		for j, e := range i.Def.Elems {
			i.Def.Elems[j] = renameIn(e)
		}
		i.Def.Where = renameIn(i.Def.Where)
	}
}

func (c *Catalog) moveTable(t *Table, to ir.QName) {
	to = c.resolve(to)
	if t.Definition != "" {
		t.Renames = append(slices.Clone(t.Renames), ir.Rename{From: t.Name, To: to}) // it names the view as it was
	}
	moved := c.IndexesOn(t.Name)
	for _, i := range moved {
		key := c.indexKey(t.Name, i.Def.Name)
		i = c.ownIndex(key, i)
		i.Def.Table = to
		if c.mysql { // the index lives in its table: it moves with it
			delete(c.indexes, key)
			c.indexes[c.indexKey(to, i.Def.Name)] = i
		}
	}
	// Views follow the table: they read it by identity, not by name, and
	// their definitions now print the new name.
	for _, v := range c.Dependents(t.Name) {
		if i := slices.Index(v.Reads.Relations, t.Name); i >= 0 {
			v = c.ownTable(v)
			v.Reads.Relations = slices.Clone(v.Reads.Relations)
			v.Reads.Relations[i] = to
			if v.Definition != "" {
				v.Renames = append(slices.Clone(v.Renames), ir.Rename{From: t.Name, To: to})
			}
		}
	}
	// Foreign keys follow it too: they reference the table, not its name
	// (a rollback that re-adds one must name the table as it is now).
	from := t.Name
	for _, r := range c.TablesReferencing(from) {
		if r.Name != from {
			r = c.ownTable(r)
		}
		for _, k := range r.Constraints {
			if k.Kind == ir.ForeignKey && c.resolve(k.RefTable) == from {
				short := ir.QName{Name: to.Name}
				if k.RefTable.Schema == "" && c.resolve(short) == to {
					k.RefTable = short // written unqualified, it stays so
				} else {
					k.RefTable = to
				}
			}
		}
	}
	delete(c.tables, t.Name)
	t.Name = to
	c.tables[to] = t
	for _, col := range t.Columns {
		col.Serial = "" // its sequence keeps the old name, which the default names
	}
	c.stray(t)
}

// quoteIdent quotes a PostgreSQL identifier when it would not read back
// as itself unquoted (upper case, spaces, a leading digit).
func quoteIdent(name string) string {
	plain := name != ""
	for i, r := range name {
		lower := r == '_' || r >= 'a' && r <= 'z'
		later := i > 0 && (r >= '0' && r <= '9' || r == '$')
		if !lower && !later {
			plain = false
		}
	}
	if plain {
		return name
	}
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

func (c *Catalog) drop(o ir.Drop) {
	for _, n := range o.Names {
		q := c.resolve(n)
		switch o.Kind {
		case ir.KindTable, ir.KindView, ir.KindMatView:
			gone := []ir.QName{q}
			// A partitioned table goes with its partitions, theirs too.
			for i := 0; i < len(gone); i++ {
				if t := c.tables[gone[i]]; t == nil || t.PartitionBy == nil {
					continue
				}
				for _, part := range c.Partitions(gone[i]) {
					gone = append(gone, part.Name)
				}
			}
			if o.Cascade && !c.mysql {
				// CASCADE drops the views that read it, and the foreign
				// keys that reference it (not their tables); MySQL parses
				// CASCADE and ignores it.
				for _, v := range c.Dependents(q) {
					gone = append(gone, v.Name)
				}
				for _, r := range c.TablesReferencing(q) {
					if r.Name == q {
						continue
					}
					r = c.ownTable(r)
					for _, k := range slices.Clone(r.Constraints) {
						if k.Kind == ir.ForeignKey && c.resolve(k.RefTable) == q {
							c.dropConstraint(r, k.Name)
						}
					}
				}
			}
			for _, g := range gone {
				for _, i := range c.IndexesOn(g) {
					delete(c.indexes, c.indexKey(g, i.Def.Name))
				}
				delete(c.tables, g)
			}
		case ir.KindIndex:
			c.dropIndex(q)
		case ir.KindType:
			delete(c.enums, q)
			delete(c.domains, q)
		case ir.KindSchema:
			delete(c.schemas, n.Name)
			for k := range c.tables {
				if k.Schema == n.Name {
					c.drop(ir.Drop{Kind: ir.KindTable, Names: []ir.QName{k}})
				}
			}
		}
	}
}

// renameIndexOn renames a MySQL index within its table, and the unique key
// or primary key it is.
func (c *Catalog) renameIndexOn(t *Table, old, new string) {
	key := c.indexKey(t.Name, old)
	i := c.indexes[key]
	if i == nil {
		return
	}
	i = c.ownIndex(key, i)
	c.dropIndex(key)
	i.Def.Name = new
	c.addIndex(i)
	if k := t.Constraint(old); k != nil {
		k.Name = new
		i.Constraint = new
	}
}

func (c *Catalog) renameIndex(o ir.RenameIndex) {
	q := c.resolve(o.Index)
	i := c.indexes[q]
	if i == nil {
		return
	}
	i = c.ownIndex(q, i)
	c.dropIndex(q)
	i.Def.Name = o.New
	c.addIndex(i)
	if i.Constraint != "" {
		if t := c.Table(i.Def.Table); t != nil {
			t = c.ownTable(t)
			if k := t.Constraint(i.Constraint); k != nil {
				k.Name = o.New
			}
		}
		i.Constraint = o.New
	}
}

// Clone returns a copy, used to evaluate a down migration without letting it
// change the history that follows. The copy shares every object with c and
// copies one only when it first writes to it, so cloning is cheap.
func (c *Catalog) Clone() *Catalog {
	return &Catalog{
		tables:  maps.Clone(c.tables),
		indexes: maps.Clone(c.indexes),
		enums:   maps.Clone(c.enums),
		domains: maps.Clone(c.domains),
		schemas: maps.Clone(c.schemas),
		Opaque:  slices.Clone(c.Opaque),
		gen:     c.gen,
		made:    c.made,
		views:   c.views,
		tx:      c.tx,
		mysql:   c.mysql,
		strays:  maps.Clone(c.strays),

		droppedIndexes: maps.Clone(c.droppedIndexes),
	}
}

// ownTable returns a table c may write: t itself, or c's own copy of it.
func (c *Catalog) ownTable(t *Table) *Table {
	if t.owner == c {
		return t
	}
	cp := *t
	cp.owner = c
	cp.Columns = make([]*Column, len(t.Columns))
	for i, col := range t.Columns {
		k := *col
		cp.Columns[i] = &k
	}
	cp.Constraints = make([]*Constraint, len(t.Constraints))
	for i, k := range t.Constraints {
		kk := *k
		kk.Columns = slices.Clone(k.Columns)
		cp.Constraints[i] = &kk
	}
	cp.indexes = slices.Clone(t.indexes)
	cp.Triggers = slices.Clone(t.Triggers)
	c.tables[t.Name] = &cp
	return &cp
}

// ownIndex returns an index c may write, stored under key.
func (c *Catalog) ownIndex(key ir.QName, i *Index) *Index {
	if i.owner == c {
		return i
	}
	cp := *i
	cp.owner = c
	cp.Def.Columns = slices.Clone(i.Def.Columns)
	cp.Def.Elems = slices.Clone(i.Def.Elems)
	cp.Def.Refs = slices.Clone(i.Def.Refs)
	cp.Def.Include = slices.Clone(i.Def.Include)
	c.indexes[key] = &cp
	return &cp
}

// String renders the catalog deterministically, for tests and debugging.
func (c *Catalog) String() string {
	var b strings.Builder
	var names []ir.QName
	for q := range c.tables {
		names = append(names, q)
	}
	sort.Slice(names, func(i, j int) bool { return names[i].String() < names[j].String() })
	for _, q := range names {
		t := c.tables[q]
		fmt.Fprintf(&b, "%s %s", t.Kind, q)
		if t.Unknown {
			b.WriteString(" (unknown)")
		}
		b.WriteString("\n")
		for _, col := range t.Columns {
			fmt.Fprintf(&b, "  %s %s", col.Name, col.Type.SQL)
			if col.NotNull {
				b.WriteString(" not null")
			}
			if col.Default != nil {
				fmt.Fprintf(&b, " default %s", col.Default.SQL)
			}
			b.WriteString("\n")
		}
		for _, k := range t.Constraints {
			fmt.Fprintf(&b, "  constraint %s %s (%s)", k.Name, k.Kind, strings.Join(k.Columns, ", "))
			if !k.Validated {
				b.WriteString(" not valid")
			}
			b.WriteString("\n")
		}
		for _, i := range c.IndexesOn(q) {
			elems := i.Def.Elems
			if len(elems) == 0 {
				elems = i.Def.Columns
			}
			fmt.Fprintf(&b, "  index %s (%s)\n", i.Def.Name, strings.Join(elems, ", "))
		}
	}
	return b.String()
}

// freeName is the name PostgreSQL gives a relation it names itself (a
// serial column's sequence) in table's schema: name, or name1, name2 ...
// when a table, view, index or sequence there already has it.
func (c *Catalog) freeName(table ir.QName, name string) string {
	schema := c.resolve(table).Schema
	taken := func(n string) bool {
		q := ir.QName{Schema: schema, Name: n}
		if c.tables[q] != nil || c.indexes[q] != nil {
			return true
		}
		if !c.strays[q] {
			return false
		}
		for tq, t := range c.tables {
			if tq.Schema == schema && slices.ContainsFunc(t.Columns, func(col *Column) bool { return col.OwnedSeq == n }) {
				return true
			}
		}
		delete(c.strays, q) // its owner is gone, and the sequence with it
		return false
	}
	if c.mysql || !taken(name) {
		return name
	}
	for i := 1; ; i++ {
		if n := fmt.Sprintf("%s%d", name, i); !taken(n) {
			return n
		}
	}
}

// serialSequence is the name serial gives the sequence of table's column.
func serialSequence(table ir.QName, column string) string { return table.Name + "_" + column + "_seq" }

// stray records t's sequences that no longer carry the name serial would
// give them (the table or the column was renamed, or the name was taken):
// the only sequences that can hold a name serial wants for another table.
func (c *Catalog) stray(t *Table) {
	for _, col := range t.Columns {
		if col.OwnedSeq != "" && col.OwnedSeq != serialSequence(t.Name, col.Name) {
			if c.strays == nil {
				c.strays = map[ir.QName]bool{}
			}
			c.strays[ir.QName{Schema: c.resolve(t.Name).Schema, Name: col.OwnedSeq}] = true
		}
	}
}
