package reader

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/flordb/flor/storage"
)

// Latest is FlorDB's utils.latest: for each key — every column of f but
// tstamp and the names' own, so the project, the program and the loop
// columns (document, document_value, page, ...) — one row holding, for
// each name, the value of the newest run that logged it there. A human's
// correction saved after featurizing (a new run) then wins over the older
// value, while names the newer run did not log keep the older run's.
// The row's tstamp is the newest run that gave it a value; rows keep f's
// order (by that tstamp, then the loops). names are f's value columns
// (none: every column but projid, tstamp and filename, as in the frame of
// no names). Rows with no value of any name are left out.
func Latest(f *storage.Frame, names ...string) *storage.Frame {
	out := &storage.Frame{Columns: f.Columns, Notes: f.Notes}
	tcol := f.Col("tstamp")
	isName := make([]bool, len(f.Columns))
	for i, c := range f.Columns {
		switch {
		case len(names) == 0:
			isName[i] = c.Name != "projid" && c.Name != "tstamp" && c.Name != "filename"
		default:
			isName[i] = slices.Contains(names, c.Name)
		}
	}
	type group struct {
		row []any
	}
	index := map[string]int{}
	var groups []*group
	var key []byte
	for i := len(f.Rows) - 1; i >= 0; i-- {
		row := f.Rows[i]
		has := false
		key = key[:0]
		for c, v := range row {
			if isName[c] {
				has = has || v != nil
			} else if c != tcol {
				key = appendKey(key, v)
			}
		}
		if !has {
			continue
		}
		gi, ok := index[string(key)]
		if !ok {
			g := &group{row: slices.Clone(row)}
			index[string(key)] = len(groups)
			groups = append(groups, g)
			continue
		}
		g := groups[gi]
		for c, v := range row {
			if isName[c] && g.row[c] == nil && v != nil {
				g.row[c] = v // an older run's value of a name the newer did not log
			}
		}
	}
	out.Rows = make([][]any, len(groups))
	for i, g := range groups {
		out.Rows[len(groups)-1-i] = g.row // newest first → f's order
	}
	return out
}

// appendKey appends v to a group key, tagged by type so that 1 and "1"
// differ.
func appendKey(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, 'n', 0)
	case int64:
		return append(strconv.AppendInt(append(b, 'i'), x, 10), 0)
	case float64:
		return append(strconv.AppendUint(append(b, 'f'), math.Float64bits(x), 16), 0)
	case string:
		b = strconv.AppendInt(append(b, 's'), int64(len(x)), 10)
		return append(append(b, ':'), x...)
	case bool:
		if x {
			return append(b, 'T', 0)
		}
		return append(b, 'F', 0)
	case time.Time:
		return append(strconv.AppendInt(append(b, 't'), x.UnixNano(), 10), 0)
	default:
		s := fmt.Sprint(x)
		b = strconv.AppendInt(append(b, 'x'), int64(len(s)), 10)
		return append(append(b, ':'), s...)
	}
}
