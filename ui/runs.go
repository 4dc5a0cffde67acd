package ui

import (
	"encoding/csv"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/flordb/flor/storage"
)

// summaryJSON is a storage.Summary as the page reads it: no NaN in JSON.
type summaryJSON struct {
	N        int64    `json:"n"`
	Last     any      `json:"last"`
	Min      *float64 `json:"min"`
	Max      *float64 `json:"max"`
	Replayed bool     `json:"replayed,omitempty"`
}

// runJSON is one row of the runs table.
type runJSON struct {
	ID       string                 `json:"id"`
	Projid   string                 `json:"projid"`
	Tstamp   string                 `json:"tstamp"`
	Filename string                 `json:"filename"`
	Snapshot string                 `json:"snapshot"`
	Status   string                 `json:"status"`
	Ended    string                 `json:"ended,omitempty"`
	Kwargs   map[string]string      `json:"kwargs"`
	Metrics  map[string]summaryJSON `json:"metrics,omitempty"`
}

// runsJSON is the runs table: its kwargs columns and metric names, in order.
type runsJSON struct {
	Kwargs  []string  `json:"kwargs"`
	Metrics []string  `json:"metrics"`
	Runs    []runJSON `json:"runs"`

	once    sync.Once // encodes it once, as cached tables are served again
	encoded []byte
}

const tsLayout = storage.TimeFormat

func finite(f float64) *float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil
	}
	return &f
}

// jsonValue keeps NaN and infinities out of JSON, as the run files do.
func jsonValue(v any) any {
	if f, ok := v.(float64); ok && finite(f) == nil {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return v
}

func toRunJSON(r storage.Run) runJSON {
	out := runJSON{ID: r.ID(), Projid: r.Projid, Tstamp: r.Tstamp.UTC().Format(tsLayout), Filename: r.Filename,
		Snapshot: r.Snapshot, Status: r.Status, Kwargs: r.Kwargs}
	if !r.Ended.IsZero() {
		out.Ended = r.Ended.UTC().Format(time.RFC3339)
	}
	if out.Kwargs == nil {
		out.Kwargs = map[string]string{}
	}
	return out
}

// runsCache keeps the last runs tables while the store is unchanged
// (storage.Store.Generation): over thousands of runs a table costs
// a scan of their values, and the page asks again every few seconds.
type runsCache struct {
	mu  sync.Mutex
	gen int64
	m   map[string]*runsJSON // by filter and metrics
}

// runsTable builds the table the runs page shows, or returns it from
// the cache. Callers must not change it.
func (srv *Server) runsTable(r *http.Request) (*runsJSON, error) {
	if _, err := srv.store.Ingest(r.Context()); err != nil {
		return nil, err
	}
	gen := srv.store.Generation()
	key := r.URL.Query().Get("where") + "\x00" + strings.Join(list(r, "metrics"), ",")
	c := &srv.runs
	c.mu.Lock()
	if c.gen != gen || len(c.m) > 16 {
		c.gen, c.m = gen, map[string]*runsJSON{}
	}
	t := c.m[key]
	c.mu.Unlock()
	if t != nil {
		return t, nil
	}
	t, err := srv.buildRunsTable(r)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.gen == gen && srv.store.Generation() == gen {
		c.m[key] = t
	}
	c.mu.Unlock()
	return t, nil
}

func (srv *Server) buildRunsTable(r *http.Request) (*runsJSON, error) {
	metrics := list(r, "metrics")
	// runsTable has just ingested.
	rows, err := srv.store.RunTable(storage.Ingested(r.Context()), r.URL.Query().Get("where"), metrics)
	if err != nil {
		return nil, err
	}
	out := &runsJSON{Metrics: metrics, Kwargs: []string{}, Runs: make([]runJSON, len(rows))}
	if out.Metrics == nil {
		out.Metrics = []string{}
	}
	seen := map[string]bool{}
	for i, row := range rows {
		rj := toRunJSON(row.Run)
		for k := range row.Kwargs {
			if !seen[k] {
				seen[k] = true
				out.Kwargs = append(out.Kwargs, k)
			}
		}
		if len(row.Summaries) > 0 {
			rj.Metrics = make(map[string]summaryJSON, len(row.Summaries))
			for n, s := range row.Summaries {
				rj.Metrics[n] = summaryJSON{N: s.N, Last: jsonValue(s.Last), Min: finite(s.Min), Max: finite(s.Max), Replayed: s.Replayed}
			}
		}
		out.Runs[i] = rj
	}
	slices.Sort(out.Kwargs)
	return out, nil
}

// handleRuns serves the runs table as JSON, or with format=csv|json as a
// download of the same table.
func (srv *Server) handleRuns(w http.ResponseWriter, r *http.Request) {
	t, err := srv.runsTable(r)
	if err != nil {
		fail(w, err)
		return
	}
	switch r.URL.Query().Get("format") {
	case "csv":
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="flor-runs.csv"`)
		writeRunsCSV(w, t)
	case "json":
		w.Header().Set("Content-Disposition", `attachment; filename="flor-runs.json"`)
		writeJSON(w, t.Runs)
	default:
		// The page's own request: the encoded table is kept with it.
		t.once.Do(func() {
			t.encoded = append(t.appendJSON(make([]byte, 0, 256*len(t.Runs)+64)), '\n')
		})
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Write(t.encoded)
	}
}

func writeRunsCSV(w http.ResponseWriter, t *runsJSON) {
	cw := csv.NewWriter(w)
	head := []string{"id", "tstamp", "projid", "filename", "snapshot", "status"}
	head = append(head, t.Kwargs...)
	for _, m := range t.Metrics {
		head = append(head, m+".last", m+".min", m+".max")
	}
	cw.Write(head)
	num := func(f *float64) string {
		if f == nil {
			return ""
		}
		return strconv.FormatFloat(*f, 'g', -1, 64)
	}
	for _, r := range t.Runs {
		rec := []string{r.ID, r.Tstamp, r.Projid, r.Filename, r.Snapshot, r.Status}
		for _, k := range t.Kwargs {
			rec = append(rec, r.Kwargs[k])
		}
		for _, m := range t.Metrics {
			s, ok := r.Metrics[m]
			if !ok {
				rec = append(rec, "", "", "")
				continue
			}
			last := ""
			if s.Last != nil {
				last = fmt.Sprint(s.Last)
			}
			rec = append(rec, last, num(s.Min), num(s.Max))
		}
		cw.Write(rec)
	}
	cw.Flush()
}

// nameJSON is one logged name.
type nameJSON struct {
	Name     string `json:"name"`
	Runs     int    `json:"runs"`
	N        int64  `json:"n"`
	Numeric  bool   `json:"numeric"`
	InLoop   bool   `json:"inLoop"`
	Arg      bool   `json:"arg"`
	Replayed bool   `json:"replayed"`
}

func (srv *Server) handleNames(w http.ResponseWriter, r *http.Request) {
	names, err := srv.store.Names(r.Context())
	if err != nil {
		fail(w, err)
		return
	}
	out := make([]nameJSON, len(names))
	for i, n := range names {
		out[i] = nameJSON{n.Name, n.Runs, n.N, n.Numeric, n.InLoop, n.Arg, n.Replayed}
	}
	writeJSON(w, out)
}
