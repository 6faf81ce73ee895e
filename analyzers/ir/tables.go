package ir

// TablesOf lists the tables (and views) an op names, the one it acts on
// first.
func TablesOf(op Op) []QName {
	switch o := op.(type) {
	case AlterTable:
		names := []QName{o.Table}
		for _, c := range o.Cmds {
			if r, ok := c.(RenameTable); ok {
				names = append(names, QName{Schema: o.Table.Schema, Name: r.New}) // what takes its name
			}
		}
		return names
	case CreateTable:
		return []QName{o.Table}
	case CreateIndex:
		return []QName{o.Index.Table}
	case CreateView:
		return []QName{o.Name}
	case Drop:
		return o.Names
	case Truncate:
		return o.Tables
	case Write:
		return []QName{o.Table}
	}
	return nil
}
