package catalog_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/fluxlint/fluxlint/analyzers/catalog"
	"github.com/fluxlint/fluxlint/analyzers/ir"
	"github.com/fluxlint/fluxlint/analyzers/pg"
	_ "github.com/fluxlint/fluxlint/internal/golden"
)

func replay(t *testing.T, c *catalog.Catalog, sql ...string) {
	t.Helper()
	for _, s := range sql {
		ops, err := pg.Parse(s)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		for _, op := range ops {
			c.Apply(op)
		}
	}
}

// TestReplay checks that replaying DDL yields the schema PostgreSQL would
// have: types, nullability, defaults, keys, implicit and explicit indexes,
// constraint validity, renames and drops.
func TestReplay(t *testing.T) {
	c := catalog.New()
	replay(t, c,
		`CREATE TABLE users (id bigserial PRIMARY KEY, email varchar(100) NOT NULL UNIQUE, org_id int, note text DEFAULT 'n/a')`,
		`CREATE TABLE orgs (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY)`,
		`ALTER TABLE users ADD CONSTRAINT users_org_fk FOREIGN KEY (org_id) REFERENCES orgs (id) NOT VALID`,
		`ALTER TABLE users ADD CONSTRAINT users_note_check CHECK (note <> '') NOT VALID, ALTER COLUMN org_id SET NOT NULL`,
		`ALTER TABLE users VALIDATE CONSTRAINT users_note_check`,
		`CREATE INDEX users_lower_email ON users (lower(email)) WHERE note IS NOT NULL`,
		`ALTER TABLE users RENAME COLUMN note TO remark`,
		`ALTER TABLE users ALTER COLUMN email TYPE text`,
		`CREATE TYPE mood AS ENUM ('ok')`, `ALTER TYPE mood ADD VALUE 'great'`,
		`CREATE TABLE tmp (id int)`, `DROP TABLE tmp`,
		`ALTER INDEX users_lower_email RENAME TO users_email_lower_idx`,
	)
	want := `table public.orgs
  id int not null
  constraint orgs_pkey primary key (id)
  index orgs_pkey (id)
table public.users
  id bigint not null default nextval('users_id_seq'::regclass)
  email text not null
  org_id int not null
  remark text default 'n/a'
  constraint users_pkey primary key (id)
  constraint users_email_key unique (email)
  constraint users_org_fk foreign key (org_id) not valid
  constraint users_note_check check (remark)
  index users_email_key (email)
  index users_email_lower_idx (lower(email))
  index users_pkey (id)
`
	if got := c.String(); got != want {
		t.Errorf("catalog:\n%s\nwant:\n%s", got, want)
	}
	if e := c.Enum(ir.QName{Name: "mood"}); e == nil || strings.Join(e.Values, ",") != "ok,great" {
		t.Errorf("enum mood = %+v", e)
	}
	if pk := c.Table(ir.QName{Name: "users"}).PrimaryKey(); len(pk) != 1 || pk[0].Type.SQL != "bigint" {
		t.Errorf("primary key = %+v", pk)
	}
}

// TestSpans checks that objects created in the current change set are new
// and everything earlier is existing, and that a down evaluated on a clone
// does not leak into the history.
func TestSpans(t *testing.T) {
	c := catalog.New()
	c.BeginChange()
	replay(t, c, `CREATE TABLE old (id int)`)
	c.BeginChange()
	replay(t, c, `CREATE TABLE fresh (id int)`, `ALTER TABLE old ADD COLUMN added int`)
	users := ir.QName{Name: "old"}
	if c.IsNew(users) || !c.IsNew(ir.QName{Name: "fresh"}) {
		t.Error("old must be existing and fresh new")
	}
	if !c.IsNewColumn(users, "added") || c.IsNewColumn(users, "id") {
		t.Error("column spans wrong")
	}
	clone := c.Clone()
	replay(t, clone, `ALTER TABLE old ALTER COLUMN id SET NOT NULL, ADD COLUMN more int`, `CREATE INDEX old_id ON old (id)`,
		`ALTER TABLE old RENAME COLUMN id TO ident`)
	if col := clone.Table(users).Column("ident"); col == nil || !col.NotNull {
		t.Errorf("the clone did not take its own writes: %s", clone)
	}
	if tab := c.Table(users); tab.Column("id") == nil || tab.Column("id").NotNull || tab.Column("more") != nil || c.Index(ir.QName{Name: "old_id"}) != nil {
		t.Errorf("writes to the clone leaked into the original:\n%s", c)
	}
	replay(t, clone, `DROP TABLE old`)
	if c.Table(users) == nil {
		t.Error("dropping on the clone changed the original")
	}
	c.BeginChange()
	if c.IsNew(ir.QName{Name: "fresh"}) {
		t.Error("fresh must be existing once the next change set begins")
	}
}

// TestUnknown checks that the catalog says unknown rather than guessing.
func TestUnknown(t *testing.T) {
	c := catalog.New()
	replay(t, c, `CREATE TABLE t (id int)`, `ALTER TABLE t ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY`,
		`ALTER TABLE never_created ADD COLUMN x int`, `DO $$ BEGIN EXECUTE format('CREATE TABLE %I (id int)', 'z'); END $$`,
		`CREATE TABLE copy AS SELECT * FROM t`)
	for _, name := range []string{"t", "never_created", "copy"} {
		if tab := c.Table(ir.QName{Name: name}); tab == nil || !tab.Unknown {
			t.Errorf("table %s should be marked unknown: %+v", name, tab)
		}
	}
	if len(c.Opaque) != 1 {
		t.Errorf("opaque = %v, want the DO block", c.Opaque)
	}
	if c.IsNew(ir.QName{Name: "never_created"}) {
		t.Error("a table seen only in ALTER must not count as new")
	}
}

// TestRenamedTableReferences checks that a renamed table's foreign keys
// from other tables (and from itself) name it by its new name, unqualified
// where they were, so that a rollback re-adding one names a table that
// exists.
func TestRenamedTableReferences(t *testing.T) {
	c := catalog.New()
	replay(t, c,
		`CREATE TABLE user_ (id int PRIMARY KEY, boss int REFERENCES user_ (id))`,
		`CREATE TABLE community (id int PRIMARY KEY, creator_id int REFERENCES user_ (id), other int REFERENCES public.user_ (id))`,
		`ALTER TABLE user_ RENAME TO person`,
	)
	got := map[string]string{}
	for _, name := range []string{"community", "person"} {
		for _, k := range c.Table(ir.QName{Name: name}).Constraints {
			if k.Kind == ir.ForeignKey {
				got[k.Name] = k.RefTable.String()
			}
		}
	}
	want := map[string]string{"community_creator_id_fkey": "person", "community_other_fkey": "public.person", "user__boss_fkey": "person"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("foreign keys reference %v, want %v", got, want)
	}
}

// TestDropCascade checks that DROP ... CASCADE takes with it what
// PostgreSQL drops: the views that read the relation (and theirs, with
// their indexes) and the foreign keys that reference it, not their tables.
func TestDropCascade(t *testing.T) {
	c := catalog.New()
	replay(t, c,
		`CREATE TABLE u (id int PRIMARY KEY)`,
		`CREATE TABLE posts (id int, author int REFERENCES u (id))`,
		`CREATE VIEW user_view AS SELECT id FROM u`,
		`CREATE MATERIALIZED VIEW user_mview AS SELECT * FROM user_view`,
		`CREATE UNIQUE INDEX idx_user_mview_id ON user_mview (id)`,
		`DROP VIEW user_view CASCADE`,
	)
	if c.Table(ir.QName{Name: "user_mview"}) != nil || c.Index(ir.QName{Name: "idx_user_mview_id"}) != nil {
		t.Errorf("the materialized view reading the dropped view, or its index, is still there")
	}
	replay(t, c, `DROP TABLE u CASCADE`)
	posts := c.Table(ir.QName{Name: "posts"})
	if posts == nil || len(posts.Constraints) != 0 {
		t.Errorf("posts after DROP TABLE u CASCADE: %+v, want the table without its foreign key", posts)
	}
}

// TestSerialSequenceNames: a serial column's sequence is named as
// PostgreSQL names it. A table renamed away keeps its sequence, so the new
// table of the old name gets name1; once the renamed table is dropped (its
// sequence with it) the name is free again.
func TestSerialSequenceNames(t *testing.T) {
	c := catalog.New()
	seq := func(table string) string { return c.Table(ir.QName{Name: table}).Column("id").OwnedSeq }
	replay(t, c, "CREATE TABLE devices (id serial PRIMARY KEY)", "ALTER TABLE devices RENAME TO devices_old",
		"CREATE TABLE devices (id serial PRIMARY KEY)")
	if got := seq("devices_old") + " " + seq("devices"); got != "devices_id_seq devices_id_seq1" {
		t.Errorf("sequences %q, want devices_id_seq devices_id_seq1", got)
	}
	if col := c.Table(ir.QName{Name: "devices"}).Column("id"); col.Serial != "" || !strings.Contains(col.Default.SQL, "devices_id_seq1") {
		t.Errorf("the new table's id is %q with default %q: want no serial shorthand (a rollback would name the sequence devices_id_seq), and the default on devices_id_seq1", col.Serial, col.Default.SQL)
	}
	replay(t, c, "DROP TABLE devices_old", "CREATE TABLE gadgets (id serial)", "DROP TABLE devices", "CREATE TABLE devices (id serial)")
	if got := seq("devices"); got != "devices_id_seq" {
		t.Errorf("after both owners were dropped: %q, want devices_id_seq", got)
	}
}

// TestPartitions checks that dropping a partitioned table drops its
// partitions (theirs too), and that a partitioned table is marked as having
// partitions the migrations may not name once a function is passed its name
// or a statement whose effect is hidden runs; other tables are not marked.
func TestPartitions(t *testing.T) {
	c := catalog.New()
	replay(t, c,
		`CREATE TABLE events (id int, at date, kind text) PARTITION BY RANGE (at)`,
		`CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01') PARTITION BY LIST (kind)`,
		`CREATE TABLE events_2025_a PARTITION OF events_2025 FOR VALUES IN ('a')`,
		`CREATE TABLE logs (id int, at date) PARTITION BY RANGE (at)`,
		`CREATE TABLE plain (id int)`,
		`SELECT partman.create_parent(p_parent_table := 'public.events', p_control := 'at')`,
	)
	open := func(name string) bool { return c.Table(ir.QName{Name: name}).OpenPartitions }
	if !open("events") || open("logs") || open("plain") {
		t.Errorf("after a call naming public.events: open events=%v logs=%v plain=%v, want true false false", open("events"), open("logs"), open("plain"))
	}
	replay(t, c, `DO $$ BEGIN EXECUTE 'CREATE TABLE ' || 'logs_x PARTITION OF logs DEFAULT'; END $$`)
	if !open("logs") || open("plain") {
		t.Errorf("after a DO block with dynamic SQL: open logs=%v plain=%v, want true false", open("logs"), open("plain"))
	}
	replay(t, c, `DROP TABLE events`)
	for _, name := range []string{"events", "events_2025", "events_2025_a"} {
		if c.Table(ir.QName{Name: name}) != nil {
			t.Errorf("%s is still there after DROP TABLE events", name)
		}
	}
}

// TestRenameColumnExpressions checks that a column rename reaches the SQL
// text that names the column: index elements with their options, a partial
// index's predicate, INCLUDE, a CHECK expression and a generated column's
// expression; a function or type of the same name is left alone.
func TestRenameColumnExpressions(t *testing.T) {
	c := catalog.New()
	replay(t, c,
		`CREATE TABLE users (id int, name text, CONSTRAINT name_len CHECK (length(name) < 100), up text GENERATED ALWAYS AS (upper(name)) STORED)`,
		`CREATE INDEX users_name_idx ON users (lower(name) text_pattern_ops DESC, id) INCLUDE (name) WHERE name IS NOT NULL`,
		`ALTER TABLE users RENAME COLUMN name TO "Full Name"`,
	)
	idx := c.Index(ir.QName{Name: "users_name_idx"})
	if got := strings.Join(idx.Def.Elems, ", "); got != `lower("Full Name") text_pattern_ops DESC, id` {
		t.Errorf("elements after the rename: %s", got)
	}
	if idx.Def.Where != `"Full Name" IS NOT NULL` || strings.Join(idx.Def.Include, ",") != "Full Name" {
		t.Errorf("predicate %q, include %q", idx.Def.Where, idx.Def.Include)
	}
	users := c.Table(ir.QName{Name: "users"})
	if got := users.Constraints[0].Expr; got != `length("Full Name") < 100` {
		t.Errorf("check after the rename: %s", got)
	}
	if got := users.Column("up").Generated.SQL; got != `upper("Full Name")` {
		t.Errorf("generated expression after the rename: %s", got)
	}
}

// TestIndexTable checks that the table of an index is known while it
// exists and after it is dropped (what a DROP INDEX locked), in its schema.
func TestIndexTable(t *testing.T) {
	c := catalog.New()
	replay(t, c,
		`CREATE TABLE users (id int, email text)`,
		`CREATE INDEX users_email_idx ON users (email)`,
		`CREATE SCHEMA app`,
		`CREATE TABLE app.users (id int)`,
		`CREATE INDEX users_id_idx ON app.users (id)`,
	)
	idx := func(schema, name string) ir.QName { return ir.QName{Schema: schema, Name: name} }
	if got, ok := c.IndexTable(idx("", "users_email_idx")); !ok || got.Name != "users" {
		t.Errorf("IndexTable(users_email_idx) = %v, %v; want users", got, ok)
	}
	replay(t, c, `DROP INDEX users_email_idx`, `DROP INDEX app.users_id_idx`)
	if c.Index(idx("", "users_email_idx")) != nil {
		t.Fatal("the index is still there after DROP INDEX")
	}
	if got, ok := c.IndexTable(idx("", "users_email_idx")); !ok || got.Name != "users" {
		t.Errorf("after DROP INDEX, IndexTable(users_email_idx) = %v, %v; want users", got, ok)
	}
	if got, ok := c.IndexTable(idx("app", "users_id_idx")); !ok || got != idx("app", "users") {
		t.Errorf("after DROP INDEX, IndexTable(app.users_id_idx) = %v, %v; want app.users", got, ok)
	}
	if _, ok := c.IndexTable(idx("", "users_id_idx")); ok {
		t.Error("IndexTable(users_id_idx) in public found app's index")
	}
}

// TestRenames checks the renames the catalog follows besides a table's:
// an enum's label, a view's name, a table moved to another schema; and
// that a clone's rename (a rollback's) leaves the original alone.
func TestRenames(t *testing.T) {
	c := catalog.New()
	c.BeginChange()
	replay(t, c,
		`CREATE TYPE mood AS ENUM ('sad', 'ok')`,
		`CREATE TABLE people (id bigint PRIMARY KEY, feeling mood)`,
		`CREATE VIEW happy AS SELECT id FROM people`,
		`CREATE SCHEMA archive`)
	down := c.Clone()
	replay(t, down, `ALTER TYPE mood RENAME VALUE 'ok' TO 'fine'`)
	replay(t, c,
		`ALTER TYPE mood RENAME VALUE 'sad' TO 'blue'`,
		`ALTER VIEW happy RENAME TO cheerful`,
		`ALTER TABLE people SET SCHEMA archive`)
	if got := fmt.Sprint(c.Enum(ir.QName{Name: "mood"}).Values); got != "[blue ok]" {
		t.Errorf("mood's labels after RENAME VALUE: %s (the clone's rename leaked into it?)", got)
	}
	if got := fmt.Sprint(down.Enum(ir.QName{Name: "mood"}).Values); got != "[sad fine]" {
		t.Errorf("the clone's labels: %s", got)
	}
	if c.Table(ir.QName{Name: "happy"}) != nil || c.Table(ir.QName{Name: "cheerful"}) == nil {
		t.Error("ALTER VIEW ... RENAME TO is not followed")
	}
	if c.Table(ir.QName{Name: "people"}) != nil || c.Table(ir.QName{Schema: "archive", Name: "people"}) == nil {
		t.Error("ALTER TABLE ... SET SCHEMA is not followed")
	}
	if users := c.EnumUsers(ir.QName{Name: "mood"}); len(users) != 1 || users[0].Table.String() != "archive.people" || users[0].Column != "feeling" {
		t.Errorf("EnumUsers(mood) = %v", users)
	}
}
