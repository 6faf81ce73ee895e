// Package mytest starts a private MariaDB server from the system's packages
// (mariadb-install-db and mariadbd) on loopback, for tests that must prove
// SQL on the real thing. Set FLUXLINT_SKIP_DB=1 to skip those tests
// explicitly; without it a missing server is a test failure, never a silent
// skip.
package mytest

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/fluxlint/fluxlint/internal/dbtest"
)

// SkipEnv names the variable that skips real-database tests when set to 1.
const SkipEnv = dbtest.SkipEnv

// Server is a running private MariaDB.
type Server struct {
	Port    int
	Version string
	dir     string
	cmd     *exec.Cmd
	mu      sync.Mutex
	counter int
}

var shared = &dbtest.Shared[*Server]{Name: "MariaDB", Package: "mariadb-server", Start: Start}

// Shared returns the package's server, starting it on first use. Tests call
// it; TestMain calls StopShared at the end.
func Shared(t testing.TB) *Server { t.Helper(); return shared.Get(t) }

// StopShared stops the shared server if it was started.
func StopShared() { shared.Stop() }

// program finds a server program under its MariaDB or MySQL name.
func program(names ...string) (string, error) {
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
		for _, dir := range []string{"/usr/sbin", "/usr/bin", "/usr/local/sbin"} {
			if p := filepath.Join(dir, n); isFile(p) {
				return p, nil
			}
		}
	}
	return "", fmt.Errorf("none of %s found", strings.Join(names, ", "))
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// Start initialises a throwaway data directory and starts the server on
// 127.0.0.1 and a private socket, as the mysql user when run as root.
func Start() (*Server, error) {
	install, err := program("mariadb-install-db", "mysql_install_db")
	if err != nil {
		return nil, err
	}
	server, err := program("mariadbd", "mysqld")
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "fluxlint-mariadb-")
	if err != nil {
		return nil, err
	}
	s := &Server{dir: dir}
	user := []string{}
	if os.Geteuid() == 0 {
		user = []string{"--user=mysql"}
		if err := exec.Command("chown", "-R", "mysql:", dir).Run(); err != nil {
			return nil, fmt.Errorf("chown %s to mysql: %w", dir, err)
		}
	}
	data := filepath.Join(dir, "data")
	args := append([]string{"--no-defaults", "--datadir=" + data, "--auth-root-authentication-method=normal", "--skip-test-db"}, user...)
	if out, err := exec.Command(install, args...).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("mariadb-install-db: %w\n%s", err, out)
	}
	if s.Port, err = dbtest.FreePort(); err != nil {
		return nil, err
	}
	s.cmd = exec.Command(server, append([]string{"--no-defaults", "--datadir=" + data, fmt.Sprintf("--port=%d", s.Port),
		"--bind-address=127.0.0.1", "--socket=" + s.Socket(), "--pid-file=" + filepath.Join(dir, "pid"),
		"--log-error=" + filepath.Join(dir, "error.log"), "--skip-log-bin",
		// Its own temporary directory: two test servers sharing /tmp (two
		// test binaries at once) must not meet in each other's files.
		"--tmpdir=" + dir, "--innodb-buffer-pool-size=256M",
		"--innodb-flush-log-at-trx-commit=0", "--innodb-doublewrite=0", "--max-connections=200"}, user...)...)
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		db, err := s.open("")
		if err == nil {
			err = db.QueryRow("SELECT VERSION()").Scan(&s.Version)
			db.Close()
		}
		if err == nil {
			return s, nil
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			s.Stop()
			return nil, fmt.Errorf("mariadbd did not come up: %w\n%s", err, log)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Socket is the server's Unix socket.
func (s *Server) Socket() string { return filepath.Join(s.dir, "mysqld.sock") }

// DSN is the data source name of a database, over the server's socket.
func (s *Server) DSN(db string) string {
	c := mysql.NewConfig()
	c.User, c.Net, c.Addr, c.DBName = "root", "unix", s.Socket(), db
	c.MultiStatements = true
	return c.FormatDSN()
}

func (s *Server) open(db string) (*sql.DB, error) {
	d, err := sql.Open("mysql", s.DSN(db))
	if err != nil {
		return nil, err
	}
	if err := d.Ping(); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// Stop stops the server and removes its files.
func (s *Server) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = s.cmd.Process.Kill()
		}
	}
	_ = os.RemoveAll(s.dir)
}

// FreshDB creates an empty database and returns a handle on one connection
// to it (so session settings such as lock_wait_timeout carry from statement
// to statement, as in a migration tool's session); the database is dropped
// when the test ends.
func (s *Server) FreshDB(t testing.TB) *sql.DB {
	t.Helper()
	s.mu.Lock()
	s.counter++
	name := fmt.Sprintf("t%d_%d", os.Getpid(), s.counter)
	s.mu.Unlock()
	admin, err := s.open("")
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec("CREATE DATABASE " + name + " CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci"); err != nil {
		t.Fatal(err)
	}
	db, err := s.open(name)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() {
		db.Close()
		if a, err := s.open(""); err == nil {
			_, _ = a.Exec("DROP DATABASE IF EXISTS " + name)
			a.Close()
		}
	})
	return db
}

// ExecScript runs SQL text as one multi-statement query, as a migration tool
// using the Go driver sends a whole file.
func ExecScript(ctx context.Context, db *sql.DB, script string) error {
	_, err := db.ExecContext(ctx, script)
	return err
}

// SchemaDump renders the current database's schema deterministically:
// tables and views with their columns in order (type, nullability, default,
// extra such as AUTO_INCREMENT, character set and collation, comment), every
// index with its columns in order, foreign keys with their actions, checks,
// triggers and view definitions. Two equal dumps mean equal schemas for
// everything a plan touches.
func SchemaDump(ctx context.Context, db *sql.DB) (string, error) {
	const q = `
SELECT line FROM (
  SELECT CONCAT('table ', TABLE_NAME, ' ', TABLE_TYPE) AS line FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()
  UNION ALL
  SELECT CONCAT('column ', TABLE_NAME, '.', LPAD(ORDINAL_POSITION, 3, '0'), ' ', COLUMN_NAME, ' ', COLUMN_TYPE,
    IF(IS_NULLABLE = 'NO', ' not null', ''), IFNULL(CONCAT(' default ', COLUMN_DEFAULT), ''),
    IF(EXTRA = '', '', CONCAT(' ', EXTRA)), IFNULL(CONCAT(' charset ', CHARACTER_SET_NAME, ' collate ', COLLATION_NAME), ''),
    IF(COLUMN_COMMENT = '', '', CONCAT(' comment ', COLUMN_COMMENT)))
  FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()
  UNION ALL
  SELECT CONCAT('index ', TABLE_NAME, '.', INDEX_NAME, IF(NON_UNIQUE = 0, ' unique', ''), ' ', INDEX_TYPE, ' ',
    GROUP_CONCAT(CONCAT(COLUMN_NAME, IFNULL(CONCAT('(', SUB_PART, ')'), ''), IF(COLLATION = 'D', ' desc', '')) ORDER BY SEQ_IN_INDEX))
  FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() GROUP BY TABLE_NAME, INDEX_NAME, NON_UNIQUE, INDEX_TYPE
  UNION ALL
  SELECT CONCAT('foreign key ', k.TABLE_NAME, '.', k.CONSTRAINT_NAME, ' (', GROUP_CONCAT(k.COLUMN_NAME ORDER BY k.ORDINAL_POSITION),
    ') references ', k.REFERENCED_TABLE_NAME, ' (', GROUP_CONCAT(k.REFERENCED_COLUMN_NAME ORDER BY k.ORDINAL_POSITION), ') on delete ',
    r.DELETE_RULE, ' on update ', r.UPDATE_RULE)
  FROM information_schema.KEY_COLUMN_USAGE k JOIN information_schema.REFERENTIAL_CONSTRAINTS r
    ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME AND r.TABLE_NAME = k.TABLE_NAME
  WHERE k.TABLE_SCHEMA = DATABASE() AND k.REFERENCED_TABLE_NAME IS NOT NULL
  GROUP BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.REFERENCED_TABLE_NAME, r.DELETE_RULE, r.UPDATE_RULE
  UNION ALL
  SELECT CONCAT('check ', TABLE_NAME, '.', CONSTRAINT_NAME, ' ', CHECK_CLAUSE) FROM information_schema.CHECK_CONSTRAINTS
  WHERE CONSTRAINT_SCHEMA = DATABASE()
  UNION ALL
  SELECT CONCAT('trigger ', EVENT_OBJECT_TABLE, '.', TRIGGER_NAME, ' ', ACTION_TIMING, ' ', EVENT_MANIPULATION, ' ', ACTION_STATEMENT)
  FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()
  UNION ALL
  SELECT CONCAT('view ', TABLE_NAME, ' ', VIEW_DEFINITION) FROM information_schema.VIEWS WHERE TABLE_SCHEMA = DATABASE()
  UNION ALL
  SELECT CONCAT('routine ', ROUTINE_TYPE, ' ', ROUTINE_NAME) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE()
) x ORDER BY line`
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return "", err
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n"), rows.Err()
}
