package livestats

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Session limits: fluxlint must never be the query that waits behind a
// lock, or that runs long on a production server.
const (
	statementTimeout = 10 * time.Second
	lockTimeout      = time.Second
	connectTimeout   = 10 * time.Second
)

// connectPostgres opens a session that the server itself keeps read-only,
// with short statement and lock timeouts, all set at connection start.
func connectPostgres(ctx context.Context, s *Source) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(s.url.String())
	if err != nil {
		return nil, s.wrap("reading --database-url", err)
	}
	if cfg.ConnectTimeout == 0 || cfg.ConnectTimeout > connectTimeout {
		cfg.ConnectTimeout = connectTimeout
	}
	cfg.RuntimeParams["default_transaction_read_only"] = "on"
	cfg.RuntimeParams["statement_timeout"] = statementTimeout.String()
	cfg.RuntimeParams["lock_timeout"] = lockTimeout.String()
	cfg.RuntimeParams["idle_in_transaction_session_timeout"] = statementTimeout.String()
	cfg.RuntimeParams["application_name"] = "fluxlint"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, s.wrap("connecting", err)
	}
	// The startup parameters make every transaction read-only; this makes
	// the session's default say so too, whatever a role setting says.
	if _, err := conn.Exec(ctx, "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY"); err != nil {
		conn.Close(ctx)
		return nil, s.wrap("making the session read-only", err)
	}
	return conn, nil
}

// readPostgres reads the facts of the database the URL names. Sizes come
// from pg_class's page counts, not pg_total_relation_size, which would lock
// each table: a catalog read never queues behind a migration's lock.
func readPostgres(ctx context.Context, s *Source) (*Facts, error) {
	conn, err := connectPostgres(ctx, s)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	f := &Facts{Format: FormatVersion, Engine: "postgres"}
	var statsSince time.Time
	if err := conn.QueryRow(ctx, `SELECT current_setting('server_version'), current_database(), now(),
		coalesce((SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()), pg_postmaster_start_time())`).Scan(&f.Version, &f.Database, &f.Taken, &statsSince); err != nil {
		return nil, s.wrap("reading the server version", err)
	}
	f.Version, _, _ = strings.Cut(f.Version, " ") // "16.4 (Debian 16.4-1)"
	f.Taken = f.Taken.UTC().Truncate(time.Second)
	window := f.Taken.Sub(statsSince).Seconds()
	rows, err := conn.Query(ctx, `
		SELECT n.nspname, c.relname, c.relkind::text, c.reltuples::bigint,
			(SELECT current_setting('block_size')::bigint) * (c.relpages
				+ coalesce((SELECT t.relpages FROM pg_class t WHERE t.oid = c.reltoastrelid), 0)
				+ coalesce((SELECT sum(i.relpages) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = c.oid), 0)),
			(SELECT current_setting('block_size')::bigint) * coalesce((SELECT sum(i.relpages) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = c.oid), 0),
			coalesce(st.n_tup_ins + st.n_tup_upd + st.n_tup_del, -1), coalesce(st.seq_scan, -1),
			coalesce((SELECT pn.nspname || '.' || p.relname FROM pg_inherits h JOIN pg_class p ON p.oid = h.inhparent
				JOIN pg_namespace pn ON pn.oid = p.relnamespace WHERE h.inhrelid = c.oid AND p.relkind = 'p'), '')
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		LEFT JOIN pg_stat_user_tables st ON st.relid = c.oid
		WHERE c.relkind IN ('r', 'p', 'v', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
			AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'
		ORDER BY 1, 2`)
	if err != nil {
		return nil, s.wrap("reading tables", err)
	}
	index := map[[2]string]int{}
	for rows.Next() {
		var t Table
		var kind string
		var writes, scans int64
		if err := rows.Scan(&t.Schema, &t.Name, &kind, &t.Rows, &t.Bytes, &t.IndexBytes, &writes, &scans, &t.Parent); err != nil {
			return nil, s.wrap("reading tables", err)
		}
		t.Kind = map[string]string{"r": "table", "p": "partitioned", "v": "view", "m": "materialized view"}[kind]
		t.WritesPerSecond, t.ScansPerSecond = perSecond(writes, window), perSecond(scans, window)
		index[[2]string{t.Schema, t.Name}] = len(f.Tables)
		f.Tables = append(f.Tables, t)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap("reading tables", err)
	}
	// A partitioned table holds no rows of its own: it has its partitions'.
	for i := range f.Tables {
		if p := f.Tables[i].Parent; p != "" {
			schema, name, _ := strings.Cut(p, ".")
			if j, ok := index[[2]string{schema, name}]; ok && f.Tables[i].Rows > 0 {
				parent := &f.Tables[j]
				parent.Rows = max(parent.Rows, 0) + f.Tables[i].Rows
				parent.Bytes += f.Tables[i].Bytes
			}
		}
	}
	// each runs a query whose rows start with a table's schema and name,
	// scans the rest into dest, and hands each row of a known table to add.
	each := func(what, query string, dest []any, add func(t *Table)) error {
		rows, err := conn.Query(ctx, query)
		if err != nil {
			return s.wrap("reading "+what, err)
		}
		defer rows.Close()
		var schema, name string
		all := append([]any{&schema, &name}, dest...)
		for rows.Next() {
			if err := rows.Scan(all...); err != nil {
				return s.wrap("reading "+what, err)
			}
			if i, ok := index[[2]string{schema, name}]; ok {
				add(&f.Tables[i])
			}
		}
		return s.wrap("reading "+what, rows.Err())
	}
	var col Column
	if err := each("columns", `
		SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
			coalesce(pg_get_expr(d.adbin, d.adrelid), '')
		FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
		WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm')
		ORDER BY n.nspname, c.relname, a.attnum`, []any{&col.Name, &col.Type, &col.NotNull, &col.Default},
		func(t *Table) { t.Columns = append(t.Columns, col) }); err != nil {
		return nil, err
	}
	var ix Index
	if err := each("indexes", `
		SELECT n.nspname, c.relname, i.relname, x.indisunique, x.indisprimary, x.indisvalid AND x.indisready,
			pg_get_indexdef(x.indexrelid),
			array(SELECT coalesce(a.attname, '') FROM unnest(x.indkey[0:x.indnkeyatts - 1]) WITH ORDINALITY k(attnum, o)
				LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum ORDER BY k.o)
		FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class c ON c.oid = x.indrelid
		JOIN pg_namespace n ON n.oid = c.relnamespace
		ORDER BY n.nspname, c.relname, i.relname`, []any{&ix.Name, &ix.Unique, &ix.Primary, &ix.Valid, &ix.Definition, &ix.Columns},
		func(t *Table) {
			add := ix
			add.Columns = slices.Clone(ix.Columns)
			t.Indexes = append(t.Indexes, add)
		}); err != nil {
		return nil, err
	}
	var con Constraint
	var kind string
	if err := each("constraints", `
		SELECT n.nspname, c.relname, k.conname, k.contype::text, pg_get_constraintdef(k.oid), k.convalidated
		FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		ORDER BY n.nspname, c.relname, k.conname`, []any{&con.Name, &kind, &con.Definition, &con.Validated},
		func(t *Table) {
			con.Kind = map[string]string{"p": "primary key", "u": "unique", "f": "foreign key", "c": "check", "x": "exclude", "n": "not null", "t": "trigger"}[kind]
			t.Constraints = append(t.Constraints, con)
		}); err != nil {
		return nil, err
	}
	var trigger string
	if err := each("triggers", `
		SELECT n.nspname, c.relname, g.tgname
		FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE NOT g.tgisinternal ORDER BY n.nspname, c.relname, g.tgname`, []any{&trigger},
		func(t *Table) { t.Triggers = append(t.Triggers, trigger) }); err != nil {
		return nil, err
	}
	f.Leftovers = leftovers(f)
	return f, nil
}

// perSecond is a counter's average rate over window seconds (-1 when the
// server keeps no counter).
func perSecond(n int64, window float64) float64 {
	if n < 0 || window <= 0 {
		return -1
	}
	return float64(n) / window
}
