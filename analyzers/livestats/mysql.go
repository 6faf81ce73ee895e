package livestats

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

// connectMySQL opens one session that the server keeps read-only, with
// short lock-wait and statement timeouts.
func connectMySQL(ctx context.Context, s *Source) (*sql.Conn, func(), string, error) {
	c := mysql.NewConfig()
	if s.url.User != nil {
		c.User = s.url.User.Username()
	}
	c.Passwd = s.password
	c.DBName = strings.TrimPrefix(s.url.Path, "/")
	c.Net, c.Addr = "tcp", s.url.Host
	if sock := s.url.Query().Get("socket"); sock != "" {
		c.Net, c.Addr = "unix", sock
	} else if s.url.Port() == "" {
		c.Addr = s.url.Hostname() + ":3306"
	}
	c.Timeout, c.ReadTimeout = connectTimeout, statementTimeout+5*time.Second
	c.ParseTime = true
	if c.DBName == "" {
		return nil, nil, "", fmt.Errorf("--database-url %s names no database: add /DATABASE to the URL", s)
	}
	connector, err := mysql.NewConnector(c)
	if err != nil {
		return nil, nil, "", s.wrap("reading --database-url", err)
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, nil, "", s.wrap("connecting", err)
	}
	closeAll := func() { conn.Close(); db.Close() }
	var version string
	if err := conn.QueryRowContext(ctx, "SELECT VERSION()").Scan(&version); err != nil {
		closeAll()
		return nil, nil, "", s.wrap("reading the server version", err)
	}
	limit := fmt.Sprintf("SET SESSION max_execution_time = %d", statementTimeout.Milliseconds())
	if isMariaDB(version) {
		limit = fmt.Sprintf("SET SESSION max_statement_time = %d", int(statementTimeout.Seconds()))
	}
	for _, set := range []string{"SET SESSION TRANSACTION READ ONLY", fmt.Sprintf("SET SESSION lock_wait_timeout = %d", int(lockTimeout.Seconds())), limit} {
		if _, err := conn.ExecContext(ctx, set); err != nil {
			closeAll()
			return nil, nil, "", s.wrap("setting up a read-only session", err)
		}
	}
	return conn, closeAll, version, nil
}

func isMariaDB(version string) bool { return strings.Contains(strings.ToLower(version), "mariadb") }

// readMySQL reads the facts of the URL's database from information_schema
// (estimates: TABLE_ROWS is InnoDB's sample, never a count).
func readMySQL(ctx context.Context, s *Source) (*Facts, error) {
	conn, done, version, err := connectMySQL(ctx, s)
	if err != nil {
		return nil, err
	}
	defer done()
	f := &Facts{Format: FormatVersion, Engine: "mysql", Version: version}
	if isMariaDB(version) {
		f.Engine = "mariadb"
	}
	var uptime int64
	if err := conn.QueryRowContext(ctx, "SELECT DATABASE(), UTC_TIMESTAMP(), (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'UPTIME')").Scan(&f.Database, &f.Taken, &uptime); err != nil {
		// MySQL 8 keeps GLOBAL_STATUS in performance_schema only.
		if err := conn.QueryRowContext(ctx, "SELECT DATABASE(), UTC_TIMESTAMP(), (SELECT VARIABLE_VALUE FROM performance_schema.global_status WHERE VARIABLE_NAME = 'Uptime')").Scan(&f.Database, &f.Taken, &uptime); err != nil {
			return nil, s.wrap("reading the database", err)
		}
	}
	index := map[string]int{}
	rows, err := conn.QueryContext(ctx, `SELECT TABLE_NAME, TABLE_TYPE, coalesce(TABLE_ROWS, -1), coalesce(DATA_LENGTH, 0) + coalesce(INDEX_LENGTH, 0), coalesce(INDEX_LENGTH, 0)
		FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME`)
	if err != nil {
		return nil, s.wrap("reading tables", err)
	}
	for rows.Next() {
		t := Table{Schema: f.Database, WritesPerSecond: -1, ScansPerSecond: -1}
		var kind string
		if err := rows.Scan(&t.Name, &kind, &t.Rows, &t.Bytes, &t.IndexBytes); err != nil {
			rows.Close()
			return nil, s.wrap("reading tables", err)
		}
		t.Kind = "table"
		if kind == "VIEW" {
			t.Kind, t.Rows = "view", -1
		}
		index[t.Name] = len(f.Tables)
		f.Tables = append(f.Tables, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, s.wrap("reading tables", err)
	}
	each := func(what, query string, dest []any, add func(t *Table)) error {
		rows, err := conn.QueryContext(ctx, query)
		if err != nil {
			return s.wrap("reading "+what, err)
		}
		defer rows.Close()
		var name string
		all := append([]any{&name}, dest...)
		for rows.Next() {
			if err := rows.Scan(all...); err != nil {
				return s.wrap("reading "+what, err)
			}
			if i, ok := index[name]; ok {
				add(&f.Tables[i])
			}
		}
		return s.wrap("reading "+what, rows.Err())
	}
	var col Column
	var nullable string
	var def sql.NullString
	if err := each("columns", `SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT
		FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME, ORDINAL_POSITION`,
		[]any{&col.Name, &col.Type, &nullable, &def}, func(t *Table) {
			col.NotNull, col.Default = nullable == "NO", def.String
			t.Columns = append(t.Columns, col)
		}); err != nil {
		return nil, err
	}
	var ixName string
	var nonUnique int
	var column sql.NullString
	if err := each("indexes", `SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, COLUMN_NAME
		FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX`,
		[]any{&ixName, &nonUnique, &column}, func(t *Table) {
			if n := len(t.Indexes); n == 0 || t.Indexes[n-1].Name != ixName {
				t.Indexes = append(t.Indexes, Index{Name: ixName, Unique: nonUnique == 0, Primary: ixName == "PRIMARY", Valid: true})
			}
			last := &t.Indexes[len(t.Indexes)-1]
			last.Columns = append(last.Columns, column.String)
		}); err != nil {
		return nil, err
	}
	var con Constraint
	if err := each("constraints", `SELECT TABLE_NAME, CONSTRAINT_NAME, CONSTRAINT_TYPE
		FROM information_schema.TABLE_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE() ORDER BY TABLE_NAME, CONSTRAINT_NAME`,
		[]any{&con.Name, &con.Kind}, func(t *Table) {
			c := con
			c.Kind, c.Validated = strings.ToLower(c.Kind), true
			t.Constraints = append(t.Constraints, c)
		}); err != nil {
		return nil, err
	}
	var partition string
	if err := each("partitions", `SELECT TABLE_NAME, PARTITION_NAME FROM information_schema.PARTITIONS
		WHERE TABLE_SCHEMA = DATABASE() AND PARTITION_NAME IS NOT NULL ORDER BY TABLE_NAME, PARTITION_ORDINAL_POSITION`,
		[]any{&partition}, func(t *Table) { t.Partitions = append(t.Partitions, partition) }); err != nil {
		return nil, err
	}
	var trigger string
	if err := each("triggers", `SELECT EVENT_OBJECT_TABLE, TRIGGER_NAME FROM information_schema.TRIGGERS
		WHERE TRIGGER_SCHEMA = DATABASE() ORDER BY EVENT_OBJECT_TABLE, TRIGGER_NAME`,
		[]any{&trigger}, func(t *Table) { t.Triggers = append(t.Triggers, trigger) }); err != nil {
		return nil, err
	}
	// Write rates where performance_schema keeps them (MySQL by default;
	// MariaDB only when enabled): rows written since the server started.
	var writes int64
	if uptime > 0 {
		_ = each("write counts", `SELECT OBJECT_NAME, COUNT_INSERT + COUNT_UPDATE + COUNT_DELETE
			FROM performance_schema.table_io_waits_summary_by_table WHERE OBJECT_SCHEMA = DATABASE() AND OBJECT_TYPE = 'TABLE'`,
			[]any{&writes}, func(t *Table) { t.WritesPerSecond = float64(writes) / float64(uptime) })
	}
	f.Leftovers = leftovers(f)
	return f, nil
}
