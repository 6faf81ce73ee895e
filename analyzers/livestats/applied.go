package livestats

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/fluxlint/fluxlint/analyzers/migrations"
)

// Applied reports whether the migration tool's own version table says the
// migration is applied: goose_db_version, schema_migrations (golang-migrate,
// dbmate), flyway_schema_history, _prisma_migrations,
// __diesel_schema_migrations, __drizzle_migrations. No version table means
// nothing is applied.
func Applied(ctx context.Context, s *Source, m *migrations.Migration) (bool, error) {
	version := m.Version
	var query string
	switch m.Tool {
	case migrations.Goose:
		query = "SELECT count(*) FROM goose_db_version WHERE version_id = ? AND is_applied"
	case migrations.GolangMigrate:
		// It keeps only the newest version: everything up to it is applied.
		query = "SELECT count(*) FROM schema_migrations WHERE version >= ?"
	case migrations.Dbmate:
		query = "SELECT count(*) FROM schema_migrations WHERE version = ?"
	case migrations.Flyway:
		query = "SELECT count(*) FROM flyway_schema_history WHERE version = ? AND success"
	case migrations.Prisma:
		query = "SELECT count(*) FROM _prisma_migrations WHERE migration_name = ? AND finished_at IS NOT NULL"
	case migrations.Diesel:
		query = "SELECT count(*) FROM __diesel_schema_migrations WHERE version = ?"
		version = strings.ReplaceAll(strings.SplitN(version, "_", 2)[0], "-", "")
	case migrations.Drizzle:
		// drizzle records each migration by its journal entry's "when".
		when, ok := journalWhen(m)
		if !ok {
			return false, nil
		}
		query = "SELECT count(*) FROM __drizzle_migrations WHERE created_at = ?"
		if s.Engine == "postgres" {
			query = "SELECT count(*) FROM drizzle.__drizzle_migrations WHERE created_at = ?"
		}
		version = when
	default:
		return false, nil // plain files: no version table to ask
	}
	var arg any = version
	if m.Tool == migrations.Goose || m.Tool == migrations.GolangMigrate || m.Tool == migrations.Drizzle {
		n, err := strconv.ParseInt(version, 10, 64)
		if err != nil {
			return false, nil
		}
		arg = n
	}
	var count int64
	if s.Engine == "postgres" {
		conn, err := connectPostgres(ctx, s)
		if err != nil {
			return false, err
		}
		defer conn.Close(ctx)
		var exists bool
		table := strings.Fields(query)[3] // schema-qualified for drizzle
		if err := conn.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", table).Scan(&exists); err != nil || !exists {
			return false, s.wrap("reading "+table, err)
		}
		err = conn.QueryRow(ctx, strings.Replace(query, "?", "$1", 1), arg).Scan(&count)
		if errors.Is(err, pgx.ErrNoRows) {
			return false, nil
		}
		return count > 0, s.wrap("reading "+table, err)
	}
	conn, done, _, err := connectMySQL(ctx, s)
	if err != nil {
		return false, err
	}
	defer done()
	table := strings.TrimPrefix(strings.Fields(query)[3], "drizzle.")
	var n int
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?", table).Scan(&n); err != nil || n == 0 {
		return false, s.wrap("reading "+table, err)
	}
	err = conn.QueryRowContext(ctx, strings.Replace(strings.Replace(query, " AND success", " AND success = 1", 1), " AND is_applied", " AND is_applied = 1", 1), arg).Scan(&count)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return count > 0, s.wrap("reading "+table, err)
}

// journalWhen is the "when" of a drizzle migration's journal entry.
func journalWhen(m *migrations.Migration) (string, bool) {
	data, err := os.ReadFile(filepath.Join(m.Set, "meta", "_journal.json"))
	if err != nil {
		return "", false
	}
	var j struct {
		Entries []struct {
			Tag  string `json:"tag"`
			When int64  `json:"when"`
		} `json:"entries"`
	}
	if json.Unmarshal(data, &j) != nil {
		return "", false
	}
	for _, e := range j.Entries {
		if e.Tag == m.Version {
			return strconv.FormatInt(e.When, 10), true
		}
	}
	return "", false
}
