package catalog

import (
	"bytes"
	"encoding/gob"
	"errors"
	"io"
	"sort"

	"github.com/fluxlint/fluxlint/analyzers/ir"
)

// snapshotFormat changes whenever the catalog's types change, so that an
// old snapshot is refused instead of misread.
const snapshotFormat = 6

// The snapshot mirrors the catalog with every field exported (gob encodes
// only those), objects in a fixed order, and owners left out: the restored
// catalog owns everything it holds.
type snapshot struct {
	Format  int
	Tables  []snapTable
	Indexes []snapIndex
	Enums   []snapEnum
	Domains []snapDomain
	Schemas map[string]int
	Opaque  []string
	Gen     int
	Made    int
	Views   bool
	MySQL   bool
	// DroppedIndexes are pairs of index and table, sorted by index.
	DroppedIndexes [][2]ir.QName
}

type snapTable struct {
	Table
	Created, Order int
	ColumnsCreated []int
	IndexNames     []string
}

type snapIndex struct {
	Key ir.QName
	Index
	Created int
}

type snapEnum struct {
	Enum
	Created int
}

type snapDomain struct {
	Domain
	Created int
}

// Snapshot writes the catalog to w, for a cache of replayed history;
// Restore reads it back, equal in every fact the rules read.
func (c *Catalog) Snapshot(w io.Writer) error {
	s := snapshot{Format: snapshotFormat, Schemas: c.schemas, Opaque: c.Opaque, Gen: c.gen, Made: c.made, Views: c.views, MySQL: c.mysql}
	for _, t := range c.tables {
		st := snapTable{Table: *t, Created: t.created, Order: t.order, IndexNames: t.indexes}
		for _, col := range t.Columns {
			st.ColumnsCreated = append(st.ColumnsCreated, col.created)
		}
		s.Tables = append(s.Tables, st)
	}
	for k, i := range c.indexes {
		s.Indexes = append(s.Indexes, snapIndex{Key: k, Index: *i, Created: i.created})
	}
	for _, e := range c.enums {
		s.Enums = append(s.Enums, snapEnum{Enum: *e, Created: e.created})
	}
	for _, d := range c.domains {
		s.Domains = append(s.Domains, snapDomain{Domain: *d, Created: d.created})
	}
	for i, t := range c.droppedIndexes {
		s.DroppedIndexes = append(s.DroppedIndexes, [2]ir.QName{i, t})
	}
	sort.Slice(s.DroppedIndexes, func(i, j int) bool { return s.DroppedIndexes[i][0].String() < s.DroppedIndexes[j][0].String() })
	// Map order is random: sorted, equal catalogs give equal bytes.
	sort.Slice(s.Tables, func(i, j int) bool { return s.Tables[i].Name.String() < s.Tables[j].Name.String() })
	sort.Slice(s.Indexes, func(i, j int) bool { return s.Indexes[i].Key.String() < s.Indexes[j].Key.String() })
	sort.Slice(s.Enums, func(i, j int) bool { return s.Enums[i].Name.String() < s.Enums[j].Name.String() })
	sort.Slice(s.Domains, func(i, j int) bool { return s.Domains[i].Name.String() < s.Domains[j].Name.String() })
	return gob.NewEncoder(w).Encode(&s)
}

// Restore reads a catalog written by Snapshot.
func Restore(data []byte) (*Catalog, error) {
	var s snapshot
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&s); err != nil {
		return nil, err
	}
	if s.Format != snapshotFormat {
		return nil, errors.New("catalog snapshot of another format")
	}
	c := &Catalog{tables: map[ir.QName]*Table{}, indexes: map[ir.QName]*Index{}, enums: map[ir.QName]*Enum{}, domains: map[ir.QName]*Domain{},
		schemas: s.Schemas, Opaque: s.Opaque, gen: s.Gen, made: s.Made, views: s.Views, mysql: s.MySQL}
	if c.schemas == nil {
		c.schemas = map[string]int{}
	}
	for _, d := range s.DroppedIndexes {
		if c.droppedIndexes == nil {
			c.droppedIndexes = map[ir.QName]ir.QName{}
		}
		c.droppedIndexes[d[0]] = d[1]
	}
	for _, st := range s.Tables {
		t := st.Table
		if len(st.ColumnsCreated) != len(t.Columns) {
			return nil, errors.New("catalog snapshot: columns and their change sets differ in number")
		}
		for i, col := range t.Columns {
			col.created = st.ColumnsCreated[i]
		}
		t.created, t.order, t.indexes, t.owner = st.Created, st.Order, st.IndexNames, c
		c.tables[t.Name] = &t
		c.stray(&t)
	}
	for _, si := range s.Indexes {
		i := si.Index
		i.created, i.owner = si.Created, c
		c.indexes[si.Key] = &i
	}
	for _, se := range s.Enums {
		e := se.Enum
		e.created, e.owner = se.Created, c
		c.enums[e.Name] = &e
	}
	for _, sd := range s.Domains {
		d := sd.Domain
		d.created = sd.Created
		c.domains[d.Name] = &d
	}
	return c, nil
}
