package ui

import (
	"fmt"
	"net/http"
	"time"

	"github.com/flordb/flor/storage"
)

// maxSQLRows bounds the rows the console shows (the export has them all).
const maxSQLRows = 10000

type sqlJSON struct {
	Columns   []string `json:"columns"`
	Types     []string `json:"types"`
	Rows      [][]any  `json:"rows"`
	Truncated bool     `json:"truncated,omitempty"`
}

// handleSQL runs q through Store.Query, which cannot change the store,
// and serves the result as JSON, or with format=csv|json as a download.
func (srv *Server) handleSQL(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query().Get("q")
	if q == "" {
		fail(w, fmt.Errorf("%w: sql needs q", errBadRequest))
		return
	}
	f, err := srv.store.Query(r.Context(), q)
	if err != nil {
		fail(w, err)
		return
	}
	switch r.URL.Query().Get("format") {
	case "csv", "json":
		format := r.URL.Query().Get("format")
		w.Header().Set("Content-Disposition", `attachment; filename="flor-query.`+format+`"`)
		if format == "csv" {
			w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		} else {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
		}
		f.Write(w, format, storage.TableOptions{})
		return
	}
	out := sqlJSON{Columns: []string{}, Types: []string{}, Rows: [][]any{}}
	for _, c := range f.Columns {
		out.Columns = append(out.Columns, c.Name)
		out.Types = append(out.Types, c.Type)
	}
	for i, row := range f.Rows {
		if i == maxSQLRows {
			out.Truncated = true
			break
		}
		jr := make([]any, len(row))
		for j, v := range row {
			jr[j] = cellJSON(v)
		}
		out.Rows = append(out.Rows, jr)
	}
	writeJSON(w, out)
}

// cellJSON makes a query value JSON-safe: times as text, bytes as text,
// NaN as text.
func cellJSON(v any) any {
	switch x := v.(type) {
	case time.Time:
		return x.UTC().Format(tsLayout)
	case []byte:
		return string(x)
	case float64:
		return jsonValue(x)
	case nil, bool, int64, string:
		return x
	}
	return fmt.Sprint(v)
}
