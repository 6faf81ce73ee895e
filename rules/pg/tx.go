package pg

import (
	"fmt"
	"strings"

	"github.com/fluxlint/fluxlint/analyzers/ir"
	"github.com/fluxlint/fluxlint/analyzers/migrations"
	"github.com/fluxlint/fluxlint/rules"
)

var txLeftOpen = &rules.Rule{
	Code: "PG122", Name: "transaction-left-open", Engine: ir.Postgres, Severity: rules.Error,
	Doc: rules.Doc{
		Title: "BEGIN whose transaction the migration never ends",
		Why: "A migration that opens a transaction with BEGIN (or START TRANSACTION) and never commits it leaves it " +
			"open after its last statement. When the tool's session ends, PostgreSQL rolls it back: every statement " +
			"from the BEGIN on is undone, and for a tool that sends the file as one query (golang-migrate, Prisma) " +
			"every statement before it too, since BEGIN turns that query's implicit transaction into an explicit one. " +
			"The tool may meanwhile record the migration as applied, and until the rollback the transaction holds " +
			"every lock its statements took.",
		Bad:      "BEGIN;\nCREATE TABLE audit_log (id bigint PRIMARY KEY);",
		Good:     "BEGIN;\nCREATE TABLE audit_log (id bigint PRIMARY KEY);\nCOMMIT;\n\nOr no BEGIN at all where the tool runs the file in a transaction of its own.",
		Versions: "All supported versions.",
	},
	Check: func(p *rules.Pass) {
		t, ok := p.Op.(ir.TxControl)
		mode := p.ToolTx()
		if !ok || t.Kind != ir.TxBegin || mode == migrations.TxWrapped || p.TxOpenBefore() {
			return // the tool's COMMIT ends it, or it is nested (PG123)
		}
		if _, ends := txEnd(p); ends {
			return
		}
		session := fmt.Sprintf("%s's session", p.File.Tool)
		if p.File.Tool == migrations.Plain {
			session = "the session that runs the file"
		}
		msg := fmt.Sprintf("BEGIN opens a transaction that this migration never commits: when %s ends, PostgreSQL rolls back every statement after it", session)
		if mode == migrations.TxImplicit {
			msg = fmt.Sprintf("BEGIN opens a transaction that this migration never commits: %s sends the file as one query, so the statements before the BEGIN join that transaction, and when the session ends PostgreSQL rolls back the whole file", p.File.Tool)
		}
		p.Report(msg+"; end the migration with COMMIT", nil).Claims(rules.LeavesOpen())
	},
}

var txNesting = &rules.Rule{
	Code: "PG123", Name: "transaction-nesting", Engine: ir.Postgres, Severity: rules.Warning,
	Doc: rules.Doc{
		Title: "BEGIN inside a transaction, or COMMIT and ROLLBACK that end the tool's transaction or none",
		Why: "PostgreSQL has no nested transactions. A BEGIN while one is open (the one the tool runs the file in, or " +
			"an earlier BEGIN's) is ignored with a WARNING (SQLSTATE 25001), so the first COMMIT ends the outer " +
			"transaction. A COMMIT or ROLLBACK in a file the tool runs in a transaction of its own ends the tool's: " +
			"what came before is committed (or undone) whatever happens later in the file, and the tool's record of " +
			"the migration is no longer atomic with it; after a ROLLBACK the tool records as applied a migration " +
			"whose statements were undone. A COMMIT with no transaction open only warns (25P01): the statements " +
			"before it ran outside any transaction.",
		Bad:      "-- +goose Up\nBEGIN;\nALTER TABLE users ADD COLUMN nickname text;\nCOMMIT;",
		Good:     "-- +goose Up\nALTER TABLE users ADD COLUMN nickname text;\n\nLet the tool own the transaction: no BEGIN or COMMIT in the file (SAVEPOINT for a part that may be undone). For statements that must run outside a transaction, use the tool's switch: -- +goose NO TRANSACTION, transaction:false for dbmate, executeInTransaction=false for Flyway, run_in_transaction = false for diesel.",
		Versions: "All supported versions.",
	},
	Check: func(p *rules.Pass) {
		t, ok := p.Op.(ir.TxControl)
		if !ok {
			return
		}
		mode, open := p.ToolTx(), p.TxOpenBefore()
		wrapped := mode == migrations.TxWrapped
		tool := p.File.Tool
		after := tool.AfterCommit()
		if wrapped && toolTxEnded(p) && after != migrations.Rebegun {
			wrapped = false // the tool's transaction is over: the rest runs as in a file it does not wrap
		}
		switch t.Kind {
		case ir.TxBegin:
			if !open && !wrapped {
				return
			}
			outer := "the transaction that an earlier BEGIN opened"
			if !open {
				outer = fmt.Sprintf("the transaction %s runs this file in", tool)
			}
			msg := fmt.Sprintf("BEGIN inside %s: PostgreSQL ignores it with a WARNING (SQLSTATE 25001)", outer)
			if end, ok := txEnd(p); ok {
				msg += fmt.Sprintf(", so the %s at line %d ends that outer transaction", txWord(end.Op), end.Stmt.Pos.Line)
				if !open {
					msg += fmt.Sprintf(": what comes before it is committed whatever happens later in the file, and %s's record of the migration no longer shares its transaction; drop the file's BEGIN and %s", tool, txWord(end.Op))
				}
			}
			p.Report(msg, nil).Claims(rules.Warns("25001"))
		case ir.TxCommit, ir.TxRollback:
			if open {
				return // it ends the file's own transaction (or, wrapped, the tool's: reported at the BEGIN)
			}
			word := txWord(t)
			if !wrapped {
				p.Report(fmt.Sprintf("%s with no transaction open: PostgreSQL only warns (SQLSTATE 25P01), and the statements before it ran outside any transaction", word), nil).
					Claims(rules.Warns("25P01"))
				return
			}
			parts := []string{fmt.Sprintf("COMMIT ends the transaction %s runs this file in: what comes before it is committed whatever happens later in the file", tool),
				fmt.Sprintf("%s's record of the migration no longer shares its transaction", tool)}
			if t.Kind == ir.TxRollback {
				parts = []string{fmt.Sprintf("ROLLBACK undoes every statement before it in the transaction %s runs this file in", tool),
					fmt.Sprintf("%s still records the migration as applied", tool)}
			}
			if hasNextOp(p) {
				parts = append(parts, map[migrations.AfterCommit]string{
					migrations.Autocommit:  "the statements after it run outside any transaction, each committed on its own",
					migrations.Rebegun:     "the driver opens another transaction for the statements after it",
					migrations.RestOfQuery: fmt.Sprintf("the statements after it run as one implicit transaction (%s sends the file as one query)", tool),
				}[after])
			}
			msg := strings.Join(parts[:len(parts)-1], ", ") + ", and " + parts[len(parts)-1]
			p.Report(msg+"; for statements that must run outside a transaction, use the tool's switch for it instead", nil).Claims(rules.EndsToolTx())
		}
	},
}

var flywayMixed = &rules.Rule{
	Code: "PG125", Name: "flyway-mixed-statements", Engine: ir.Postgres, Severity: rules.Error,
	Doc: rules.Doc{
		Title: "Flyway script that mixes statements it runs outside a transaction with others",
		Why: "Flyway runs a script outside a transaction when every statement in it is one it recognises as " +
			"needing that (CREATE or DROP INDEX CONCURRENTLY, REINDEX SCHEMA, DATABASE or SYSTEM, VACUUM, DISCARD " +
			"ALL, CREATE or DROP DATABASE, TABLESPACE or SUBSCRIPTION, ALTER SYSTEM), and in a transaction " +
			"otherwise. A script with both kinds it refuses before running any of it (\"Detected both " +
			"transactional and non-transactional statements within the same migration (even though mixed is " +
			"false)\"), whatever executeInTransaction says: the deploy fails. With mixed=true it runs the whole " +
			"script outside a transaction instead, so a failure halfway leaves the statements before it applied.",
		Bad:      "-- V7__email_index.sql\nALTER TABLE users ADD COLUMN email_verified boolean;\nCREATE INDEX CONCURRENTLY users_email_idx ON users (email);",
		Good:     "-- V7__email_verified.sql\nALTER TABLE users ADD COLUMN email_verified boolean;\n\n-- V8__email_index.sql (Flyway runs it outside a transaction)\nCREATE INDEX CONCURRENTLY IF NOT EXISTS users_email_idx ON users (email);",
		Versions: "All supported PostgreSQL versions; the patterns are those of Flyway's PostgreSQL parser (flyway-database-postgresql).",
	},
	Check: func(p *rules.Pass) {
		section := 0
		if p.Stmt.Down {
			section = 1
		}
		if p.OpIndex != 0 || p.File.Refused[section] != p.Stmt {
			return
		}
		what := ir.NoTxBlock(p.Op)
		if what == "" {
			what = "this statement" // a subscription's
		}
		msg := fmt.Sprintf("Flyway refuses this script before running any of it: it runs %s outside a transaction, and the script's other statements in one (mixed is false by default)", what)
		plan := outsideTxPlan(p)
		if plan == nil {
			msg += "; move it to a migration of its own"
		}
		p.Report(msg, plan)
	},
}

// toolTxEnded reports whether a COMMIT or ROLLBACK before the pass's op
// ended the transaction the tool runs the section in: in such a section
// the first one does, a BEGIN before it being ignored.
func toolTxEnded(p *rules.Pass) bool {
	return p.Fold("tool-tx-ended", func(acc any, ref rules.OpRef) any {
		if t, ok := ref.Op.(ir.TxControl); ok && (t.Kind == ir.TxCommit || t.Kind == ir.TxRollback) {
			return true
		}
		return acc
	}) != nil
}

// hasNextOp reports whether an op follows the pass's in its section.
func hasNextOp(p *rules.Pass) bool {
	found := false
	p.After(func(rules.OpRef) bool {
		found = true
		return true
	})
	return found
}

// txEnd finds the COMMIT or ROLLBACK that ends the transaction open at the
// pass's op.
func txEnd(p *rules.Pass) (rules.OpRef, bool) {
	var end rules.OpRef
	found := false
	p.After(func(ref rules.OpRef) bool {
		if t, ok := ref.Op.(ir.TxControl); ok && (t.Kind == ir.TxCommit || t.Kind == ir.TxRollback) {
			end, found = ref, true
		}
		return found
	})
	return end, found
}

func txWord(op ir.Op) string {
	if t, ok := op.(ir.TxControl); ok && t.Kind == ir.TxRollback {
		return "ROLLBACK"
	}
	return "COMMIT"
}
