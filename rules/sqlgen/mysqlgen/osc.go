package mysqlgen

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/fluxlint/fluxlint/analyzers/ir"
	"github.com/fluxlint/fluxlint/rules"
)

// Target is where the online schema change tools connect (the flags): a
// host or user not given is a placeholder the user fills in, and the
// database is the table's qualifier, else the target's, else a placeholder.
type Target = rules.ToolTarget

func host(t Target) string { return or(t.Host, "<host>") }
func user(t Target) string { return or(t.User, "<user>") }

func database(t Target, table ir.QName) string {
	return or(or(table.Schema, t.Database), "<database>")
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Shell quotes a word for a POSIX shell.
func Shell(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.,=/:@") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Tool settings shared by both commands: chunks of a bounded size, and
// throttling on the server's load.
const (
	maxLoad      = "Threads_running=25"
	criticalLoad = "Threads_running=100"
)

func chunk(size int) int { return min(max(size, 100), 100000) }

// Ghost is the gh-ost command that applies the ALTER TABLE clauses to
// table (triggers: the table has its own, recreated by gh-ost): the copy is throttled on load, and the cut-over waits for a flag
// file to be removed, so the swap happens when someone is watching. The
// old table is kept as _<table>_del until Cleanup drops it.
func Ghost(t Target, table ir.QName, clauses string, chunkSize int, triggers bool) string {
	db := database(t, table)
	include := ""
	if triggers {
		include = " --include-triggers" // recreated on the new table at the cut-over
	}
	return strings.Join([]string{
		"gh-ost \\",
		fmt.Sprintf("  --host=%s --user=%s --ask-pass \\", Shell(host(t)), Shell(user(t))),
		fmt.Sprintf("  --database=%s --table=%s \\", Shell(db), Shell(table.Name)),
		fmt.Sprintf("  --alter=%s \\", Shell(clauses)),
		fmt.Sprintf("  --chunk-size=%d --max-load=%s --critical-load=%s \\", chunk(chunkSize), maxLoad, criticalLoad),
		"  --cut-over=default --default-retries=120 --exact-rowcount --concurrent-rowcount --switch-to-rbr \\",
		"  --initially-drop-ghost-table --initially-drop-old-table" + include + " \\",
		fmt.Sprintf("  --postpone-cut-over-flag-file=%s \\", Shell(fmt.Sprintf("/tmp/gh-ost.%s.%s.postpone", safe(db), safe(table.Name)))),
		"  --execute",
	}, "\n")
}

// PTOSC is the pt-online-schema-change command that applies the clauses
// to table. childKeys: other tables' foreign keys reference it, which the
// tool must point at the new table (--alter-foreign-keys-method);
// triggers: the table has its own, which must move with it.
func PTOSC(t Target, table ir.QName, clauses string, chunkSize int, childKeys, triggers bool) string {
	lines := []string{
		"pt-online-schema-change \\",
		fmt.Sprintf("  --alter %s \\", Shell(clauses)),
		fmt.Sprintf("  --chunk-size=%d --max-load=%s --critical-load=%s --max-lag=1 \\", chunk(chunkSize), maxLoad, criticalLoad),
	}
	if childKeys {
		lines = append(lines, "  --alter-foreign-keys-method=auto \\")
	}
	if triggers {
		lines = append(lines, "  --preserve-triggers \\") // the table's own triggers move to the new table
	}
	return strings.Join(append(lines,
		"  --ask-pass --execute \\",
		"  "+Shell(fmt.Sprintf("h=%s,u=%s,D=%s,t=%s", host(t), user(t), database(t, table), table.Name)),
	), "\n")
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9_]`)

// safe keeps a name to letters, digits and underscores, for file names.
func safe(s string) string { return unsafeChars.ReplaceAllString(s, "_") }

// toolTable is a table name the tools derive from the original, cut to
// MySQL's 64 characters as gh-ost does: the original name is shortened.
func toolTable(name, suffix string) string {
	full := "_" + name + "_" + suffix
	if len(full) <= 64 {
		return full
	}
	return "_" + name[:len(name)-(len(full)-64)] + "_" + suffix
}

// GhostCleanup drops what gh-ost leaves behind: its ghost, changelog and
// checkpoint tables after an interrupted run, and the old table after the
// cut-over.
func GhostCleanup(table ir.QName) string {
	var names []string
	for _, suffix := range []string{"gho", "ghc", "ghk", "del"} {
		names = append(names, Name(ir.QName{Schema: table.Schema, Name: toolTable(table.Name, suffix)}))
	}
	return fmt.Sprintf("DROP TABLE IF EXISTS %s;", strings.Join(names, ", "))
}

// PTOSCCleanup drops what an interrupted pt-online-schema-change leaves
// behind: its three triggers on the table and its new (and old) table.
// The triggers are named pt_osc_<database>_<table>_ins, _upd and _del,
// non-word characters made underscores and the prefix cut to 60
// characters; without a database given, the SQL derives the names from
// DATABASE() and drops them through prepared statements.
func PTOSCCleanup(t Target, table ir.QName) string {
	var b strings.Builder
	db := or(table.Schema, t.Database)
	actions := []string{"ins", "upd", "del"}
	if db != "" {
		prefix := regexp.MustCompile(`\W`).ReplaceAllString("pt_osc_"+db+"_"+table.Name, "_")
		if len(prefix) > 60 {
			prefix = prefix[:60]
		}
		for _, action := range actions {
			fmt.Fprintf(&b, "DROP TRIGGER IF EXISTS %s;\n", Name(ir.QName{Schema: table.Schema, Name: prefix + "_" + action}))
		}
	} else {
		fmt.Fprintf(&b, "SET @fluxlint_prefix = LEFT(REGEXP_REPLACE(CONCAT('pt_osc_', DATABASE(), '_', %s), '[^A-Za-z0-9_]', '_'), 60);\n", Literal(table.Name))
		for _, action := range actions {
			fmt.Fprintf(&b, "SET @fluxlint_sql = CONCAT('DROP TRIGGER IF EXISTS `', @fluxlint_prefix, '_%s`');\n", action)
			b.WriteString("PREPARE fluxlint_stmt FROM @fluxlint_sql;\nEXECUTE fluxlint_stmt;\nDEALLOCATE PREPARE fluxlint_stmt;\n")
		}
	}
	fmt.Fprintf(&b, "DROP TABLE IF EXISTS %s, %s;", Name(ir.QName{Schema: table.Schema, Name: "_" + table.Name + "_new"}), Name(ir.QName{Schema: table.Schema, Name: "_" + table.Name + "_old"}))
	return b.String()
}
