package storage

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// DataframeLatest is DataframeWhere keeping, per name, only the newest
// run's value for each key: FlorDB's utils.latest, computed in the
// database so that only the result leaves it. The key is every column but
// tstamp and the names': projid, filename and the loop columns. A row
// holds, for each name, the value of the newest run that logged it under
// that key (NULL when none did); its tstamp is the newest of those runs.
// Rows with no value of any name are left out; rows are ordered by
// tstamp, then the key.
func (s *Store) DataframeLatest(ctx context.Context, where string, names ...string) (*Frame, error) {
	if _, err := s.Ingest(ctx); err != nil {
		return nil, err
	}
	p, err := s.planFrame(ctx, names)
	if err != nil {
		return nil, err
	}
	cols := p.columns()
	filter := ""
	if strings.TrimSpace(where) != "" {
		we, err := s.parseWhere(ctx, where)
		if err != nil {
			return nil, err
		}
		for _, c := range we.cols {
			if !slices.ContainsFunc(cols, func(col Column) bool { return col.Name == c }) {
				return nil, fmt.Errorf("where %q: %w %q: not a column of this dataframe; name the value too", where, ErrUnknownColumn, c)
			}
		}
		filter = ` WHERE ` + we.text
	}
	if len(p.names) == 0 && !p.loopFree {
		return &Frame{Columns: cols, Notes: p.notes}, nil
	}
	p.unordered = true
	nk := 0
	for _, key := range p.keys {
		nk++
		if key.hasValue {
			nk++
		}
	}
	keys := []string{"projid", "filename"}
	for _, c := range cols[3 : 3+nk] {
		keys = append(keys, quoteIdent(c.Name))
	}
	var sel, any []string
	sel = append(sel, "projid", "max(tstamp) AS tstamp", "filename")
	sel = append(sel, keys[2:]...)
	for _, c := range cols[3+nk:] {
		q := quoteIdent(c.Name)
		sel = append(sel, fmt.Sprintf("arg_max(%s, tstamp) FILTER (WHERE %s IS NOT NULL) AS %s", q, q, q))
		any = append(any, q+" IS NOT NULL")
	}
	order := []string{"tstamp", "projid", "filename"}
	for _, k := range keys[2:] {
		order = append(order, k+" NULLS FIRST")
	}
	q := `SELECT ` + strings.Join(sel, ", ") + ` FROM (SELECT * FROM (` + p.namedSQL() + `)` + filter + `) b WHERE ` +
		strings.Join(any, " OR ") + ` GROUP BY ` + strings.Join(keys, ", ") + ` ORDER BY ` + strings.Join(order, ", ")
	rows, err := s.db.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("latest %q where %q: %w", names, where, sqlError(err))
	}
	defer rows.Close()
	f, err := scanFrame(rows)
	if err != nil {
		return nil, fmt.Errorf("latest %q where %q: %w", names, where, sqlError(err))
	}
	f.Columns, f.Notes = cols, p.notes
	return f, nil
}
