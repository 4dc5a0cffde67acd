package reader

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/flordb/flor/internal/record"
	"github.com/flordb/flor/runtime"
	"github.com/flordb/flor/storage"
)

// Errors of the model registry.
var (
	// ErrNoRun: no run matches the run asked for.
	ErrNoRun = errors.New("no such run")
	// ErrAmbiguousRun: several runs match a tstamp prefix.
	ErrAmbiguousRun = errors.New("ambiguous run")
	// ErrNoCheckpoint: the run has no checkpoint of that iteration or name.
	ErrNoCheckpoint = errors.New("no checkpoint")
)

// LastIteration asks for the run's last captured main-loop iteration.
const LastIteration = -1

// Checkpoint is one captured state of a run: its registered objects'
// blobs (name → sha256) at the end of a main-loop iteration (Block "") or
// of a block nested in it.
type Checkpoint struct {
	Projid     string
	Tstamp     time.Time
	Filename   string
	Iteration  int64
	Block      string
	Occurrence int64
	Objs       map[string]string
}

// runSpellings are the forms a run may be named by: its tstamp as records
// hold it, as its file is named, and as flor runs prints it.
func runSpellings(t time.Time) []string {
	return []string{record.FormatTime(t), record.FileName(t), t.UTC().Format("2006-01-02 15:04:05.000000")}
}

// matchRun picks the run sel names: a tstamp (RFC 3339 as in records, as
// the run file is named, or as flor runs prints it), or a prefix of one
// that only one run has.
func matchRun(runs []storage.Run, sel string) (storage.Run, error) {
	var hits []storage.Run
	for _, r := range runs {
		for _, s := range runSpellings(r.Tstamp) {
			if s == sel {
				return r, nil
			}
			if strings.HasPrefix(s, sel) {
				hits = append(hits, r)
				break
			}
		}
	}
	switch len(hits) {
	case 0:
		return storage.Run{}, fmt.Errorf("run %q: %w (flor runs lists them)", sel, ErrNoRun)
	case 1:
		return hits[0], nil
	}
	return storage.Run{}, fmt.Errorf("run %q: %w: %d runs start so, %s and %s among them; give more of the tstamp",
		sel, ErrAmbiguousRun, len(hits), record.FormatTime(hits[0].Tstamp), record.FormatTime(hits[1].Tstamp))
}

// Run finds the run sel names (see Checkpoints).
func (r *Reader) Run(ctx context.Context, sel string) (storage.Run, error) {
	runs, err := r.Runs(ctx)
	if err != nil {
		return storage.Run{}, err
	}
	return matchRun(runs, sel)
}

// Checkpoints lists the checkpoints of the run sel names — its tstamp as
// records hold it (2026-11-28T05:18:52.123456Z), as its file is named
// (20261128T051852.123456Z) or as flor runs prints it, or a prefix of one
// that only one run has — in the order they were captured.
func (r *Reader) Checkpoints(ctx context.Context, sel string) (storage.Run, []Checkpoint, error) {
	var run storage.Run
	var cks []Checkpoint
	err := r.with(ctx, func(s *storage.Store) error {
		runs, err := s.Runs(ctx)
		if err != nil {
			return err
		}
		if run, err = matchRun(runs, sel); err != nil {
			return err
		}
		cks, err = checkpointsOf(ctx, s, run)
		return err
	})
	return run, cks, err
}

func checkpointsOf(ctx context.Context, s *storage.Store, run storage.Run) ([]Checkpoint, error) {
	rows, err := s.DB().QueryContext(ctx, `SELECT iteration, block, occurrence, objs::VARCHAR
		FROM checkpoints WHERE projid = ? AND tstamp = ? AND filename = ?
		ORDER BY iteration, block <> '', block, occurrence`, run.Projid, run.Tstamp, run.Filename)
	if err != nil {
		return nil, fmt.Errorf("%s: checkpoints: %w", s.Path(), err)
	}
	defer rows.Close()
	var out []Checkpoint
	for rows.Next() {
		c := Checkpoint{Projid: run.Projid, Tstamp: run.Tstamp, Filename: run.Filename}
		var objs string
		if err := rows.Scan(&c.Iteration, &c.Block, &c.Occurrence, &objs); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(objs), &c.Objs); err != nil {
			return nil, fmt.Errorf("checkpoint of %s at %d: objs: %w", record.FormatTime(run.Tstamp), c.Iteration, err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// pick finds the end-of-iteration checkpoint of iteration (LastIteration:
// the last one) holding name.
func pick(run storage.Run, cks []Checkpoint, iteration int64, name string) (Checkpoint, string, error) {
	var its []int64
	var found *Checkpoint
	for i := range cks {
		c := &cks[i]
		if c.Block != "" {
			continue
		}
		its = append(its, c.Iteration)
		if iteration == LastIteration || c.Iteration == iteration {
			found = c // the last of them, for LastIteration
		}
	}
	ts := record.FormatTime(run.Tstamp)
	if found == nil {
		if len(its) == 0 {
			return Checkpoint{}, "", fmt.Errorf("run %s: %w: it captured no state (it registered nothing with flor.Checkpoint, or has no main loop)", ts, ErrNoCheckpoint)
		}
		return Checkpoint{}, "", fmt.Errorf("run %s: %w of iteration %d: it has iterations %s", ts, ErrNoCheckpoint, iteration, spans(its))
	}
	h, ok := found.Objs[name]
	if !ok {
		names := make([]string, 0, len(found.Objs))
		for n := range found.Objs {
			names = append(names, n)
		}
		slices.Sort(names)
		return Checkpoint{}, "", fmt.Errorf("run %s: %w named %q at iteration %d: it has %s", ts, ErrNoCheckpoint, name, found.Iteration, strings.Join(names, ", "))
	}
	return *found, h, nil
}

// spans writes sorted iterations as "0-4, 7".
func spans(its []int64) string {
	slices.Sort(its)
	its = slices.Compact(its)
	var parts []string
	for i := 0; i < len(its); {
		j := i
		for j+1 < len(its) && its[j+1] == its[j]+1 {
			j++
		}
		if j == i {
			parts = append(parts, fmt.Sprint(its[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", its[i], its[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ", ")
}

// Blob returns the verified bytes of object name in the checkpoint of the
// run sel names at the end of main-loop iteration (LastIteration: the
// last captured), and that checkpoint. A blob whose bytes do not hash to
// its name is an error wrapping runtime.ErrCorruptBlob.
func (r *Reader) Blob(ctx context.Context, sel string, iteration int64, name string) ([]byte, Checkpoint, error) {
	run, cks, err := r.Checkpoints(ctx, sel)
	if err != nil {
		return nil, Checkpoint{}, err
	}
	c, h, err := pick(run, cks, iteration, name)
	if err != nil {
		return nil, c, err
	}
	data, err := runtime.ReadBlob(r.home, h)
	if err != nil {
		return nil, c, fmt.Errorf("run %s: %q at iteration %d: %w", record.FormatTime(run.Tstamp), name, c.Iteration, err)
	}
	return data, c, nil
}

// Load decodes object name of the run sel names, at the end of main-loop
// iteration (LastIteration: the last captured), into ptr — the object the
// program registered under that name with flor.Checkpoint, or one of its
// type — verified as Blob is. It is the model registry's load.
func (r *Reader) Load(ctx context.Context, sel string, iteration int64, name string, ptr any) (Checkpoint, error) {
	run, cks, err := r.Checkpoints(ctx, sel)
	if err != nil {
		return Checkpoint{}, err
	}
	c, h, err := pick(run, cks, iteration, name)
	if err != nil {
		return c, err
	}
	if err := runtime.LoadBlob(r.home, h, ptr); err != nil {
		return c, fmt.Errorf("run %s: %q at iteration %d: %w", record.FormatTime(run.Tstamp), name, c.Iteration, err)
	}
	r.record([]record.RunRef{ref(run.Projid, run.Tstamp, run.Filename)})
	return c, nil
}

// LoadBest loads object name of the run and iteration where metric was
// best (see Best) into ptr: FlorDB's export_ckpt and infer. It opens the
// store once, and reads the blob after closing it.
func (r *Reader) LoadBest(ctx context.Context, metric string, goal Goal, where, name string, ptr any) (Best, error) {
	var b Best
	var c Checkpoint
	var h string
	err := r.with(ctx, func(s *storage.Store) error {
		f, err := s.DataframeWhere(ctx, where, metric)
		if err != nil {
			return err
		}
		if b, err = BestOf(f, metric, goal); err != nil {
			return err
		}
		run := storage.Run{Projid: b.Projid, Tstamp: b.Tstamp, Filename: b.Filename}
		cks, err := checkpointsOf(ctx, s, run)
		if err != nil {
			return err
		}
		it := b.Iteration
		if it < 0 {
			it = LastIteration // a metric of the whole run: its final state
		}
		c, h, err = pick(run, cks, it, name)
		return err
	})
	if err != nil {
		return b, err
	}
	if err := runtime.LoadBlob(r.home, h, ptr); err != nil {
		return b, fmt.Errorf("run %s: %q at iteration %d: %w", record.FormatTime(b.Tstamp), name, c.Iteration, err)
	}
	r.record([]record.RunRef{ref(b.Projid, b.Tstamp, b.Filename)})
	return b, nil
}
