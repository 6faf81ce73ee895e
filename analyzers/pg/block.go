package pg

import (
	pgq "github.com/pganalyze/pg_query_go/v6"
)

// RunsInBlock reports whether every statement of sql can run as it is
// inside a PL/pgSQL block (a DO block with an exception handler, which is
// a subtransaction): no transaction control, nothing that refuses a
// transaction block (CONCURRENTLY, VACUUM, databases, tablespaces, ALTER
// SYSTEM), and no statement that returns rows (PL/pgSQL rejects a SELECT
// or RETURNING without a destination).
func RunsInBlock(sql string) bool {
	tree, err := pgq.Parse(sql)
	if err != nil || len(tree.Stmts) == 0 {
		return false
	}
	for _, raw := range tree.Stmts {
		n := raw.Stmt
		switch {
		case n.GetTransactionStmt() != nil, n.GetVacuumStmt() != nil, n.GetSelectStmt() != nil,
			n.GetExplainStmt() != nil, n.GetCopyStmt() != nil, n.GetCreatedbStmt() != nil,
			n.GetDropdbStmt() != nil, n.GetAlterSystemStmt() != nil, n.GetCreateTableSpaceStmt() != nil,
			n.GetDropTableSpaceStmt() != nil, n.GetCallStmt() != nil, n.GetVariableShowStmt() != nil:
			return false
		case n.GetIndexStmt() != nil && n.GetIndexStmt().Concurrent,
			n.GetDropStmt() != nil && n.GetDropStmt().Concurrent,
			n.GetReindexStmt() != nil && hasOption(n.GetReindexStmt().Params, "concurrently"):
			return false
		case n.GetInsertStmt() != nil && len(n.GetInsertStmt().ReturningList) > 0,
			n.GetUpdateStmt() != nil && len(n.GetUpdateStmt().ReturningList) > 0,
			n.GetDeleteStmt() != nil && len(n.GetDeleteStmt().ReturningList) > 0:
			return false
		}
		if at := n.GetAlterTableStmt(); at != nil {
			for _, c := range at.Cmds {
				if pc := c.GetAlterTableCmd().GetDef().GetPartitionCmd(); pc != nil && pc.Concurrent {
					return false
				}
			}
		}
	}
	return true
}

// AlterSubset renders the ALTER TABLE statement text with only the
// subcommands at the indexes keep (in the order written), for a plan that
// replaces one subcommand and must keep the others. ok is false when the
// text is not one ALTER TABLE of n subcommands.
func AlterSubset(text string, n int, keep []int) (string, bool) {
	tree, err := pgq.Parse(text)
	if err != nil || len(tree.Stmts) != 1 {
		return "", false
	}
	at := tree.Stmts[0].Stmt.GetAlterTableStmt()
	if at == nil || len(at.Cmds) != n || len(keep) == 0 {
		return "", false
	}
	var cmds []*pgq.Node
	for _, i := range keep {
		if i < 0 || i >= n {
			return "", false
		}
		cmds = append(cmds, at.Cmds[i])
	}
	at.Cmds = cmds
	out, err := pgq.Deparse(&pgq.ParseResult{Version: tree.Version, Stmts: []*pgq.RawStmt{{Stmt: tree.Stmts[0].Stmt}}})
	if err != nil {
		return "", false
	}
	return out + ";", true
}
