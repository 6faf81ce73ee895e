//go:build bench

// Command gentree writes a deterministic tree of PostgreSQL migrations for
// benchmarks: N plain numbered files that create tables, add columns and
// indexes, backfill and drop, the way a long-lived application does.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	n := flag.Int("n", 20000, "number of migration files")
	out := flag.String("out", "bench-tree", "directory to write")
	flag.Parse()
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for i := 1; i <= *n; i++ {
		t := fmt.Sprintf("t%d", (i-1)/4) // every table gets a few migrations
		var sql string
		switch i % 4 {
		case 1:
			sql = fmt.Sprintf(`CREATE TABLE %[1]s (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  account_id bigint NOT NULL,
  name text NOT NULL,
  status varchar(32) NOT NULL DEFAULT 'new',
  payload jsonb DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX %[1]s_account_idx ON %[1]s (account_id);
COMMENT ON TABLE %[1]s IS 'generated table %[1]s';
`, t)
		case 2:
			sql = fmt.Sprintf(`ALTER TABLE %[1]s ADD COLUMN note text;
ALTER TABLE %[1]s ADD COLUMN score integer DEFAULT 0;
CREATE INDEX %[1]s_status_idx ON %[1]s (status) WHERE status <> 'done';
`, t)
		case 3:
			sql = fmt.Sprintf(`UPDATE %[1]s SET note = 'n/a' WHERE note IS NULL;
ALTER TABLE %[1]s ADD CONSTRAINT %[1]s_score_check CHECK (score >= 0) NOT VALID;
ALTER TABLE %[1]s VALIDATE CONSTRAINT %[1]s_score_check;
CREATE OR REPLACE FUNCTION %[1]s_touch() RETURNS trigger AS $$
BEGIN
  NEW.created_at := now();
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;
`, t)
		default:
			sql = fmt.Sprintf(`DROP INDEX %[1]s_status_idx;
ALTER TABLE %[1]s DROP COLUMN note;
CREATE INDEX CONCURRENTLY IF NOT EXISTS %[1]s_created_idx ON %[1]s (created_at);
`, t)
		}
		name := filepath.Join(*out, fmt.Sprintf("%06d_step.sql", i))
		if err := os.WriteFile(name, []byte(sql), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}
