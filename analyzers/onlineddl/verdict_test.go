package onlineddl

import "testing"

// TestParse checks the versions users write, and the errors for the rest.
func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in      string
		mariadb bool
		want    string // Server.String(), or "" for an error
	}{
		{"8.0", false, "MySQL 8.0"},
		{"8.0.29", false, "MySQL 8.0.29"},
		{"8.4", false, "MySQL 8.4"},
		{"5.7", false, "MySQL 5.7"},
		{"mariadb-10.11", false, "MariaDB 10.11"},
		{"MariaDB-11.4.2", false, "MariaDB 11.4.2"},
		{"10.11", true, "MariaDB 10.11"},
		{"10.11", false, "MariaDB 10.11"}, // no MySQL release has a major of 10
		{"8.0", true, ""},                 // no MariaDB 8.0
		{"9.1", false, ""},
		{"mariadb-10.3", false, ""},
		{"8", false, ""},
		{"8.0.x", false, ""},
		{"-8.0", false, ""},
	} {
		s, err := Parse(tc.in, tc.mariadb)
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("Parse(%q) = %s, want an error", tc.in, s)
		case tc.want != "" && (err != nil || s.String() != tc.want):
			t.Errorf("Parse(%q) = %s, %v; want %s", tc.in, s, err, tc.want)
		}
	}
}

// TestMySQLVerdicts holds the MySQL rows of the verdict table, which no
// server here can run, to MySQL's manual (InnoDB Online DDL Operations, 8.0
// and 8.4; 5.7 has no INSTANT), above all where the patch release decides.
func TestMySQLVerdicts(t *testing.T) {
	srv := func(s string) Server {
		v, err := Parse(s, false)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		server  string
		change  Change
		alg     Algorithm
		lock    Lock
		rebuild bool
	}{
		{"5.7", AddColumn, InPlace, LockNone, true},
		{"8.0", AddColumn, Instant, LockNone, false}, // 8.0 with no patch: its current release
		{"8.0", AddColumnPlaced, Instant, LockNone, false},
		{"8.0.11", AddColumn, InPlace, LockNone, true},
		{"8.0.12", AddColumn, Instant, LockNone, false},
		{"8.0.28", AddColumnPlaced, InPlace, LockNone, true},
		{"8.0.29", AddColumnPlaced, Instant, LockNone, false},
		{"8.0.28", DropColumn, InPlace, LockNone, true},
		{"8.0.29", DropColumn, Instant, LockNone, false},
		{"8.4", DropColumn, Instant, LockNone, false},
		{"8.0.27", RenameColumn, InPlace, LockNone, false},
		{"8.0.28", RenameColumn, Instant, LockNone, false},
		{"8.0", ExtendVarchar, InPlace, LockNone, false},
		{"8.0", ExtendVarcharShort, Copy, LockShared, true},
		{"8.0", ExtendVarcharBoundary, Copy, LockShared, true},
		{"8.0", ChangeType, Copy, LockShared, true},
		{"8.0", SetNotNull, InPlace, LockNone, true},
		{"8.0", AddIndex, InPlace, LockNone, false},
		{"8.0", AddFulltext, InPlace, LockShared, true},
		{"8.0", AddSpatial, InPlace, LockShared, false},
		{"8.0", DropPrimaryKey, Copy, LockShared, true},
		{"8.0", ReplacePrimaryKey, InPlace, LockNone, true},
		{"8.0", AddForeignKey, Copy, LockShared, true},
		{"8.0", AddForeignKeyNoChecks, InPlace, LockNone, false},
		{"8.0", AddColumnStored, Copy, LockShared, true},
		{"8.0", AddColumnVirtual, Instant, LockNone, false},
		{"8.0", AddColumnAutoInc, InPlace, LockShared, true},
		{"8.0", ConvertCharset, Copy, LockShared, true},
		{"8.0", RenameTable, Instant, LockExclusive, false},
		// MariaDB: a short VARCHAR crosses 255 bytes instantly; 11.2+ copies online.
		{"mariadb-10.11", ExtendVarcharShort, Instant, LockNone, false},
		{"mariadb-10.11", ExtendVarcharBoundary, Copy, LockShared, true},
		{"mariadb-11.4", ChangeType, Copy, LockNone, true},
		{"mariadb-10.6", ChangeType, Copy, LockShared, true},
	} {
		got := For(srv(tc.server), tc.change)
		if got.Algorithm != tc.alg || got.Lock != tc.lock || got.Rebuild != tc.rebuild {
			t.Errorf("%s, %s: ALGORITHM=%s LOCK=%s rebuild=%v; want ALGORITHM=%s LOCK=%s rebuild=%v",
				tc.server, tc.change, got.Algorithm, got.Lock, got.Rebuild, tc.alg, tc.lock, tc.rebuild)
		}
	}
}

// TestCombine checks that an instant ADD or DROP COLUMN beside a change
// that is not instant makes the statement an in-place rebuild (measured on
// MariaDB by the truth test; MySQL's manual says the same).
func TestCombine(t *testing.T) {
	m := Default(MariaDB)
	got := Combine([]Verdict{For(m, AddColumn), For(m, AddIndex)})
	if got.Algorithm != InPlace || !got.Rebuild || got.Lock != LockNone {
		t.Errorf("ADD COLUMN + ADD INDEX: %+v", got)
	}
	got = Combine([]Verdict{For(m, RenameColumn), For(m, AddIndex)})
	if got.Algorithm != NoCopy || got.Rebuild {
		t.Errorf("RENAME COLUMN + ADD INDEX: %+v", got)
	}
}

// TestAccepts checks which demanded ALGORITHM/LOCK clauses the server
// honours: an algorithm is the least efficient acceptable, MySQL has no
// NOCOPY, and a forced COPY blocks writes before MariaDB 11.2.
func TestAccepts(t *testing.T) {
	my, maria, maria114 := Default(MySQL), Default(MariaDB), Server{Family: MariaDB, Major: 11, Minor: 4}
	for _, tc := range []struct {
		s         Server
		change    Change
		alg, lock string
		want      bool
	}{
		{maria, ChangeType, "INPLACE", "", false},
		{maria, ChangeType, "", "NONE", false},
		{maria, ChangeType, "COPY", "SHARED", true},
		{maria114, ChangeType, "", "NONE", true},
		{maria114, AddColumn, "COPY", "NONE", true},
		{maria, AddColumn, "COPY", "NONE", false},
		{maria, AddIndex, "NOCOPY", "NONE", true},
		{my, AddIndex, "NOCOPY", "", false},
		{maria, AddIndex, "INSTANT", "", false},
		{maria, SetNotNull, "INPLACE", "NONE", true},
		{maria, RenameTable, "", "NONE", false},
		{maria, AddFulltext, "INPLACE", "SHARED", true},
	} {
		if got := For(tc.s, tc.change).Accepts(tc.s, tc.alg, tc.lock); got != tc.want {
			t.Errorf("%s %s ALGORITHM=%s LOCK=%s: accepted %v, want %v", tc.s, tc.change, tc.alg, tc.lock, got, tc.want)
		}
	}
}
