// Package fix turns the plans of a lint run into migration files in the
// project's own tool convention: the unsafe migration is replaced by the
// plan's steps, one file per step that needs its own migration (outside a
// transaction, or its own deploy), with each file's down part the steps'
// rollbacks in reverse, and a deployment note saying which files ship with
// which code deploy and which checks to run between them.
package fix

import (
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/fluxlint/fluxlint/analyzers/ir"
	"github.com/fluxlint/fluxlint/analyzers/migrations"
	"github.com/fluxlint/fluxlint/analyzers/mysql"
	"github.com/fluxlint/fluxlint/analyzers/pg"
	"github.com/fluxlint/fluxlint/analyzers/split"
	"github.com/fluxlint/fluxlint/internal/lint"
	"github.com/fluxlint/fluxlint/rules"
)

// File is a file to write.
type File struct {
	Path    string
	Content string
	// Replaces is set on the file that takes the place of the unsafe
	// migration (same path, or the same directory for Prisma and diesel).
	Replaces bool
}

// Change is what fixing one migration writes.
type Change struct {
	Migration string // the unsafe migration's path
	Files     []File
	Deploy    string // the deployment note (also one of Files)
}

// unit is one migration file of the fix: statements that run together.
type unit struct {
	forward, rollback []string // rollback in forward order; written reversed
	noTx              bool
	deployFirst       []string // code deploys that must be live before it runs
	checks            []string // checkpoints to pass before it runs
	closed            bool
}

// Plan builds the changes for every migration of the change under review
// (inChange) that has findings with plans; history is never rewritten.
// engine says how to split the files. A migration that cannot be fixed
// (no version fits its new files) is an error of its own; the others are
// still planned.
func Plan(res *lint.Result, sets []*migrations.Set, inChange func(path string) bool, engine ir.Engine, notesDir string) ([]Change, []error) {
	byPath := map[string][]*rules.Finding{}
	for _, f := range res.Findings {
		if f.Plan != nil && len(f.Plan.Steps) > 0 && !f.Down {
			byPath[f.Path] = append(byPath[f.Path], f)
		}
	}
	// The lint read each file: goose and dbmate files are known by their
	// annotations, which discovery alone has not seen.
	tools := map[string]migrations.Tool{}
	for _, f := range res.Files {
		tools[f.Path] = f.Tool
	}
	var out []Change
	var errs []error
	for _, set := range sets {
		for _, m := range set.Migrations {
			if t, ok := tools[m.Path]; ok {
				m.Tool = t
			}
		}
	}
	for _, set := range sets {
		for _, m := range set.Migrations {
			fs := byPath[m.Path]
			if len(fs) == 0 || !m.Target || m.Down || !inChange(m.Path) {
				continue
			}
			c, err := fixMigration(m, set, fs, engine, notesDir)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", m.Path, err))
				continue
			}
			if len(c.Files) > 0 {
				out = append(out, c)
			}
		}
	}
	return out, errs
}

func fixMigration(m *migrations.Migration, set *migrations.Set, findings []*rules.Finding, engine ir.Engine, notesDir string) (Change, error) {
	src, err := os.ReadFile(m.Path)
	if err != nil {
		return Change{}, err
	}
	res := split.Split(src, engine)
	atStmt := map[int][]*rules.Finding{}
	for _, f := range findings {
		atStmt[f.Pos.Offset] = append(atStmt[f.Pos.Offset], f)
	}
	units := []*unit{{}}
	cur := func() *unit { return units[len(units)-1] }
	// open returns the file a step goes into: the current one while it
	// runs in a transaction and the step can too; a new one otherwise (a
	// step outside a transaction is alone in its file).
	open := func(noTx bool) *unit {
		u := cur()
		switch {
		case !u.closed && len(u.forward) == 0:
			u.noTx = noTx
			return u
		case !u.closed && !noTx && !u.noTx:
			return u
		}
		u = &unit{noTx: noTx}
		units = append(units, u)
		return u
	}
	var pendingDeploys, pendingChecks []string
	take := func(u *unit) {
		u.deployFirst = append(u.deployFirst, pendingDeploys...)
		u.checks = append(u.checks, pendingChecks...)
		pendingDeploys, pendingChecks = nil, nil
	}
	var lastKept *unit   // the file holding the last statement kept as it was
	var replaced []ir.Op // ops of the statements the plans replace
	var downs []string   // the original down section's (or down file's) statements
	if d := downFile(m, set); d != "" {
		dsrc, err := os.ReadFile(d)
		if err != nil {
			return Change{}, err
		}
		for _, seg := range split.Split(dsrc, engine).Segments {
			downs = append(downs, strings.TrimSpace(string(dsrc[seg.Start:seg.End])))
		}
	}
	for _, seg := range res.Segments {
		text := strings.TrimSpace(string(src[seg.Start:seg.End]))
		if seg.Down {
			downs = append(downs, text)
			continue
		}
		fs := atStmt[seg.Start]
		primary := choose(fs)
		var before, after []rules.Step
		for _, f := range fs {
			if f.Plan.KeepsStatement && f != primary {
				if f.Plan.Before {
					before = append(before, f.Plan.Steps...)
				} else {
					after = append(after, f.Plan.Steps...)
				}
			}
		}
		if primary == nil {
			// Kept as it was; one that must run outside a transaction
			// (CONCURRENTLY) keeps a file of its own.
			noTx := ir.OutsideTx(parse(text, engine))
			u := open(noTx)
			take(u)
			lastKept = u
			for _, s := range before {
				u.forward = append(u.forward, s.ForwardSQL())
			}
			u.forward = append(u.forward, text+";")
			u.closed = u.closed || noTx
			for _, s := range after {
				addStep(&units, s, &pendingDeploys, &pendingChecks, open, take)
			}
			continue
		}
		replaced = append(replaced, parse(text, engine)...)
		for _, s := range primary.Plan.Steps {
			addStep(&units, s, &pendingDeploys, &pendingChecks, open, take)
		}
	}
	if len(pendingDeploys)+len(pendingChecks) > 0 {
		// Nothing follows in this migration: the note says what comes
		// after it.
		u := &unit{closed: true}
		take(u)
		units = append(units, u)
	}
	// The original down section undoes the statements kept as they were;
	// its statements about what the plans replaced are the plans'
	// rollbacks' job.
	var keptDown []string
	for _, d := range downs {
		if !touchesReplaced(parse(d, engine), replaced) {
			keptDown = append(keptDown, d+";")
		}
	}
	var real []*unit
	for _, u := range units {
		if len(u.forward) > 0 || len(u.deployFirst)+len(u.checks) > 0 && u.closed {
			real = append(real, splitUnit(u, m.Tool, engine)...)
		}
	}
	if len(real) == 0 {
		return Change{}, nil
	}
	if len(keptDown) > 0 {
		// They undo the statements kept as they were: they go with the
		// file that holds the last of those, undone before its plan steps.
		if lastKept == nil {
			lastKept = real[0]
		}
		lastKept.rollback = append(lastKept.rollback, strings.Join(keptDown, "\n"))
	}
	return write(m, set, real, engine, notesDir)
}

// splitUnit keeps a step outside a transaction runnable: a tool that sends
// a file as one query (golang-migrate, dbmate, diesel, Prisma, plain
// files) runs several statements as one implicit transaction, where CREATE
// INDEX CONCURRENTLY and a backfill's COMMITs fail; so each statement gets
// its own file. goose and Flyway send statements one by one.
func splitUnit(u *unit, tool migrations.Tool, engine ir.Engine) []*unit {
	if !u.noTx || tool == migrations.Goose || tool == migrations.Flyway {
		return []*unit{u}
	}
	stmts := statements(strings.Join(u.forward, "\n"), engine)
	if len(stmts) <= 1 {
		return []*unit{u}
	}
	out := make([]*unit, len(stmts))
	for i, st := range stmts {
		out[i] = &unit{forward: []string{st}, noTx: true, closed: true}
	}
	out[0].deployFirst, out[0].checks = u.deployFirst, u.checks
	out[len(out)-1].rollback = u.rollback
	return out
}

// statements splits SQL into its statements, each with its semicolon.
func statements(sql string, engine ir.Engine) []string {
	src := []byte(sql)
	var out []string
	for _, seg := range split.Split(src, engine).Segments {
		if st := strings.TrimSpace(string(src[seg.Start:seg.End])); st != "" {
			out = append(out, st+";")
		}
	}
	return out
}

// downFile is the separate down file of a migration (golang-migrate's
// .down.sql, diesel's down.sql, Flyway's U script), or "".
func downFile(m *migrations.Migration, set *migrations.Set) string {
	for _, o := range set.Migrations {
		if o.Down && o.Version == m.Version && o.Tool == m.Tool && o.Path != m.Path {
			return o.Path
		}
	}
	return ""
}

// choose picks the finding whose plan replaces the statement: the most
// severe (one statement gets one plan).
func choose(fs []*rules.Finding) *rules.Finding {
	var best *rules.Finding
	for _, f := range fs {
		if f.Plan.KeepsStatement {
			continue
		}
		if best == nil || f.Severity > best.Severity {
			best = f
		}
	}
	return best
}

// addStep places one plan step: SQL into the current file or a new one,
// code deploys and checkpoints into the notes of the file after them.
func addStep(units *[]*unit, s rules.Step, deploys, checks *[]string, open func(bool) *unit, take func(*unit)) {
	switch s.Kind {
	case rules.StepCodeDeploy:
		closeLast(*units)
		d := s.Title
		if s.Note != "" {
			d += ". " + s.Note
		}
		*deploys = append(*deploys, d)
	case rules.StepCheckpoint:
		c := fmt.Sprintf("%s: %s", s.Title, oneLine(s.Forward))
		if s.Expect != "" {
			c += " (expect: " + s.Expect + ")"
		}
		*checks = append(*checks, c)
	case rules.StepOnlineSchemaChange:
		closeLast(*units)
		*deploys = append(*deploys, fmt.Sprintf("%s: run\n      %s", s.Title, strings.ReplaceAll(s.Forward, "\n", "\n      ")))
	default:
		if s.SeparateDeploy || len(*deploys) > 0 {
			closeLast(*units)
		}
		u := open(s.NoTransaction)
		take(u)
		u.forward = append(u.forward, strings.TrimSpace(s.ForwardSQL()))
		if s.Rollback != "" {
			u.rollback = append(u.rollback, strings.TrimSpace(s.RollbackSQL()))
		}
		if s.NoTransaction {
			u.closed = true // alone in its file
		}
	}
}

func closeLast(units []*unit) {
	if len(units) > 0 && len(units[len(units)-1].forward) > 0 {
		units[len(units)-1].closed = true
	}
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func parse(text string, engine ir.Engine) []ir.Op {
	var ops []ir.Op
	var err error
	if engine == ir.MySQL {
		ops, err = mysql.Parse(text)
	} else {
		ops, err = pg.Parse(text)
	}
	if err != nil {
		return nil
	}
	return ops
}

// touchesReplaced reports whether a down statement is about an object a
// replaced statement creates or changes: the same index, column or
// constraint.
func touchesReplaced(ops, replaced []ir.Op) bool {
	mine := objects(ops)
	for k := range objects(replaced) {
		if mine[k] {
			return true
		}
	}
	return false
}

// objects names what ops create, drop or change: indexes by name, columns
// and constraints by table and name.
func objects(ops []ir.Op) map[string]bool {
	out := map[string]bool{}
	for _, op := range ops {
		switch o := op.(type) {
		case ir.CreateIndex:
			out["index "+o.Index.Name] = true
		case ir.Drop:
			for _, n := range o.Names {
				out[string(o.Kind)+" "+n.Name] = true
				if o.Kind == ir.KindIndex {
					out["index "+n.Name] = true
				}
			}
		case ir.AlterTable:
			t := o.Table.Name
			for _, c := range o.Cmds {
				switch c := c.(type) {
				case ir.AddColumn:
					out["column "+t+"."+c.Column.Name] = true
				case ir.DropColumn:
					out["column "+t+"."+c.Column] = true
				case ir.AlterColumnType:
					out["column "+t+"."+c.Column] = true
				case ir.SetNotNull:
					out["column "+t+"."+c.Column] = true
				case ir.DropNotNull:
					out["column "+t+"."+c.Column] = true
				case ir.SetDefault:
					out["column "+t+"."+c.Column] = true
				case ir.RenameColumn:
					out["column "+t+"."+c.Old] = true
					out["column "+t+"."+c.New] = true
				case ir.AddConstraint:
					if c.Constraint.Name != "" {
						out["constraint "+t+"."+c.Constraint.Name] = true
					}
					for _, col := range c.Constraint.Columns {
						out["column "+t+"."+col] = true
					}
				case ir.DropConstraint:
					out["constraint "+t+"."+c.Name] = true
				case ir.AddIndex:
					out["index "+c.Index.Name] = true
				case ir.DropIndex:
					out["index "+c.Name] = true
				}
			}
		}
	}
	return out
}

// nextVersions returns n versions that sort after version and before the
// next existing one, in the project's scheme: timestamps step by a second,
// sequential numbers by one (keeping their width), Flyway versions take a
// sub-version (5 -> 5.1, 5.2).
func nextVersions(m *migrations.Migration, set *migrations.Set, n int) ([]string, error) {
	if n == 0 {
		return nil, nil // the plan fits the migration's own file
	}
	next := ""
	for _, o := range set.Migrations {
		if !o.Repeatable && migrations.NaturalCompare(o.Version, m.Version) > 0 && (next == "" || migrations.NaturalCompare(o.Version, next) < 0) {
			next = o.Version
		}
	}
	v := m.Version
	switch m.Tool {
	case migrations.Diesel:
		// 2024-01-01-000000_name, or with diesel's -0000 suffix.
		v = strings.ReplaceAll(v[:min(len(v), len("2006-01-02-150405"))], "-", "")
	case migrations.Prisma, migrations.Drizzle:
		v = leadingDigits(v)
	}
	var out []string
	switch {
	case m.Tool == migrations.Flyway:
		for i := 1; i <= n; i++ {
			out = append(out, v+"."+strconv.Itoa(i))
		}
	case len(v) == 14:
		t, err := time.Parse("20060102150405", v)
		if err != nil {
			return nil, fmt.Errorf("the plan needs %s, but version %s is not a timestamp to number them after: write them by hand", moreFiles(n), v)
		}
		for i := 1; i <= n; i++ {
			out = append(out, t.Add(time.Duration(i)*time.Second).Format("20060102150405"))
		}
	default:
		// Sequential numbers, or longer stamps (ory's 20 digits): counted
		// on as decimal numbers of the same width.
		num, ok := new(big.Int).SetString(v, 10)
		if !ok || v == "" || v[0] == '-' || v[0] == '+' {
			return nil, fmt.Errorf("the plan needs %s, but version %q is neither a number nor a timestamp to number them after: write them by hand", moreFiles(n), m.Version)
		}
		for i := 1; i <= n; i++ {
			out = append(out, fmt.Sprintf("%0*s", len(v), new(big.Int).Add(num, big.NewInt(int64(i))).String()))
		}
	}
	if next != "" && len(out) > 0 && migrations.NaturalCompare(out[len(out)-1], leadingDigits(strings.ReplaceAll(next, "-", ""))) >= 0 && m.Tool != migrations.Flyway {
		return nil, fmt.Errorf("no room for %d more versions between %s and the next migration %s without renumbering it: give the new files versions by hand", n, m.Version, next)
	}
	return out, nil
}

func moreFiles(n int) string {
	if n == 1 {
		return "one more migration file"
	}
	return fmt.Sprintf("%d more migration files", n)
}

func leadingDigits(s string) string {
	end := 0
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	return s[:end]
}

// write renders the units as files in the tool's convention, the first
// in place of the unsafe migration.
func write(m *migrations.Migration, set *migrations.Set, units []*unit, engine ir.Engine, notesDir string) (Change, error) {
	// drizzle's migrator runs every pending file in one transaction: a step
	// that must run outside one cannot be a drizzle migration, and is a
	// manual step of the deployment note instead.
	manual := func(u *unit) bool { return m.Tool == migrations.Drizzle && u.noTx }
	files := 0
	for _, u := range units {
		if len(u.forward) > 0 && !manual(u) {
			files++
		}
	}
	versions, err := nextVersions(m, set, max(files-1, 0))
	if err != nil {
		return Change{}, err
	}
	c := Change{Migration: m.Path}
	dir := filepath.Dir(m.Path)
	base := filepath.Base(m.Path)
	name := strings.TrimSuffix(strings.TrimSuffix(base, filepath.Ext(base)), ".up")
	if m.Tool == migrations.Prisma || m.Tool == migrations.Diesel {
		base = filepath.Base(dir) // the migration is its folder
		name = base
	}
	var deploy strings.Builder
	fmt.Fprintf(&deploy, "# Deploying %s safely\n\nWritten by `fluxlint fix` from the plans for %s. Ship the files in this order; each numbered\nstep is its own deploy when it says so.\n\n", name, base)
	if m.Tool == migrations.Drizzle {
		deploy.WriteString("drizzle applies every pending migration together, in one transaction: ship each numbered step in its own\ndeploy, adding its file (and journal entry) only when the step before it is done.\n\n")
	}
	step, rendered := 0, 0
	var tags []string // drizzle's journal entries to add
	for _, u := range units {
		var files []File
		if len(u.forward) > 0 && !manual(u) {
			if files, err = render(m, u, rendered, versions, dir, name, usesUndo(set), engine); err != nil {
				return Change{}, err
			}
			if rendered > 0 && m.Tool == migrations.Drizzle {
				tags = append(tags, strings.TrimSuffix(filepath.Base(files[0].Path), ".sql"))
			}
			rendered++
		}
		step++
		fmt.Fprintf(&deploy, "%d. ", step)
		if len(u.deployFirst) > 0 {
			fmt.Fprintf(&deploy, "Deploy code first (its own deploy, live everywhere before going on):\n")
			for _, d := range u.deployFirst {
				fmt.Fprintf(&deploy, "   - %s\n", d)
			}
			deploy.WriteString("   ")
		}
		for _, ch := range u.checks {
			fmt.Fprintf(&deploy, "Check before going on: %s\n   ", ch)
		}
		if manual(u) {
			fmt.Fprintf(&deploy, "Run by hand, outside drizzle (its migrator runs every migration inside one transaction), then go on:\n\n```sql\n%s\n```\n", strings.Join(u.forward, "\n"))
			if len(u.rollback) > 0 {
				fmt.Fprintf(&deploy, "   To undo it:\n\n```sql\n%s\n```\n", strings.Join(reversed(u.rollback), "\n"))
			}
			continue
		}
		if len(files) == 0 {
			deploy.WriteString("Nothing more to migrate.\n")
			continue
		}
		var names []string
		for _, f := range files {
			name := filepath.Base(f.Path)
			if m.Tool == migrations.Prisma || m.Tool == migrations.Diesel {
				name = filepath.Base(filepath.Dir(f.Path)) + "/" + name // the folder is the migration
			}
			names = append(names, name)
		}
		fmt.Fprintf(&deploy, "Migrate: %s", strings.Join(names, ", "))
		if u.noTx {
			deploy.WriteString(" (outside a transaction)")
		}
		deploy.WriteString("\n")
		c.Files = append(c.Files, files...)
	}
	if len(tags) > 0 {
		journal, err := journalWith(dir, tags)
		if err != nil {
			return Change{}, err
		}
		c.Files = append(c.Files, journal)
	}
	note := filepath.Join(dir, name+".deploy.md")
	if m.Tool == migrations.Prisma || m.Tool == migrations.Diesel {
		note = filepath.Join(filepath.Dir(dir), filepath.Base(dir)+".deploy.md")
	}
	if notesDir != "" {
		note = filepath.Join(notesDir, filepath.Base(note))
	}
	c.Deploy = note
	c.Files = append(c.Files, File{Path: note, Content: deploy.String()})
	sort.SliceStable(c.Files, func(i, j int) bool { return c.Files[i].Replaces && !c.Files[j].Replaces })
	return c, nil
}

// journalWith is drizzle's meta/_journal.json with entries for the new
// files after the others, every field it already has kept.
func journalWith(dir string, tags []string) (File, error) {
	path := filepath.Join(dir, "meta", "_journal.json")
	data, err := os.ReadFile(path)
	if err != nil {
		return File{}, err
	}
	var j map[string]any
	if err := json.Unmarshal(data, &j); err != nil {
		return File{}, fmt.Errorf("%s: %w", path, err)
	}
	entries, _ := j["entries"].([]any)
	last := map[string]any{"version": "7", "when": float64(time.Now().UnixMilli()), "breakpoints": true}
	if n := len(entries); n > 0 {
		if e, ok := entries[n-1].(map[string]any); ok {
			last = e
		}
	}
	when, _ := last["when"].(float64)
	for i, tag := range tags {
		entries = append(entries, map[string]any{"idx": float64(len(entries)), "version": last["version"], "when": when + float64(i+1),
			"tag": tag, "breakpoints": last["breakpoints"]})
	}
	j["entries"] = entries
	out, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return File{}, err
	}
	return File{Path: path, Content: string(out) + "\n", Replaces: true}, nil
}

// dieselSuffix is what a diesel folder name has between its timestamp and
// its name ("-0000" in newer diesel_cli's names), so new folders look alike.
func dieselSuffix(folder string) string {
	const stamp = len("2006-01-02-150405")
	if len(folder) <= stamp {
		return ""
	}
	rest, _, _ := strings.Cut(folder[stamp:], "_")
	return rest
}

// usesUndo reports whether a Flyway project keeps U undo scripts.
func usesUndo(set *migrations.Set) bool {
	for _, m := range set.Migrations {
		if m.Tool == migrations.Flyway && m.Down {
			return true
		}
	}
	return false
}

// header is the comment at the top of a file: what must happen before it.
func header(u *unit) string {
	var b strings.Builder
	for _, d := range u.deployFirst {
		fmt.Fprintf(&b, "-- fluxlint: deploy first (its own deploy): %s\n", oneLine(d))
	}
	for _, c := range u.checks {
		fmt.Fprintf(&b, "-- fluxlint: check first: %s\n", oneLine(c))
	}
	return b.String()
}

func reversed(ss []string) []string {
	out := make([]string, 0, len(ss))
	for i := len(ss) - 1; i >= 0; i-- {
		out = append(out, ss[i])
	}
	return out
}

// render writes one unit as the tool's file (or files).
func render(m *migrations.Migration, u *unit, i int, versions []string, dir, name string, undo bool, engine ir.Engine) ([]File, error) {
	up := strings.Join(u.forward, "\n")
	down := strings.Join(reversed(u.rollback), "\n")
	head := header(u)
	version, slug := m.Version, name
	if i > 0 {
		version = versions[i-1]
		slug = strings.TrimPrefix(strings.TrimLeft(name, "0123456789-"), "_")
		if m.Tool == migrations.Flyway {
			_, desc, _ := strings.Cut(name, "__")
			slug = desc
		}
		slug = fmt.Sprintf("%s_step%d", slug, i+1)
	}
	replaces := i == 0
	// goose splits a file on semicolons: a block that holds them (a DO
	// block, a procedure) is marked, alone, so it runs as one statement.
	block := func(sql string) string {
		var parts []string
		for _, st := range statements(sql, engine) {
			// A semicolon inside the statement (a DO block, a function
			// body, a procedure) would split it.
			if strings.Contains(strings.TrimSuffix(st, ";"), ";") {
				st = "-- +goose StatementBegin\n" + st + "\n-- +goose StatementEnd"
			}
			parts = append(parts, st)
		}
		return strings.Join(parts, "\n")
	}
	switch m.Tool {
	case migrations.Goose:
		var b strings.Builder
		b.WriteString(head)
		if u.noTx {
			b.WriteString("-- +goose NO TRANSACTION\n")
		}
		fmt.Fprintf(&b, "-- +goose Up\n%s\n\n-- +goose Down\n%s\n", block(up), block(down))
		p := m.Path
		if i > 0 {
			p = filepath.Join(dir, version+"_"+slug+".sql")
		}
		return []File{{Path: p, Content: b.String(), Replaces: replaces}}, nil
	case migrations.Dbmate:
		opt := ""
		if u.noTx {
			opt = " transaction:false"
		}
		content := fmt.Sprintf("%s-- migrate:up%s\n%s\n\n-- migrate:down%s\n%s\n", head, opt, up, opt, down)
		p := m.Path
		if i > 0 {
			p = filepath.Join(dir, version+"_"+slug+".sql")
		}
		return []File{{Path: p, Content: content, Replaces: replaces}}, nil
	case migrations.GolangMigrate:
		stem := strings.TrimSuffix(filepath.Base(m.Path), ".up.sql")
		if i > 0 {
			stem = version + "_" + slug
		}
		return []File{
			{Path: filepath.Join(dir, stem+".up.sql"), Content: head + up + "\n", Replaces: replaces},
			{Path: filepath.Join(dir, stem+".down.sql"), Content: down + "\n", Replaces: replaces},
		}, nil
	case migrations.Flyway:
		p := m.Path
		if i > 0 {
			p = filepath.Join(dir, "V"+version+"__"+slug+".sql")
		}
		files := []File{{Path: p, Content: head + up + "\n", Replaces: replaces}}
		if u.noTx {
			files = append(files, File{Path: p + ".conf", Content: "executeInTransaction=false\n", Replaces: replaces})
		}
		if down != "" && undo {
			u := filepath.Join(filepath.Dir(p), "U"+strings.TrimPrefix(filepath.Base(p), "V"))
			files = append(files, File{Path: u, Content: down + "\n", Replaces: replaces})
		} else if down != "" {
			files[0].Content += "\n-- Rollback (write it as a U undo script if you use Flyway's undo):\n" + comment(down)
		}
		return files, nil
	case migrations.Prisma, migrations.Diesel:
		folder := dir // the migration's own folder
		if i > 0 {
			v := version
			if m.Tool == migrations.Diesel {
				t, _ := time.Parse("20060102150405", version)
				v = t.Format("2006-01-02-150405") + dieselSuffix(filepath.Base(dir))
			}
			folder = filepath.Join(filepath.Dir(dir), v+"_"+slug)
		}
		if m.Tool == migrations.Prisma {
			if u.noTx && len(u.forward) > 1 {
				return nil, fmt.Errorf("a Prisma migration runs as one query: a step outside a transaction must be alone in its folder")
			}
			content := head + up + "\n"
			if down != "" {
				content += "\n-- Rollback (Prisma has no down migrations; run by hand to undo this folder):\n" + comment(down)
			}
			return []File{{Path: filepath.Join(folder, "migration.sql"), Content: content, Replaces: replaces}}, nil
		}
		files := []File{{Path: filepath.Join(folder, "up.sql"), Content: head + up + "\n", Replaces: replaces},
			{Path: filepath.Join(folder, "down.sql"), Content: down + "\n", Replaces: replaces}}
		if u.noTx {
			files = append(files, File{Path: filepath.Join(folder, "metadata.toml"), Content: "run_in_transaction = false\n", Replaces: replaces})
		}
		return files, nil
	case migrations.Drizzle:
		p := m.Path
		if i > 0 {
			p = filepath.Join(dir, version+"_"+slug+".sql")
		}
		content := head + strings.Join(statements(up, engine), "\n--> statement-breakpoint\n") + "\n"
		if down != "" {
			content += "\n-- Rollback (drizzle has no down migrations; run by hand to undo this file):\n" + comment(down)
		}
		return []File{{Path: p, Content: content, Replaces: replaces}}, nil
	default: // plain numbered files: no down, the rollback in a comment
		p := m.Path
		if i > 0 {
			p = filepath.Join(dir, version+"_"+slug+filepath.Ext(m.Path))
		}
		content := head + up + "\n"
		if down != "" {
			content += "\n-- Rollback:\n" + comment(down)
		}
		return []File{{Path: p, Content: content, Replaces: replaces}}, nil
	}
}

func comment(sql string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(sql, "\n"), "\n") {
		b.WriteString("-- " + l + "\n")
	}
	return b.String()
}
