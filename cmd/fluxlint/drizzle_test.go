package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/fluxlint/fluxlint/internal/clients"
	"github.com/fluxlint/fluxlint/internal/pgtest"
)

// drizzleMigrate runs drizzle-orm's own migrator (node-postgres driver,
// installed from npm by scripts/test) on a migrations folder, printing
// the server's notices.
const drizzleMigrate = `const path = require('path');
const req = require('module').createRequire(path.join(process.env.DRIZZLE_MODULES, 'package.json'));
const { drizzle } = req('drizzle-orm/node-postgres');
const { migrate } = req('drizzle-orm/node-postgres/migrator');
const { Client } = req('pg');
(async () => {
  const client = new Client({ connectionString: process.env.DATABASE_URL });
  client.on('notice', (n) => console.log('NOTICE ' + n.message));
  await client.connect();
  try {
    await migrate(drizzle(client), { migrationsFolder: process.argv[2] });
  } finally {
    await client.end();
  }
})().catch((e) => { console.error(e.message); process.exit(1); });
`

// lockProbe is a migration that reports, as a notice, the locks its own
// transaction holds on users.
const lockProbe = `DO $$ BEGIN RAISE NOTICE 'locks on users: %', (SELECT coalesce(string_agg(mode, ',' ORDER BY mode), 'none') FROM pg_locks WHERE pid = pg_backend_pid() AND relation = 'users'::regclass); END $$;`

// TestDrizzleOneTransaction holds PG107's cross-file claim to the real
// drizzle migrator: with the ADD ... NOT VALID and the VALIDATE in two
// pending files, fluxlint reports PG107 on the VALIDATE, and drizzle runs
// both in one transaction: a probe after them sees the ADD's ACCESS
// EXCLUSIVE lock still held, and a failing file after them undoes the ADD.
// Run file by file, as goose does, the probe sees no lock (and fluxlint
// reports nothing there: fixtures/cli/goose_transaction_per_file.txtar).
func TestDrizzleOneTransaction(t *testing.T) {
	node := clients.Program(t, "node")
	modules := filepath.Join(clients.Root(t), ".bin", "drizzle")
	if _, err := os.Stat(filepath.Join(modules, "node_modules", "drizzle-orm")); err != nil {
		if os.Getenv("FLUXLINT_SKIP_CLIENTS") == "1" {
			t.Skip("FLUXLINT_SKIP_CLIENTS=1")
		}
		t.Fatalf("drizzle-orm is not installed in %s: scripts/test installs it (or set FLUXLINT_SKIP_CLIENTS=1 to skip this check)", modules)
	}
	srv := pgtest.Shared(t)
	ctx := context.Background()
	root := t.TempDir()
	script := filepath.Join(root, "migrate.cjs")
	must(t, os.WriteFile(script, []byte(drizzleMigrate), 0o644))
	dir := filepath.Join(root, "drizzle")
	must(t, os.MkdirAll(filepath.Join(dir, "meta"), 0o755))
	files := []struct{ tag, sql string }{
		{"0000_init", "CREATE TABLE users (id bigint PRIMARY KEY, email text);\n--> statement-breakpoint\nINSERT INTO users SELECT g, 'u' || g FROM generate_series(1, 20) g;"},
		{"0001_check", "ALTER TABLE users ADD CONSTRAINT users_email_check CHECK (email <> '') NOT VALID;"},
		{"0002_validate", "ALTER TABLE users VALIDATE CONSTRAINT users_email_check;"},
		{"0003_probe", lockProbe},
	}
	journal := func(n int) {
		type entry struct {
			Idx         int    `json:"idx"`
			Version     string `json:"version"`
			When        int64  `json:"when"`
			Tag         string `json:"tag"`
			Breakpoints bool   `json:"breakpoints"`
		}
		j := struct {
			Version string  `json:"version"`
			Dialect string  `json:"dialect"`
			Entries []entry `json:"entries"`
		}{Version: "7", Dialect: "postgresql"}
		for i, f := range files[:n] {
			j.Entries = append(j.Entries, entry{i, "7", 1704067200000 + int64(i)*86400000, f.tag, true})
		}
		data, err := json.Marshal(j)
		must(t, err)
		must(t, os.WriteFile(filepath.Join(dir, "meta", "_journal.json"), data, 0o644))
	}
	for _, f := range files {
		must(t, os.WriteFile(filepath.Join(dir, f.tag+".sql"), []byte(f.sql+"\n"), 0o644))
	}
	run := func(db string) (string, error) {
		cmd := exec.Command(node, script, dir)
		cmd.Env = append(os.Environ(), "DRIZZLE_MODULES="+modules,
			fmt.Sprintf("DATABASE_URL=postgres://postgres@127.0.0.1:%d/%s", srv.Port, db))
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	// What fluxlint says, with 0000 applied and the rest pending.
	must(t, os.WriteFile(filepath.Join(root, ".fluxlint.yml"), []byte("baseline: \"0000\"\n"), 0o644))
	journal(len(files))
	code, stdout, _ := runIn(t, root, "--code-path", "none", "--format", "json", "drizzle")
	if code != 1 || !strings.Contains(stdout, `"code": "PG107"`) || !strings.Contains(stdout, `"path": "drizzle/0002_validate.sql"`) {
		t.Fatalf("fluxlint (exit %d) does not report PG107 on the VALIDATE:\n%s", code, stdout)
	}

	// drizzle: the history first, then the pending three in one run.
	conn := srv.FreshDB(t)
	db := conn.Config().Database
	journal(1)
	if out, err := run(db); err != nil {
		t.Fatalf("drizzle migrate (history): %v\n%s", err, out)
	}
	journal(len(files))
	out, err := run(db)
	if err != nil {
		t.Fatalf("drizzle migrate: %v\n%s", err, out)
	}
	if !strings.Contains(out, "locks on users: ") || !strings.Contains(out, "AccessExclusiveLock") {
		t.Fatalf("drizzle: the probe after the VALIDATE does not see the ADD's ACCESS EXCLUSIVE lock held, so they did not share a transaction:\n%s", out)
	}
	t.Logf("drizzle: %s", strings.TrimSpace(out))

	// A failing pending file undoes the ADD of the file before it.
	conn2 := srv.FreshDB(t)
	db2 := conn2.Config().Database
	files[2].sql = "ALTER TABLE users VALIDATE CONSTRAINT no_such_constraint;"
	must(t, os.WriteFile(filepath.Join(dir, files[2].tag+".sql"), []byte(files[2].sql+"\n"), 0o644))
	journal(1)
	if out, err := run(db2); err != nil {
		t.Fatalf("drizzle migrate (history): %v\n%s", err, out)
	}
	journal(len(files))
	if out, err := run(db2); err == nil {
		t.Fatalf("drizzle migrate succeeded with a failing file:\n%s", out)
	}
	var n int
	must(t, conn2.QueryRow(ctx, "SELECT count(*) FROM pg_constraint WHERE conname = 'users_email_check'").Scan(&n))
	if n != 0 {
		t.Errorf("the ADD of 0001 survived the failure of 0002: the files did not share a transaction")
	}

	// File by file, each in its own transaction (as goose, golang-migrate
	// and dbmate run them): the probe sees no lock.
	conn3 := srv.FreshDB(t)
	var mu sync.Mutex
	var notices []string
	cfg := conn3.Config().Copy()
	cfg.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) { mu.Lock(); notices = append(notices, n.Message); mu.Unlock() }
	c3, err := pgx.ConnectConfig(ctx, cfg)
	must(t, err)
	defer c3.Close(ctx)
	files[2].sql = "ALTER TABLE users VALIDATE CONSTRAINT users_email_check;"
	for _, f := range files {
		must(t, pgtest.ExecScript(ctx, c3, strings.ReplaceAll(f.sql, "--> statement-breakpoint", "")))
	}
	mu.Lock()
	defer mu.Unlock()
	if len(notices) != 1 || notices[0] != "locks on users: none" {
		t.Errorf("file by file: the probe saw %q, want no lock on users", notices)
	}
}
