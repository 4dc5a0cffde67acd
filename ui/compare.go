package ui

import (
	"fmt"
	"net/http"
	"slices"

	"github.com/flordb/flor/storage"
)

type kwargDiff struct {
	Name    string `json:"name"`
	A       string `json:"a"`
	B       string `json:"b"`
	HasA    bool   `json:"hasA"`
	HasB    bool   `json:"hasB"`
	Changed bool   `json:"changed"`
}

type compareJSON struct {
	A      runJSON     `json:"a"`
	B      runJSON     `json:"b"`
	Kwargs []kwargDiff `json:"kwargs"`
	// Names both runs logged in loops: the overlays to draw.
	Common    []string `json:"common"`
	Diff      string   `json:"diff"`
	DiffError string   `json:"diffError,omitempty"`
}

// handleCompare serves the comparison of runs a and b: kwargs side by
// side, the series both logged, and the code diff of their snapshots.
func (srv *Server) handleCompare(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	da, err := srv.store.RunDetail(r.Context(), q.Get("a"))
	if err != nil {
		fail(w, err)
		return
	}
	db, err := srv.store.RunDetail(r.Context(), q.Get("b"))
	if err != nil {
		fail(w, err)
		return
	}
	out := compareJSON{A: toRunJSON(da.Run), B: toRunJSON(db.Run), Kwargs: []kwargDiff{}, Common: []string{}}
	keys := []string{}
	for k := range da.Kwargs {
		keys = append(keys, k)
	}
	for k := range db.Kwargs {
		if _, ok := da.Kwargs[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		a, okA := da.Kwargs[k]
		b, okB := db.Kwargs[k]
		out.Kwargs = append(out.Kwargs, kwargDiff{k, a, b, okA, okB, a != b || okA != okB})
	}
	out.Common = commonSeries(da, db)
	switch {
	case da.Snapshot == "" || db.Snapshot == "":
		out.DiffError = "a run has no snapshot"
	case da.Snapshot == db.Snapshot:
		// Same code: an empty diff says so.
	default:
		d, err := srv.codeDiff(da.Snapshot, db.Snapshot)
		if err != nil {
			out.DiffError = fmt.Sprint(err)
		}
		out.Diff = d
	}
	writeJSON(w, out)
}

func commonSeries(a, b *storage.RunDetail) []string {
	inA := map[string]bool{}
	for _, v := range a.Values {
		if v.InLoop {
			inA[v.Name] = true
		}
	}
	out := []string{}
	for _, v := range b.Values {
		if v.InLoop && inA[v.Name] {
			if _, num := v.Value.(float64); num || isInt(v.Value) {
				out = append(out, v.Name)
			}
		}
	}
	return out
}

func isInt(v any) bool { _, ok := v.(int64); return ok }
