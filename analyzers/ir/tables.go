package ir

import "strings"

// TablesOf lists the tables (and views) an op names, the one it acts on
// first.
func TablesOf(op Op) []QName {
	switch o := op.(type) {
	case AlterTable:
		names := []QName{o.Table}
		for _, c := range o.Cmds {
			if r, ok := c.(RenameTable); ok {
				names = append(names, QName{Schema: o.Table.Schema, Name: r.New}) // what takes its name
			}
		}
		return names
	case CreateTable:
		return []QName{o.Table}
	case CreateIndex:
		return []QName{o.Index.Table}
	case CreateView:
		return []QName{o.Name}
	case Drop:
		return o.Names
	case Truncate:
		return o.Tables
	case Write:
		return []QName{o.Table}
	}
	return nil
}

// SQLUse is what one statement of application SQL (a query in the code,
// not a migration) uses: the tables it names with their aliases, and the
// columns it names with the table or alias that qualifies them.
type SQLUse struct {
	Tables  []TableUse
	Columns []ColumnUse
	// Definition marks DDL (CREATE, ALTER, DROP ...): a schema dump or
	// another tool's migration defines objects, it does not use them.
	Definition bool
}

// TableUse is a table named by a statement, and its alias.
type TableUse struct {
	Name  QName
	Alias string
}

// ColumnUse is a column named by a statement: Qualifier is the table or
// alias before it ("" when unqualified); Target marks a column an INSERT
// or UPDATE writes, which belongs to the statement's target table.
type ColumnUse struct {
	Qualifier string
	Name      string
	Target    *QName
	// Tables, for an unqualified column, are the tables its query level
	// reads from (its FROM list, through subqueries and CTEs there, and
	// the levels around it); a table only a subquery in its WHERE reads is
	// not among them. Nil: not known.
	Tables []QName
}

// OutsideTx reports whether ops must run outside a transaction block.
func OutsideTx(ops []Op) bool {
	for _, op := range ops {
		if NoTxBlock(op) != "" {
			return true
		}
	}
	return false
}

// noTxKinds are the statements without an op of their own that PostgreSQL
// refuses inside a transaction block (PreventInTransactionBlock), by Other's
// Kind.
var noTxKinds = map[string]string{
	"Vacuum": "VACUUM", "Createdb": "CREATE DATABASE", "Dropdb": "DROP DATABASE", "AlterSystem": "ALTER SYSTEM",
	"CreateTableSpace": "CREATE TABLESPACE", "DropTableSpace": "DROP TABLESPACE", "DiscardAll": "DISCARD ALL",
}

// NoTxBlock names the statement op is when PostgreSQL refuses it inside a
// transaction block (SQLSTATE 25001), and is "" otherwise: the
// CONCURRENTLY forms of CREATE INDEX, DROP INDEX, REINDEX and DETACH
// PARTITION, REINDEX of a schema, database or the system catalogs, VACUUM,
// CLUSTER of every table, DISCARD ALL, and the statements on databases,
// tablespaces and the server's configuration.
func NoTxBlock(op Op) string {
	switch o := op.(type) {
	case CreateIndex:
		if o.Concurrently {
			return "CREATE INDEX CONCURRENTLY"
		}
	case Drop:
		if o.Concurrently {
			return "DROP INDEX CONCURRENTLY"
		}
	case Reindex:
		switch {
		case o.Concurrently:
			return "REINDEX CONCURRENTLY"
		case o.Kind == "schema" || o.Kind == "database" || o.Kind == "system":
			return "REINDEX " + strings.ToUpper(o.Kind)
		}
	case AlterTable:
		for _, c := range o.Cmds {
			if d, ok := c.(DetachPartition); ok && d.Concurrently {
				return "DETACH PARTITION CONCURRENTLY"
			}
		}
	case Rebuild:
		if o.Kind == "VACUUM FULL" {
			return "VACUUM"
		}
		if len(o.Tables) == 0 {
			return o.Kind // CLUSTER of every clustered table
		}
	case Other:
		return noTxKinds[o.Kind]
	}
	return ""
}
