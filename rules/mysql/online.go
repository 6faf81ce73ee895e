package mysql

import (
	"fmt"
	"slices"
	"strings"

	"github.com/fluxlint/fluxlint/analyzers/catalog"
	"github.com/fluxlint/fluxlint/analyzers/ir"
	"github.com/fluxlint/fluxlint/analyzers/onlineddl"
	"github.com/fluxlint/fluxlint/rules"
	"github.com/fluxlint/fluxlint/rules/sqlgen/mysqlgen"
)

// The rules here read the server's online DDL verdict for an ALTER TABLE
// on an existing table (analyzers/onlineddl): MY201 for a table copy,
// MY202 for an in-place rebuild, MY203 for an in-place change that blocks
// writes, MY120 for an ALGORITHM or LOCK clause the server refuses.

// verdict is the server's verdict for the pass's ALTER TABLE of an
// existing table, with each subcommand's own; ok is false when there is
// none (a new table, a change the catalog cannot tell apart).
type verdict struct {
	op   ir.AlterTable
	tab  *catalog.Table // never nil: an unknown table is an empty one
	all  onlineddl.Verdict
	cmds []cmdVerdict
}

type cmdVerdict struct {
	cmd ir.AlterCmd
	v   onlineddl.Verdict
}

// verdictOf is asked by four rules of the same op: it is computed once.
func verdictOf(p *rules.Pass) (verdict, bool) {
	v := p.Memo("mysql-verdict", func() any {
		out, ok := computeVerdict(p)
		if !ok {
			return nil
		}
		return out
	})
	out, ok := v.(verdict)
	return out, ok
}

func computeVerdict(p *rules.Pass) (verdict, bool) {
	op, ok := p.Op.(ir.AlterTable)
	if !ok || !p.Existing(op.Table) {
		return verdict{}, false
	}
	fkOff := foreignKeyChecksOff(p)
	changes, ok := onlineddl.Classify(p.Catalog, op, fkOff)
	if !ok {
		return verdict{}, false
	}
	out := verdict{op: op, tab: p.Catalog.Table(op.Table)}
	if out.tab == nil {
		out.tab = &catalog.Table{Name: op.Table, Unknown: true}
	}
	over := overBudget(p, op)
	verdictFor := func(ch onlineddl.Change) onlineddl.Verdict {
		if over > 0 && (ch == onlineddl.AddColumn || ch == onlineddl.AddColumnPlaced || ch == onlineddl.DropColumn) {
			return onlineddl.OverBudget(over)
		}
		return onlineddl.For(p.Server, ch)
	}
	var all []onlineddl.Verdict
	for _, ch := range changes {
		all = append(all, verdictFor(ch))
	}
	out.all = onlineddl.Combine(all)
	if op.Algorithm == "COPY" {
		// A forced copy: the server copies whatever the change.
		forced := onlineddl.For(p.Server, onlineddl.ChangeType)
		out.all.Algorithm, out.all.Rebuild, out.all.Source, out.all.Note = onlineddl.Copy, true, forced.Source, forced.Note
		out.all.Lock = max(out.all.Lock, forced.Lock)
	}
	for _, cmd := range op.Cmds {
		one := op
		one.Cmds = []ir.AlterCmd{cmd}
		if cs, ok := onlineddl.Classify(p.Catalog, one, fkOff); ok {
			var vs []onlineddl.Verdict
			for _, ch := range cs {
				vs = append(vs, verdictFor(ch))
			}
			out.cmds = append(out.cmds, cmdVerdict{cmd, onlineddl.Combine(vs)})
		}
	}
	return out, true
}

// columnChanges counts the statement's ADD and DROP COLUMNs.
func columnChanges(op ir.AlterTable) int {
	n := 0
	for _, c := range op.Cmds {
		switch c.(type) {
		case ir.AddColumn, ir.DropColumn:
			n++
		}
	}
	return n
}

// overBudget returns the row versions the table will have used, when the
// statement's ADD and DROP COLUMNs go past MySQL's limit; 0 otherwise.
func overBudget(p *rules.Pass, op ir.AlterTable) int {
	t := p.Catalog.Table(op.Table)
	if t == nil || !p.Server.HasRowVersions() {
		return 0
	}
	if n := columnChanges(op); n > 0 && t.RowVersions+n > onlineddl.RowVersions {
		return t.RowVersions
	}
	return 0
}

// demanded reports whether the statement names an ALGORITHM or LOCK that
// rules a blocking copy out: the server then does it that way or refuses
// (MY120), instead of silently copying the table under a lock.
func demanded(op ir.AlterTable) bool {
	return op.Algorithm == "INSTANT" || op.Algorithm == "INPLACE" || op.Algorithm == "NOCOPY" || op.Lock == "NONE"
}

// why describes the subcommands whose own verdict matches: what makes the
// statement as costly as it is.
func (v verdict) why(match func(onlineddl.Verdict) bool) []string {
	var out []string
	for _, c := range v.cmds {
		if match(c.v) {
			out = append(out, describe(v.tab, c.cmd))
		}
	}
	if len(out) == 0 {
		// Only together are they costly: an instant ADD or DROP COLUMN beside
		// a change that is not.
		for _, c := range v.cmds {
			out = append(out, describe(v.tab, c.cmd))
		}
	}
	return out
}

// describe says what a subcommand does, for messages.
func describe(tab *catalog.Table, cmd ir.AlterCmd) string {
	switch c := cmd.(type) {
	case ir.ModifyColumn:
		old := c.From()
		what := typeChange(tab, c)
		if col := tab.Column(old); col != nil && col.NotNull != c.Column.NotNull {
			null := "NULL"
			if c.Column.NotNull {
				null = "NOT NULL"
			}
			if what == "" {
				return fmt.Sprintf("making column %q %s", old, null)
			}
			return what + " and making it " + null
		}
		if what != "" {
			return what
		}
		return fmt.Sprintf("MODIFY COLUMN %q", old)
	case ir.AddColumn:
		col := c.Column
		switch {
		case col.AutoIncrement:
			return fmt.Sprintf("ADD COLUMN %q AUTO_INCREMENT", col.Name)
		case col.Generated != nil && !col.Virtual:
			return fmt.Sprintf("ADD COLUMN %q as a STORED generated column", col.Name)
		case col.Default != nil && col.Default.Volatility == ir.VolatilityUnknown:
			return fmt.Sprintf("ADD COLUMN %q with the expression default %s", col.Name, col.Default.SQL)
		case c.Position.First:
			return fmt.Sprintf("ADD COLUMN %q FIRST", col.Name)
		case c.Position.After != "":
			return fmt.Sprintf("ADD COLUMN %q AFTER %q", col.Name, c.Position.After)
		}
		return fmt.Sprintf("ADD COLUMN %q", col.Name)
	case ir.DropColumn:
		return fmt.Sprintf("DROP COLUMN %q", c.Column)
	case ir.AddIndex:
		kind := "INDEX"
		switch {
		case c.Index.Method == "fulltext", c.Index.Method == "spatial":
			kind = strings.ToUpper(c.Index.Method) + " INDEX"
		case c.Index.Unique:
			kind = "UNIQUE INDEX"
		}
		return fmt.Sprintf("ADD %s %q", kind, c.Index.Name)
	case ir.AddConstraint:
		switch c.Constraint.Kind {
		case ir.ForeignKey:
			return fmt.Sprintf("ADD FOREIGN KEY %q", c.Constraint.Name)
		case ir.Check:
			return fmt.Sprintf("ADD CHECK %q", c.Constraint.Name)
		case ir.PrimaryKey:
			return fmt.Sprintf("ADD PRIMARY KEY (%s)", strings.Join(c.Constraint.Columns, ", "))
		}
		return fmt.Sprintf("ADD UNIQUE %q", c.Constraint.Name)
	case ir.DropConstraint:
		if strings.EqualFold(c.Name, "PRIMARY") {
			return "DROP PRIMARY KEY"
		}
		return fmt.Sprintf("DROP %q", c.Name)
	case ir.OtherAlter:
		return strings.TrimPrefix(c.Kind, "table option ")
	}
	return strings.TrimPrefix(fmt.Sprintf("%T", cmd), "ir.")
}

// verdictText says what the server does, for messages.
func verdictText(s onlineddl.Server, v onlineddl.Verdict) string {
	return fmt.Sprintf("%s runs it with ALGORITHM=%s, LOCK=%s", s, v.Algorithm, v.Lock)
}

var tableRebuild = &rules.Rule{
	Code: "MY202", Name: "alter-table-rebuild", Engine: ir.MySQL, Severity: rules.Warning, Sized: true,
	Doc: rules.Doc{
		Title: "ALTER TABLE that rebuilds an existing table in place",
		Why: "Some changes rebuild the whole table inside InnoDB (ALGORITHM=INPLACE with a rebuild): reads and writes " +
			"continue, but the server rewrites every row and index, which takes time, I/O and temporary space in " +
			"proportion to the table, and replicas apply the ALTER only after the source finished it, so they fall " +
			"behind by its whole duration. Writes made during the rebuild are kept in a log " +
			"(innodb_online_alter_log_max_size); if it overflows, the ALTER fails at the end. Measured on MariaDB " +
			"10.11: making a column NOT NULL or NULL, adding a primary key, FORCE, ENGINE=InnoDB, ROW_FORMAT, and an " +
			"instant ADD or DROP COLUMN in the same statement as a change that is not instant. On MySQL before 8.0.29 " +
			"(MySQL's manual): ADD COLUMN FIRST/AFTER and DROP COLUMN too, and before 8.0.12 every ADD COLUMN.",
		Bad: "ALTER TABLE users MODIFY name VARCHAR(100) NOT NULL;",
		Good: "Assert the online algorithm, so the server refuses instead of silently copying the table under a " +
			"lock: ALTER TABLE users MODIFY name VARCHAR(100) NOT NULL, ALGORITHM=INPLACE, LOCK=NONE; (the plan " +
			"checks for NULLs first, which would fail the rebuild at its end). Run it when replicas can afford the " +
			"lag, or through gh-ost or pt-online-schema-change, which copy in chunks the replicas keep up with. " +
			"Split an instant ADD or DROP COLUMN from a non-instant change so it stays instant.",
		Versions: "Verdicts per server: MariaDB 10.6-11.8 measured on MariaDB 10.11 by fluxlint's truth test; " +
			"MySQL 5.7, 8.0 and 8.4 from MySQL's manual (InnoDB Online DDL Operations), which fluxlint cannot run here: " +
			"pass --server-version (8.0.29, mariadb-11.4).",
	},
	Check: func(p *rules.Pass) {
		v, ok := verdictOf(p)
		if !ok || demanded(v.op) || v.all.Algorithm != onlineddl.InPlace || !v.all.Rebuild || v.all.BlocksWrites() {
			return
		}
		tab := v.tab
		what := v.why(func(x onlineddl.Verdict) bool { return x.Algorithm == onlineddl.InPlace && x.Rebuild })
		msg := fmt.Sprintf("%s rebuilds existing table %s in place: %s; reads and writes continue, but every row is rewritten and replicas lag by the whole rebuild",
			strings.Join(what, ", "), tableLabel(v.op.Table), verdictText(p.Server, v.all))
		for _, c := range v.op.Cmds {
			if m, ok := c.(ir.ModifyColumn); ok && m.Column.NotNull {
				if col := tab.Column(m.Column.Name); col != nil && !col.NotNull {
					msg += fmt.Sprintf("; it fails (error 1265 on MariaDB 10.11, measured; MySQL reports 1138) if a row holds NULL in %q", col.Name)
				}
			}
		}
		if v.all.Note != "" {
			msg += ". " + strings.TrimSuffix(v.all.Note, ".")
		}
		p.Report(msg, rebuildPlan(p, v, tab))
	},
}

// rebuildPlan runs the statement with the online algorithm asserted, after
// checking that no row holds a NULL a new NOT NULL would reject. The
// rollback undoes each subcommand it can; without one for every
// subcommand there is no plan.
func rebuildPlan(p *rules.Pass, v verdict, tab *catalog.Table) *rules.Plan {
	t := mysqlgen.Name(v.op.Table)
	var undo, notNull []string
	for i := len(v.op.Cmds) - 1; i >= 0; i-- {
		switch c := v.op.Cmds[i].(type) {
		case ir.ModifyColumn:
			old := c.From()
			col := tab.Column(old)
			if col == nil {
				return nil
			}
			if c.Column.NotNull && !col.NotNull {
				notNull = append(notNull, old)
			}
			if c.From() != c.Column.Name {
				undo = append(undo, fmt.Sprintf("CHANGE COLUMN %s %s%s", mysqlgen.Ident(c.Column.Name), mysqlgen.ColumnDef(col), mysqlgen.Position(tab, old)))
			} else {
				undo = append(undo, fmt.Sprintf("MODIFY COLUMN %s%s", mysqlgen.ColumnDef(col), mysqlgen.Position(tab, old)))
			}
		case ir.AddColumn:
			undo = append(undo, "DROP COLUMN "+mysqlgen.Ident(c.Column.Name))
		case ir.AddConstraint:
			if c.Constraint.Kind != ir.PrimaryKey || slices.ContainsFunc(v.op.Cmds, func(x ir.AlterCmd) bool { _, drop := x.(ir.DropConstraint); return drop }) {
				return nil
			}
			undo = append(undo, "DROP PRIMARY KEY")
			for _, name := range c.Constraint.Columns {
				// The key made its columns NOT NULL: give them back their NULL.
				if col := tab.Column(name); col != nil && !col.NotNull {
					undo = append(undo, fmt.Sprintf("MODIFY COLUMN %s%s", mysqlgen.ColumnDef(col), mysqlgen.Position(tab, name)))
				}
			}
		case ir.OtherAlter:
			if c.Kind != "FORCE" && c.Kind != "table option ENGINE" && c.Kind != "OPTIMIZE" {
				return nil
			}
		default:
			return nil
		}
	}
	var steps []rules.Step
	if len(notNull) > 0 {
		var conds []string
		for _, c := range notNull {
			conds = append(conds, mysqlgen.Ident(c)+" IS NULL")
		}
		steps = append(steps, rules.Step{Kind: rules.StepCheckpoint, Title: "confirm no row holds a NULL the rebuild would reject at its end",
			Forward: fmt.Sprintf("SELECT COUNT(*) AS nulls FROM %s WHERE %s;", t, strings.Join(conds, " OR ")), Expect: "0"})
	}
	stmt := strings.TrimSuffix(strings.TrimSpace(p.Stmt.Text), ";")
	if strings.Contains(stmt, "--") || strings.Contains(stmt, "#") || strings.Contains(stmt, "/*") {
		return nil // a comment could swallow the clause appended to the statement
	}
	analyze := ""
	if x, ok := v.op.Cmds[0].(ir.OtherAlter); ok && x.Kind == "OPTIMIZE" {
		// OPTIMIZE takes no ALGORITHM clause: on InnoDB it is this rebuild
		// and ANALYZE.
		stmt, analyze = "ALTER TABLE "+t+" FORCE", fmt.Sprintf("\nANALYZE TABLE %s;", t)
	}
	rollback, online := "", ", "+mysqlgen.Online
	if slices.Contains(undo, "DROP PRIMARY KEY") {
		online = "" // no in-place form: the rollback copies the table
	}
	if len(undo) > 0 {
		rollback = withLockWait(p, fmt.Sprintf("ALTER TABLE %s %s%s;", t, strings.Join(undo, ", "), online))
	}
	step := migration(p, "run it with the online algorithm asserted, so the server refuses rather than copy the table under a lock",
		withLockWait(p, fmt.Sprintf("%s, %s;%s", stmt, mysqlgen.Online, analyze)), rollback, rules.MySQLNone)
	step.Note = "Reads and writes continue while the table is rebuilt; replicas lag by the rebuild's duration, so run it when they can afford it. If the server refuses (error 1846), it cannot do this in place: use gh-ost or pt-online-schema-change."
	if online == "" {
		step.Note += " The rollback drops the primary key, which only a table copy can do (writes wait)."
	}
	steps = append(steps, step)
	return &rules.Plan{Title: "rebuild in place with ALGORITHM=INPLACE, LOCK=NONE asserted", Steps: steps}
}

var blocksWrites = &rules.Rule{
	Code: "MY203", Name: "alter-blocks-writes", Engine: ir.MySQL, Severity: rules.Error, Sized: true,
	Doc: rules.Doc{
		Title: "ALTER TABLE done in place that still blocks writes, on an existing table",
		Why: "A few in-place changes cannot let writes through: the server takes LOCK=SHARED for the whole statement, " +
			"so every INSERT, UPDATE and DELETE on the table waits until it ends. Measured on MariaDB 10.11: adding a " +
			"FULLTEXT index (the first one also rebuilds the table), a SPATIAL index, and an AUTO_INCREMENT column.",
		Bad: "ALTER TABLE articles ADD FULLTEXT INDEX articles_body_ft (body);",
		Good: "There is no online form: run it through gh-ost or pt-online-schema-change, which build a copy of the " +
			"table with the change while writes continue, and swap it in; or schedule it for a maintenance window.",
		Versions: "MariaDB 10.6-11.8 measured on MariaDB 10.11; MySQL 5.7-8.4 from MySQL's manual (the same operations).",
	},
	Check: func(p *rules.Pass) {
		v, ok := verdictOf(p)
		if !ok || demanded(v.op) || v.all.Algorithm == onlineddl.Copy || !v.all.BlocksWrites() || v.all.Lock == onlineddl.LockExclusive {
			return
		}
		what := v.why(onlineddl.Verdict.BlocksWrites)
		msg := fmt.Sprintf("%s on existing table %s blocks writes for the whole statement: %s", strings.Join(what, ", "), tableLabel(v.op.Table), verdictText(p.Server, v.all))
		if v.all.Note != "" {
			msg += ". " + strings.TrimSuffix(v.all.Note, ".")
		}
		plan, why := toolPlan(p, v)
		switch {
		case plan != nil:
			msg += "; no in-place form lets writes through: the plan runs it through " + plan.Steps[0].Tool.Name
		case why != "":
			msg += "; no in-place form lets writes through, and no online schema change tool can run it (" + why + "): schedule a maintenance window"
		default:
			msg += "; no online form exists: use gh-ost or pt-online-schema-change, or a maintenance window"
		}
		p.Report(msg, plan)
	},
}

var failsOnServer = &rules.Rule{
	Code: "MY120", Name: "statement-fails-on-server", Engine: ir.MySQL, Severity: rules.Error,
	Doc: rules.Doc{
		Title: "A statement the server refuses",
		Why: "The deploy stops at a statement the server rejects, with the migration half applied (MySQL commits each " +
			"DDL statement). fluxlint reports the ones it can tell from the schema: an ALGORITHM or LOCK clause the " +
			"server cannot honour for the change (error 1846, ER_ALTER_OPERATION_NOT_SUPPORTED_REASON), DROP " +
			"INDEX of the only index a foreign key can use (error 1553), and creating what the migrations before " +
			"created: a table (1050), a column (1060), an index name (1061).",
		Bad: "ALTER TABLE users MODIFY score BIGINT, ALGORITHM=INPLACE;",
		Good: "Ask only for what the server can do: the message names the algorithm and lock it accepts. A type change " +
			"has no in-place form: use gh-ost or pt-online-schema-change, or move the column through a new one. " +
			"Before dropping an index a foreign key uses, add another index on the key's columns (the plan does).",
		Versions: "ALGORITHM/LOCK verdicts per server as for MY201 and MY202: MariaDB measured on 10.11, MySQL from its manual.",
	},
	Check: func(p *rules.Pass) {
		alreadyExists(p)
		v, ok := verdictOf(p)
		if !ok {
			return
		}
		if (v.op.Algorithm != "" || v.op.Lock != "") && !v.all.Accepts(p.Server, v.op.Algorithm, v.op.Lock) {
			var asked []string
			if v.op.Algorithm != "" {
				asked = append(asked, "ALGORITHM="+v.op.Algorithm)
			}
			if v.op.Lock != "" {
				asked = append(asked, "LOCK="+v.op.Lock)
			}
			what := v.why(func(x onlineddl.Verdict) bool { return !x.Accepts(p.Server, v.op.Algorithm, v.op.Lock) })
			msg := fmt.Sprintf("%s fails on the server with error 1846: %s cannot do %s that way; it runs this statement only with ALGORITHM=%s, LOCK=%s or less efficient",
				strings.Join(asked, ", "), p.Server, strings.Join(what, ", "), v.all.Algorithm, v.all.Lock)
			if p.Server.Family == onlineddl.MySQL && v.op.Algorithm == "NOCOPY" {
				msg = fmt.Sprintf("ALGORITHM=NOCOPY is MariaDB's: %s rejects it (error 1064); it can run this with ALGORITHM=%s, LOCK=%s", p.Server, v.all.Algorithm, v.all.Lock)
			}
			p.Report(msg, nil).Claims(&rules.Claim{Table: v.op.Table, Fails: "1846"})
		}
		for _, c := range v.op.Cmds {
			if d, ok := c.(ir.DropIndex); ok {
				if k, ok := neededByForeignKey(p.Catalog, v.op, d.Name); ok {
					p.Report(fmt.Sprintf("DROP INDEX %q fails on the server with error 1553: foreign key %q of %s needs an index on (%s) and this is the only one",
						d.Name, k.Name, tableLabel(v.op.Table), strings.Join(k.Columns, ", ")), keepForeignKeyIndexPlan(p, v.op.Table, d.Name, k)).
						Claims(&rules.Claim{Table: v.op.Table, Fails: "1553"})
				}
			}
		}
	},
}

// neededByForeignKey returns the foreign key of the table that only the
// named index serves: InnoDB needs an index whose leading columns are the
// key's, and refuses to drop the last one (a statement that adds another
// index or drops the key too is fine).
func neededByForeignKey(c *catalog.Catalog, op ir.AlterTable, name string) (ir.Constraint, bool) {
	t := c.Table(op.Table)
	idx := c.IndexOn(op.Table, name)
	if t == nil || idx == nil {
		return ir.Constraint{}, false
	}
	serves := func(cols []string, k ir.Constraint) bool {
		return len(cols) >= len(k.Columns) && slices.EqualFunc(cols[:len(k.Columns)], k.Columns, strings.EqualFold)
	}
	for _, k := range t.Constraints {
		if k.Kind != ir.ForeignKey || !serves(idx.Def.Columns, k.Constraint) {
			continue
		}
		other := slices.ContainsFunc(c.IndexesOn(op.Table), func(i *catalog.Index) bool {
			return i != idx && serves(i.Def.Columns, k.Constraint)
		})
		for _, pk := range t.Constraints {
			if pk.Kind == ir.PrimaryKey && serves(pk.Columns, k.Constraint) {
				other = true
			}
		}
		for _, cmd := range op.Cmds {
			switch x := cmd.(type) {
			case ir.AddIndex:
				other = other || serves(x.Index.Columns, k.Constraint)
			case ir.AddConstraint:
				other = other || (x.Constraint.Kind == ir.Unique || x.Constraint.Kind == ir.PrimaryKey) && serves(x.Constraint.Columns, k.Constraint)
			case ir.DropConstraint:
				other = other || strings.EqualFold(x.Name, k.Name)
			}
		}
		if !other {
			return k.Constraint, true
		}
	}
	return ir.Constraint{}, false
}

// keepForeignKeyIndexPlan gives the foreign key an index of its own before
// the old one goes.
func keepForeignKeyIndexPlan(p *rules.Pass, table ir.QName, drop string, k ir.Constraint) *rules.Plan {
	old := p.Catalog.IndexOn(table, drop)
	if old == nil {
		return nil
	}
	t := mysqlgen.Name(table)
	name := prefixName(table.Name, strings.Join(k.Columns, "_"), "fk_idx")
	addSQL := fmt.Sprintf("ALTER TABLE %s ADD INDEX %s (%s), %s;", t, mysqlgen.Ident(name), mysqlgen.Idents(k.Columns), mysqlgen.Online)
	if strings.EqualFold(old.Def.Name, k.Name) && slices.Equal(old.Def.Columns, k.Columns) {
		// The index InnoDB made for the key: the server drops it by itself
		// once another index serves the key. Undoing brings it back by name.
		add := migration(p, fmt.Sprintf("index the foreign key %s's columns on their own, built in place; the server then drops the index it made for the key", k.Name),
			withLockWait(p, addSQL),
			withLockWait(p, fmt.Sprintf("ALTER TABLE %s ADD %s, DROP INDEX %s, %s;", t, mysqlgen.IndexClause(old.Def), mysqlgen.Ident(name), mysqlgen.Online)), rules.MySQLNone)
		return &rules.Plan{Title: "give the foreign key its own index, which replaces the one the server made", Steps: []rules.Step{add}}
	}
	add := migration(p, fmt.Sprintf("index the foreign key %s's columns on their own, built in place", k.Name),
		withLockWait(p, addSQL),
		withLockWait(p, fmt.Sprintf("ALTER TABLE %s DROP INDEX %s, %s;", t, mysqlgen.Ident(name), mysqlgen.Online)), rules.MySQLNone)
	rm := migration(p, "drop the old index, which the foreign key no longer needs",
		withLockWait(p, fmt.Sprintf("ALTER TABLE %s DROP INDEX %s, %s;", t, mysqlgen.Ident(drop), mysqlgen.Online)),
		withLockWait(p, fmt.Sprintf("ALTER TABLE %s ADD %s, %s;", t, mysqlgen.IndexClause(old.Def), mysqlgen.Online)), rules.MySQLNone)
	return &rules.Plan{Title: "give the foreign key its own index, then drop the old one", Steps: []rules.Step{add, rm}}
}

// rowVersionsNear is how many row versions used makes MY122 warn.
const rowVersionsNear = onlineddl.RowVersions - 8

var rowVersionBudget = &rules.Rule{
	Code: "MY122", Name: "instant-row-versions-running-out", Engine: ir.MySQL, Severity: rules.Warning,
	Doc: rules.Doc{
		Title: "instant ADD or DROP COLUMN that brings a table near MySQL's 64 row versions",
		Why: "From MySQL 8.0.29 every instant ADD or DROP COLUMN adds a row version to the table, and a table may " +
			"have 64 between rebuilds. After that, ALGORITHM=INSTANT is refused and a statement without it silently " +
			"rebuilds the whole table in place (MY202) - a change that took milliseconds last week takes an hour. " +
			"fluxlint counts the versions through the replayed history, starting again at statements that always " +
			"rebuild (FORCE, ENGINE=, ROW_FORMAT=, CONVERT TO, primary key changes, a column's type or nullability, " +
			"TRUNCATE). Check the real count in INFORMATION_SCHEMA.INNODB_TABLES.TOTAL_ROW_VERSIONS.",
		Bad:  "the 60th ALTER TABLE events ADD COLUMN ... since the table was created",
		Good: "Rebuild the table at a quiet time with ALTER TABLE t FORCE, ALGORITHM=INPLACE, LOCK=NONE (reads and writes continue), which starts the count again, before the budget runs out.",
		Versions: "MySQL 8.0.29 and later (MySQL's manual); MySQL before 8.0.29 has no instant DROP COLUMN and " +
			"MariaDB no such limit, so neither is reported.",
	},
	Check: func(p *rules.Pass) {
		op, ok := p.Op.(ir.AlterTable)
		if !ok || !p.Existing(op.Table) || !p.Server.HasRowVersions() {
			return
		}
		t := p.Catalog.Table(op.Table)
		n := columnChanges(op)
		if t == nil || n == 0 {
			return
		}
		used := t.RowVersions + n
		if used < rowVersionsNear || used > onlineddl.RowVersions {
			return // far from the limit, or past it (MY202 reports the rebuild)
		}
		step := migration(p, "at a quiet time, rebuild the table in place, which starts its row versions again",
			withLockWait(p, fmt.Sprintf("ALTER TABLE %s FORCE, %s;", mysqlgen.Name(op.Table), mysqlgen.Online)), "", rules.MySQLNone)
		step.SeparateDeploy = true
		step.Note = "Reads and writes continue; the rebuild takes time and I/O in proportion to the table, and replicas lag by its duration."
		p.Report(fmt.Sprintf("after this statement existing table %s has used %d of its %d instant row versions since its last rebuild (counted through the migrations): at %d, %s refuses ALGORITHM=INSTANT and rebuilds the table instead",
			tableLabel(op.Table), used, onlineddl.RowVersions, onlineddl.RowVersions, p.Server),
			&rules.Plan{Title: "rebuild the table before its row versions run out", KeepsStatement: true, Steps: []rules.Step{step}})
	},
}
