package pg

import (
	"testing"

	pgq "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/fluxlint/fluxlint/analyzers/ir"
)

// TestFastPathsMatchDeparse checks that every fast renderer prints exactly
// what pg_query's deparser prints, for each type, expression and index
// element in a varied sample; shapes it declines must fall back.
func TestFastPathsMatchDeparse(t *testing.T) {
	sample := `CREATE TABLE t (
		a int, b integer, c bigint, d smallint, e real, f double precision, g boolean, h varchar, i varchar(20),
		j numeric, k numeric(10, 2), l timestamptz, m timestamp, n timestamp(3), o text, p jsonb, q uuid, r int[],
		s text[][], u "Order Items", v public.mood, w char(3), x bit(3), y interval day to second, z int[3],
		d1 int DEFAULT 0, d2 int DEFAULT -1, d3 text DEFAULT 'x', d4 text DEFAULT 'it''s', d5 boolean DEFAULT true,
		d6 timestamptz DEFAULT now(), d7 timestamptz DEFAULT CURRENT_TIMESTAMP, d8 jsonb DEFAULT '{}'::jsonb,
		d9 numeric DEFAULT 1.5, d10 uuid DEFAULT gen_random_uuid(), d11 int DEFAULT NULL, d12 text DEFAULT 'a'::text,
		d13 int DEFAULT pg_catalog.abs(-1), d14 text DEFAULT lower('X'), d15 date DEFAULT CURRENT_DATE,
		d16 int DEFAULT (1 + 2), d17 varchar(3) DEFAULT 'x'::character varying(3), d18 text DEFAULT "select"
	);
	CREATE INDEX ON t (a, "select", "Mixed", lower(o), b DESC, c NULLS FIRST, o COLLATE "C", o text_pattern_ops);`
	tree, err := pgq.Parse(sample)
	if err != nil {
		t.Fatal(err)
	}
	fast, slow := 0, 0
	check := func(kind, f string, ok bool, d string) {
		if !ok {
			slow++
			return
		}
		fast++
		if f != d {
			t.Errorf("%s: fast %q, deparse %q", kind, f, d)
		}
	}
	for _, raw := range tree.Stmts {
		walk(raw.Stmt.ProtoReflect(), func(m protoreflect.Message) {
			switch x := m.Interface().(type) {
			case *pgq.TypeName:
				s, ok := fastType(x)
				check("type", s, ok, deparseType(x))
			case *pgq.Constraint:
				if x.RawExpr != nil {
					s, ok := fastExpr(x.RawExpr)
					check("expr", s, ok, deparse(x.RawExpr))
				}
			case *pgq.IndexElem:
				s, ok := fastIndexElem(x)
				check("index element", s, ok, deparseIndexElem(x))
			}
		})
	}
	t.Logf("%d fast renders checked, %d fell back to the deparser", fast, slow)
	if fast < 30 || slow < 10 {
		t.Errorf("sample exercises %d fast and %d fallback renders; want both paths well covered", fast, slow)
	}
}

// TestRenameRelations checks that a stored view definition follows
// renames: unqualified and public-qualified references, the view's own
// name, renames applied in order, other schemas left alone; a renamed
// column read under its new name with its old output name, through a
// table rename before it, and in a join (qualified by the relation's alias
// or name, an unqualified reference qualified); refused where references
// cannot be told apart (USING, an output column of the old name, a set
// operation over other relations, a subquery).
func TestRenameRelations(t *testing.T) {
	q := func(schema, name string) ir.QName { return ir.QName{Schema: schema, Name: name} }
	rel := func(from, to ir.QName) ir.Rename { return ir.Rename{From: from, To: to} }
	col := func(table ir.QName, old, new string) ir.Rename {
		return ir.Rename{From: table, Column: old, NewColumn: new}
	}
	for _, c := range []struct {
		sql     string
		renames []ir.Rename
		want    string // "" when refused
	}{
		{"CREATE VIEW v AS SELECT id FROM users JOIN public.orgs o ON o.id = users.org_id",
			[]ir.Rename{rel(q("public", "users"), q("public", "members")), rel(q("public", "orgs"), q("public", "teams"))},
			"CREATE VIEW v AS SELECT id FROM members JOIN public.teams o ON o.id = members.org_id"},
		{"CREATE VIEW v AS SELECT * FROM app.users", []ir.Rename{rel(q("public", "users"), q("public", "members"))},
			"CREATE VIEW v AS SELECT * FROM app.users"},
		{"CREATE MATERIALIZED VIEW v AS SELECT * FROM a", []ir.Rename{rel(q("public", "a"), q("public", "b")), rel(q("public", "b"), q("public", "c")), rel(q("public", "v"), q("public", "w"))},
			"CREATE MATERIALIZED VIEW w AS SELECT * FROM c"},
		{"CREATE VIEW v AS SELECT id, u.name, lower(name) AS lname FROM users u WHERE name <> '' ORDER BY name",
			[]ir.Rename{rel(q("public", "users"), q("public", "members")), col(q("public", "members"), "name", "full_name")},
			"CREATE VIEW v AS SELECT id, u.full_name AS name, lower(full_name) AS lname FROM members u WHERE full_name <> '' ORDER BY full_name"},
		{"CREATE VIEW v AS SELECT name AS n FROM users", []ir.Rename{col(q("public", "users"), "name", "full_name")},
			"CREATE VIEW v AS SELECT full_name AS n FROM users"},
		{"CREATE VIEW v AS SELECT name FROM users JOIN orgs ON orgs.id = users.org_id", []ir.Rename{col(q("public", "users"), "name", "full_name")},
			"CREATE VIEW v AS SELECT users.full_name AS name FROM users JOIN orgs ON orgs.id = users.org_id"},
		{"CREATE VIEW v AS SELECT u.name, o.name AS org FROM users u JOIN orgs o ON o.id = u.org_id WHERE name <> '' ORDER BY u.name",
			[]ir.Rename{col(q("public", "users"), "name", "full_name")},
			"CREATE VIEW v AS SELECT u.full_name AS name, o.name AS org FROM users u JOIN orgs o ON o.id = u.org_id WHERE u.full_name <> '' ORDER BY u.full_name"},
		{"CREATE VIEW v AS SELECT o.name FROM users u JOIN orgs o ON o.id = u.org_id", []ir.Rename{col(q("public", "users"), "name", "full_name")},
			"CREATE VIEW v AS SELECT o.name FROM users u JOIN orgs o ON o.id = u.org_id"},
		{"CREATE VIEW v AS SELECT name FROM users JOIN orgs USING (org_id)", []ir.Rename{col(q("public", "users"), "name", "full_name")}, ""},
		{"CREATE VIEW v AS SELECT o.title AS name FROM users JOIN orgs o ON o.id = users.org_id ORDER BY name", []ir.Rename{col(q("public", "users"), "name", "full_name")}, ""},
		{"CREATE VIEW v AS SELECT name FROM users UNION SELECT title FROM orgs", []ir.Rename{col(q("public", "users"), "name", "full_name")}, ""},
		{"CREATE VIEW v AS SELECT name FROM users WHERE id IN (SELECT user_id FROM admins)", []ir.Rename{col(q("public", "users"), "name", "full_name")}, ""},
	} {
		got, ok := RenameRelations(c.sql, c.renames)
		if c.want == "" && ok || c.want != "" && (!ok || got != c.want) {
			t.Errorf("RenameRelations(%q) = %q, %v; want %q", c.sql, got, ok, c.want)
		}
	}
}

// TestExpandStar checks that a view's * and t.* are written as the columns
// they stood for, through joins and in a materialized view, and that a *
// whose columns are not all known (a subquery, a join with USING, a table
// not given) is refused rather than guessed.
func TestExpandStar(t *testing.T) {
	cols := map[ir.QName][]string{
		{Schema: "public", Name: "users"}: {"id", "Name"},
		{Schema: "public", Name: "orgs"}:  {"id", "title"},
	}
	for _, c := range []struct{ sql, want string }{
		{"CREATE VIEW v AS SELECT * FROM users", `CREATE VIEW v AS SELECT users.id, users."Name" FROM users`},
		{"CREATE VIEW v AS SELECT u.*, o.title FROM users u JOIN orgs o ON o.id = u.id",
			`CREATE VIEW v AS SELECT u.id, u."Name", o.title FROM users u JOIN orgs o ON o.id = u.id`},
		{"CREATE MATERIALIZED VIEW v AS SELECT * FROM public.orgs", "CREATE MATERIALIZED VIEW v AS SELECT orgs.id, orgs.title FROM public.orgs"},
		{"CREATE VIEW v AS SELECT id FROM users", "CREATE VIEW v AS SELECT id FROM users"},
		{"CREATE VIEW v AS SELECT * FROM (SELECT id FROM users) s", ""},
		{"CREATE VIEW v AS SELECT * FROM users JOIN orgs USING (id)", ""},
		{"CREATE VIEW v AS SELECT * FROM teams", ""},
	} {
		got, ok := ExpandStar(c.sql, cols)
		if ok != (c.want != "") || got != c.want {
			t.Errorf("ExpandStar(%q) = %q, %v; want %q", c.sql, got, ok, c.want)
		}
	}
}
