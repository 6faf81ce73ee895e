package mysqlgen

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/fluxlint/fluxlint/analyzers/ir"
)

// toolFlags reads a tool's flags from testdata: name -> "bool" or "value".
func toolFlags(t *testing.T, file string) map[string]string {
	t.Helper()
	f, err := os.Open("testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	flags := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		name, kind, _ := strings.Cut(line, " ")
		if n, ok := strings.CutPrefix(name, "[no]"); ok {
			flags[n], flags["no"+n] = kind, kind
			continue
		}
		flags[name] = kind
	}
	return flags
}

// words splits a command line as the shell does, by having bash run it
// with the tool replaced by printf: the words the tool would receive.
func words(t *testing.T, tool, command string) []string {
	t.Helper()
	rest, ok := strings.CutPrefix(command, tool+" ")
	if !ok {
		t.Fatalf("command does not start with %s: %s", tool, command)
	}
	out, err := exec.Command("bash", "-c", `printf '%s\0' `+rest).Output()
	if err != nil {
		t.Fatalf("bash cannot run the command line: %v\n%s", err, command)
	}
	return strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
}

// TestToolCommands checks every flag of the generated gh-ost and
// pt-online-schema-change commands against the flags the tools define
// (testdata, read from their sources; neither tool installs here): known
// names, values where a flag takes one and none on switches, and that the
// shell hands the ALTER clauses and names to the tool intact, however they
// are quoted.
func TestToolCommands(t *testing.T) {
	ghost := toolFlags(t, "gh-ost.flags")
	pt := toolFlags(t, "pt-online-schema-change.flags")
	table := ir.QName{Name: "Order's Items"}
	clauses := "modify column `note` varchar(300) default 'it''s' not null"
	for _, target := range []Target{{}, {Host: "db1.internal", User: "migrator", Database: "shop"}} {
		for _, childKeys := range []bool{false, true} {
			triggers := childKeys // both ways, once each
			w := words(t, "gh-ost", Ghost(target, table, clauses, 5000, triggers))
			values := checkFlags(t, "gh-ost", ghost, w, true)
			if values["alter"] != clauses || values["table"] != table.Name || values["host"] != or(target.Host, "<host>") {
				t.Errorf("gh-ost receives --alter=%q --table=%q --host=%q", values["alter"], values["table"], values["host"])
			}
			if _, ok := values["execute"]; !ok {
				t.Error("gh-ost command without --execute only tests")
			}
			if _, ok := values["include-triggers"]; ok != triggers {
				t.Errorf("triggers %v, gh-ost --include-triggers given %v", triggers, ok)
			}
			w = words(t, "pt-online-schema-change", PTOSC(target, table, clauses, 5000, childKeys, triggers))
			values = checkFlags(t, "pt-online-schema-change", pt, w, false)
			if values["alter"] != clauses {
				t.Errorf("pt-online-schema-change receives --alter %q", values["alter"])
			}
			dsn := w[len(w)-1]
			if want := "h=" + or(target.Host, "<host>") + ",u=" + or(target.User, "<user>") + ",D=" + or(target.Database, "<database>") + ",t=" + table.Name; dsn != want {
				t.Errorf("DSN %q, want %q", dsn, want)
			}
			if _, ok := values["alter-foreign-keys-method"]; ok != childKeys {
				t.Errorf("child foreign keys %v, --alter-foreign-keys-method given %v", childKeys, ok)
			}
			if _, ok := values["preserve-triggers"]; ok != triggers {
				t.Errorf("triggers %v, --preserve-triggers given %v", triggers, ok)
			}
		}
	}
}

// checkFlags checks a tool's words against its flags and returns the
// values given. equalsOnly: the tool (Go's flag package) takes a value as
// --name=value or as the next word; switches must not get one.
func checkFlags(t *testing.T, tool string, known map[string]string, w []string, equalsOnly bool) map[string]string {
	t.Helper()
	values := map[string]string{}
	for i := 0; i < len(w); i++ {
		arg, ok := strings.CutPrefix(w[i], "--")
		if !ok {
			if tool == "pt-online-schema-change" && i == len(w)-1 {
				continue // the DSN
			}
			t.Errorf("%s: unexpected argument %q", tool, w[i])
			continue
		}
		name, value, hasValue := strings.Cut(arg, "=")
		kind, ok := known[name]
		switch {
		case !ok:
			t.Errorf("%s has no flag --%s", tool, name)
		case kind == "bool" && hasValue:
			t.Errorf("%s: --%s is a switch, given %q", tool, name, value)
		case kind == "value" && !hasValue:
			if equalsOnly || i+1 >= len(w) {
				t.Errorf("%s: --%s needs a value (--%s=...)", tool, name, name)
				continue
			}
			i++
			value = w[i]
		}
		values[name] = value
	}
	return values
}
