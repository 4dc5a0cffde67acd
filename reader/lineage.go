package reader

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/flordb/flor/internal/record"
	"github.com/flordb/flor/storage"
)

// Recorder is where a Reader records the runs it read: the program's run
// (flor.Process) or a unit (*flor.Unit).
type Recorder interface {
	Log(name string, value any)
}

// RecordReads makes the Reader record, in rec, which runs each read used:
// a dataframe's runs (with Latest, the runs of its rows), the best run of
// Best, the run a checkpoint was loaded from. They are a log value named
// flor.read (docs/records.md) that the store's lineage view and flor
// lineage show: what a run was built from, and what was built from it.
func RecordReads(rec Recorder) Option { return func(r *Reader) { r.rec = rec } }

// record logs the runs read, once per call.
func (r *Reader) record(refs []record.RunRef) {
	if r.rec == nil || len(refs) == 0 {
		return
	}
	r.rec.Log(record.ReadName, refs)
}

func ref(projid string, t time.Time, filename string) record.RunRef {
	return record.RunRef{ProjID: projid, Tstamp: record.FormatTime(t), Filename: filename}
}

// frameRuns lists the distinct runs of f's rows, in order.
func frameRuns(f *storage.Frame) []record.RunRef {
	pc, tc, fc := f.Col("projid"), f.Col("tstamp"), f.Col("filename")
	if pc < 0 || tc < 0 || fc < 0 {
		return nil
	}
	type key struct {
		p, f string
		t    time.Time
	}
	seen := map[key]bool{}
	var out []record.RunRef
	for _, row := range f.Rows {
		p, _ := row[pc].(string)
		t, _ := row[tc].(time.Time)
		fn, _ := row[fc].(string)
		k := key{p, fn, t}
		if !seen[k] {
			seen[k] = true
			out = append(out, ref(p, t, fn))
		}
	}
	slices.SortFunc(out, func(a, b record.RunRef) int { return strings.Compare(a.Tstamp, b.Tstamp) })
	return out
}

// Lineage returns the runs the run sel names read (built from) and the
// runs that read it (built on it), oldest first.
func (r *Reader) Lineage(ctx context.Context, sel string) (run storage.Run, from, to []storage.Run, err error) {
	err = r.with(ctx, func(s *storage.Store) error {
		runs, err := s.Runs(ctx)
		if err != nil {
			return err
		}
		if run, err = matchRun(runs, sel); err != nil {
			return err
		}
		q := func(cols, match string) ([]storage.Run, error) {
			rows, err := s.DB().QueryContext(ctx, `SELECT DISTINCT `+cols+` FROM lineage WHERE `+match+` ORDER BY 2, 1, 3`,
				run.Projid, run.Tstamp, run.Filename)
			if err != nil {
				return nil, fmt.Errorf("%s: lineage: %w", s.Path(), err)
			}
			defer rows.Close()
			var out []storage.Run
			for rows.Next() {
				var x storage.Run
				if err := rows.Scan(&x.Projid, &x.Tstamp, &x.Filename); err != nil {
					return nil, err
				}
				x.Tstamp = x.Tstamp.UTC()
				out = append(out, x)
			}
			return out, rows.Err()
		}
		if from, err = q("read_projid, read_tstamp, read_filename", "projid = ? AND tstamp = ? AND filename = ?"); err != nil {
			return err
		}
		to, err = q("projid, tstamp, filename", "read_projid = ? AND read_tstamp = ? AND read_filename = ?")
		return err
	})
	return run, from, to, err
}
