package split

import (
	"reflect"
	"strings"
	"testing"

	"github.com/fluxlint/fluxlint/analyzers/ir"
	_ "github.com/fluxlint/fluxlint/internal/golden"
)

func texts(src string, engine ir.Engine) []string {
	r := Split([]byte(src), engine)
	var out []string
	for _, s := range r.Segments {
		t := src[s.Start:s.End]
		if s.Down {
			t = "DOWN:" + t
		}
		if s.Client != "" {
			t = "CLIENT:" + t
		}
		if s.Err != "" {
			t = "ERR(" + s.Err + "):" + t
		}
		out = append(out, t)
	}
	return out
}

// TestSplit checks statement boundaries: semicolons inside quotes, dollar
// quotes, comments and BEGIN ATOMIC bodies do not end a statement, and tool
// markers do.
func TestSplit(t *testing.T) {
	cases := []struct {
		name string
		src  string
		want []string
	}{
		{"simple", "SELECT 1; SELECT 2;", []string{"SELECT 1", "SELECT 2"}},
		{"no trailing semicolon", "SELECT 1;\nSELECT 2\n", []string{"SELECT 1", "SELECT 2"}},
		{"quotes", `SELECT 'a;b', "c;d", E'x\';y';`, []string{`SELECT 'a;b', "c;d", E'x\';y'`}},
		{"doubled quote", `SELECT 'it''s; fine';`, []string{`SELECT 'it''s; fine'`}},
		{"dollar quote", "CREATE FUNCTION f() RETURNS int AS $body$ BEGIN RETURN 1; END $body$ LANGUAGE plpgsql; SELECT 2;",
			[]string{"CREATE FUNCTION f() RETURNS int AS $body$ BEGIN RETURN 1; END $body$ LANGUAGE plpgsql", "SELECT 2"}},
		{"empty dollar tag", "DO $$ BEGIN PERFORM 1; END $$;", []string{"DO $$ BEGIN PERFORM 1; END $$"}},
		{"parameter is not a dollar quote", "SELECT $1; SELECT 2;", []string{"SELECT $1", "SELECT 2"}},
		{"identifier with dollar", "SELECT a$b; SELECT 2;", []string{"SELECT a$b", "SELECT 2"}},
		{"comments", "-- a; b\nSELECT /* x; /* nested; */ y */ 1; -- tail;\n", []string{"SELECT /* x; /* nested; */ y */ 1"}},
		{"begin atomic", "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN true THEN 1 END; SELECT 2; END; SELECT 3;",
			[]string{"CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN true THEN 1 END; SELECT 2; END", "SELECT 3"}},
		{"transaction begin is not a body", "BEGIN; SELECT 1; COMMIT;", []string{"BEGIN", "SELECT 1", "COMMIT"}},
		{"goose sections", "-- +goose Up\nCREATE TABLE t (id int);\n-- +goose Down\nDROP TABLE t;\n",
			[]string{"CREATE TABLE t (id int)", "DOWN:DROP TABLE t"}},
		{"goose statement block", "-- +goose Up\n-- +goose StatementBegin\nCREATE FUNCTION f() RETURNS int AS 'select 1; select 2' LANGUAGE sql;\nSELECT 1;\n-- +goose StatementEnd\nSELECT 2;",
			[]string{"CREATE FUNCTION f() RETURNS int AS 'select 1; select 2' LANGUAGE sql;\nSELECT 1", "SELECT 2"}},
		{"goose block without semicolon", "-- +goose StatementBegin\nSELECT 1\n-- +goose StatementEnd\n", []string{"SELECT 1"}},
		{"dbmate", "-- migrate:up\nCREATE TABLE t (id int);\n-- migrate:down\nDROP TABLE t;", []string{"CREATE TABLE t (id int)", "DOWN:DROP TABLE t"}},
		{"drizzle breakpoint", "CREATE TABLE a (id int);\n--> statement-breakpoint\nCREATE TABLE b (id int)\n--> statement-breakpoint\nSELECT 1",
			[]string{"CREATE TABLE a (id int)", "CREATE TABLE b (id int)", "SELECT 1"}},
		{"delimiter", "delimiter d//\nCREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql d//\ndelimiter ;\nSELECT 2;",
			[]string{"CLIENT:delimiter d//", "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql", "CLIENT:delimiter ;", "SELECT 2"}},
		{"psql meta command", "\\connect mydb\nSELECT 1;", []string{`CLIENT:\connect mydb`, "SELECT 1"}},
		{"unterminated quote", "SELECT 1;\nSELECT 'oops;\nSELECT 3;", []string{"SELECT 1", "ERR(unterminated quoted string):SELECT 'oops;\nSELECT 3;"}},
		{"unterminated dollar", "DO $x$ BEGIN", []string{"ERR(unterminated dollar-quoted string $x$):DO $x$ BEGIN"}},
		{"unterminated comment", "SELECT 1 /* never closed", []string{"ERR(unterminated /* comment):SELECT 1 /* never closed"}},
		{"bom and crlf", "\xEF\xBB\xBFSELECT 1;\r\nSELECT 2;\r\n", []string{"SELECT 1", "SELECT 2"}},
		{"empty", "", nil},
		{"only comments", "-- nothing\n/* here */\n", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := texts(c.src, ir.Postgres)
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("split(%q)\n got %q\nwant %q", c.src, got, c.want)
			}
		})
	}
}

// TestSplitMySQL checks MySQL's lexical differences: backticks, # comments,
// backslash escapes, "--" needing a following space, and routine bodies
// (BEGIN ... END, with END IF and friends, CASE expressions and labels)
// kept whole without DELIMITER, as a server parses a multi-statement query.
func TestSplitMySQL(t *testing.T) {
	cases := []struct {
		name string
		src  string
		want []string
	}{
		{"lexical", "SELECT `a;b`, 'x\\';y'; # c; d\nSELECT 1--2;\nSELECT 3;", []string{"SELECT `a;b`, 'x\\';y'", "SELECT 1--2", "SELECT 3"}},
		{"procedure body", "CREATE PROCEDURE p() BEGIN IF 1 THEN SELECT 1; END IF; lbl: LOOP LEAVE lbl; END LOOP lbl; SET @x = CASE WHEN 1 THEN 2 END; END; CALL p();",
			[]string{"CREATE PROCEDURE p() BEGIN IF 1 THEN SELECT 1; END IF; lbl: LOOP LEAVE lbl; END LOOP lbl; SET @x = CASE WHEN 1 THEN 2 END; END", "CALL p()"}},
		{"definer and nested blocks", "CREATE DEFINER=`root`@`%` TRIGGER t BEFORE INSERT ON x FOR EACH ROW BEGIN WHILE 0 DO SET @a = 1; END WHILE; BEGIN SET @b = 2; END; END; SELECT 1;",
			[]string{"CREATE DEFINER=`root`@`%` TRIGGER t BEFORE INSERT ON x FOR EACH ROW BEGIN WHILE 0 DO SET @a = 1; END WHILE; BEGIN SET @b = 2; END; END", "SELECT 1"}},
		{"single-statement trigger", "CREATE TRIGGER t BEFORE UPDATE ON x FOR EACH ROW SET NEW.a = 1; SELECT 2;",
			[]string{"CREATE TRIGGER t BEFORE UPDATE ON x FOR EACH ROW SET NEW.a = 1", "SELECT 2"}},
		{"anonymous block", "BEGIN NOT ATOMIC SELECT 1; SELECT 2; END; SELECT 3;", []string{"BEGIN NOT ATOMIC SELECT 1; SELECT 2; END", "SELECT 3"}},
		{"transaction", "START TRANSACTION; BEGIN; SELECT 1; COMMIT;", []string{"START TRANSACTION", "BEGIN", "SELECT 1", "COMMIT"}},
		{"table named like a keyword", "CREATE TABLE event (id int); SELECT 1;", []string{"CREATE TABLE event (id int)", "SELECT 1"}},
		{"delimiter", "DELIMITER //\nCREATE PROCEDURE p() BEGIN SELECT 1; END//\nDELIMITER ;\nCALL p();",
			[]string{"CLIENT:DELIMITER //", "CREATE PROCEDURE p() BEGIN SELECT 1; END", "CLIENT:DELIMITER ;", "CALL p()"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := texts(c.src, ir.MySQL); !reflect.DeepEqual(got, c.want) {
				t.Errorf("split(%q)\n got %q\nwant %q", c.src, got, c.want)
			}
		})
	}
}

// TestMarkersAndPositions checks tool markers and line:column positions.
func TestMarkersAndPositions(t *testing.T) {
	src := "-- +goose NO TRANSACTION\n-- +goose Up\n  CREATE INDEX CONCURRENTLY i ON t (c);\n"
	r := Split([]byte(src), ir.Postgres)
	if !r.Markers.Goose || !r.Markers.GooseNoTx {
		t.Errorf("markers = %+v, want goose with NO TRANSACTION", r.Markers)
	}
	if len(r.Segments) != 1 {
		t.Fatalf("segments = %d, want 1", len(r.Segments))
	}
	pos := r.Lines.Pos(r.Segments[0].Start)
	if pos.Line != 3 || pos.Col != 3 {
		t.Errorf("statement at %s, want 3:3", pos)
	}
	r = Split([]byte("-- migrate:up transaction:false\nSELECT 1;\n-- migrate:down transaction:false\nSELECT 2;"), ir.Postgres)
	if !r.Markers.DbmateUpNoTx || !r.Markers.DbmateDownNoTx {
		t.Errorf("dbmate markers = %+v, want both transaction:false", r.Markers)
	}
	if len(r.Comments) != 2 || !strings.Contains(r.Comments[0].Text, "migrate:up") {
		t.Errorf("comments = %+v", r.Comments)
	}
}
