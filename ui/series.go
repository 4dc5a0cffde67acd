package ui

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/flordb/flor/storage"
)

type seriesJSON struct {
	Run string    `json:"run"`
	X   []float64 `json:"x"`
	Y   []float64 `json:"y"`
	N   int64     `json:"n"` // points before downsampling
	// Replayed lists the indexes of points that come from a replay.
	Replayed []int `json:"replayed,omitempty"`
}

type chartJSON struct {
	Name   string       `json:"name"`
	X      string       `json:"x"`
	Series []seriesJSON `json:"series"`
}

// handleSeries serves one name's values in the chosen runs, each series
// downsampled on the server to about MaxPoints points keeping each
// bucket's minimum and maximum.
func (srv *Server) handleSeries(w http.ResponseWriter, r *http.Request) {
	c, err := srv.chart(r)
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, c)
}

func (srv *Server) chart(r *http.Request) (*chartJSON, error) {
	q := r.URL.Query()
	name := q.Get("name")
	if name == "" {
		return nil, fmt.Errorf("%w: series needs a name", errBadRequest)
	}
	max := srv.opts.MaxPoints
	if m := q.Get("max"); m != "" {
		n, err := strconv.Atoi(m)
		if err != nil || n < 2 || n > 100000 {
			return nil, fmt.Errorf("%w: max %q: want 2..100000", errBadRequest, m)
		}
		max = n
	}
	x := q.Get("x")
	if x == "" {
		x = storage.XGlobal
	}
	ss, err := srv.store.Series(r.Context(), storage.SeriesQuery{Name: name, Runs: list(r, "runs"), X: x, MaxPoints: max})
	if err != nil {
		return nil, err
	}
	out := &chartJSON{Name: name, X: x, Series: make([]seriesJSON, len(ss))}
	for i, s := range ss {
		sj := seriesJSON{Run: s.Run, X: s.X, Y: s.Y, N: s.N}
		if sj.X == nil {
			sj.X, sj.Y = []float64{}, []float64{}
		}
		for j, rp := range s.Replayed {
			if rp {
				sj.Replayed = append(sj.Replayed, j)
			}
		}
		out.Series[i] = sj
	}
	return out, nil
}
