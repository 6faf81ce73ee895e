// Package pgtest starts a private PostgreSQL server from the system's
// packages (initdb and pg_ctl) on loopback, for tests that must prove SQL on
// the real thing. Set FLUXLINT_SKIP_DB=1 to skip those tests explicitly;
// without it a missing server is a test failure, never a silent skip.
package pgtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fluxlint/fluxlint/internal/dbtest"
)

// SkipEnv names the variable that skips real-database tests when set to 1.
const SkipEnv = dbtest.SkipEnv

// Server is a running private PostgreSQL.
type Server struct {
	Port    int
	Version string
	dir     string
	bin     string
	asUser  string // run server binaries as this user (PostgreSQL refuses root)
	counter int
	mu      sync.Mutex
}

var shared = &dbtest.Shared[*Server]{Name: "PostgreSQL", Package: "postgresql", Start: Start}

// Shared returns the package's server, starting it on first use. Tests call
// it; TestMain calls StopShared at the end.
func Shared(t testing.TB) *Server { t.Helper(); return shared.Get(t) }

// StopShared stops the shared server if it was started.
func StopShared() { shared.Stop() }

// binDir finds the newest PostgreSQL server binaries.
func binDir() (string, error) {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			return filepath.Dir(real), nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return vi > vj
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("no PostgreSQL server binaries (initdb, pg_ctl) found")
}

// Start initialises a throwaway cluster and starts it on 127.0.0.1.
func Start() (*Server, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "fluxlint-pg-")
	if err != nil {
		return nil, err
	}
	s := &Server{dir: dir, bin: bin}
	if os.Geteuid() == 0 {
		s.asUser = "postgres"
		if err := exec.Command("chown", "-R", "postgres:", dir).Run(); err != nil {
			return nil, fmt.Errorf("chown %s to postgres: %w", dir, err)
		}
	}
	data := filepath.Join(dir, "data")
	if out, err := s.cmd("initdb", "-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}
	for attempt := 0; attempt < 3; attempt++ {
		if s.Port, err = dbtest.FreePort(); err != nil {
			return nil, err
		}
		opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=50", s.Port, dir)
		out, err := s.cmd("pg_ctl", "-D", data, "-o", opts, "-l", filepath.Join(dir, "log"), "-w", "-t", "60", "start").CombinedOutput()
		if err == nil {
			break
		}
		if attempt == 2 {
			log, _ := os.ReadFile(filepath.Join(dir, "log"))
			return nil, fmt.Errorf("pg_ctl start: %w\n%s\n%s", err, out, log)
		}
	}
	conn, err := s.Connect(context.Background(), "postgres")
	if err != nil {
		s.Stop()
		return nil, err
	}
	defer conn.Close(context.Background())
	if err := conn.QueryRow(context.Background(), "SHOW server_version").Scan(&s.Version); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

func (s *Server) cmd(name string, args ...string) *exec.Cmd {
	path := filepath.Join(s.bin, name)
	if s.asUser != "" {
		return exec.Command("runuser", append([]string{"-u", s.asUser, "--", path}, args...)...)
	}
	return exec.Command(path, args...)
}

// Stop stops the server and removes its files.
func (s *Server) Stop() {
	_ = s.cmd("pg_ctl", "-D", filepath.Join(s.dir, "data"), "-m", "immediate", "-w", "stop").Run()
	_ = os.RemoveAll(s.dir)
}

// ConnString returns a connection string for a database.
func (s *Server) ConnString(db string) string {
	return fmt.Sprintf("host=127.0.0.1 port=%d user=postgres dbname=%s sslmode=disable", s.Port, db)
}

// Connect opens a connection to a database.
func (s *Server) Connect(ctx context.Context, db string) (*pgx.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return pgx.Connect(ctx, s.ConnString(db))
}

// FreshDB creates an empty database and returns a connection to it; the
// database is dropped when the test ends.
func (s *Server) FreshDB(t testing.TB) *pgx.Conn {
	t.Helper()
	s.mu.Lock()
	s.counter++
	name := fmt.Sprintf("t%d_%d", os.Getpid(), s.counter)
	s.mu.Unlock()
	ctx := context.Background()
	admin, err := s.Connect(ctx, "postgres")
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE template0"); err != nil {
		t.Fatal(err)
	}
	conn, err := s.Connect(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close(ctx)
		if a, err := s.Connect(ctx, "postgres"); err == nil {
			_, _ = a.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			a.Close(ctx)
		}
	})
	return conn
}

// ExecScript runs SQL text as one simple-protocol query, like psql -c or a
// migration tool sending a whole file.
func ExecScript(ctx context.Context, conn *pgx.Conn, sql string) error {
	_, err := conn.PgConn().Exec(ctx, sql).ReadAll()
	return err
}

// SchemaDump renders the user schema deterministically: relations, columns
// (ordered by name, since a re-added column lands last), constraints with
// validity, indexes with validity, view definitions (as the server prints
// them) and enums. Two equal dumps mean equal
// schemas for everything a plan touches.
func SchemaDump(ctx context.Context, conn *pgx.Conn) (string, error) {
	const q = `
WITH rels AS (
  SELECT c.oid, n.nspname, c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'
)
SELECT line FROM (
  SELECT format('relation %I.%I kind=%s', nspname, relname, relkind) AS line FROM rels WHERE relkind IN ('r', 'p', 'v', 'm', 'S')
  UNION ALL
  SELECT format('column %I.%I.%I %s%s%s%s%s', r.nspname, r.relname, a.attname, format_type(a.atttypid, a.atttypmod),
    CASE WHEN a.attnotnull THEN ' not null' ELSE '' END,
    COALESCE(' default ' || pg_get_expr(d.adbin, d.adrelid), ''),
    CASE WHEN a.attidentity <> '' THEN ' identity ' || a.attidentity::text ELSE '' END,
    CASE WHEN a.attgenerated <> '' THEN ' generated' ELSE '' END,
    COALESCE(' collate ' || NULLIF(co.collname, 'default'), ''))
  FROM rels r JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
  LEFT JOIN pg_collation co ON co.oid = a.attcollation AND a.attcollation <> 100
  WHERE r.relkind IN ('r', 'p', 'v', 'm')
  UNION ALL
  SELECT format('constraint %I.%I %I %s%s', r.nspname, r.relname, k.conname, pg_get_constraintdef(k.oid), CASE WHEN k.convalidated THEN '' ELSE ' not valid' END)
  FROM rels r JOIN pg_constraint k ON k.conrelid = r.oid
  UNION ALL
  SELECT format('index %s%s', pg_get_indexdef(i.indexrelid), CASE WHEN i.indisvalid THEN '' ELSE ' INVALID' END)
  FROM rels r JOIN pg_index i ON i.indrelid = r.oid
  UNION ALL
  SELECT format('view %I.%I %s', nspname, relname, regexp_replace(pg_get_viewdef(oid), '\s+', ' ', 'g'))
  FROM rels WHERE relkind IN ('v', 'm')
  UNION ALL
  SELECT format('enum %I.%I %s', n.nspname, t.typname, string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder))
  FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace JOIN pg_enum e ON e.enumtypid = t.oid
  GROUP BY n.nspname, t.typname
) x ORDER BY line`
	rows, err := conn.Query(ctx, q)
	if err != nil {
		return "", err
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return "", err
	}
	return strings.Join(lines, "\n"), nil
}

// CreatePasswordRole creates a login role that must give its password over
// TCP (scram-sha-256), where every other role is trusted: for tests that a
// wrong password fails and no password is ever printed.
func (s *Server) CreatePasswordRole(t testing.TB, role, password string) {
	t.Helper()
	ctx := context.Background()
	admin, err := s.Connect(ctx, "postgres")
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, fmt.Sprintf("CREATE ROLE %s LOGIN SUPERUSER PASSWORD '%s'", role, password)); err != nil {
		t.Fatal(err)
	}
	hba := filepath.Join(s.dir, "data", "pg_hba.conf")
	old, err := os.ReadFile(hba)
	if err != nil {
		t.Fatal(err)
	}
	line := fmt.Sprintf("host all %s 127.0.0.1/32 scram-sha-256\n", role)
	if err := os.WriteFile(hba, append([]byte(line), old...), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := s.cmd("pg_ctl", "-D", filepath.Join(s.dir, "data"), "reload").CombinedOutput(); err != nil {
		t.Fatalf("pg_ctl reload: %v\n%s", err, out)
	}
	time.Sleep(200 * time.Millisecond) // the postmaster rereads pg_hba.conf on SIGHUP
}
