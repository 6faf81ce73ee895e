package mytest

import (
	"context"
	"os"
	"strings"
	"testing"
)

func TestMain(m *testing.M) {
	code := m.Run()
	StopShared()
	os.Exit(code)
}

// TestServer starts the private MariaDB, runs a multi-statement script in a
// fresh database, and checks the schema dump sees columns in order, indexes
// and foreign keys.
func TestServer(t *testing.T) {
	s := Shared(t)
	db := s.FreshDB(t)
	ctx := context.Background()
	err := ExecScript(ctx, db, "CREATE TABLE p (id BIGINT PRIMARY KEY);\nCREATE TABLE c (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, p_id BIGINT, KEY k (p_id), CONSTRAINT fk FOREIGN KEY (p_id) REFERENCES p (id) ON DELETE CASCADE);")
	if err != nil {
		t.Fatal(err)
	}
	dump, err := SchemaDump(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"column c.001 id int(11) not null auto_increment", "index c.k BTREE p_id", "foreign key c.fk (p_id) references p (id) on delete CASCADE"} {
		if !strings.Contains(dump, want) {
			t.Errorf("dump lacks %q:\n%s", want, dump)
		}
	}
	if !strings.Contains(s.Version, "MariaDB") {
		t.Errorf("version %q", s.Version)
	}
}
