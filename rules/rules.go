// Package rules defines the user-facing checks: each Rule has a stable code,
// docs, a severity, a detector over statements plus the catalog, and a plan
// that replaces the unsafe change. Rules never read files, open databases or
// format output.
package rules

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/fluxlint/fluxlint/analyzers/catalog"
	"github.com/fluxlint/fluxlint/analyzers/ir"
	"github.com/fluxlint/fluxlint/analyzers/migrations"
	"github.com/fluxlint/fluxlint/analyzers/onlineddl"
	"github.com/fluxlint/fluxlint/rules/sqlgen"
)

// Severity orders findings.
type Severity int

const (
	Info Severity = iota
	Warning
	Error
)

func (s Severity) String() string { return [...]string{"info", "warning", "error"}[s] }

// ParseSeverity reads "info", "warning" or "error".
func ParseSeverity(s string) (Severity, error) {
	for v := Info; v <= Error; v++ {
		if v.String() == strings.ToLower(s) {
			return v, nil
		}
	}
	return 0, fmt.Errorf("unknown severity %q (want info, warning or error)", s)
}

// Doc is a rule's documentation, shown by `fluxlint explain`.
type Doc struct {
	Title    string
	Why      string
	Bad      string // an example that triggers the rule
	Good     string // the safe way, in words and SQL
	Versions string // how the server version changes things
}

// Rule is one check.
type Rule struct {
	Code     string // stable: PG101, FL000, ...
	Name     string // kebab-case alias for humans
	Engine   ir.Engine
	Severity Severity
	// Destructive rules are about losing data or breaking deployed code;
	// they do not fire on down migrations, which are rollbacks by intent.
	Destructive bool
	Doc         Doc
	Check       func(p *Pass) // nil for the tool's own findings
	// Reminder names the session setting a reminder rule asks for
	// (lock_timeout): its finding is dropped where another finding's plan
	// for the same statement sets it already.
	Reminder string
	// Sized rules are about how long a lock, rewrite or scan lasts: on a
	// table that live facts show is small, their finding drops to info and
	// the plan to the statement itself under a lock timeout.
	Sized bool
	// WithRefs receives, after the code search, the references to what a
	// finding's Uses names (nil refs: none found; ignored: the code already
	// declares it removed). Set by rules about dropping or renaming.
	WithRefs func(f *Finding, refs []Related, ignored bool)
}

// Uses names the table, or column, whose uses in application code matter
// to a finding.
type Uses struct {
	Table  ir.QName
	Column string // "" for the table itself
	// Def is the catalog's table, where known: the code search recognises
	// a list of its columns (a map of filters to columns) in code that never
	// names the table. Read only for the findings searched, and shared, not
	// copied: a finding costs a pointer.
	Def *catalog.Table
}

// ColumnUses is the use of a column of table that a drop or a rename breaks.
func ColumnUses(p *Pass, table ir.QName, column string) *Uses {
	return &Uses{Table: table, Column: column, Def: p.Catalog.Table(table)}
}

// File is what a rule knows of the migration file under review.
type File struct {
	Path  string
	Tool  migrations.Tool
	Stmts []*ir.Stmt
	// ToolTx is how the tool runs the up and down sections: in a
	// transaction of its own, as one multi-statement query, or statement
	// by statement (migrations.TxWrapped, TxImplicit, TxNone).
	ToolTx [2]migrations.TxMode
	// Refused is, for the up and down sections, the statement at which the
	// tool refuses to run the section at all (Flyway: one it runs outside a
	// transaction, in a script with others), nil for none.
	Refused [2]*ir.Stmt
	// Unordered: the file has no version, and neither do others of its
	// set, so its place among them (and what they created before it) is
	// a guess.
	Unordered bool
	// Prev is the file before, when the transaction its last statements
	// run in goes on in this file (drizzle's migrator applies every pending
	// migration in one transaction).
	Prev     *File
	sections map[bool]*section // built on first use (filescan.go)
}

// Pass is one rule's view of one op of one statement.
type Pass struct {
	Rule    *Rule
	File    *File
	Stmt    *ir.Stmt
	Op      ir.Op
	OpIndex int              // Op's index in Stmt.Ops
	cmd     int              // the ALTER TABLE subcommand AlterCmds is on (-1: none)
	Catalog *catalog.Catalog // the schema just before the statement
	Version int              // PostgreSQL major version
	// Server is the MySQL or MariaDB server the verdicts are for.
	Server onlineddl.Server
	// LockTimeoutSet says lock_timeout is set outside the migrations (on the
	// role, or by the tool), as the config declares.
	LockTimeoutSet bool
	// Thresholds are the numbers plans are built with.
	Thresholds Thresholds
	// Target is where the online schema change commands in MySQL plans
	// connect (flags); what is not given is a placeholder.
	Target ToolTarget
	report func(*Finding)
	memo   map[string]any
}

// Memo returns what fn computes about the pass's op, computing it once for
// all the rules that ask: the lint makes one pass per op and runs every
// rule on it.
func (p *Pass) Memo(key string, fn func() any) any {
	if v, ok := p.memo[key]; ok {
		return v
	}
	if p.memo == nil {
		p.memo = map[string]any{}
	}
	v := fn()
	p.memo[key] = v
	return v
}

// NewPass prepares a pass with the default thresholds; report receives its
// findings.
func NewPass(r *Rule, f *File, s *ir.Stmt, op ir.Op, c *catalog.Catalog, version int, report func(*Finding)) *Pass {
	return &Pass{Rule: r, File: f, Stmt: s, Op: op, Catalog: c, Version: version, Server: onlineddl.Default(onlineddl.MySQL), Thresholds: DefaultThresholds, report: report, cmd: -1}
}

// Thresholds are the numbers that plans are built with. Config can change
// them to suit a team's traffic.
type Thresholds struct {
	// LockTimeout is set before every step that takes a strong lock: a step
	// that cannot get its lock this quickly (a long transaction holds a
	// conflicting one) fails instead of queueing all traffic behind it.
	LockTimeout time.Duration
	// LockRetries is how many times a PostgreSQL plan step retries after
	// its lock_timeout fires, with growing pauses between (0: it fails
	// at the first timeout, to be rerun by hand).
	LockRetries int
	// BatchSize is the rows each batch of a backfill or batched delete
	// touches, committed on its own.
	BatchSize int
	// BatchPause is the sleep between batches, so replicas and autovacuum
	// keep up.
	BatchPause time.Duration
	// BatchSet says the config chose BatchSize and BatchPause: live facts
	// then do not choose them from the table's size and write rate.
	BatchSet bool
	// SmallRows and SmallBytes: with live facts, a table with at most
	// this many rows and bytes is small; a finding about how long a lock
	// or rewrite lasts drops to info there.
	SmallRows, SmallBytes int64
}

// ToolTarget is the host, user and database the gh-ost and
// pt-online-schema-change commands of a plan connect to.
type ToolTarget struct {
	Host, User, Database string
	// Tool is the online schema change tool plans may use: "" for either
	// (gh-ost where it can run), "gh-ost", "pt-online-schema-change", or
	// "none" for expand/contract plans instead.
	Tool string
}

// DefaultThresholds are the thresholds without config.
var DefaultThresholds = Thresholds{LockTimeout: 50 * time.Millisecond, LockRetries: 10, BatchSize: 5000, BatchPause: 100 * time.Millisecond,
	SmallRows: 10_000, SmallBytes: 10_000_000}

// Report records a finding on the pass's statement. A MySQL finding names
// the server its verdict is for.
func (p *Pass) Report(msg string, plan *Plan) *Finding {
	if p.Rule.Engine == ir.MySQL {
		msg += " [" + p.Server.String() + "]"
	}
	f := NewFinding(p.Rule, p.File.Path, p.Stmt.Pos, p.Stmt.End, msg)
	f.Down, f.Source = p.Stmt.Down, p.Stmt.Text
	if plan != nil && p.Rule.Engine == ir.Postgres {
		plan = p.withOtherStatements(p.withOtherCmds(plan))
		plan.setLockRetries(p.Thresholds.LockRetries)
	}
	if t := ir.TablesOf(p.Op); len(t) > 0 {
		f.Table = t[0]
	}
	f.Plan = plan
	f.Rewrite = p.rewrite(plan)
	p.report(f)
	return f
}

// rewrite is the text that can replace the statement where it stands, when
// the plan is exactly that: one migration step (and checks), for a statement that changes
// one thing (so nothing else in it is lost), able to run where the statement
// runs (outside a transaction if it must be). "" otherwise.
func (p *Pass) rewrite(plan *Plan) string {
	if plan == nil || plan.KeepsStatement || len(p.Stmt.Ops) != 1 {
		return ""
	}
	// One migration step; checkpoints after it (confirm the index is
	// valid) are checks, not changes, and stay in the plan.
	var steps []Step
	for _, st := range plan.Steps {
		if st.Kind != StepCheckpoint {
			steps = append(steps, st)
		}
	}
	if len(steps) != 1 {
		return ""
	}
	s := steps[0]
	if s.Kind != StepMigration || s.Forward == "" || s.NoTransaction && p.Stmt.InTx {
		return ""
	}
	switch op := p.Stmt.Ops[0].(type) {
	case ir.AlterTable:
		if len(op.Cmds) != 1 {
			return ""
		}
	case ir.Drop:
		if len(op.Names) != 1 {
			return ""
		}
	case ir.Truncate:
		if len(op.Tables) != 1 {
			return ""
		}
	}
	// The statement's range stops before its terminator, which stays.
	return strings.TrimSuffix(strings.TrimSpace(s.ForwardSQL()), ";")
}

// Existing reports whether the table existed before the change under review:
// not created in this change set. A table the catalog never saw counts as
// existing, since it came from outside the replayed history.
func (p *Pass) Existing(t ir.QName) bool { return !p.Catalog.IsNew(t) }

// Related is a location related to a finding, such as a code reference.
type Related struct {
	Path    string `json:"path"`
	Line    int    `json:"line"`
	Message string `json:"message"`
	// Kind says how a code reference was matched: "sql" (a parsed query
	// uses it), "model" (an ORM model maps it) or "mention" (the name
	// only, a weak hint).
	Kind string `json:"kind,omitempty"`
	// Deployed names the git revision whose code holds the reference
	// (the deployed code), "" for the code under review.
	Deployed string `json:"deployed,omitempty"`
}

// Strong reports whether a code reference is a verified use (SQL or
// model), not a mention.
func (r Related) Strong() bool { return r.Kind == "sql" || r.Kind == "model" }

// Finding is one reported problem.
type Finding struct {
	Rule     *Rule
	Severity Severity
	Path     string
	Pos, End ir.Pos
	Message  string
	Related  []Related
	Plan     *Plan
	Uses     *Uses // what the code search should look for, if anything
	// Rewrite replaces the statement's text [Pos, End) in place, when the
	// plan is a single step that can stand where the statement stands.
	Rewrite string
	// Claim is what the finding says the server does, as data: a test runs
	// the statement on a real server and holds the claim against it.
	Claim *Claim
	// Down marks a finding in a down migration (a goose or dbmate Down
	// section, a .down.sql file): a rollback, not the change itself.
	Down bool
	// Source is the flagged statement's text, which starts at Pos, for
	// reports that show it.
	Source string
	// Table is the table the statement is on (the first it names), for
	// live facts; the claim's table wins where there is one.
	Table ir.QName
	// Size is the table's size from live facts ("~82M rows, 41 GB"), ""
	// without them.
	Size string
}

// Section is "down" for a finding in a down migration, else "up".
func (f *Finding) Section() string {
	if f.Down {
		return "down"
	}
	return "up"
}

// Labelled is the message with "(down migration)" before it when the
// finding is in one, for formats that have no field to say so.
func (f *Finding) Labelled() string {
	if f.Down {
		return "(down migration) " + f.Message
	}
	return f.Message
}

// PostgreSQL's table lock modes, weakest first.
const (
	AccessShare          = "ACCESS SHARE"
	RowShare             = "ROW SHARE"
	RowExclusive         = "ROW EXCLUSIVE"
	ShareUpdateExclusive = "SHARE UPDATE EXCLUSIVE"
	Share                = "SHARE"
	ShareRowExclusive    = "SHARE ROW EXCLUSIVE"
	Exclusive            = "EXCLUSIVE"
	AccessExclusive      = "ACCESS EXCLUSIVE"
)

// LockModes lists PostgreSQL's table lock modes, weakest first.
var LockModes = []string{AccessShare, RowShare, RowExclusive, ShareUpdateExclusive, Share, ShareRowExclusive, Exclusive, AccessExclusive}

// Claim is what a statement does on the server, as a finding states it:
// the strongest lock it takes on a table, whether it rewrites the table or
// reads all of it, or the SQLSTATE it fails with (then nothing else).
// Three kinds of finding are about the statement in its context instead,
// each said by its own field: Held, LaterFails and OnDeleteFrom.
type Claim struct {
	Table   ir.QName `json:"table"`
	Lock    string   `json:"lock,omitempty"`
	Rewrite bool     `json:"rewrite"`
	Scan    bool     `json:"scan"`
	Fails   string   `json:"fails,omitempty"`
	// Unsure marks Rewrite and Scan as the likely case where they depend on
	// what fluxlint cannot see (a function's volatility, a column's current
	// type, the session's TimeZone): only the lock is a claim then.
	Unsure bool `json:"unsure,omitempty"`
	// Held: Lock is the strongest lock the transaction holds on Table while
	// the statement runs, taken by it or by an earlier statement of the
	// same transaction (and Scan, that the statement reads every row
	// meanwhile).
	Held bool `json:"held,omitempty"`
	// LaterFails: the statement runs, but a later statement of the same
	// transaction fails with this SQLSTATE because of it.
	LaterFails string `json:"later_fails,omitempty"`
	// OnDeleteFrom: the claim is about every later DELETE of one row from
	// this table, not about the statement: it reads every row of Table.
	OnDeleteFrom ir.QName `json:"on_delete_from,omitzero"`
	// Warns: the statement, run as its tool runs the file, raises a
	// WARNING with this SQLSTATE (and does nothing).
	Warns string `json:"warns,omitempty"`
	// LeftOpen: when the section's last statement has run as its tool runs
	// it, the session is still in the transaction this statement opened.
	LeftOpen bool `json:"left_open,omitempty"`
	// Outside: after the statement the session is in no transaction,
	// although its tool runs the section in one.
	Outside bool `json:"outside,omitempty"`
	// Notes: the statement, run as its tool runs the file, raises a
	// NOTICE with this SQLSTATE.
	Notes string `json:"notes,omitempty"`
	// Query, a query deployed code may run on Table, works before the
	// statement and fails with QueryFails after it.
	Query      string `json:"query,omitempty"`
	QueryFails string `json:"query_fails,omitempty"`
}

// BreaksQuery claims that query, which runs before the statement, fails
// with sqlstate after it.
func BreaksQuery(table ir.QName, query, sqlstate string) *Claim {
	return &Claim{Table: table, Query: query, QueryFails: sqlstate}
}

// Notes claims the statement raises a NOTICE with sqlstate.
func Notes(sqlstate string) *Claim { return &Claim{Notes: sqlstate} }

// Warns claims the statement raises a WARNING with sqlstate.
func Warns(sqlstate string) *Claim { return &Claim{Warns: sqlstate} }

// LeavesOpen claims the transaction the statement opens is still open
// when the section ends.
func LeavesOpen() *Claim { return &Claim{LeftOpen: true} }

// EndsToolTx claims the statement ends the transaction the tool runs the
// section in.
func EndsToolTx() *Claim { return &Claim{Outside: true} }

// Takes claims the statement's strongest lock on table.
func Takes(mode string, table ir.QName) *Claim { return &Claim{Table: table, Lock: mode} }

// Fails claims the statement fails on the server with sqlstate.
func Fails(sqlstate string, table ir.QName) *Claim { return &Claim{Table: table, Fails: sqlstate} }

// Scanning adds that the statement reads every row of the table.
func (c *Claim) Scanning() *Claim { c.Scan = true; return c }

// Rewriting adds that the statement rewrites the table (and so reads it).
func (c *Claim) Rewriting() *Claim { c.Rewrite, c.Scan = true, true; return c }

// HeldBy claims the strongest lock the transaction holds on table while
// the statement runs, taken by this statement or an earlier one.
func HeldBy(mode string, table ir.QName) *Claim { return &Claim{Table: table, Lock: mode, Held: true} }

// FailsLater claims that a later statement of the transaction fails with
// sqlstate because of this one.
func FailsLater(sqlstate string, about ir.QName) *Claim {
	return &Claim{Table: about, LaterFails: sqlstate}
}

// ScannedOnDelete claims that deleting one row of parent reads every row of
// table.
func ScannedOnDelete(table, parent ir.QName) *Claim {
	return &Claim{Table: table, Scan: true, OnDeleteFrom: parent}
}

func (c *Claim) String() string {
	switch {
	case c.Fails != "":
		return fmt.Sprintf("%s: fails with SQLSTATE %s", c.Table, c.Fails)
	case c.LaterFails != "":
		return fmt.Sprintf("%s: a later statement of the transaction fails with SQLSTATE %s", c.Table, c.LaterFails)
	case c.OnDeleteFrom.Name != "":
		return fmt.Sprintf("deleting a row of %s reads all of %s", c.OnDeleteFrom, c.Table)
	case c.Held:
		return fmt.Sprintf("%s: the transaction holds %s, full scan %v", c.Table, c.Lock, c.Scan)
	case c.Warns != "":
		return fmt.Sprintf("warns with SQLSTATE %s", c.Warns)
	case c.Notes != "":
		return fmt.Sprintf("raises a NOTICE with SQLSTATE %s", c.Notes)
	case c.Query != "":
		return fmt.Sprintf("%s runs before the statement and fails with SQLSTATE %s after it", c.Query, c.QueryFails)
	case c.LeftOpen:
		return "the transaction is still open when the migration ends"
	case c.Outside:
		return "ends the tool's transaction"
	}
	return fmt.Sprintf("%s: lock %s, rewrite %v, full scan %v", c.Table, c.Lock, c.Rewrite, c.Scan)
}

// Maybe marks the rewrite and scan as unsure.
func (c *Claim) Maybe() *Claim { c.Unsure = true; return c }

// Claims sets the finding's claim and returns the finding.
func (f *Finding) Claims(c *Claim) *Finding { f.Claim = c; return f }

// NewFinding builds a finding with the rule's severity.
func NewFinding(r *Rule, path string, pos, end ir.Pos, msg string) *Finding {
	return &Finding{Rule: r, Severity: r.Severity, Path: path, Pos: pos, End: end, Message: msg}
}

// StepKind is what a plan step is.
type StepKind string

const (
	StepMigration  StepKind = "migration"
	StepCodeDeploy StepKind = "code_deploy"
	StepBackfill   StepKind = "backfill"
	StepCheckpoint StepKind = "checkpoint"
	// StepOnlineSchemaChange runs an online schema change tool (gh-ost,
	// pt-online-schema-change): Forward and Rollback are its command lines.
	StepOnlineSchemaChange StepKind = "online_schema_change"
)

// ToolRun is what an online schema change step's commands do, in SQL.
type ToolRun struct {
	Name string `json:"name"` // gh-ost or pt-online-schema-change
	// Alter is the ALTER TABLE the forward command applies, and
	// RollbackAlter the one the rollback command applies ("" when there is
	// no rollback command).
	Alter         string `json:"alter"`
	RollbackAlter string `json:"rollback_alter,omitempty"`
	// Cleanup is SQL that removes what an interrupted run leaves behind
	// (its ghost, changelog and old tables, its triggers); harmless when
	// there is nothing.
	Cleanup string `json:"cleanup"`
	// Alternative is the same change with the other tool, when it can run.
	Alternative string `json:"alternative,omitempty"`
}

// Plan is the safe replacement for a finding's statement, or, when
// KeepsStatement is set, the steps to run after the statement, which stays.
type Plan struct {
	Title          string
	KeepsStatement bool
	// Before, with KeepsStatement, puts the steps before the statement
	// (a setting it must run under) rather than after it.
	Before bool
	// Whole says the plan stands for every subcommand of the statement,
	// not only the one its finding is about (withOtherCmds).
	Whole bool
	Steps []Step
	// cmd is the subcommand a plan that withOtherCmds completed replaces,
	// and Steps[own[0]:own[1]] are that subcommand's own steps (the others
	// run the statement's other subcommands as written); composable says
	// so, and lets Compose join the plan with those of the statement's
	// other findings.
	cmd        int
	own        [2]int
	composable bool
	block      *blockPlan // set by withOtherStatements, for ComposeBlock
}

// setLockRetries gives every step the plan may run, ComposeBlock's spare
// as-written steps too, the retries of its lock_timeout.
func (p *Plan) setLockRetries(n int) {
	for i := range p.Steps {
		p.Steps[i].LockRetries = n
	}
	if p.block != nil {
		for i := range p.block.after {
			p.block.after[i].LockRetries = n
		}
	}
}

// Where says where a plan that keeps its statement puts its steps.
func (p *Plan) Where() string {
	if p.Before {
		return "before"
	}
	return "after"
}

// Step is one step of a plan.
type Step struct {
	Kind     StepKind
	Title    string
	Forward  string // SQL; for a checkpoint, the query to run
	Rollback string // SQL that undoes Forward; "" when nothing needs undoing
	// File is Forward as a complete migration file in the tool's convention,
	// for migration steps that must run outside a transaction.
	File string
	// Lock is the strongest table lock the step takes ("" for none).
	Lock          string
	NoTransaction bool // must run outside a transaction block
	// SeparateDeploy: ship this step on its own, after the previous one is
	// live everywhere.
	SeparateDeploy bool
	// Irreversible marks the point of no return: its rollback cannot bring
	// the data back.
	Irreversible bool
	// ManualRollback marks a step whose reverse fluxlint cannot write, or
	// writes only in part (a statement kept as written that it does not know
	// how to undo; partitions a function created): it is undone by hand, and
	// no written rollback goes past it.
	ManualRollback bool
	// DeletesRows marks a step that removes rows by design (a replacement
	// for TRUNCATE); every other step keeps every row.
	DeletesRows bool
	Note        string // why, caveats, what the rollback cannot restore
	// Expect is what a checkpoint query returns when it is safe to go on.
	Expect string
	// Tool is set on an online schema change step.
	Tool *ToolRun
	// Estimate is how long the step takes on the live table, by the
	// duration model ("" without live facts, or for a step that reads no
	// table).
	Estimate string
	// LockRetries: SQL of the step that starts with SET lock_timeout is
	// written out in a block that retries that many times after the
	// timeout (ForwardSQL, RollbackSQL); 0 leaves it as it is.
	LockRetries int
}

// ForwardSQL is the step's SQL as it runs, with its lock retries.
func (s Step) ForwardSQL() string { return sqlgen.ExpandRetry(s.Forward, s.LockRetries) }

// RollbackSQL is the step's rollback as it runs, with its lock retries.
func (s Step) RollbackSQL() string { return sqlgen.ExpandRetry(s.Rollback, s.LockRetries) }

// Retried reports whether the step's SQL runs in a retry block.
func (s Step) Retried() bool { return s.ForwardSQL() != s.Forward }

// LockEffect describes what a lock mode blocks, for people reading a plan.
func LockEffect(mode string) string {
	switch mode {
	case "":
		return "no table lock"
	case "ACCESS EXCLUSIVE":
		return "blocks reads and writes while held; keep it brief with lock_timeout"
	case "EXCLUSIVE":
		return "blocks writes and most reads"
	case "SHARE ROW EXCLUSIVE":
		return "blocks writes"
	case "SHARE":
		return "blocks writes"
	case "SHARE UPDATE EXCLUSIVE":
		return "reads and writes continue; blocks other DDL and VACUUM"
	case "ROW EXCLUSIVE":
		return "row locks only: reads and writes to other rows continue"
	// MySQL: ALTER TABLE's LOCK= levels; every DDL also takes an exclusive
	// metadata lock briefly at its start and end.
	case MySQLNone:
		return "reads and writes continue; an exclusive metadata lock only at the start and end, kept brief by lock_wait_timeout"
	case MySQLShared:
		return "blocks writes for the whole statement; reads continue"
	case MySQLExclusive:
		return "blocks reads and writes for the whole statement"
	case MySQLMetadata:
		return "blocks reads and writes while held, which is brief unless it waits: lock_wait_timeout bounds the wait"
	case MySQLRows:
		return "row locks only: reads and writes to other rows continue"
	}
	return mode
}

// MySQL's locks as plan steps name them.
const (
	MySQLNone      = "LOCK=NONE"
	MySQLShared    = "LOCK=SHARED"
	MySQLExclusive = "LOCK=EXCLUSIVE"
	MySQLMetadata  = "metadata lock"
	MySQLRows      = "row locks"
)

// BlocksWrites reports whether a step's lock (its first mode, when it names
// several) blocks writes to the table while held.
func BlocksWrites(lock string) bool {
	switch {
	case strings.HasPrefix(lock, "SHARE UPDATE EXCLUSIVE"), strings.HasPrefix(lock, "ROW EXCLUSIVE"), lock == "":
		return false
	}
	for _, mode := range []string{"ACCESS EXCLUSIVE", "EXCLUSIVE", "SHARE ROW EXCLUSIVE", "SHARE", MySQLShared, MySQLExclusive} {
		if strings.HasPrefix(lock, mode) {
			return true
		}
	}
	return false
}

// The tool's own findings.
var (
	SyntaxError = &Rule{Code: "FL000", Name: "syntax-error", Severity: Error, Doc: Doc{
		Title: "statement does not parse",
		Why:   "fluxlint cannot check what it cannot parse, and the database will reject it too. The rest of the file is still linted.",
		Bad:   "CREATE INDEX ON;",
		Good:  "Fix the statement. Client commands such as MySQL's DELIMITER are not SQL and are reported here too.",
	}}
	BadDirective = &Rule{Code: "FL001", Name: "malformed-directive", Severity: Warning, Doc: Doc{
		Title: "fluxlint directive without a reason or with an unknown code",
		Why:   "An ignore directive must say why the finding does not apply, so the next reader can judge it.",
		Bad:   "-- fluxlint:ignore PG101",
		Good:  "-- fluxlint:ignore PG101 table holds 40 rows",
	}}
	UnusedDirective = &Rule{Code: "FL002", Name: "unused-directive", Severity: Warning, Doc: Doc{
		Title: "fluxlint directive suppresses nothing",
		Why:   "A directive that suppresses nothing is stale, and would silently hide a future finding.",
		Bad:   "-- fluxlint:ignore PG101 old reason\nCREATE INDEX CONCURRENTLY i ON t (c);",
		Good:  "Remove the directive.",
	}}
	InputError = &Rule{Code: "FL003", Name: "unreadable-input", Severity: Error, Doc: Doc{
		Title: "file cannot be read as a migration",
		Why:   "A binary, unreadable or non-UTF-8 file cannot be linted; the other files still are.",
		Bad:   "a migration saved as UTF-16",
		Good:  "Save migrations as UTF-8 text.",
	}}
	Unsupported = &Rule{Code: "FL004", Name: "unsupported-syntax", Engine: ir.MySQL, Severity: Info, Doc: Doc{
		Title: "statement fluxlint's MySQL parser does not know, so it was not checked",
		Why: "fluxlint parses MySQL and MariaDB with vitess's grammar, which follows MySQL 8.0. A statement it rejects " +
			"may still be valid for your server (MariaDB-only syntax, a column-level CHECK, CALL without parentheses), " +
			"or may be a typo: either way fluxlint could not check it. A CREATE TABLE it cannot read still counts as " +
			"creating its table, and an ALTER TABLE leaves its table's columns unknown to later checks.",
		Bad:  "CREATE TABLE t (a INT CHECK (a > 0));",
		Good: "Nothing, if the server accepts it; or write it in MySQL 8.0's syntax (CHECK as a table constraint) to have it checked.",
	}}
)

// Drift is reported with live facts where the database differs from the
// replayed history.
var Drift = &Rule{Code: "FL005", Name: "schema-drift", Severity: Warning, Doc: Doc{
	Title: "the database's table differs from what the migrations build",
	Why: "fluxlint replays the migrations to know each table, and builds its checks and plans on that. When the " +
		"database (from --database-url or a stats file) has another column, type, nullability or index than the " +
		"history says, or holds an INVALID index or a NOT VALID constraint, someone changed it by hand, a migration " +
		"failed halfway, or the history is incomplete: the change under review meets a table nobody described. " +
		"Reported once per table, at the first statement of the change that touches it; the checks and plans use the " +
		"database's schema. Drift is checked for tables the history before the change creates, so lint with " +
		"--changed-since or a baseline.",
	Bad:  "the migrations say users.email is text NOT NULL; the database has it nullable",
	Good: "Find out why, and write a migration that makes history and database agree, before the change that relies on it.",
}}

// Tool lists the tool's own rules.
func Tool() []*Rule {
	return []*Rule{SyntaxError, BadDirective, UnusedDirective, InputError, Unsupported, Drift}
}

// Sort orders rules by code.
func Sort(rs []*Rule) {
	sort.Slice(rs, func(i, j int) bool { return rs[i].Code < rs[j].Code })
}

// Find returns the rule with the code or name, or nil.
func Find(rs []*Rule, codeOrName string) *Rule {
	for _, r := range rs {
		if strings.EqualFold(r.Code, codeOrName) || r.Name == codeOrName {
			return r
		}
	}
	return nil
}

// ListRefs writes refs to b a line each, the first 8 of them: the text box
// stays short, and the JSON report has them all.
func ListRefs(b *strings.Builder, refs []Related) {
	for i, r := range refs {
		if i == 8 {
			fmt.Fprintf(b, "\n  ... and %d more (the JSON report lists all)", len(refs)-i)
			return
		}
		fmt.Fprintf(b, "\n  %s:%d %s", r.Path, r.Line, r.Message)
	}
}

// AttachRefs is the WithRefs of the rules about dropping or renaming: the
// code references become related locations, listed in the plan's code
// deploy step, and decide the severity. A verified use (a parsed query or
// an ORM model), in the code under review or in the deployed code, makes it
// an error; names alone (mentions) are listed as hints and leave it a
// warning (data loss, separate deploy), as does finding nothing.
func AttachRefs(f *Finding, refs []Related, ignored bool) {
	f.Related = refs
	f.Severity = Warning
	var strong, deployedOnly, mentions []Related
	branchFiles := map[string]bool{}
	for _, r := range refs {
		if r.Strong() && r.Deployed == "" {
			branchFiles[r.Path] = true
		}
	}
	for _, r := range refs {
		switch {
		case !r.Strong():
			mentions = append(mentions, r)
		case r.Deployed == "":
			strong = append(strong, r)
		case !branchFiles[r.Path]:
			deployedOnly = append(deployedOnly, r)
		}
	}
	var b strings.Builder
	list := func(one, many string, rs []Related) {
		if len(rs) == 0 {
			return
		}
		if b.Len() > 0 {
			b.WriteString(" ")
		}
		if len(rs) == 1 {
			b.WriteString(one)
		} else {
			fmt.Fprintf(&b, many, len(rs))
		}
		ListRefs(&b, rs)
	}
	switch {
	case ignored:
		b.WriteString("The code already declares it removed (ActiveRecord ignored_columns).")
	case len(strong)+len(deployedOnly) == 0 && len(mentions) == 0:
		b.WriteString("The code search found no reference left.")
	default:
		if len(strong)+len(deployedOnly) > 0 {
			f.Severity = Error
		}
		list("Remove this use first (a query or model that uses it):", "Remove these %d uses first (queries and models that use it):", strong)
		if len(deployedOnly) > 0 {
			rev := deployedOnly[0].Deployed
			list("The deployed code ("+rev+") still uses it in a place this branch no longer has: ship this branch's code first, and drop in a later deploy:",
				"The deployed code ("+rev+") still uses it in %d places this branch no longer has: ship this branch's code first, and drop in a later deploy:", deployedOnly)
		}
		list("One place names it without a query or model that could be verified; check it:", "%d places name it without a query or model that could be verified; check them:", mentions)
	}
	if f.Plan == nil {
		return
	}
	for i := range f.Plan.Steps {
		if f.Plan.Steps[i].Kind == StepCodeDeploy {
			f.Plan.Steps[i].Note = JoinNotes(b.String(), f.Plan.Steps[i].Note)
			return
		}
	}
}

// AlterCmds calls fn for every subcommand of type T of an ALTER TABLE on a
// table that existed before the change under review.
func AlterCmds[T ir.AlterCmd](p *Pass, fn func(table ir.QName, cmd T)) {
	op, ok := p.Op.(ir.AlterTable)
	if !ok || !p.Existing(op.Table) {
		return
	}
	EachCmd(p, op, func(c ir.AlterCmd) {
		x, ok := c.(T)
		if !ok {
			return
		}
		if add, ok := c.(ir.AddColumn); ok && add.IfNotExists {
			if t := p.Catalog.Table(op.Table); t != nil && t.Column(add.Column.Name) != nil {
				return // the column is there: the subcommand changes nothing
			}
		}
		fn(op.Table, x)
	})
}

// EachCmd calls fn for every subcommand of op, on a new table too, with
// the pass knowing which subcommand a finding reported from fn is about
// (as AlterCmds does).
func EachCmd(p *Pass, op ir.AlterTable, fn func(cmd ir.AlterCmd)) {
	prev := p.cmd
	defer func() { p.cmd = prev }()
	for i, c := range op.Cmds {
		p.cmd = i
		fn(c)
	}
}

// JoinNotes joins two notes with a space, either may be empty.
func JoinNotes(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + " " + b
}

// SwappedColumns reports whether renaming the table's column old to new is
// one half of two columns trading places in the same migration (as a
// type-change swap does): another rename fills the old name, or empties the
// new one. Such a swap is deliberate.
func SwappedColumns(p *Pass, table ir.QName, old, new string) bool {
	swapped := false
	p.OnTable(table, func(ref OpRef, _ int) bool {
		if a, ok := ref.Op.(ir.AlterTable); ok && p.Catalog.Same(a.Table, table) {
			for _, cmd := range a.Cmds {
				if r, ok := cmd.(ir.RenameColumn); ok && (r.New == old || r.Old == new) && r != (ir.RenameColumn{Old: old, New: new}) {
					swapped = true
				}
			}
		}
		return swapped
	})
	return swapped
}

// FirstOf reports whether the pass's op is the first in its section of the
// file (up or down) that match accepts on an existing table: for findings
// reported once per file. key names the scan for Fold: one per match
// function.
func (p *Pass) FirstOf(key string, match func(ir.Op) (ir.QName, bool)) bool {
	seen := p.Fold("first:"+key, func(acc any, ref OpRef) any {
		if acc != nil {
			return acc
		}
		if t, ok := match(ref.Op); ok && p.Existing(t) {
			return true
		}
		return nil
	})
	return seen == nil
}

// SetBefore reports whether the migration SETs the variable before the
// pass's op, and the value it set last.
func (p *Pass) SetBefore(name string) (string, bool) {
	last := p.Fold("set:"+name, func(acc any, ref OpRef) any {
		if v, ok := ref.Op.(ir.SetVar); ok && strings.TrimPrefix(v.Name, "@@") == name {
			return v.Value
		}
		return acc
	})
	value, set := last.(string)
	return value, set
}
