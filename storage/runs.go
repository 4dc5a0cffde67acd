package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/flordb/flor/internal/record"
)

// Run statuses.
const (
	StatusFinished   = record.StatusFinished // the run file has an end record (flor.Commit ran)
	StatusFailed     = record.StatusFailed   // its end record says Commit ran during a panic
	StatusRunning    = "running"             // no end record, and its writer is alive (see docs/records.md)
	StatusUnfinished = "unfinished"          // no end record, and its writer is gone
)

// Run is one recorded run.
type Run struct {
	Projid   string
	Tstamp   time.Time // the run's identity timestamp (its start), UTC
	Filename string    // main package directory relative to the repository root
	Snapshot string    // commit of the code on refs/heads/flor.shadow ("" when git failed)
	Kwargs   map[string]string
	Argv     []string
	Status   string    // StatusFinished, StatusFailed, StatusRunning or StatusUnfinished
	Ended    time.Time // zero unless finished
	PID      int64
	Host     string
	Path     string // run file, absolute
	// Slurm is where Slurm ran it; zero outside Slurm.
	Slurm Slurm
}

// Slurm names the Slurm job (and array task) and node that ran a run.
type Slurm struct {
	JobID       string `json:"job"`
	ArrayJobID  string `json:"array_job"`
	ArrayTaskID string `json:"array_task"`
	Node        string `json:"node"`
}

// String is the job as squeue and sacct name it: 123_4 for an array
// task, else 123; "" outside Slurm.
func (s Slurm) String() string {
	if s.ArrayJobID != "" && s.ArrayTaskID != "" {
		return s.ArrayJobID + "_" + s.ArrayTaskID
	}
	return s.JobID
}

// Runs lists the recorded runs, oldest first.
func (s *Store) Runs(ctx context.Context) ([]Run, error) {
	if err := s.ingestFor(ctx); err != nil {
		return nil, err
	}
	return s.runs(ctx, "")
}

func (s *Store) runs(ctx context.Context, where string, args ...any) ([]Run, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT projid, tstamp, filename, COALESCE(snapshot, ''), COALESCE(kwargs, '{}'),
		COALESCE(argv, '[]'), status, ended, COALESCE(pid, 0), COALESCE(host, ''), path, COALESCE(slurm, '')
		FROM raw.runs WHERE sid IS NOT NULL `+where+` ORDER BY tstamp, projid, filename, path`, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: list runs: %w", s.path, err)
	}
	defer rows.Close()
	var out []Run
	for rows.Next() {
		var r Run
		var kwargs, argv, slurm string
		var ended sql.NullTime
		if err := rows.Scan(&r.Projid, &r.Tstamp, &r.Filename, &r.Snapshot, &kwargs, &argv, &r.Status,
			&ended, &r.PID, &r.Host, &r.Path, &slurm); err != nil {
			return nil, err
		}
		if slurm != "" {
			json.Unmarshal([]byte(slurm), &r.Slurm) // written by the runtime; a bad one leaves it zero
		}
		r.Tstamp = r.Tstamp.UTC()
		if ended.Valid {
			r.Ended = ended.Time.UTC()
		}
		r.Path = filepath.Join(s.home, filepath.FromSlash(r.Path))
		r.Kwargs = map[string]string{}
		decodeKwargs(kwargs, r.Kwargs)
		r.Argv = decodeArgv(argv)
		out = append(out, r)
	}
	return out, rows.Err()
}

// Profile holds a run's internal timing values (seconds), which the replay
// planner uses to estimate the cost of a replay.
type Profile struct {
	Prefix    float64 // delta::prefix: start to the main loop (NaN when not logged)
	Suffix    float64 // delta::suffix: main loop's end to Commit (NaN when not logged)
	MainLoop  string  // name of the main (outermost) loop, "" when the run has none
	Iteration []float64
	// Iteration[e] is delta::iteration of outer iteration e (NaN for an
	// iteration without one); its length is the number of outer iterations
	// that logged a timing.
	// Nested[loop][e] sums delta::<loop> of the nested loop named loop over
	// outer iteration e.
	Nested map[string][]float64
}

// RunInfo is what the replay planner needs to know about a run.
type RunInfo struct {
	Run
	// Args holds the run's flor.Arg values by name, typed as logged.
	Args map[string]any
	// Missing lists the requested names the run (with its replays) lacks.
	Missing []string
	Profile Profile
}

// RunsMissing returns the recorded runs that lack at least one of names
// (in neither their own file nor a finished replay), oldest first.
//
// where, when not empty, is a SQL boolean expression over dataframe columns
// (for example "lr > 0.0005" or "optimizer = 'adam'"): only runs with at
// least one dataframe row satisfying it are considered. The dataframe is the
// one of the value names where mentions; a column nothing provides gives an
// error wrapping ErrUnknownColumn.
func (s *Store) RunsMissing(ctx context.Context, names []string, where string) ([]RunInfo, error) {
	if err := s.ingestFor(ctx); err != nil {
		return nil, err
	}
	var filter string
	var fargs []any
	if strings.TrimSpace(where) != "" {
		var err error
		filter, fargs, err = s.whereFilter(ctx, where)
		if err != nil {
			return nil, err
		}
	}
	runs, err := s.runs(ctx, filter, fargs...)
	if err != nil {
		return nil, err
	}
	// Which names each run has, from any of its files.
	have := map[string]map[string]bool{}
	if len(names) > 0 {
		args := make([]any, len(names))
		for i, n := range names {
			args[i] = n
		}
		rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT r.path, nm.name FROM raw.stats st
			JOIN raw.names nm ON nm.id = st.nid
			JOIN raw.sources s ON s.sid = st.sid JOIN raw.runs r ON r.rid = s.rid
			WHERE r.sid IS NOT NULL AND nm.name IN (?`+strings.Repeat(", ?", len(names)-1)+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.path, err)
		}
		for rows.Next() {
			var path, n string
			if err := rows.Scan(&path, &n); err != nil {
				rows.Close()
				return nil, err
			}
			path = filepath.Join(s.home, filepath.FromSlash(path))
			if have[path] == nil {
				have[path] = map[string]bool{}
			}
			have[path][n] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		// A finished replay for a name settles it even when the run
		// logged nothing under it (a run of zero epochs): asking again
		// would give the same nothing.
		rows, err = s.db.QueryContext(ctx, `SELECT r.path, s.replay_names FROM raw.sources s
			JOIN raw.runs r ON r.rid = s.rid WHERE s.kind = 'replay' AND r.sid IS NOT NULL AND s.replay_names IS NOT NULL`)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.path, err)
		}
		for rows.Next() {
			var path, list string
			if err := rows.Scan(&path, &list); err != nil {
				rows.Close()
				return nil, err
			}
			var replayed []string
			if json.Unmarshal([]byte(list), &replayed) != nil {
				continue
			}
			path = filepath.Join(s.home, filepath.FromSlash(path))
			for _, n := range replayed {
				if have[path] == nil {
					have[path] = map[string]bool{}
				}
				have[path][n] = true
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	var out []RunInfo
	for _, r := range runs {
		info := RunInfo{Run: r}
		for _, n := range names {
			if !have[r.Path][n] && !slices.Contains(info.Missing, n) {
				info.Missing = append(info.Missing, n)
			}
		}
		if len(info.Missing) > 0 || len(names) == 0 {
			out = append(out, info)
		}
	}
	for i := range out {
		if err := s.fillRunInfo(ctx, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// fillRunInfo adds a run's args and profile.
func (s *Store) fillRunInfo(ctx context.Context, info *RunInfo) error {
	nan := math.NaN()
	info.Args = map[string]any{}
	info.Profile = Profile{Prefix: nan, Suffix: nan, Nested: map[string][]float64{}}
	rel := s.rel(info.Path)
	rows, err := s.db.QueryContext(ctx, `SELECT nm.name, `+typeNameSQL("l.t")+`, COALESCE(l.v, 'null'),
			`+flagSQL("l.flags", record.FlagArg)+`, l.c, COALESCE(l.ci, -1), COALESCE(l.cp, 0), COALESCE(g.depth, 0), COALESCE(g.name, '')
		FROM raw.logs l JOIN raw.sources s ON s.sid = l.sid JOIN raw.names nm ON nm.id = l.nid
		LEFT JOIN raw.sigs g ON g.id = l.sig
		WHERE s.path = ? AND l.flags <> 0
		ORDER BY l.seq`, rel)
	if err != nil {
		return fmt.Errorf("%s: %w", info.Path, err)
	}
	type nested struct {
		loop   string
		c, p   int64
		secs   float64
		depth  int32
		parent string
		i      int64
	}
	var pending []nested
	for rows.Next() {
		var n, t, v, cn string
		var arg bool
		var c, i, p int64
		var depth int32
		if err := rows.Scan(&n, &t, &v, &arg, &c, &i, &p, &depth, &cn); err != nil {
			rows.Close()
			return err
		}
		if arg {
			info.Args[n] = typedValue(t, v)
			continue
		}
		secs, ok := typedValue(t, v).(float64)
		if !ok {
			if iv, isInt := typedValue(t, v).(int64); isInt {
				secs = float64(iv)
			} else {
				continue
			}
		}
		switch {
		case n == "delta::prefix":
			info.Profile.Prefix = secs
		case n == "delta::suffix":
			info.Profile.Suffix = secs
		case n == "delta::iteration" && depth == 1:
			info.Profile.MainLoop = cn
			for int64(len(info.Profile.Iteration)) <= i {
				info.Profile.Iteration = append(info.Profile.Iteration, nan)
			}
			info.Profile.Iteration[i] = secs
		case strings.HasPrefix(n, "delta::") && c != 0:
			pending = append(pending, nested{loop: strings.TrimPrefix(n, "delta::"), c: c, p: p, i: i, depth: depth, secs: secs, parent: cn})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	// A nested loop's timing is logged in its parent iteration's context;
	// attribute it to the outer iteration above that context.
	for _, x := range pending {
		outer := x.i
		for d, p := x.depth, x.p; d > 1 && p != 0; d-- {
			var pi, pp int64
			err := s.db.QueryRowContext(ctx, `SELECT c.i, c.p FROM raw.ctx c JOIN raw.sources s ON s.sid = c.sid WHERE s.path = ? AND c.c = ?`, rel, p).Scan(&pi, &pp)
			if err != nil {
				break
			}
			outer, p = pi, pp
		}
		if outer < 0 {
			continue
		}
		ts := info.Profile.Nested[x.loop]
		for int64(len(ts)) <= outer {
			ts = append(ts, 0)
		}
		ts[outer] += x.secs
		info.Profile.Nested[x.loop] = ts
	}
	return nil
}

// rel returns a path inside the home relative to it, slash-separated.
func (s *Store) rel(path string) string {
	r, err := filepath.Rel(s.home, path)
	if err != nil {
		return path
	}
	return filepath.ToSlash(r)
}

// typedValue decodes a logged value's JSON text by its type.
func typedValue(t, v string) any {
	switch t {
	case record.TypeInt:
		if n, ok := record.Int([]byte(v)); ok {
			return n
		}
	case record.TypeFloat:
		switch v {
		case record.NaN:
			return math.NaN()
		case record.PosInf:
			return math.Inf(1)
		case record.NegInf:
			return math.Inf(-1)
		}
		if f, ok := jsonFloat(v); ok {
			return f
		}
	case record.TypeBool:
		if b, ok := record.Bool([]byte(v)); ok {
			return b
		}
	case record.TypeStr:
		if s, ok := record.String([]byte(v)); ok {
			return s
		}
	}
	var x any
	if json.Unmarshal([]byte(v), &x) == nil {
		return x
	}
	return v
}
