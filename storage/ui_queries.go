package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// The reading side of flor ui and flor plot: runs with summaries of chosen
// metrics, a run's details, and series ready to draw. Every user input
// reaches SQL as a parameter, or as a WHERE checked by whereFilter.

// ErrUnknownRun: no recorded run has the given id.
var ErrUnknownRun = errors.New("unknown run")

// X axes of a series.
const (
	XStep   = "step"   // the iteration of the innermost loop the value was logged in
	XEpoch  = "epoch"  // the iteration of the outermost (main) loop
	XGlobal = "global" // the value's position among the run's values of that name
)

// ID returns the run's id: its run file's name without .jsonl (its tstamp
// as formatted in file names), unique in a flor home.
func (r Run) ID() string {
	return strings.TrimSuffix(filepath.Base(r.Path), ".jsonl")
}

// runRel is the run file of an id, relative to the home, or "" when the id
// could not name one.
func runRel(id string) string {
	if id == "" || strings.ContainsAny(id, `/\`) || strings.HasPrefix(id, ".") {
		return ""
	}
	return path.Join("runs", id+".jsonl")
}

// Summary sums up one name's values in one run.
type Summary struct {
	N        int64   // number of values
	Last     any     // the last value logged (replayed values come after recorded ones)
	Min, Max float64 // over numeric values; NaN when there are none
	Replayed bool    // some of the values come from a replay
}

// RunRow is a run with summaries of chosen names.
type RunRow struct {
	Run
	Summaries map[string]Summary // by name; absent when the run logged none
}

// RunTable lists the recorded runs, oldest first, with a Summary of each
// of names. where, when not empty, filters the runs as in RunsMissing.
func (s *Store) RunTable(ctx context.Context, where string, names []string) ([]RunRow, error) {
	if err := s.ingestFor(ctx); err != nil {
		return nil, err
	}
	var filter string
	var fargs []any
	if strings.TrimSpace(where) != "" {
		var err error
		if filter, fargs, err = s.whereFilter(ctx, where); err != nil {
			return nil, err
		}
	}
	runs, err := s.runs(ctx, filter, fargs...)
	if err != nil {
		return nil, err
	}
	rows := make([]RunRow, len(runs))
	byPath := make(map[string]*RunRow, len(runs))
	for i, r := range runs {
		rows[i] = RunRow{Run: r}
		byPath[s.rel(r.Path)] = &rows[i]
	}
	if len(names) == 0 || len(runs) == 0 {
		return rows, nil
	}
	args := make([]any, len(names))
	for i, n := range names {
		args[i] = n
	}
	// Aggregated per file first (a run's recording and each of its
	// replays), without joins over the logs, then merged here: the last
	// value is the latest replay's, else the recording's. Min and max are
	// over y, the numbers the ingest parsed.
	q := `SELECT r.path, nm.name, s.kind = 'replay', a.n, a.mn, a.mx, a.seq, a.t, a.v FROM (
			SELECT sid, nid, count(*) AS n, min(y) AS mn, max(y) AS mx,
				max(seq) AS seq, arg_max(t, seq) AS t, arg_max(v, seq) AS v
			FROM raw.logs
			WHERE nid IN (SELECT id FROM raw.names WHERE name IN (?` + strings.Repeat(", ?", len(names)-1) + `)) AND flags & 2 = 0
			GROUP BY sid, nid) a
		JOIN raw.sources s ON s.sid = a.sid JOIN raw.runs r ON r.rid = s.rid JOIN raw.names nm ON nm.id = a.nid
		WHERE r.sid IS NOT NULL`
	res, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: summaries: %w", s.path, err)
	}
	defer res.Close()
	type lastKey struct {
		replay bool
		seq    int64
	}
	lastOf := map[*RunRow]map[string]lastKey{}
	for res.Next() {
		var p, name string
		var v *string
		var t int
		var replay bool
		var n, seq int64
		var mn, mx *float64
		if err := res.Scan(&p, &name, &replay, &n, &mn, &mx, &seq, &t, &v); err != nil {
			return nil, err
		}
		row := byPath[p]
		if row == nil {
			continue // filtered out
		}
		if row.Summaries == nil {
			row.Summaries = map[string]Summary{}
			lastOf[row] = map[string]lastKey{}
		}
		sum, seen := row.Summaries[name]
		if !seen {
			sum.Min, sum.Max = math.NaN(), math.NaN()
		}
		sum.N += n
		sum.Replayed = sum.Replayed || replay
		if mn != nil && (math.IsNaN(sum.Min) || *mn < sum.Min) {
			sum.Min = *mn
		}
		if mx != nil && (math.IsNaN(sum.Max) || *mx > sum.Max) {
			sum.Max = *mx
		}
		if k, key := lastOf[row][name], (lastKey{replay, seq}); !seen || key.replay && !k.replay || key.replay == k.replay && key.seq > k.seq {
			lastOf[row][name] = key
			sum.Last = nil // a JSON null
			if v != nil {
				sum.Last = typedValue(typeName(t), *v)
			}
		}
		row.Summaries[name] = sum
	}
	return rows, res.Err()
}

func typeName(t int) string {
	switch t {
	case 1:
		return "int"
	case 2:
		return "float"
	case 3:
		return "bool"
	case 4:
		return "str"
	}
	return "json"
}

// NameInfo describes one logged name across the store.
type NameInfo struct {
	Name     string
	Runs     int   // how many runs logged it
	N        int64 // how many values
	Numeric  bool  // every value is an int or a float
	InLoop   bool  // logged inside a loop (a series, not one value per run)
	Arg      bool  // written by flor.Arg
	Replayed bool  // some values come from replays
}

// Names lists the user names logged in the store (internal delta:: timings
// left out), by name.
func (s *Store) Names(ctx context.Context) ([]NameInfo, error) {
	if err := s.ingestFor(ctx); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT nm.name, count(DISTINCT s.rid), sum(st.n),
			bool_and(st.kinds & ~3 = 0), bool_or(st.sig <> 0), bool_or(st.flags & 1 <> 0), bool_or(s.kind = 'replay')
		FROM raw.stats st JOIN raw.names nm ON nm.id = st.nid JOIN raw.sources s ON s.sid = st.sid
		JOIN raw.runs r ON r.rid = s.rid
		WHERE r.sid IS NOT NULL AND st.flags & 2 = 0
		GROUP BY nm.name ORDER BY nm.name`)
	if err != nil {
		return nil, fmt.Errorf("%s: names: %w", s.path, err)
	}
	defer rows.Close()
	var out []NameInfo
	for rows.Next() {
		var n NameInfo
		if err := rows.Scan(&n.Name, &n.Runs, &n.N, &n.Numeric, &n.InLoop, &n.Arg, &n.Replayed); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// RunValue is one name as a run logged it.
type RunValue struct {
	Name     string
	N        int64 // how many values
	Value    any   // the last value
	InLoop   bool
	Arg      bool
	Replayed bool
}

// Replay is a finished replay that added values to a run.
type Replay struct {
	ID    string
	Names []string
	Path  string // its file, relative to the home
}

// CheckpointInfo is one captured state of a run.
type CheckpointInfo struct {
	Iteration  int64
	Block      string // "" at the end of an outer iteration
	Occurrence int64
	Objects    map[string]string // registration name -> blob hash
}

// RunDetail is what a run's page shows.
type RunDetail struct {
	Run
	Values      []RunValue
	Checkpoints []CheckpointInfo
	Replays     []Replay
	Warnings    []string
}

// RunDetail returns the run with the given id (Run.ID) and what it logged.
// An id that names no run gives an error wrapping ErrUnknownRun.
func (s *Store) RunDetail(ctx context.Context, id string) (*RunDetail, error) {
	if err := s.ingestFor(ctx); err != nil {
		return nil, err
	}
	rel := runRel(id)
	runs, err := s.runs(ctx, "AND path = ?", rel)
	if err != nil {
		return nil, err
	}
	if rel == "" || len(runs) == 0 {
		return nil, fmt.Errorf("%w %q", ErrUnknownRun, id)
	}
	d := &RunDetail{Run: runs[0]}
	rows, err := s.db.QueryContext(ctx, `SELECT nm.name, count(*), arg_max(l.t, [(s.kind = 'replay')::INTEGER, l.seq]),
			arg_max(l.v, [(s.kind = 'replay')::INTEGER, l.seq]), bool_or(l.sig <> 0), bool_or(l.flags & 1 <> 0),
			bool_or(s.kind = 'replay')
		FROM raw.logs l JOIN raw.names nm ON nm.id = l.nid
		JOIN raw.sources s ON s.sid = l.sid JOIN raw.runs r ON r.rid = s.rid
		WHERE r.path = ? AND l.flags & 2 = 0 GROUP BY nm.name ORDER BY min(l.seq), nm.name`, rel)
	if err != nil {
		return nil, fmt.Errorf("%s: run values: %w", s.path, err)
	}
	for rows.Next() {
		var v RunValue
		var t int
		var text string
		if err := rows.Scan(&v.Name, &v.N, &t, &text, &v.InLoop, &v.Arg, &v.Replayed); err != nil {
			rows.Close()
			return nil, err
		}
		v.Value = typedValue(typeName(t), text)
		d.Values = append(d.Values, v)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = s.db.QueryContext(ctx, `SELECT k.e, k.b, k.o, k.objs FROM raw.ckpts k
		JOIN raw.sources s ON s.sid = k.sid JOIN raw.runs r ON r.rid = s.rid
		WHERE r.path = ? AND s.kind <> 'replay' ORDER BY k.seq`, rel)
	if err != nil {
		return nil, fmt.Errorf("%s: checkpoints: %w", s.path, err)
	}
	for rows.Next() {
		var c CheckpointInfo
		var objs string
		if err := rows.Scan(&c.Iteration, &c.Block, &c.Occurrence, &objs); err != nil {
			rows.Close()
			return nil, err
		}
		json.Unmarshal([]byte(objs), &c.Objects)
		d.Checkpoints = append(d.Checkpoints, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = s.db.QueryContext(ctx, `SELECT COALESCE(s.replay_id, ''), COALESCE(s.replay_names, '[]'), s.path
		FROM raw.sources s JOIN raw.runs r ON r.rid = s.rid
		WHERE r.path = ? AND s.kind = 'replay' ORDER BY s.path`, rel)
	if err != nil {
		return nil, fmt.Errorf("%s: replays: %w", s.path, err)
	}
	for rows.Next() {
		var rp Replay
		var names string
		if err := rows.Scan(&rp.ID, &names, &rp.Path); err != nil {
			rows.Close()
			return nil, err
		}
		json.Unmarshal([]byte(names), &rp.Names)
		d.Replays = append(d.Replays, rp)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = s.db.QueryContext(ctx, `SELECT w.msg FROM raw.warns w JOIN raw.sources s ON s.sid = w.sid
		JOIN raw.runs r ON r.rid = s.rid WHERE r.path = ? ORDER BY s.path, w.seq`, rel)
	if err != nil {
		return nil, fmt.Errorf("%s: warnings: %w", s.path, err)
	}
	defer rows.Close()
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			return nil, err
		}
		d.Warnings = append(d.Warnings, m)
	}
	return d, rows.Err()
}

// Lacking returns, for each of names, the ids of the recorded runs that
// lack it (neither logged it nor had it replayed), oldest first.
func (s *Store) Lacking(ctx context.Context, names []string) (map[string][]string, error) {
	infos, err := s.RunsMissing(ctx, names, "")
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, in := range infos {
		for _, n := range in.Missing {
			if !slices.Contains(out[n], in.ID()) {
				out[n] = append(out[n], in.ID())
			}
		}
	}
	return out, nil
}
