package sizing

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/fluxlint/fluxlint/analyzers/ir"
	"github.com/fluxlint/fluxlint/analyzers/livestats"
	"github.com/fluxlint/fluxlint/analyzers/mysql"
	"github.com/fluxlint/fluxlint/analyzers/pg"
	"github.com/fluxlint/fluxlint/analyzers/split"
	"github.com/fluxlint/fluxlint/rules"
)

// Model is the duration model: how fast a server rewrites, indexes, scans
// and updates a table. Its constants are measured by `go run
// ./bench/throughput` on the test tooling's servers; real servers differ
// by their disks, memory and load, so every estimate says it is one.
type Model struct {
	Server string // where the constants were measured
	// Bytes of the table (heap and indexes) a rewrite (ALTER TYPE, VACUUM
	// FULL; MySQL's table rebuild) gets through per second.
	RewriteBytesPerSec float64
	// Bytes of the table's heap an index build reads per second, plain and
	// CONCURRENTLY (two scans and a wait).
	IndexBytesPerSec, ConcurrentIndexBytesPerSec float64
	// Bytes of heap a validation scan (VALIDATE CONSTRAINT) reads per
	// second. Plans set NOT NULL only after validating a check, which
	// spares its scan.
	ScanBytesPerSec float64
	// Rows a batched UPDATE by primary key range changes per second.
	UpdateRowsPerSec float64
}

// Measured with `go run -tags bench ./bench/throughput` (1,000,000 rows: 99 MB on
// PostgreSQL, 64 MB on MariaDB; median of 3) on the development VM, 2
// cores, 2026-12-02 (bench/throughput/out/results.txt). The test servers
// run without fsync and hold the table in memory, so a production server
// with real disks and traffic is slower: the estimates are lower bounds.
var (
	postgresModel = Model{Server: "PostgreSQL 15 on a 2-core VM, table in memory", RewriteBytesPerSec: 61e6, IndexBytesPerSec: 109e6,
		ConcurrentIndexBytesPerSec: 81e6, ScanBytesPerSec: 970e6, UpdateRowsPerSec: 186e3}
	mariadbModel = Model{Server: "MariaDB 10.11 on a 2-core VM, table in memory", RewriteBytesPerSec: 30e6, IndexBytesPerSec: 57e6,
		ConcurrentIndexBytesPerSec: 57e6, ScanBytesPerSec: 528e6, UpdateRowsPerSec: 649e3}
)

// ModelFor is the engine's duration model.
func ModelFor(engine ir.Engine) Model {
	if engine == ir.MySQL {
		return mariadbModel
	}
	return postgresModel
}

// work is what one statement of a step does to a table.
type work int

const (
	none work = iota
	rewrite
	indexBuild
	concurrentIndex
	scan
)

// estimate sets a step's duration from the work its SQL does on tables the
// facts know; a backfill is its table's rows at the batched update rate,
// plus its pauses.
func estimate(s *rules.Step, live *livestats.Facts, engine ir.Engine, th rules.Thresholds, table *livestats.Table) {
	m := ModelFor(engine)
	var secs float64
	var parts []string
	switch {
	case s.Kind == rules.StepBackfill:
		if table == nil || table.Rows <= 0 {
			return
		}
		batches := math.Ceil(float64(table.Rows) / float64(max(th.BatchSize, 1)))
		secs = float64(table.Rows)/m.UpdateRowsPerSec + batches*th.BatchPause.Seconds()
		parts = append(parts, fmt.Sprintf("%s rows at ~%s rows/s in %.0f batches of %d with %v pauses", livestats.Count(table.Rows), livestats.Count(int64(m.UpdateRowsPerSec)), batches, th.BatchSize, th.BatchPause))
	case s.Tool != nil:
		// gh-ost and pt-online-schema-change copy the table in chunks, no
		// faster than the server's own copy, slower when they throttle.
		if table == nil {
			return
		}
		secs = float64(table.Bytes) / m.RewriteBytesPerSec
		parts = append(parts, fmt.Sprintf("copies %s of %s at ~%s/s or slower when the tool throttles", livestats.Bytes(table.Bytes), table.Name, livestats.Bytes(int64(m.RewriteBytesPerSec))))
	default:
		for _, op := range ops(s.Forward, engine) {
			for _, w := range works(op, engine) {
				t := live.Table(w.table)
				if t == nil || w.kind == none {
					continue
				}
				heap := float64(t.Bytes - t.IndexBytes)
				var rate, bytes float64
				var verb string
				switch w.kind {
				case rewrite:
					rate, bytes, verb = m.RewriteBytesPerSec, float64(t.Bytes), "rewrites"
				case indexBuild:
					rate, bytes, verb = m.IndexBytesPerSec, heap, "indexes"
				case concurrentIndex:
					rate, bytes, verb = m.ConcurrentIndexBytesPerSec, heap, "indexes concurrently"
				case scan:
					rate, bytes, verb = m.ScanBytesPerSec, heap, "scans"
				}
				secs += bytes / rate
				parts = append(parts, fmt.Sprintf("%s %s of %s at ~%s/s", verb, livestats.Bytes(int64(bytes)), t.Name, livestats.Bytes(int64(rate))))
			}
		}
	}
	if len(parts) == 0 {
		return
	}
	s.Estimate = fmt.Sprintf("%s (a lower-bound estimate: %s; model measured on %s)", duration(secs), strings.Join(parts, ", "), m.Server)
}

// duration says a length of time roughly, as an estimate should.
func duration(secs float64) string {
	d := time.Duration(secs * float64(time.Second))
	switch {
	case d < time.Second:
		return "under a second"
	case d < time.Minute:
		return fmt.Sprintf("about %.0f s", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("about %.0f min", d.Minutes())
	}
	return fmt.Sprintf("about %.1f h", d.Hours())
}

// ops parses a step's SQL with the engine's parser.
func ops(sql string, engine ir.Engine) []ir.Op {
	var out []ir.Op
	src := []byte(sql)
	for _, seg := range split.Split(src, engine).Segments {
		text := string(src[seg.Start:seg.End])
		var o []ir.Op
		var err error
		if engine == ir.MySQL {
			o, err = mysql.Parse(text)
		} else {
			o, err = pg.Parse(text)
		}
		if err == nil {
			out = append(out, o...)
		}
	}
	return out
}

type tableWork struct {
	table ir.QName
	kind  work
}

// works says what an op does to which table, for the model.
func works(op ir.Op, engine ir.Engine) []tableWork {
	switch o := op.(type) {
	case ir.CreateIndex:
		if o.Concurrently {
			return []tableWork{{o.Index.Table, concurrentIndex}}
		}
		return []tableWork{{o.Index.Table, indexBuild}}
	case ir.Rebuild:
		var out []tableWork
		for _, t := range o.Tables {
			out = append(out, tableWork{t, rewrite})
		}
		return out
	case ir.AlterTable:
		if engine == ir.MySQL {
			return mysqlWork(o)
		}
		k := none
		for _, c := range o.Cmds {
			switch c := c.(type) {
			case ir.AlterColumnType:
				k = max(k, rewrite)
			case ir.ValidateConstraint:
				k = max(k, scan)
			case ir.AddConstraint:
				if !c.Constraint.NotValid && c.Constraint.UsingIndex == "" && (c.Constraint.Kind == ir.Check || c.Constraint.Kind == ir.ForeignKey) {
					k = max(k, scan)
				}
			case ir.OtherAlter:
				if c.Kind == "SET LOGGED" || c.Kind == "SET UNLOGGED" {
					k = max(k, rewrite)
				}
			}
		}
		if k == rewrite {
			return []tableWork{{o.Table, rewrite}} // a rewrite also checks what the statement adds
		}
		return []tableWork{{o.Table, k}}
	}
	return nil
}

// mysqlWork reads a MySQL ALTER's algorithm: a plan names it on every
// ALTER it writes. COPY and in-place rebuilds rewrite the table; an
// in-place index add reads it.
func mysqlWork(o ir.AlterTable) []tableWork {
	if o.Algorithm == "INSTANT" {
		return nil
	}
	for _, c := range o.Cmds {
		if _, ok := c.(ir.AddIndex); !ok {
			if o.Algorithm == "COPY" || o.Algorithm == "INPLACE" && rebuilds(c) {
				return []tableWork{{o.Table, rewrite}}
			}
			continue
		}
		return []tableWork{{o.Table, indexBuild}}
	}
	return nil
}

// rebuilds: the in-place changes that rebuild a MySQL table.
func rebuilds(c ir.AlterCmd) bool {
	switch c := c.(type) {
	case ir.ModifyColumn, ir.DropColumn, ir.AddColumn:
		return true
	case ir.OtherAlter:
		return c.Kind == "FORCE" || c.Kind == "ENGINE" || c.Kind == "ROW_FORMAT"
	}
	return false
}
