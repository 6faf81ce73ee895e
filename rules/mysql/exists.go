package mysql

import (
	"fmt"
	"strings"

	"github.com/fluxlint/fluxlint/analyzers/catalog"
	"github.com/fluxlint/fluxlint/analyzers/ir"
	"github.com/fluxlint/fluxlint/rules"
)

// alreadyExists reports creating what the migrations before created: a
// table (error 1050), a column the table has or one added twice (1060), an
// index name the table has (1061), where the schema before is known
// (Pass.KnownBefore). MySQL compares column and index names without
// regard to case.
func alreadyExists(p *rules.Pass) {
	if !p.KnownBefore() {
		return
	}
	switch op := p.Op.(type) {
	case ir.CreateTable:
		if p.Recreates(op) != nil {
			p.Report(fmt.Sprintf("CREATE TABLE %s fails on the server with error 1050: the table exists already, created before this statement; add IF NOT EXISTS only if the existing one is the same table", tableLabel(op.Table)), nil).
				Claims(&rules.Claim{Table: op.Table, Fails: "1050"})
			return
		}
		seen := map[string]bool{}
		for _, c := range op.Columns {
			if k := strings.ToLower(c.Name); seen[k] {
				p.Report(fmt.Sprintf("CREATE TABLE %s fails on the server with error 1060: column %q is declared twice", tableLabel(op.Table), c.Name), nil).
					Claims(&rules.Claim{Table: op.Table, Fails: "1060"})
				return
			} else {
				seen[k] = true
			}
		}
	case ir.AlterTable:
		t := p.Catalog.Table(op.Table)
		if t != nil && t.Temp {
			return
		}
		dropped, added := map[string]bool{}, map[string]bool{}
		for _, cmd := range op.Cmds {
			switch c := cmd.(type) {
			case ir.DropColumn:
				dropped[strings.ToLower(c.Column)] = true
				delete(added, strings.ToLower(c.Column))
			case ir.DropIndex:
				dropped["index "+strings.ToLower(c.Name)] = true
			case ir.AddColumn:
				k := strings.ToLower(c.Column.Name)
				if c.IfNotExists {
					continue
				}
				if added[k] || t != nil && hasColumn(t, k) && !dropped[k] {
					p.Report(fmt.Sprintf("ADD COLUMN %q on %s fails on the server with error 1060: the table has the column already", c.Column.Name, tableLabel(op.Table)), nil).
						Claims(&rules.Claim{Table: op.Table, Fails: "1060"})
					return
				}
				added[k] = true
			case ir.AddIndex:
				name := c.Index.Name
				if name == "" || c.IfNotExists || t == nil || dropped["index "+strings.ToLower(name)] {
					continue
				}
				if hasIndex(p.Catalog, op.Table, name) {
					p.Report(fmt.Sprintf("adding index %q to %s fails on the server with error 1061: the table has an index of that name already", name, tableLabel(op.Table)), nil).
						Claims(&rules.Claim{Table: op.Table, Fails: "1061"})
					return
				}
			}
		}
	}
}

func hasColumn(t *catalog.Table, lower string) bool {
	for _, c := range t.Columns {
		if strings.ToLower(c.Name) == lower {
			return true
		}
	}
	return false
}

func hasIndex(c *catalog.Catalog, table ir.QName, name string) bool {
	for _, i := range c.IndexesOn(table) {
		if strings.EqualFold(i.Def.Name, name) {
			return true
		}
	}
	return false
}
