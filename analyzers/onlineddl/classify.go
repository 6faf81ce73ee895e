package onlineddl

import (
	"slices"
	"strings"

	"github.com/fluxlint/fluxlint/analyzers/catalog"
	"github.com/fluxlint/fluxlint/analyzers/ir"
)

// Classify lists the changes an ALTER TABLE makes to an existing table, as
// the server tells them apart, reading the table's current definition from
// the catalog. fkChecksOff says foreign_key_checks is off for the
// statement. ok is false when a change cannot be told apart (a column or
// constraint the catalog does not know, a subcommand fluxlint does not
// model): there is no verdict then. A table the replay does not know fully
// still gets a verdict for the changes that do not depend on its columns.
func Classify(c *catalog.Catalog, op ir.AlterTable, fkChecksOff bool) (changes []Change, ok bool) {
	t := c.Table(op.Table)
	if t == nil {
		t = &catalog.Table{Name: op.Table, Unknown: true}
	}
	last := ""
	if n := len(t.Columns); n > 0 {
		last = t.Columns[n-1].Name
	}
	addsPK := slices.ContainsFunc(op.Cmds, func(cmd ir.AlterCmd) bool {
		a, is := cmd.(ir.AddConstraint)
		return is && a.Constraint.Kind == ir.PrimaryKey
	})
	dropsPK := slices.ContainsFunc(op.Cmds, func(cmd ir.AlterCmd) bool {
		d, is := cmd.(ir.DropConstraint)
		return is && strings.EqualFold(d.Name, "PRIMARY")
	})
	add := func(ch Change) { changes = append(changes, ch) }
	for _, cmd := range op.Cmds {
		switch x := cmd.(type) {
		case ir.AddColumn:
			col := x.Column
			switch {
			case col.AutoIncrement:
				add(AddColumnAutoInc)
			case col.Generated != nil && col.Virtual:
				add(AddColumnVirtual)
			case col.Generated != nil:
				add(AddColumnStored)
			case col.Default != nil && col.Default.Volatility == ir.VolatilityUnknown:
				add(AddColumnExprDefault)
			case x.Position.First || x.Position.After != "" && (t.Unknown || !strings.EqualFold(x.Position.After, last)):
				add(AddColumnPlaced)
			default:
				add(AddColumn)
			}
			if !x.Position.First && (x.Position.After == "" || strings.EqualFold(x.Position.After, last)) {
				last = col.Name
			}
		case ir.DropColumn:
			add(DropColumn)
		case ir.RenameColumn:
			add(RenameColumn)
		case ir.SetDefault:
			add(SetDefault)
		case ir.ModifyColumn:
			old := x.From()
			from := t.Column(old)
			if from == nil {
				return nil, false
			}
			if !strings.EqualFold(old, x.Column.Name) {
				add(RenameColumn)
			}
			if x.Position.First || x.Position.After != "" {
				add(ReorderColumn)
			}
			changes = append(changes, modify(t, from, x.Column)...)
		case ir.AddIndex:
			switch x.Index.Method {
			case "fulltext":
				add(AddFulltext)
			case "spatial":
				add(AddSpatial)
			default:
				add(AddIndex)
			}
		case ir.AddConstraint:
			switch k := x.Constraint; k.Kind {
			case ir.PrimaryKey:
				if dropsPK {
					add(ReplacePrimaryKey)
				} else {
					add(AddPrimaryKey)
				}
			case ir.Unique:
				add(AddIndex)
			case ir.ForeignKey:
				switch {
				case !fkChecksOff:
					add(AddForeignKey)
				case indexed(c, op.Table, k.Columns):
					add(AddForeignKeyIndexed)
				default:
					add(AddForeignKeyNoChecks)
				}
			case ir.Check:
				add(AddCheck)
			default:
				return nil, false
			}
		case ir.DropConstraint:
			if strings.EqualFold(x.Name, "PRIMARY") {
				if !addsPK {
					add(DropPrimaryKey)
				}
				continue
			}
			k := t.Constraint(x.Name)
			switch {
			case k == nil && c.IndexOn(op.Table, x.Name) != nil:
				add(DropIndex)
			case k == nil:
				return nil, false
			case k.Kind == ir.ForeignKey:
				add(DropForeignKey)
			case k.Kind == ir.Check:
				add(DropCheck)
			default:
				add(DropIndex)
			}
		case ir.DropIndex:
			add(DropIndex)
		case ir.RenameIndexOn:
			add(RenameIndex)
		case ir.RenameTable, ir.SetSchema:
			add(RenameTable)
		case ir.OtherAlter:
			ch, known := other(x.Kind)
			if !known {
				return nil, false
			}
			add(ch)
		default:
			return nil, false
		}
	}
	return changes, true
}

// other classifies the subcommands the IR keeps by name.
func other(kind string) (Change, bool) {
	switch kind {
	case "FORCE", "table option ENGINE", "OPTIMIZE":
		return Rebuild, true
	case "CONVERT TO CHARACTER SET":
		return ConvertCharset, true
	case "table option ROW_FORMAT", "table option KEY_BLOCK_SIZE":
		return RowFormat, true
	case "table option COMMENT", "table option AUTO_INCREMENT", "table option CHARSET", "table option CHARACTER SET",
		"table option DEFAULT CHARSET", "table option COLLATE", "table option DEFAULT COLLATE":
		return TableOption, true
	}
	return "", false
}

// modify classifies MODIFY or CHANGE of a column from its current
// definition to def.
func modify(t *catalog.Table, from *catalog.Column, def ir.ColumnDef) []Change {
	var out []Change
	a, b := from.Type, def.Type
	charsetOf := func(typ ir.Type) string {
		if typ.Charset != "" {
			return strings.ToLower(typ.Charset)
		}
		return strings.ToLower(t.Charset)
	}
	switch {
	case def.AutoIncrement != from.AutoIncrement, (def.Generated == nil) != (from.Generated == nil),
		def.Generated != nil && from.Generated != nil && def.Generated.SQL != from.Generated.SQL:
		return []Change{ChangeType}
	case charsetOf(a) != charsetOf(b) || !strings.EqualFold(from.Collation, def.Collation) && def.Collation != "":
		return []Change{ChangeType}
	case a.SQL == b.SQL:
	case a.Name == b.Name && (a.Name == "varchar" || a.Name == "varbinary") && len(a.Mods) == 1 && len(b.Mods) == 1 && b.Mods[0] > a.Mods[0]:
		per := 1
		if a.Name == "varchar" {
			per = BytesPerChar(charsetOf(a))
		}
		switch from, to := a.Mods[0]*per, b.Mods[0]*per; {
		case from > 255 || to <= 255:
			out = append(out, ExtendVarchar)
		case t.RowFormat == "redundant":
			out = append(out, ExtendVarcharRedundant)
		case from <= 127:
			out = append(out, ExtendVarcharShort)
		default:
			out = append(out, ExtendVarcharBoundary)
		}
	case a.Name == b.Name && (a.Name == "enum" || a.Name == "set") && len(b.Values) > len(a.Values) &&
		slices.Equal(a.Values, b.Values[:len(a.Values)]) && !storageGrows(a, b):
		out = append(out, EnumAppend)
	default:
		return []Change{ChangeType}
	}
	switch {
	case def.NotNull && !from.NotNull:
		out = append(out, SetNotNull)
	case !def.NotNull && from.NotNull:
		out = append(out, DropNotNull)
	}
	if !sameDefault(from.Default, def.Default) {
		out = append(out, SetDefault)
	}
	return out
}

// storageGrows reports whether appending values needs more bytes per row:
// an ENUM past 255 values, a SET past a multiple of 8 members.
func storageGrows(a, b ir.Type) bool {
	if a.Name == "enum" {
		return len(a.Values) <= 255 && len(b.Values) > 255
	}
	return (len(a.Values)+7)/8 != (len(b.Values)+7)/8
}

func sameDefault(a, b *ir.Expr) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.SQL == b.SQL
}

// BytesPerChar is the most bytes a character of the charset takes; an
// unknown or unset charset counts as utf8mb4, MySQL 8.0's default and the
// widest.
func BytesPerChar(charset string) int {
	switch strings.ToLower(charset) {
	case "latin1", "latin2", "latin5", "latin7", "ascii", "binary", "cp1250", "cp1251", "cp1256", "cp1257", "cp850", "cp852", "cp866",
		"dec8", "greek", "hebrew", "hp8", "keybcs2", "koi8r", "koi8u", "macce", "macroman", "swe7", "tis620", "armscii8", "geostd8":
		return 1
	case "ucs2":
		return 2
	case "utf8", "utf8mb3":
		return 3
	}
	return 4
}

// indexed reports whether an index of the table starts with the columns.
func indexed(c *catalog.Catalog, table ir.QName, cols []string) bool {
	return slices.ContainsFunc(c.IndexesOn(table), func(i *catalog.Index) bool {
		return len(i.Def.Columns) >= len(cols) && slices.EqualFunc(i.Def.Columns[:len(cols)], cols, strings.EqualFold)
	})
}
