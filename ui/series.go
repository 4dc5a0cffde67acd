package ui

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"

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
	runs := list(r, "runs")
	ss, err := srv.series.get(r.Context(), srv.store, storage.SeriesQuery{Name: name, Runs: runs, X: x, MaxPoints: max})
	if err != nil {
		return nil, err
	}
	out := &chartJSON{Name: name, X: x, Series: ss}
	return out, nil
}

func toSeriesJSON(s storage.Series) seriesJSON {
	sj := seriesJSON{Run: s.Run, X: s.X, Y: s.Y, N: s.N}
	if sj.X == nil {
		sj.X, sj.Y = []float64{}, []float64{}
	}
	for j, rp := range s.Replayed {
		if rp {
			sj.Replayed = append(sj.Replayed, j)
		}
	}
	return sj
}

// seriesCache keeps downsampled series while the store is unchanged
// (storage.Store.Generation): reading a long series means scanning all
// of its values, and the page asks again for the same ones whenever a
// chart is redrawn (smoothing, log scale, grouping, live updates).
type seriesCache struct {
	mu  sync.Mutex
	gen int64
	m   map[seriesKey]seriesJSON
}

type seriesKey struct {
	name, run, x string
	max          int
}

// maxCached bounds the series kept (each at most MaxPoints points).
const maxCached = 256

// get returns q's series, reading from the store only those of runs not
// cached since the store last changed.
func (c *seriesCache) get(ctx context.Context, s *storage.Store, q storage.SeriesQuery) ([]seriesJSON, error) {
	if _, err := s.Ingest(ctx); err != nil {
		return nil, err
	}
	gen := s.Generation()
	out := make([]seriesJSON, len(q.Runs))
	key := func(run string) seriesKey { return seriesKey{q.Name, run, q.X, q.MaxPoints} }
	var missing []string
	var at []int
	c.mu.Lock()
	if c.gen != gen || len(c.m) > maxCached {
		c.gen, c.m = gen, map[seriesKey]seriesJSON{}
	}
	for i, run := range q.Runs {
		if sj, ok := c.m[key(run)]; ok {
			out[i] = sj
		} else {
			missing, at = append(missing, run), append(at, i)
		}
	}
	c.mu.Unlock()
	if len(missing) == 0 {
		return out, nil
	}
	q.Runs = missing
	ss, err := s.Series(storage.Ingested(ctx), q)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for j, sr := range ss {
		out[at[j]] = toSeriesJSON(sr)
		if c.gen == gen && s.Generation() == gen {
			c.m[key(sr.Run)] = out[at[j]]
		}
	}
	return out, nil
}
