package pgtest

import (
	"context"
	"os"
	"strings"
	"testing"

	_ "github.com/fluxlint/fluxlint/internal/golden"
)

func TestMain(m *testing.M) {
	code := m.Run()
	StopShared()
	os.Exit(code)
}

// TestServerAndDump checks the harness itself: a server starts, a fresh
// database takes DDL, and the dump sees columns by name with nullability.
func TestServerAndDump(t *testing.T) {
	s := Shared(t)
	conn := s.FreshDB(t)
	ctx := context.Background()
	if err := ExecScript(ctx, conn, `CREATE TABLE "Order Items" (id int PRIMARY KEY, "select" text NOT NULL DEFAULT 'x'); CREATE INDEX ON "Order Items" ("select");`); err != nil {
		t.Fatal(err)
	}
	dump, err := SchemaDump(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`column public."Order Items"."select" text not null default 'x'::text`, `index CREATE INDEX "Order Items_select_idx"`, `constraint public."Order Items" "Order Items_pkey" PRIMARY KEY (id)`} {
		if !strings.Contains(dump, want) {
			t.Errorf("dump lacks %q:\n%s", want, dump)
		}
	}
	t.Logf("PostgreSQL %s", s.Version)
}
