package livestats

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/fluxlint/fluxlint/analyzers/ir"
)

// Want is a lock a migration will ask for: PostgreSQL's mode name, or
// "metadata" for MySQL's exclusive metadata lock that every DDL takes.
type Want struct {
	Table ir.QName
	Mode  string
}

// Session is another session that a migration's lock would wait for, or
// that is open long enough to matter.
type Session struct {
	ID    int64   `json:"id"` // backend pid, or MySQL's thread id
	User  string  `json:"user"`
	App   string  `json:"application,omitempty"`
	State string  `json:"state,omitempty"`
	Age   float64 `json:"transaction_seconds"` // how long its transaction has been open
	Query string  `json:"query"`               // its current or last statement, shortened
	// Table and Mode: the lock it holds (or waits for) on a table the
	// migration locks; empty for a long transaction without one.
	Table   string `json:"table,omitempty"`
	Mode    string `json:"mode,omitempty"`
	Granted bool   `json:"granted"`
	// Conflicts names the migration's lock that would queue behind it.
	Conflicts string `json:"conflicts,omitempty"`
}

// Activity is what preflight found.
type Activity struct {
	Blockers []Session `json:"blockers"`          // would make a migration's lock wait
	Long     []Session `json:"long_transactions"` // open longer than the limit, holding nothing the migration needs
	// Lag is each replica's replay lag in seconds, where the server shows it.
	Lag map[string]float64 `json:"replica_lag_seconds,omitempty"`
	// Unsure says why lock holders could not be told exactly (MySQL
	// without performance_schema's metadata_locks).
	Unsure string `json:"unsure,omitempty"`
}

// conflicts is PostgreSQL's table lock conflict matrix: the held modes each
// requested mode waits for.
var conflicts = map[string][]string{
	"ACCESS SHARE":           {"ACCESS EXCLUSIVE"},
	"ROW SHARE":              {"EXCLUSIVE", "ACCESS EXCLUSIVE"},
	"ROW EXCLUSIVE":          {"SHARE", "SHARE ROW EXCLUSIVE", "EXCLUSIVE", "ACCESS EXCLUSIVE"},
	"SHARE UPDATE EXCLUSIVE": {"SHARE UPDATE EXCLUSIVE", "SHARE", "SHARE ROW EXCLUSIVE", "EXCLUSIVE", "ACCESS EXCLUSIVE"},
	"SHARE":                  {"ROW EXCLUSIVE", "SHARE UPDATE EXCLUSIVE", "SHARE ROW EXCLUSIVE", "EXCLUSIVE", "ACCESS EXCLUSIVE"},
	"SHARE ROW EXCLUSIVE":    {"ROW EXCLUSIVE", "SHARE UPDATE EXCLUSIVE", "SHARE", "SHARE ROW EXCLUSIVE", "EXCLUSIVE", "ACCESS EXCLUSIVE"},
	"EXCLUSIVE":              {"ROW SHARE", "ROW EXCLUSIVE", "SHARE UPDATE EXCLUSIVE", "SHARE", "SHARE ROW EXCLUSIVE", "EXCLUSIVE", "ACCESS EXCLUSIVE"},
	"ACCESS EXCLUSIVE":       {"ACCESS SHARE", "ROW SHARE", "ROW EXCLUSIVE", "SHARE UPDATE EXCLUSIVE", "SHARE", "SHARE ROW EXCLUSIVE", "EXCLUSIVE", "ACCESS EXCLUSIVE"},
}

// Conflict reports whether a lock in mode want waits for one held in mode
// held (PostgreSQL's names, with or without "Lock": pg_locks says
// AccessShareLock).
func Conflict(want, held string) bool {
	return slices.Contains(conflicts[want], modeName(held))
}

// modeName turns pg_locks' AccessShareLock into ACCESS SHARE (and leaves
// ACCESS SHARE as it is).
func modeName(m string) string {
	if strings.ToUpper(m) == m {
		return m
	}
	m = strings.TrimSuffix(m, "Lock")
	var b strings.Builder
	for i, r := range m {
		if i > 0 && r >= 'A' && r <= 'Z' {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return strings.ToUpper(b.String())
}

// ReadActivity reads, read-only, the sessions that the wanted locks would
// queue behind, and transactions open longer than long.
func ReadActivity(ctx context.Context, s *Source, wants []Want, long time.Duration) (*Activity, error) {
	if s.Engine == "postgres" {
		return postgresActivity(ctx, s, wants, long)
	}
	return mysqlActivity(ctx, s, wants, long)
}

func shorten(q string) string {
	q = strings.Join(strings.Fields(q), " ")
	if len(q) > 100 {
		q = q[:97] + "..."
	}
	return q
}

func postgresActivity(ctx context.Context, s *Source, wants []Want, long time.Duration) (*Activity, error) {
	conn, err := connectPostgres(ctx, s)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	act := &Activity{Lag: map[string]float64{}}
	rows, err := conn.Query(ctx, `
		SELECT a.pid, coalesce(a.usename, ''), coalesce(a.application_name, ''), coalesce(a.state, ''),
			coalesce(extract(epoch FROM now() - a.xact_start), 0)::float8, coalesce(a.query, ''),
			n.nspname, c.relname, l.mode, l.granted
		FROM pg_locks l JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_stat_activity a ON a.pid = l.pid
		WHERE l.locktype = 'relation' AND l.pid <> pg_backend_pid()
			AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
		ORDER BY a.xact_start NULLS LAST, a.pid`)
	if err != nil {
		return nil, s.wrap("reading locks", err)
	}
	holding := map[int64]bool{}
	for rows.Next() {
		var ss Session
		var schema, name string
		if err := rows.Scan(&ss.ID, &ss.User, &ss.App, &ss.State, &ss.Age, &ss.Query, &schema, &name, &ss.Mode, &ss.Granted); err != nil {
			rows.Close()
			return nil, s.wrap("reading locks", err)
		}
		ss.Query, ss.Mode = shorten(ss.Query), modeName(ss.Mode)
		for _, w := range wants {
			q := w.Table
			if q.Schema == "" {
				q.Schema = "public"
			}
			if q != (ir.QName{Schema: schema, Name: name}) || !Conflict(w.Mode, ss.Mode) {
				continue
			}
			ss.Table, ss.Conflicts = schema+"."+name, w.Mode
			act.Blockers = append(act.Blockers, ss)
			holding[ss.ID] = true
			break
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, s.wrap("reading locks", err)
	}
	rows, err = conn.Query(ctx, `
		SELECT pid, coalesce(usename, ''), coalesce(application_name, ''), coalesce(state, ''),
			extract(epoch FROM now() - xact_start)::float8, coalesce(query, '')
		FROM pg_stat_activity
		WHERE xact_start IS NOT NULL AND pid <> pg_backend_pid() AND now() - xact_start > $1::interval
		ORDER BY xact_start`, fmt.Sprintf("%d milliseconds", long.Milliseconds()))
	if err != nil {
		return nil, s.wrap("reading transactions", err)
	}
	for rows.Next() {
		var ss Session
		if err := rows.Scan(&ss.ID, &ss.User, &ss.App, &ss.State, &ss.Age, &ss.Query); err != nil {
			rows.Close()
			return nil, s.wrap("reading transactions", err)
		}
		if !holding[ss.ID] {
			ss.Query = shorten(ss.Query)
			act.Long = append(act.Long, ss)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, s.wrap("reading transactions", err)
	}
	// Replicas, where this role may see them.
	if rows, err := conn.Query(ctx, `SELECT coalesce(application_name, client_addr::text, ''), coalesce(extract(epoch FROM replay_lag), 0)::float8 FROM pg_stat_replication`); err == nil {
		for rows.Next() {
			var name string
			var lag float64
			if rows.Scan(&name, &lag) == nil {
				act.Lag[name] = lag
			}
		}
		rows.Close()
	}
	return act, nil
}

func mysqlActivity(ctx context.Context, s *Source, wants []Want, long time.Duration) (*Activity, error) {
	conn, done, _, err := connectMySQL(ctx, s)
	if err != nil {
		return nil, err
	}
	defer done()
	act := &Activity{}
	var self int64
	if err := conn.QueryRowContext(ctx, "SELECT CONNECTION_ID()").Scan(&self); err != nil {
		return nil, s.wrap("reading the session", err)
	}
	// Who holds metadata locks on the tables, where performance_schema
	// keeps them (MySQL by default).
	holders := map[int64][]string{}
	exact := false
	if rows, err := conn.QueryContext(ctx, `SELECT t.PROCESSLIST_ID, m.OBJECT_NAME, m.LOCK_TYPE
		FROM performance_schema.metadata_locks m JOIN performance_schema.threads t ON t.THREAD_ID = m.OWNER_THREAD_ID
		WHERE m.OBJECT_TYPE = 'TABLE' AND m.OBJECT_SCHEMA = DATABASE() AND t.PROCESSLIST_ID IS NOT NULL`); err == nil {
		for rows.Next() {
			var id int64
			var table, mode string
			if rows.Scan(&id, &table, &mode) == nil && id != self {
				holders[id] = append(holders[id], table+" "+mode)
				exact = true
			}
		}
		rows.Close()
	}
	var tables []string
	for _, w := range wants {
		tables = append(tables, w.Table.Name)
	}
	// Sessions with an open InnoDB transaction, and every session's
	// current statement.
	rows, err := conn.QueryContext(ctx, `SELECT p.ID, coalesce(p.USER, ''), coalesce(p.COMMAND, ''),
			coalesce(TIMESTAMPDIFF(SECOND, t.trx_started, NOW()), -1), coalesce(p.INFO, t.trx_query, '')
		FROM information_schema.PROCESSLIST p LEFT JOIN information_schema.INNODB_TRX t ON t.trx_mysql_thread_id = p.ID
		ORDER BY t.trx_started IS NULL, t.trx_started, p.ID`)
	if err != nil {
		return nil, s.wrap("reading sessions", err)
	}
	defer rows.Close()
	for rows.Next() {
		var ss Session
		var query sql.NullString
		if err := rows.Scan(&ss.ID, &ss.User, &ss.State, &ss.Age, &query); err != nil {
			return nil, s.wrap("reading sessions", err)
		}
		if ss.ID == self {
			continue
		}
		ss.Query = shorten(query.String)
		blocks := false
		for _, h := range holders[ss.ID] {
			name, mode, _ := strings.Cut(h, " ")
			if slices.Contains(tables, name) {
				ss.Table, ss.Mode, ss.Granted, blocks = name, mode, true, true
			}
		}
		if !exact && ss.Age >= 0 && ss.Age >= long.Seconds() {
			// Without metadata_locks the server cannot say which tables
			// an open transaction has used: any of them may hold a
			// metadata lock that the migration's DDL waits for.
			blocks = true
			act.Unsure = "performance_schema.metadata_locks is not enabled, so any open transaction may hold a metadata lock on the tables; enable it (performance_schema=ON) for an exact answer"
		}
		switch {
		case blocks:
			ss.Conflicts = "exclusive metadata"
			act.Blockers = append(act.Blockers, ss)
		case ss.Age >= 0 && ss.Age >= long.Seconds():
			act.Long = append(act.Long, ss)
		}
	}
	return act, s.wrap("reading sessions", rows.Err())
}
