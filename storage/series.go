package storage

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// SeriesQuery asks for one name's values in some runs.
type SeriesQuery struct {
	Name string
	Runs []string // run ids (Run.ID)
	X    string   // XStep, XEpoch or XGlobal ("" is XGlobal)
	// MaxPoints bounds the points per run: a longer series is cut into
	// MaxPoints/2 buckets of consecutive values and each bucket keeps its
	// minimum and its maximum, so spikes survive. 0 keeps every point.
	MaxPoints int
}

// Series is one run's points of a name, ordered as logged.
type Series struct {
	Run      string // run id
	X, Y     []float64
	Replayed []bool // per point: the value comes from a replay
	N        int64  // points before downsampling
}

// ErrBadAxis: a SeriesQuery named an x axis other than step, epoch or global.
var ErrBadAxis = errors.New("unknown x axis")

// seriesFile is a file holding values of a series' name.
type seriesFile struct {
	sid int32
	run int   // index in the query's runs
	off int64 // the run's values before the file's
}

// Series returns the numeric values of q.Name in each of q.Runs (NaN and
// infinities left out), downsampled to q.MaxPoints. A run that logged
// nothing under the name gives an empty Series, in q.Runs' order.
//
// A value's place in its run (g, its x on the global axis) is its place in
// its file (raw.logs.k) after the values of the run's files before it: the
// recording, then the replays by path. The files and their counts come
// from raw.stats first, so the values are read in one grouped scan without
// casts, window functions or joins.
func (s *Store) Series(ctx context.Context, q SeriesQuery) ([]Series, error) {
	var xcol string
	switch q.X {
	case XStep:
		xcol = "l.ci"
	case XEpoch:
		xcol = "l.e"
	case XGlobal, "":
	default:
		return nil, fmt.Errorf("%w %q: want step, epoch or global", ErrBadAxis, q.X)
	}
	if err := s.ingestFor(ctx); err != nil {
		return nil, err
	}
	out := make([]Series, len(q.Runs))
	idx := map[string]int{}
	var paths []any
	for i, id := range q.Runs {
		out[i].Run = id
		if rel := runRel(id); rel != "" {
			idx[rel] = i
			paths = append(paths, rel)
		}
	}
	if len(paths) == 0 {
		return out, nil
	}
	rows, err := s.db.QueryContext(ctx, `SELECT st.nid, s.sid, r.path, s.kind = 'replay', sum(st.nk)::BIGINT
		FROM raw.stats st JOIN raw.sources s ON s.sid = st.sid JOIN raw.runs r ON r.rid = s.rid
		WHERE st.nid = (SELECT id FROM raw.names WHERE name = ?) AND st.nk > 0
			AND r.path IN (?`+strings.Repeat(", ?", len(paths)-1)+`)
		GROUP BY st.nid, s.sid, r.path, s.kind, s.path ORDER BY r.path, s.kind = 'replay', s.path`, append([]any{q.Name}, paths...)...)
	if err != nil {
		return nil, fmt.Errorf("%s: series %q: %w", s.path, q.Name, err)
	}
	var files []seriesFile
	var nid int32
	n := make([]int64, len(out))        // values per run
	replayed := make([]int64, len(out)) // where a run's replayed values start
	for i := range replayed {
		replayed[i] = math.MaxInt64
	}
	for rows.Next() {
		var f seriesFile
		var p string
		var rp bool
		var m int64
		if err := rows.Scan(&nid, &f.sid, &p, &rp, &m); err != nil {
			rows.Close()
			return nil, err
		}
		f.run = idx[p]
		f.off = n[f.run]
		if rp {
			replayed[f.run] = min(replayed[f.run], f.off)
		}
		n[f.run] += m
		files = append(files, f)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return out, nil
	}
	for i := range out {
		out[i].N = n[i]
	}
	add := func(run int, g int64, x, y float64) {
		sr := &out[run]
		sr.X = append(sr.X, x)
		sr.Y = append(sr.Y, y)
		sr.Replayed = append(sr.Replayed, g >= replayed[run])
	}
	buckets := int64(q.MaxPoints / 2)
	packed := xcol != "" && buckets > 0
	for _, f := range files {
		packed = packed && n[f.run] < 1<<31
	}
	for {
		rows, err := s.db.QueryContext(ctx, seriesSQL(nid, files, n, buckets, xcol, packed))
		if err != nil {
			return nil, fmt.Errorf("%s: series %q: %w", s.path, q.Name, err)
		}
		fits := true
		for rows.Next() {
			var key, g0, g1 int64
			var x0, x1, y0, y1 float64
			var ok bool
			if err := rows.Scan(&key, &g0, &x0, &y0, &g1, &x1, &y1, &ok); err != nil {
				rows.Close()
				return nil, err
			}
			if !ok {
				fits = false
				break
			}
			run := int(key >> 32)
			if packed {
				x0, x1 = float64(g0&(1<<32-1)), float64(g1&(1<<32-1))
				g0, g1 = g0>>32, g1>>32
			}
			switch {
			case g0 == g1:
				add(run, g0, x0, y0)
			case g0 < g1:
				add(run, g0, x0, y0)
				add(run, g1, x1, y1)
			default:
				add(run, g1, x1, y1)
				add(run, g0, x0, y0)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		if fits {
			return out, nil
		}
		// Some x does not fit the packing: again, with x on its own.
		packed = false
		for i := range out {
			out[i].X, out[i].Y, out[i].Replayed = nil, nil, nil
		}
	}
}

// seriesSQL is the scan of the values of name nid in files, n values per
// run: per bucket, its key (run << 32 | bucket, in the order of the
// points), its minimum's g, x and y, its maximum's, and whether the packing
// fit. Every constant in it is the store's own (ids, counts), so the SQL
// holds no user input.
//
// The name is a constant and the files' runs and offsets are a CASE over
// sid rather than joins: the scan filters on both itself, and groups by
// one integer. Four arg_min/arg_max of x and g cost more than the rest of
// the query, so with packed g and x travel as one BIGINT, g << 32 | x,
// checked to fit (x in [0, 2^32), g < 2^31).
func seriesSQL(nid int32, files []seriesFile, n []int64, buckets int64, xcol string, packed bool) string {
	var sids, key, off strings.Builder
	anyOff := false
	for i, f := range files {
		if i > 0 {
			sids.WriteString(", ")
		}
		id := strconv.Itoa(int(f.sid))
		sids.WriteString(id)
		fmt.Fprintf(&off, " WHEN %s THEN %d", id, f.off)
		anyOff = anyOff || f.off != 0
		base := int64(f.run) << 32
		if buckets > 0 && n[f.run] > 2*buckets {
			fmt.Fprintf(&key, " WHEN %s THEN %d + (l.k + %d) * %d // %d", id, base, f.off, buckets, n[f.run])
		} else {
			fmt.Fprintf(&key, " WHEN %s THEN %d + l.k + %d", id, base, f.off)
		}
	}
	g := "l.k"
	if anyOff {
		g = "l.k + CASE l.sid" + off.String() + " END"
	}
	x := "g"
	if xcol != "" {
		x = "COALESCE(" + xcol + ", g)"
	}
	from := ` FROM raw.logs l
		WHERE l.nid = ` + strconv.Itoa(int(nid)) + ` AND l.sid IN (` + sids.String() + `) AND l.k IS NOT NULL`
	pts := `CASE l.sid` + key.String() + ` END AS key, ` + g + ` AS g, ` + x + ` AS x, l.y`
	if buckets == 0 {
		return `SELECT key, g, x::DOUBLE, y, g, x::DOUBLE, y, true FROM (SELECT ` + pts + from + `) ORDER BY key`
	}
	agg := `arg_min(g, y), arg_min(x, y)::DOUBLE, min(y), arg_max(g, y), arg_max(x, y)::DOUBLE, max(y), true`
	switch {
	case packed:
		agg = `arg_min(gx, y), 0::DOUBLE, min(y), arg_max(gx, y), 0::DOUBLE, max(y),
			bool_and(x >= 0 AND x < 4294967296)`
		pts = `key, x, y, (g << 32) | x AS gx FROM (SELECT ` + pts
		from += `)`
	case xcol == "":
		agg = `arg_min(g, y), arg_min(g, y)::DOUBLE, min(y), arg_max(g, y), arg_max(g, y)::DOUBLE, max(y), true`
	}
	return `SELECT key, ` + agg + ` FROM (SELECT ` + pts + from + `) GROUP BY key ORDER BY key`
}
