// Package onlineddl knows what a MySQL or MariaDB server does with each
// ALTER TABLE change: which algorithm (INSTANT, NOCOPY, INPLACE, COPY) and
// which LOCK level it uses when the statement names none, and whether the
// table is rebuilt. The answer depends on the server's family and exact
// version, so every verdict is for a Server and names its source: measured
// on MariaDB 10.11 by the test suite, or the vendor's manual for servers
// that cannot run here.
package onlineddl

import (
	"fmt"
	"strconv"
	"strings"
)

// Family is the server's vendor line.
type Family int

const (
	MySQL Family = iota
	MariaDB
)

func (f Family) String() string { return [...]string{"MySQL", "MariaDB"}[f] }

// Server is a server family and version. Patch 0 means unknown: the
// verdicts then assume the line's current release (only the newest patch
// of a release line is supported), and say so where an older patch does
// worse.
type Server struct {
	Family              Family
	Major, Minor, Patch int
}

// The release lines fluxlint knows, oldest first per family.
var known = []Server{
	{Family: MySQL, Major: 5, Minor: 7},
	{Family: MySQL, Major: 8, Minor: 0},
	{Family: MySQL, Major: 8, Minor: 4},
	{Family: MariaDB, Major: 10, Minor: 6},
	{Family: MariaDB, Major: 10, Minor: 11},
	{Family: MariaDB, Major: 11, Minor: 4},
	{Family: MariaDB, Major: 11, Minor: 8},
}

// Default is the server assumed without --server-version: the oldest
// supported release line of the family (MySQL 8.0, MariaDB 10.11), at its
// current patch release.
func Default(f Family) Server {
	if f == MariaDB {
		return Server{Family: MariaDB, Major: 10, Minor: 11}
	}
	return Server{Family: MySQL, Major: 8, Minor: 0}
}

// Known lists the release lines fluxlint has verdicts for, as users write
// them.
func Known() string {
	var out []string
	for _, s := range known {
		out = append(out, s.Flag())
	}
	return strings.Join(out, ", ")
}

// Parse reads a version as users write it: 5.7, 8.0, 8.0.29, 8.4 for MySQL;
// mariadb-10.11, mariadb-11.4.2 for MariaDB (a bare 10.11 too when the
// engine is mariadb). A release line fluxlint does not know is an error
// naming the ones it knows.
func Parse(s string, mariadb bool) (Server, error) {
	v := strings.TrimSpace(s)
	if rest, ok := strings.CutPrefix(strings.ToLower(v), "mariadb-"); ok {
		v, mariadb = rest, true
	}
	parts := strings.Split(v, ".")
	var n [3]int
	if len(parts) < 2 || len(parts) > 3 {
		return Server{}, fmt.Errorf("%q is not a server version: write major.minor or major.minor.patch (%s)", s, Known())
	}
	for i, p := range parts {
		x, err := strconv.ParseUint(p, 10, 16)
		if err != nil {
			return Server{}, fmt.Errorf("%q is not a server version: write major.minor or major.minor.patch (%s)", s, Known())
		}
		n[i] = int(x)
	}
	srv := Server{Family: MySQL, Major: n[0], Minor: n[1], Patch: n[2]}
	if mariadb || srv.Major >= 10 {
		srv.Family = MariaDB
	}
	for _, k := range known {
		if k.Family == srv.Family && k.Major == srv.Major && k.Minor == srv.Minor {
			return srv, nil
		}
	}
	return Server{}, fmt.Errorf("unknown %s version %q: fluxlint knows %s", srv.Family, s, Known())
}

// Flag is the server as --server-version takes it.
func (s Server) Flag() string {
	v := fmt.Sprintf("%d.%d", s.Major, s.Minor)
	if s.Patch > 0 {
		v += fmt.Sprintf(".%d", s.Patch)
	}
	if s.Family == MariaDB {
		return "mariadb-" + v
	}
	return v
}

// String names the server for people: "MySQL 8.0.29", "MariaDB 10.11".
func (s Server) String() string {
	v := fmt.Sprintf("%s %d.%d", s.Family, s.Major, s.Minor)
	if s.Patch > 0 {
		v += fmt.Sprintf(".%d", s.Patch)
	}
	return v
}

// AtLeast reports whether the server is of family f and at least
// major.minor.patch; an unknown patch counts as the line's current
// release, newer than any patch named.
func (s Server) AtLeast(f Family, major, minor, patch int) bool {
	if s.Family != f {
		return false
	}
	if s.Major != major {
		return s.Major > major
	}
	if s.Minor != minor {
		return s.Minor > minor
	}
	return s.Patch == 0 || s.Patch >= patch
}
