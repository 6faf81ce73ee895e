package onlineddl

import "fmt"

// Algorithm is how the server carries out an ALTER, cheapest first.
type Algorithm int

const (
	Instant Algorithm = iota // metadata only
	NoCopy                   // MariaDB: in place without rebuilding the table (an index build)
	InPlace                  // in the storage engine, rebuilding the table unless Verdict.Rebuild is false
	Copy                     // a new table filled row by row
)

func (a Algorithm) String() string { return [...]string{"INSTANT", "NOCOPY", "INPLACE", "COPY"}[a] }

// Lock is an ALTER's LOCK level, least restrictive first.
type Lock int

const (
	LockNone      Lock = iota // reads and writes continue
	LockShared                // writes wait for the whole statement
	LockExclusive             // reads and writes wait
)

func (l Lock) String() string { return [...]string{"NONE", "SHARED", "EXCLUSIVE"}[l] }

// Change is one kind of ALTER TABLE change, as the servers distinguish them.
type Change string

const (
	AddColumn             Change = "add column (last)"
	AddColumnPlaced       Change = "add column FIRST or AFTER"
	AddColumnAutoInc      Change = "add AUTO_INCREMENT column"
	AddColumnStored       Change = "add STORED generated column"
	AddColumnVirtual      Change = "add VIRTUAL generated column"
	AddColumnExprDefault  Change = "add column with an expression default"
	DropColumn            Change = "drop column"
	RenameColumn          Change = "rename column"
	ReorderColumn         Change = "move column"
	SetDefault            Change = "set or drop a column default"
	ChangeType            Change = "change column type"
	ExtendVarchar         Change = "widen VARCHAR within its length prefix"
	ExtendVarcharBoundary Change = "widen VARCHAR across 255 bytes"
	// ExtendVarcharShort is a VARCHAR of at most 127 bytes widened past
	// 255: InnoDB stored every value's length in one byte either way.
	ExtendVarcharShort Change = "widen VARCHAR of at most 127 bytes past 255 bytes"
	// ExtendVarcharRedundant is a VARCHAR widened across 255 bytes in a
	// ROW_FORMAT=REDUNDANT table, whose records store lengths alike.
	ExtendVarcharRedundant Change = "widen VARCHAR across 255 bytes, ROW_FORMAT=REDUNDANT"
	SetNotNull             Change = "make column NOT NULL"
	DropNotNull            Change = "make column NULL"
	EnumAppend             Change = "append ENUM/SET values"
	ConvertCharset         Change = "CONVERT TO CHARACTER SET"
	AddIndex               Change = "add index"
	AddFulltext            Change = "add FULLTEXT index"
	AddSpatial             Change = "add SPATIAL index"
	DropIndex              Change = "drop index"
	RenameIndex            Change = "rename index"
	AddPrimaryKey          Change = "add primary key"
	DropPrimaryKey         Change = "drop primary key"
	ReplacePrimaryKey      Change = "drop and add primary key"
	AddForeignKey          Change = "add foreign key (foreign_key_checks on)"
	AddForeignKeyNoChecks  Change = "add foreign key (foreign_key_checks off, index to build)"
	AddForeignKeyIndexed   Change = "add foreign key (foreign_key_checks off, index exists)"
	DropForeignKey         Change = "drop foreign key"
	AddCheck               Change = "add CHECK constraint"
	DropCheck              Change = "drop CHECK constraint"
	RenameTable            Change = "rename table"
	Rebuild                Change = "rebuild (FORCE, ENGINE=InnoDB)"
	RowFormat              Change = "change ROW_FORMAT or KEY_BLOCK_SIZE"
	TableOption            Change = "change a table option (COMMENT, AUTO_INCREMENT=)"
)

// Verdict is what the server does with a change when the statement names
// no ALGORITHM or LOCK: the cheapest algorithm it supports, the least
// restrictive lock that algorithm allows, and whether it rebuilds the table.
type Verdict struct {
	Algorithm Algorithm
	Lock      Lock
	Rebuild   bool
	// Source is where the verdict comes from: measured by the test suite on
	// MariaDB 10.11, or the vendor's manual.
	Source string
	// Note is what the reader should know about the version: a later
	// release that does it differently, a condition that changes it.
	Note string
	// Alone marks an instant change that is instant only when every other
	// change of its statement is too: beside one that is not, the server
	// rebuilds the table in place for it (ADD and DROP COLUMN).
	Alone bool
}

// BlocksWrites reports whether writes to the table wait for the whole
// statement.
func (v Verdict) BlocksWrites() bool { return v.Lock != LockNone }

// Sources.
const (
	measured    = "measured on MariaDB 10.11 (fluxlint's truth test)"
	mariaDocs   = "MariaDB Knowledge Base, InnoDB Online DDL"
	mariaOnline = "MariaDB 11.2+ online ALTER (MariaDB docs, Online Schema Change)"
	mysqlDocs   = "MySQL manual, InnoDB Online DDL Operations"
)

func v(a Algorithm, l Lock, rebuild bool, source string) Verdict {
	return Verdict{Algorithm: a, Lock: l, Rebuild: rebuild, Source: source}
}

// For returns the server's verdict for the change.
func For(s Server, c Change) Verdict {
	if s.Family == MariaDB {
		return mariadb(s, c)
	}
	return mysql(s, c)
}

// mariadb is the verdict table of MariaDB 10.6 to 11.8: measured on 10.11
// (every row is held against the server by the truth test); 10.6 agrees by
// MariaDB's docs (instant ADD, DROP and reordering since 10.4); from 11.2 a
// copy lets writes through (LOCK=NONE), applying them from a change buffer
// at the end.
func mariadb(s Server, c Change) Verdict {
	out := mariadb1011(c)
	if out.Algorithm == Copy && s.AtLeast(MariaDB, 11, 2, 0) {
		out.Lock, out.Source = LockNone, mariaOnline
		out.Note = "The copy still reads and writes the whole table, and MariaDB falls back to LOCK=SHARED in the cases its docs list (for example a table that foreign keys with ON DELETE CASCADE or SET NULL reference)."
	}
	if s.Major == 10 && s.Minor == 6 && out.Source == measured {
		out.Source = mariaDocs + " (measured on 10.11)"
	}
	return out
}

func mariadb1011(c Change) Verdict {
	switch c {
	case AddColumn, AddColumnPlaced, DropColumn, ReorderColumn:
		out := v(Instant, LockNone, false, measured)
		out.Alone = true
		return out
	case RenameColumn, SetDefault, ExtendVarchar, ExtendVarcharShort, ExtendVarcharRedundant, EnumAppend, RenameIndex, AddForeignKeyIndexed,
		DropForeignKey, DropCheck, AddColumnVirtual, TableOption:
		return v(Instant, LockNone, false, measured)
	case RenameTable:
		return v(Instant, LockExclusive, false, measured)
	case AddIndex, DropIndex, AddForeignKeyNoChecks:
		return v(NoCopy, LockNone, false, measured)
	case SetNotNull, DropNotNull, AddPrimaryKey, ReplacePrimaryKey, Rebuild, RowFormat:
		return v(InPlace, LockNone, true, measured)
	case AddFulltext:
		out := v(InPlace, LockShared, true, measured)
		out.Note = "The first FULLTEXT index of a table rebuilds it to add the hidden FTS_DOC_ID column; later ones build in place without a rebuild, still under LOCK=SHARED."
		return out
	case AddSpatial:
		return v(NoCopy, LockShared, false, measured)
	case AddColumnAutoInc:
		return v(InPlace, LockShared, true, measured)
	}
	// ChangeType, AddColumnStored, AddColumnExprDefault, ConvertCharset,
	// DropPrimaryKey, AddForeignKey, AddCheck.
	return v(Copy, LockShared, true, measured)
}

// mysql is the verdict table of MySQL 5.7 to 8.4, from MySQL's manual
// (neither can run here): INSTANT ADD COLUMN (last) from 8.0.12, at any
// position and INSTANT DROP COLUMN from 8.0.29, INSTANT RENAME COLUMN from
// 8.0.28; 5.7 has no INSTANT. 8.0 with no patch is the current 8.0.
func mysql(s Server, c Change) Verdict {
	instant := func(from int) Verdict {
		if s.AtLeast(MySQL, 8, 0, from) {
			out := v(Instant, LockNone, false, mysqlDocs)
			out.Alone = c != RenameColumn
			return out
		}
		return Verdict{}
	}
	switch c {
	case AddColumn:
		if out := instant(12); out.Source != "" {
			return out
		}
		return later(v(InPlace, LockNone, true, mysqlDocs), "8.0.12 adds the last column instantly")
	case AddColumnPlaced, DropColumn:
		if out := instant(29); out.Source != "" {
			return earlier(out, s, "before 8.0.29 MySQL rebuilds the table for it")
		}
		return later(v(InPlace, LockNone, true, mysqlDocs), "8.0.29 does this instantly")
	case RenameColumn:
		if out := instant(28); out.Source != "" {
			return out
		}
		return later(v(InPlace, LockNone, false, mysqlDocs), "8.0.28 renames instantly")
	case SetDefault, EnumAppend, AddColumnVirtual, TableOption:
		if s.AtLeast(MySQL, 8, 0, 0) {
			return v(Instant, LockNone, false, mysqlDocs)
		}
		return v(InPlace, LockNone, false, mysqlDocs)
	case RenameTable:
		return v(Instant, LockExclusive, false, mysqlDocs)
	case ExtendVarchar, DropIndex, RenameIndex, AddIndex, AddForeignKeyNoChecks, AddForeignKeyIndexed, DropForeignKey, DropCheck:
		return v(InPlace, LockNone, false, mysqlDocs)
	case ReorderColumn, SetNotNull, DropNotNull, AddPrimaryKey, ReplacePrimaryKey, Rebuild, RowFormat:
		return v(InPlace, LockNone, true, mysqlDocs)
	case AddFulltext:
		out := v(InPlace, LockShared, true, mysqlDocs)
		out.Note = "The first FULLTEXT index of a table rebuilds it to add the hidden FTS_DOC_ID column; later ones build in place without a rebuild, still under LOCK=SHARED."
		return out
	case AddSpatial:
		return v(InPlace, LockShared, false, mysqlDocs)
	case AddColumnAutoInc:
		return v(InPlace, LockShared, true, mysqlDocs)
	}
	// ChangeType, ExtendVarcharBoundary, ExtendVarcharShort,
	// ExtendVarcharRedundant (the manual states the length-prefix rule for
	// every row format), AddColumnStored,
	// AddColumnExprDefault, ConvertCharset, DropPrimaryKey, AddForeignKey,
	// AddCheck.
	return v(Copy, LockShared, true, mysqlDocs)
}

// later notes, on a verdict for an old MySQL release, the release that
// does better.
func later(out Verdict, note string) Verdict {
	out.Note = "MySQL " + note + "."
	return out
}

// earlier notes, on a verdict for MySQL 8.0 with no patch release given
// (taken as the current one), what older 8.0 releases do.
func earlier(out Verdict, s Server, note string) Verdict {
	if s.Major == 8 && s.Minor == 0 && s.Patch == 0 {
		out.Note = "This is MySQL 8.0's current release; " + note + ": pass --server-version with your exact release if it is older."
	}
	return out
}

// RowVersions is how many instant ADD and DROP COLUMNs MySQL 8.0.29+
// allows a table between rebuilds (MySQL's manual): at the limit
// ALGORITHM=INSTANT is refused, and without a clause the server rebuilds
// the table in place instead.
const RowVersions = 64

// HasRowVersions reports whether the server counts row versions.
func (s Server) HasRowVersions() bool { return s.AtLeast(MySQL, 8, 0, 29) }

// OverBudget is the verdict for an instant ADD or DROP COLUMN on a table
// whose row versions are used up: an in-place rebuild.
func OverBudget(used int) Verdict {
	return Verdict{Algorithm: InPlace, Lock: LockNone, Rebuild: true, Source: mysqlDocs,
		Note: fmt.Sprintf("The table has used %d of MySQL's %d instant row versions since its last rebuild, so the server rebuilds it instead of adding or dropping the column instantly.", used, RowVersions)}
}

// Combine is the verdict for a statement making several changes at once:
// the most expensive algorithm any needs, the most restrictive lock, and a
// rebuild if any rebuilds. The server runs the statement as one operation.
func Combine(vs []Verdict) Verdict {
	var out Verdict
	alone := false
	for i, x := range vs {
		if i == 0 || x.Algorithm > out.Algorithm || x.Algorithm == out.Algorithm && x.Lock > out.Lock {
			out.Algorithm, out.Source, out.Note = x.Algorithm, x.Source, x.Note
		}
		out.Lock = max(out.Lock, x.Lock)
		out.Rebuild = out.Rebuild || x.Rebuild
		alone = alone || x.Alone
	}
	if alone && out.Algorithm > Instant {
		out.Algorithm, out.Rebuild = max(out.Algorithm, InPlace), true
	}
	return out
}

// Accepts reports whether the server can run a change with the algorithm
// and lock a statement demands: an algorithm names the least efficient one
// acceptable (the server uses a cheaper one when it can), a lock the most
// restrictive. "" means no demand. MySQL has no NOCOPY.
func (v Verdict) Accepts(s Server, algorithm, lock string) bool {
	switch algorithm {
	case "INSTANT":
		if v.Algorithm > Instant {
			return false
		}
	case "NOCOPY":
		if s.Family == MySQL || v.Algorithm > NoCopy {
			return false
		}
	case "INPLACE":
		if v.Algorithm > InPlace {
			return false
		}
	}
	want := v.Lock
	if algorithm == "COPY" {
		// A forced copy needs at least LOCK=SHARED before MariaDB 11.2.
		want = max(want, LockShared)
		if s.AtLeast(MariaDB, 11, 2, 0) {
			want = LockNone
		}
	}
	switch lock {
	case "NONE":
		return want == LockNone
	case "SHARED":
		return want <= LockShared
	}
	return true
}

// Changes lists every change kind, for tests that must cover them all.
func Changes() []Change {
	return []Change{AddColumn, AddColumnPlaced, AddColumnAutoInc, AddColumnStored, AddColumnVirtual, AddColumnExprDefault,
		DropColumn, RenameColumn, ReorderColumn, SetDefault, ChangeType, ExtendVarchar, ExtendVarcharBoundary, ExtendVarcharShort, ExtendVarcharRedundant, SetNotNull,
		DropNotNull, EnumAppend, ConvertCharset, AddIndex, AddFulltext, AddSpatial, DropIndex, RenameIndex, AddPrimaryKey,
		DropPrimaryKey, ReplacePrimaryKey, AddForeignKey, AddForeignKeyNoChecks, AddForeignKeyIndexed, DropForeignKey,
		AddCheck, DropCheck, RenameTable, Rebuild, RowFormat, TableOption}
}
