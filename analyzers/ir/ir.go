// Package ir is the engine-neutral model of a migration file: its statements
// with exact byte ranges, the comments around them, and what each statement
// does (an Op). Engine front ends (analyzers/pg, analyzers/mysql) fill it in;
// the catalog and the rules only ever read it.
package ir

import "fmt"

// Engine names a database engine.
type Engine string

const (
	Postgres Engine = "postgres"
	MySQL    Engine = "mysql"
)

// Pos is a position in a file: a byte offset and its 1-based line and column
// (the column counts bytes, as go/token does).
type Pos struct {
	Offset int
	Line   int
	Col    int // in bytes from the line's start, 1-based
	// Col16 is the column in UTF-16 code units, as SARIF and LSP count
	// (equal to Col on ASCII lines).
	Col16 int
}

func (p Pos) String() string { return fmt.Sprintf("%d:%d", p.Line, p.Col) }

// Comment is one comment in a file, with the text after its opening marker.
type Comment struct {
	Pos, End Pos
	Text     string
}

// Stmt is one statement of a migration file.
type Stmt struct {
	Pos, End Pos    // [Pos, End) covers the statement text without its terminator
	Text     string // the statement's source text
	Down     bool   // in a rollback (down) section or file
	InTx     bool   // runs inside a transaction (tool-wrapped, implicit or explicit BEGIN)
	Ops      []Op   // what the statement does; nil when it did not parse
	Err      *Error // syntax error, when the statement does not parse
	Near     bool   // a directive comment stands next to it
}

// IsTxControl reports whether the statement begins or ends a transaction
// (BEGIN, COMMIT, ROLLBACK, SAVEPOINT and the like).
func (s *Stmt) IsTxControl() bool {
	for _, op := range s.Ops {
		if _, ok := op.(TxControl); ok {
			return true
		}
	}
	return false
}

// Error is a problem in the input at a position.
type Error struct {
	Pos Pos
	Msg string
	// Unsupported marks a statement fluxlint's parser rejects although the
	// server may accept it (MySQL and MariaDB syntax vitess does not know):
	// it is not checked, and says so, rather than being called invalid.
	Unsupported bool
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Pos, e.Msg) }

// QName is a possibly schema-qualified object name, as written.
type QName struct {
	Schema string // "" when unqualified
	Name   string
}

func (q QName) String() string {
	if q.Schema == "" {
		return q.Name
	}
	return q.Schema + "." + q.Name
}

// Type is a column type.
type Type struct {
	SQL   string // as the engine renders it: PostgreSQL "varchar(10)", "numeric(10, 2)[]"; MySQL "int unsigned", "enum('a','b')"
	Name  string // canonical base name: PostgreSQL int4, int8, varchar, ...; MySQL int, bigint, varchar, enum, ...
	Mods  []int  // type modifiers (length, precision, scale)
	Array bool
	// MySQL only: the column's character set, UNSIGNED, and the values of
	// an ENUM or SET (in order).
	Charset  string
	Unsigned bool
	Values   []string
}

// Volatility classifies an expression like PostgreSQL's function volatility.
type Volatility int

const (
	VolatilityUnknown Volatility = iota // calls a function fluxlint does not know
	Immutable                           // constants and casts of constants
	Stable                              // now(), current_timestamp, ...: one value per statement
	Volatile                            // random(), clock_timestamp(), gen_random_uuid(), nextval(), ...
)

// Expr is an expression in its deparsed form.
type Expr struct {
	SQL        string
	Volatility Volatility
}

// ColumnDef is a column definition in CREATE TABLE or ADD COLUMN.
type ColumnDef struct {
	Name        string
	Type        Type
	NotNull     bool
	Default     *Expr
	Identity    string // "", "always" or "by default"
	Generated   *Expr  // GENERATED ALWAYS AS (expr) STORED
	Serial      bool   // serial, bigserial, smallserial
	Collation   string
	Constraints []Constraint // inline PRIMARY KEY, UNIQUE, CHECK, REFERENCES
	// MySQL only.
	AutoIncrement bool
	Virtual       bool   // with Generated: VIRTUAL rather than STORED
	OnUpdate      string // ON UPDATE expression, e.g. CURRENT_TIMESTAMP
	Comment       string
}

// ConstraintKind is a table constraint's kind.
type ConstraintKind string

const (
	PrimaryKey ConstraintKind = "primary key"
	Unique     ConstraintKind = "unique"
	Check      ConstraintKind = "check"
	ForeignKey ConstraintKind = "foreign key"
	Exclude    ConstraintKind = "exclude"
)

// Constraint is a table constraint.
type Constraint struct {
	Kind       ConstraintKind
	Name       string // "" when PostgreSQL picks the name
	Columns    []string
	Expr       string // CHECK expression
	RefTable   QName
	RefColumns []string
	OnDelete   string // foreign keys: "CASCADE", "SET NULL", ...; "" for NO ACTION
	OnUpdate   string
	Deferrable string // "", "DEFERRABLE", or "DEFERRABLE INITIALLY DEFERRED"
	NotValid   bool
	UsingIndex string
}

// IndexDef is an index definition. Elems, Include and Where hold SQL text.
type IndexDef struct {
	Name    string
	Table   QName
	Unique  bool
	Method  string   // btree, gin, ...; MySQL: "fulltext" or "spatial" for those kinds
	Elems   []string // each element as SQL, with options; empty when the index has plain Columns only
	Columns []string // plain column names among the elements
	Refs    []string // every column the index uses: elements, expressions, INCLUDE and WHERE
	Include []string
	Where   string
}

// Op is one thing a statement does.
type Op interface{ isOp() }

// PartitionBound is a partition's FOR VALUES clause, values as SQL
// (MINVALUE and MAXVALUE included as such).
type PartitionBound struct {
	Default   bool
	In        []string // LIST
	From, To  []string // RANGE
	Modulus   int      // HASH
	Remainder int
}

// PartitionKey is a partitioned table's PARTITION BY.
type PartitionKey struct {
	Strategy string   // "range", "list" or "hash"
	Columns  []string // nil when the key has expressions
}

// CreateTable is CREATE TABLE (also CREATE TABLE AS, and a CREATE TABLE
// that does not parse: both are marked AsSelect, their columns unknown).
type CreateTable struct {
	Table       QName
	IfNotExists bool
	Temp        bool // TEMPORARY: gone when the session ends, and shadows a table of the same name
	Columns     []ColumnDef
	Constraints []Constraint
	PartitionOf *QName
	Bound       *PartitionBound // with PartitionOf
	PartitionBy *PartitionKey
	AsSelect    bool // columns come from a query (or are unknown)
	// Filled: created with the rows of a query (CREATE TABLE ... AS and
	// SELECT ... INTO, without WITH NO DATA).
	Filled bool
	// Indexes are the plain indexes declared inside the table (MySQL's KEY
	// and INDEX clauses); PRIMARY KEY and UNIQUE are Constraints.
	Indexes []IndexDef
	// Charset and RowFormat are MySQL's table options, when declared
	// (lower-cased).
	Charset, RowFormat string
}

// AlterTable is ALTER TABLE with its subcommands; RENAME statements on tables
// and columns are folded in as RenameTable and RenameColumn commands. MySQL's
// CREATE INDEX, DROP INDEX and RENAME TABLE arrive as ALTER TABLE too, as
// the server itself treats them.
type AlterTable struct {
	Table    QName
	IfExists bool
	Cmds     []AlterCmd
	// MySQL only: the ALGORITHM= and LOCK= clauses, upper-cased ("" when
	// absent: the server picks the fastest it can, which may be COPY).
	Algorithm, Lock string
	// Clauses are MySQL's subcommands as the parser renders them, without
	// ALGORITHM and LOCK: what an online schema change tool's --alter takes.
	Clauses []string
}

// AlterCmd is one ALTER TABLE subcommand.
type AlterCmd interface{ isAlterCmd() }

type (
	AddColumn struct {
		Column      ColumnDef
		IfNotExists bool
		Position    Position // MySQL's FIRST or AFTER
	}
	DropColumn struct {
		Column   string
		IfExists bool
		Cascade  bool
	}
	AlterColumnType struct {
		Column string
		Type   Type
		Using  string
	}
	SetNotNull  struct{ Column string }
	DropNotNull struct{ Column string }
	SetDefault  struct {
		Column  string
		Default *Expr
	} // Default nil: DROP DEFAULT
	AddConstraint      struct{ Constraint Constraint }
	ValidateConstraint struct{ Name string }
	DropConstraint     struct {
		Name     string
		IfExists bool
	}
	RenameColumn struct{ Old, New string }
	RenameTable  struct{ New string }
	// AttachPartition is ATTACH PARTITION partition FOR VALUES bound.
	AttachPartition struct {
		Partition QName
		Bound     PartitionBound
	}
	// DetachPartition is DETACH PARTITION [CONCURRENTLY | FINALIZE].
	DetachPartition struct {
		Partition    QName
		Concurrently bool
		Finalize     bool
	}
	SetSchema struct{ Schema string }
	// ModifyColumn is MySQL's MODIFY (Old "") and CHANGE (Old the column
	// replaced, under Column.Name from now on): the column's whole definition
	// is replaced.
	ModifyColumn struct {
		Old      string // CHANGE's old name; "" for MODIFY
		Column   ColumnDef
		Position Position
	}
	// AddIndex, DropIndex and RenameIndexOn are MySQL's index commands; its
	// index names are scoped to their table.
	AddIndex struct {
		Index       IndexDef
		IfNotExists bool // MariaDB's IF NOT EXISTS
	}
	DropIndex     struct{ Name string }
	RenameIndexOn struct{ Old, New string }
	// OtherAlter is a subcommand the catalog does not model; Kind names it.
	// OtherAlter is a subcommand kept by name; Value is a MySQL table
	// option's value, lower-cased.
	OtherAlter struct{ Kind, Value string }
)

// Position is where MySQL puts an added or modified column.
type Position struct {
	First bool
	After string
}

func (AddColumn) isAlterCmd()          {}
func (DropColumn) isAlterCmd()         {}
func (AlterColumnType) isAlterCmd()    {}
func (SetNotNull) isAlterCmd()         {}
func (DropNotNull) isAlterCmd()        {}
func (SetDefault) isAlterCmd()         {}
func (AddConstraint) isAlterCmd()      {}
func (ValidateConstraint) isAlterCmd() {}
func (DropConstraint) isAlterCmd()     {}
func (RenameColumn) isAlterCmd()       {}
func (RenameTable) isAlterCmd()        {}
func (AttachPartition) isAlterCmd()    {}
func (DetachPartition) isAlterCmd()    {}
func (SetSchema) isAlterCmd()          {}
func (ModifyColumn) isAlterCmd()       {}
func (AddIndex) isAlterCmd()           {}
func (DropIndex) isAlterCmd()          {}
func (RenameIndexOn) isAlterCmd()      {}
func (OtherAlter) isAlterCmd()         {}

// CreateIndex is CREATE INDEX.
type CreateIndex struct {
	Index        IndexDef
	Concurrently bool
	IfNotExists  bool
	Only         bool // ON ONLY: a partitioned parent's index, built per partition later
}

// ObjectKind is the kind of object a DROP names.
type ObjectKind string

const (
	KindTable    ObjectKind = "table"
	KindIndex    ObjectKind = "index"
	KindView     ObjectKind = "view"
	KindMatView  ObjectKind = "materialized view"
	KindType     ObjectKind = "type"
	KindSchema   ObjectKind = "schema"
	KindSequence ObjectKind = "sequence"
	KindTrigger  ObjectKind = "trigger" // Names holds the trigger's table
	KindOther    ObjectKind = "other"
)

// Drop is DROP TABLE/INDEX/VIEW/TYPE/... .
type Drop struct {
	Kind         ObjectKind
	Names        []QName
	IfExists     bool
	Cascade      bool
	Concurrently bool
}

// RenameIndex is ALTER INDEX ... RENAME TO.
type RenameIndex struct {
	Index QName
	New   string
}

// CreateEnum is CREATE TYPE ... AS ENUM.
type CreateEnum struct {
	Name   QName
	Values []string
}

// AddEnumValue is ALTER TYPE ... ADD VALUE.
type AddEnumValue struct {
	Name        QName
	Value       string
	IfNotExists bool
}

// RenameEnumValue is ALTER TYPE ... RENAME VALUE old TO new.
type RenameEnumValue struct {
	Name     QName
	Old, New string
}

// RenameSchema is ALTER SCHEMA old RENAME TO new.
type RenameSchema struct{ Old, New string }

// CreateView is CREATE [MATERIALIZED] VIEW.
type CreateView struct {
	Name         QName
	Materialized bool
	Definition   string // the statement, as the parser renders it ("" if unknown)
	Reads        ViewReads
	Twice        string // an output column name the view would have twice, which the server refuses
}

// ViewReads is what a view's query reads.
type ViewReads struct {
	Relations []QName  // the tables and views it names (with CTE names: they look alike)
	Columns   []string // the column names it uses, unqualified
	Star      bool     // it selects *: every column of what it reads, as they were at creation
}

// LockTable is LOCK [TABLE] ... IN mode MODE.
type LockTable struct {
	Tables []QName
	Mode   string // PostgreSQL's name for it: "ACCESS EXCLUSIVE", "SHARE", ...
}

// CreateTrigger is CREATE [OR REPLACE] TRIGGER ... ON table.
type CreateTrigger struct {
	Name  string
	Table QName
}

// DropTrigger is MySQL's DROP TRIGGER, which names no table.
type DropTrigger struct {
	Name     QName
	IfExists bool
}

// CreateDomain is CREATE DOMAIN: a type whose constraints every column of
// it obeys.
type CreateDomain struct {
	Name    QName
	Checks  []string // the CHECK expressions, as SQL
	NotNull bool
}

// AlterDomain is ALTER DOMAIN. Kind is "ADD CONSTRAINT", "VALIDATE
// CONSTRAINT", "SET NOT NULL", "DROP NOT NULL", "DROP CONSTRAINT" or
// another subcommand's name.
type AlterDomain struct {
	Name       QName
	Kind       string
	Constraint string // the constraint named, or added (may be "")
	Check      string // ADD CONSTRAINT: the CHECK expression, as SQL
	NotValid   bool
}

// CreateSchema is CREATE SCHEMA.
type CreateSchema struct{ Name string }

// TxControl is BEGIN, COMMIT, ROLLBACK and friends.
type TxControl struct{ Kind TxKind }

// TxKind is the kind of a transaction-control statement.
type TxKind int

const (
	TxBegin TxKind = iota
	TxCommit
	TxRollback
	TxOther // SAVEPOINT, RELEASE, ...
)

// SetVar is SET [LOCAL] name = value (and RESET, with Value "").
type SetVar struct {
	Name  string
	Value string
	Local bool
}

// Write is INSERT, UPDATE or DELETE on a table.
type Write struct {
	Kind     string // "insert", "update" or "delete"
	Table    QName
	HasWhere bool
	// Set is an UPDATE's SET list as SQL ("a = b + 1, c = NULL"); "" when
	// it cannot be rendered on its own (multi-column assignments, FROM).
	Set string
	// Twice is a column an UPDATE assigns twice, which the server refuses.
	Twice string
}

// Truncate is TRUNCATE.
type Truncate struct {
	Tables  []QName
	Cascade bool
}

// Reindex is REINDEX INDEX/TABLE/SCHEMA/DATABASE/SYSTEM.
type Reindex struct {
	Kind         string // "index", "table", "schema", "database" or "system"
	Name         QName
	Concurrently bool
}

// Rebuild is VACUUM FULL or CLUSTER: a full rewrite of the tables named
// (none: every table of the database).
type Rebuild struct {
	Kind   string // "VACUUM FULL" or "CLUSTER"
	Tables []QName
}

// Refresh is REFRESH MATERIALIZED VIEW.
type Refresh struct {
	View         QName
	Concurrently bool
	WithNoData   bool
}

// Opaque is a statement whose effect on the schema fluxlint cannot see, such
// as a DO block or a function call; Kind names it. The catalog treats what it
// may have changed as unknown.
type Opaque struct{ Kind string }

// Rename is a rename that a stored view definition must follow: relation
// From to To, or, with Column set, From's column Column to NewColumn.
type Rename struct {
	From, To          QName
	Column, NewColumn string
}

// Call is a SELECT that calls functions, with the string constants passed
// to them: a function given a table's name may create its partitions
// (pg_partman's create_parent, an application's own partition function),
// which the catalog cannot see.
type Call struct{ Strings []string }

// Other is a statement that changes nothing the catalog models (GRANT,
// COMMENT, CREATE FUNCTION, SELECT, ...); Kind names it.
type Other struct{ Kind string }

func (CreateTable) isOp()     {}
func (AlterTable) isOp()      {}
func (CreateIndex) isOp()     {}
func (Drop) isOp()            {}
func (RenameIndex) isOp()     {}
func (CreateEnum) isOp()      {}
func (AddEnumValue) isOp()    {}
func (RenameEnumValue) isOp() {}
func (RenameSchema) isOp()    {}
func (CreateView) isOp()      {}
func (CreateSchema) isOp()    {}
func (LockTable) isOp()       {}
func (CreateTrigger) isOp()   {}
func (DropTrigger) isOp()     {}
func (CreateDomain) isOp()    {}
func (AlterDomain) isOp()     {}
func (TxControl) isOp()       {}
func (SetVar) isOp()          {}
func (Write) isOp()           {}
func (Opaque) isOp()          {}
func (Truncate) isOp()        {}
func (Reindex) isOp()         {}
func (Rebuild) isOp()         {}
func (Refresh) isOp()         {}
func (Other) isOp()           {}
func (Call) isOp()            {}

// From is the name of the column before the change: CHANGE's old name, or
// MODIFY's own.
func (m ModifyColumn) From() string {
	if m.Old != "" {
		return m.Old
	}
	return m.Column.Name
}
