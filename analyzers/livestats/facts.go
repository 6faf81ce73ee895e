// Package livestats reads what the real database holds: the server's
// version, each table's estimated rows, size and write rate, and its
// columns, indexes, constraints and triggers. It reads them from a
// read-only connection (catalog and statistics queries only, never a scan
// of a table) or from a stats file written earlier by `fluxlint stats
// export`, so that CI can use them without production credentials.
package livestats

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/fluxlint/fluxlint/analyzers/ir"
)

// FormatVersion is the stats file's format; a file of another one is
// refused rather than misread.
const FormatVersion = 1

// Facts are one database's facts at one moment.
type Facts struct {
	Format int       `json:"format"`
	Taken  time.Time `json:"taken"`
	// Engine is "postgres", "mysql" or "mariadb".
	Engine string `json:"engine"`
	// Version is the server's version as it reports it ("15.4",
	// "8.0.36", "10.11.6-MariaDB-0+deb12u1").
	Version string `json:"version"`
	// Database is the database (MySQL: the schema) the facts are of.
	Database string  `json:"database"`
	Tables   []Table `json:"tables"`
	// Leftovers are objects an interrupted plan or online schema change
	// tool leaves behind (its sync triggers, helper constraints, ghost and
	// old tables).
	Leftovers []Leftover `json:"leftovers,omitempty"`
	index     sync.Once  // runs lint their sets concurrently: build byName once
	byName    map[ir.QName]*Table
}

// Table is one table's (or view's) facts.
type Table struct {
	Schema string `json:"schema"`
	Name   string `json:"name"`
	// Kind is "table", "partitioned", "view" or "materialized view".
	Kind string `json:"kind"`
	// Rows is the server's estimate (-1 when it has none: never analyzed).
	Rows int64 `json:"rows"`
	// Bytes is the table's size with its indexes and TOAST; IndexBytes
	// the indexes' part.
	Bytes      int64 `json:"bytes"`
	IndexBytes int64 `json:"index_bytes"`
	// WritesPerSecond is the average rate of rows inserted, updated and
	// deleted since the server's statistics began, and ScansPerSecond of
	// sequential scans of the whole table (-1: not kept).
	WritesPerSecond float64 `json:"writes_per_second"`
	ScansPerSecond  float64 `json:"seq_scans_per_second"`
	Parent          string  `json:"parent,omitempty"` // the partitioned table, for a PostgreSQL partition
	// Partitions names a MySQL table's partitions (MySQL keeps them inside
	// the table, not as tables of their own).
	Partitions  []string     `json:"partitions,omitempty"`
	Columns     []Column     `json:"columns"`
	Indexes     []Index      `json:"indexes,omitempty"`
	Constraints []Constraint `json:"constraints,omitempty"`
	Triggers    []string     `json:"triggers,omitempty"`
}

// Column is a column as the server describes it.
type Column struct {
	Name    string `json:"name"`
	Type    string `json:"type"` // as the server renders it: "character varying(20)", "int(11) unsigned"
	NotNull bool   `json:"not_null"`
	Default string `json:"default,omitempty"`
}

// Index is an index; Valid is false for one a failed CREATE INDEX
// CONCURRENTLY left behind.
type Index struct {
	Name       string   `json:"name"`
	Columns    []string `json:"columns"` // key columns; "" for an expression
	Unique     bool     `json:"unique"`
	Primary    bool     `json:"primary"`
	Valid      bool     `json:"valid"`
	Definition string   `json:"definition,omitempty"`
}

// Constraint is a table constraint; Validated is false for a NOT VALID one.
type Constraint struct {
	Name string `json:"name"`
	// Kind is "primary key", "unique", "foreign key", "check" or "exclude".
	Kind       string `json:"kind"`
	Definition string `json:"definition,omitempty"`
	Validated  bool   `json:"validated"`
}

// Leftover is an object left by an interrupted plan or tool.
type Leftover struct {
	Table string `json:"table"` // the table it belongs to
	What  string `json:"what"`  // "trigger x", "table _t_gho", ...
	By    string `json:"by"`    // fluxlint, gh-ost, pt-online-schema-change
}

// QName is the table's qualified name.
func (t *Table) QName() ir.QName { return ir.QName{Schema: t.Schema, Name: t.Name} }

// Column returns the named column, or nil.
func (t *Table) Column(name string) *Column {
	for i := range t.Columns {
		if t.Columns[i].Name == name {
			return &t.Columns[i]
		}
	}
	return nil
}

// Table returns the facts of the table a migration names, or nil. An
// unqualified name is in PostgreSQL's public schema, or MySQL's database.
func (f *Facts) Table(q ir.QName) *Table {
	if f == nil {
		return nil
	}
	f.index.Do(func() {
		f.byName = map[ir.QName]*Table{}
		for i := range f.Tables {
			f.byName[f.Tables[i].QName()] = &f.Tables[i]
		}
	})
	if q.Schema == "" {
		q.Schema = f.defaultSchema()
	}
	return f.byName[q]
}

func (f *Facts) defaultSchema() string {
	if f.Engine == "postgres" {
		return "public"
	}
	return f.Database
}

// Load reads a stats file.
func Load(path string) (*Facts, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f Facts
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%s: not a fluxlint stats file: %w", path, err)
	}
	if f.Format != FormatVersion {
		return nil, fmt.Errorf("%s: stats file format %d, this fluxlint reads format %d: export it again", path, f.Format, FormatVersion)
	}
	switch f.Engine {
	case "postgres", "mysql", "mariadb":
	default:
		return nil, fmt.Errorf("%s: stats file names engine %q (want postgres, mysql or mariadb)", path, f.Engine)
	}
	return &f, nil
}

// Marshal renders the facts as a stats file.
func (f *Facts) Marshal() ([]byte, error) {
	out, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// Size says a table's size as a message does: "~82M rows, 41 GB".
func (t *Table) Size() string {
	rows := "rows unknown (never analyzed)"
	if t.Rows >= 0 {
		rows = "~" + Count(t.Rows) + " rows"
	}
	return rows + ", " + Bytes(t.Bytes)
}

// Count renders a row count the way people say it: 950, 82k, 82M, 1.2B.
func Count(n int64) string {
	switch {
	case n < 1000:
		return fmt.Sprint(n)
	case n < 1_000_000:
		return short(float64(n)/1e3) + "k"
	case n < 1_000_000_000:
		return short(float64(n)/1e6) + "M"
	}
	return short(float64(n)/1e9) + "B"
}

// Bytes renders a size in the units people use: 48 kB, 41 GB.
func Bytes(n int64) string {
	units := []string{"B", "kB", "MB", "GB", "TB"}
	v, u := float64(n), 0
	for v >= 1000 && u < len(units)-1 {
		v /= 1000
		u++
	}
	if u == 0 {
		return fmt.Sprintf("%d B", n)
	}
	return short(v) + " " + units[u]
}

// short is a number with one decimal below 10, none above.
func short(v float64) string {
	if v < 10 {
		return strings.TrimSuffix(fmt.Sprintf("%.1f", v), ".0")
	}
	return fmt.Sprintf("%.0f", v)
}
