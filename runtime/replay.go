package runtime

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/flordb/flor/internal/record"
)

// ErrReplay: the replay plan or the recorded run cannot be used.
var ErrReplay = errors.New("replay")

// Replay modes (Plan.Mode).
const (
	// ModePrefix runs the code before the main loop only.
	ModePrefix = "prefix"
	// ModeLoop runs the main loop's iterations [Start, Stop).
	ModeLoop = "loop"
	// ModeSuffix skips the main loop, restoring its last state, and runs
	// the code after it.
	ModeSuffix = "suffix"
)

// Plan tells a replayed program what to do; the planner writes it as JSON
// and names it in FLOR_REPLAY.
type Plan struct {
	ID       string   `json:"id"`
	Home     string   `json:"home"`
	ProjID   string   `json:"projid"`
	Tstamp   string   `json:"tstamp"`
	Filename string   `json:"filename"`
	Snapshot string   `json:"snapshot"`
	Record   string   `json:"record"`  // the original run file
	Out      string   `json:"out"`     // where this worker writes
	Names    []string `json:"names"`   // the only names written
	Execute  []string `json:"execute"` // block ids that must run
	// Skip, when not null, lists the only block ids that may be skipped:
	// those the version's analysis found safe to skip. A nested loop in
	// a block the analysis would not skip then runs.
	Skip   []string `json:"skip"`
	Start  int64    `json:"start"`
	Stop   int64    `json:"stop"` // -1 = to the end
	Mode   string   `json:"mode"`
	Suffix bool     `json:"suffix"` // run the code after the main loop
	Worker int      `json:"worker"`
	// Progress, when set, is a file the worker appends a line to as each
	// main-loop iteration ends, for the planner's progress bar.
	Progress string `json:"progress,omitempty"`
	// FullCheck evaluates every guarded statement (see Run.Wanted) in
	// every iteration, so the self-check compares all of them; otherwise
	// a statement whose value is not kept is evaluated, and checked, in
	// the worker's first iteration only.
	FullCheck bool `json:"full_check,omitempty"`
}

// ckptRecord is a ckpt line of a run file.
type ckptRecord = record.Ckpt

type ckptKey struct {
	e int64
	b string
	o int
}

type replayState struct {
	plan    Plan
	names   map[string]bool
	execute map[string]bool
	skip    map[string]bool // nil: any block with a capture may be skipped
	args    map[string]json.RawMessage
	kwargs  map[string]string
	ckpts   map[ckptKey]ckptRecord
	last    int64 // last main-loop iteration with a captured end state
	iters   int64 // main-loop iterations the run recorded (delta::iteration)
	prog    *os.File
	check   *selfCheck // nil: values are not compared with the record
	elided  elision    // statements Wanted skipped (elide.go)

	// The restores' cost so far, for the planner's estimates.
	restoredNs, restoredBytes atomic.Int64
	iterRestored              int64 // restoredNs when the current main iteration began
}

// timeRestore adds the time since start to the restores' cost.
func (rs *replayState) timeRestore(start time.Time) {
	rs.restoredNs.Add(int64(time.Since(start)))
}

// iterationDone reports the end of main-loop iteration e, begun at began
// after restores of restoredAtBegin ns, to the planner (see Progress).
func (rs *replayState) iterationDone(e int64, began time.Time, restoredAtBegin int64) {
	if rs.plan.Progress == "" {
		return
	}
	if rs.prog == nil {
		f, err := os.OpenFile(rs.plan.Progress, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			rs.plan.Progress = ""
			return
		}
		rs.prog = f
	}
	rep := Progress{Iter: e, Began: began, Ended: time.Now(), RestoredAtBegin: time.Duration(restoredAtBegin),
		Restored: time.Duration(rs.restoredNs.Load()), RestoredBytes: rs.restoredBytes.Load()}
	rs.prog.Write(rep.append(nil))
}

// Progress is one line of a replay worker's progress file (Plan.Progress):
// a main-loop iteration it finished, when, and what its restores had cost
// so far. The planner counts the lines for its progress bar and times its
// estimates by them.
type Progress struct {
	Iter            int64
	Began, Ended    time.Time
	RestoredAtBegin time.Duration // restoring, before the iteration began
	Restored        time.Duration // restoring, by its end
	RestoredBytes   int64         // checkpoint bytes read, by its end
}

// append writes the line: "iter began ended restoredAtBegin restored
// restoredBytes", times in Unix nanoseconds, durations in nanoseconds.
func (p Progress) append(b []byte) []byte {
	return fmt.Appendf(b, "%d %d %d %d %d %d\n", p.Iter, p.Began.UnixNano(), p.Ended.UnixNano(),
		int64(p.RestoredAtBegin), int64(p.Restored), p.RestoredBytes)
}

// ParseProgress reads one line of a progress file (without its newline).
func ParseProgress(line string) (Progress, error) {
	var p Progress
	var began, ended, atBegin, restored int64
	if _, err := fmt.Sscanf(line, "%d %d %d %d %d %d", &p.Iter, &began, &ended, &atBegin, &restored, &p.RestoredBytes); err != nil {
		return p, fmt.Errorf("%w: progress line %q: %w", ErrReplay, line, err)
	}
	p.Began, p.Ended = time.Unix(0, began), time.Unix(0, ended)
	p.RestoredAtBegin, p.Restored = time.Duration(atBegin), time.Duration(restored)
	return p, nil
}

// loadReplay reads the plan and the run it replays; with selfCheck, it
// indexes the run's values for the self-check.
func loadReplay(path string, selfCheck bool) (*replayState, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("flor: %w: reading plan: %w", ErrReplay, err)
	}
	var p Plan
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("flor: %w: plan %s: %w", ErrReplay, path, err)
	}
	switch p.Mode {
	case ModePrefix, ModeLoop, ModeSuffix:
	default:
		return nil, fmt.Errorf("flor: %w: plan %s: unknown mode %q", ErrReplay, path, p.Mode)
	}
	if p.Home == "" || p.Record == "" || p.Out == "" {
		return nil, fmt.Errorf("flor: %w: plan %s needs home, record and out", ErrReplay, path)
	}
	rs := &replayState{plan: p, names: map[string]bool{}, execute: map[string]bool{},
		args: map[string]json.RawMessage{}, ckpts: map[ckptKey]ckptRecord{}, last: -1}
	for _, n := range p.Names {
		rs.names[n] = true
	}
	for _, b := range p.Execute {
		rs.execute[b] = true
	}
	if p.Skip != nil {
		rs.skip = map[string]bool{}
		for _, b := range p.Skip {
			rs.skip[b] = true
		}
	}
	if selfCheck {
		var size int64
		if st, err := os.Stat(p.Record); err == nil {
			size = st.Size()
		}
		rs.check = newSelfCheck(size)
	}
	if err := rs.readRecord(p.Record); err != nil {
		return nil, err
	}
	if rs.check != nil {
		rs.check.doneReading()
	}
	return rs, nil
}

// readRecord collects the recorded args and checkpoints of the run, and
// indexes its values for the self-check.
func (rs *replayState) readRecord(path string) error {
	err := record.ReadFile(path, func(l record.Line) error {
		switch l.Kind {
		case record.KindRun:
			h, err := l.Run()
			if err != nil {
				return err
			}
			rs.kwargs = h.Kwargs
		case record.KindCtx:
			if rs.check != nil {
				rs.check.addCtx(l)
			}
		case record.KindLog:
			g, err := l.Log()
			if err != nil {
				return nil // not a value: nothing to replay from it
			}
			if rs.check != nil {
				rs.check.addLog(g)
			}
			switch {
			case g.Flags&record.FlagArg != 0 && g.C == 0:
				rs.args[g.Name()] = json.RawMessage(bytes.Clone(g.V))
			case g.Flags&record.FlagInternal != 0 && g.Name() == "delta::iteration":
				rs.iters++
			}
		case record.KindCkpt:
			if c, err := l.Ckpt(); err == nil {
				rs.ckpts[ckptKey{c.E, c.B, c.O}] = c
				if c.EndOfIteration() && c.E > rs.last {
					rs.last = c.E
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("flor: %w: reading %s: %w", ErrReplay, path, err)
	}
	return nil
}

func (rs *replayState) openOut() (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(rs.plan.Out), 0o755); err != nil {
		return nil, fmt.Errorf("flor: %w: %w", ErrReplay, err)
	}
	f, err := os.OpenFile(rs.plan.Out, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("flor: %w: %w", ErrReplay, err)
	}
	return f, nil
}

// skippable reports whether block id (occurrence occ of main iteration e)
// may be skipped, and the capture to restore: it must hold no new
// statement, and the run must have captured every registered object and
// as many extras as the block passes.
func (rs *replayState) skippable(e int64, id string, occ, extras int, registered []string) (ckptRecord, bool) {
	if rs.execute[id] || e < 0 || rs.skip != nil && !rs.skip[id] {
		return ckptRecord{}, false
	}
	c, ok := rs.ckpts[ckptKey{e, id, occ}]
	if !ok || len(c.X) != extras {
		return ckptRecord{}, false
	}
	for _, n := range registered {
		if _, ok := c.Objs[n]; !ok {
			return ckptRecord{}, false
		}
	}
	// A capture whose blobs are absent (records pulled without
	// checkpoints) cannot be restored: the block runs.
	for _, h := range c.Objs {
		if !blobPresent(rs.plan.Home, h) {
			return ckptRecord{}, false
		}
	}
	for _, h := range c.X {
		if !blobPresent(rs.plan.Home, h) {
			return ckptRecord{}, false
		}
	}
	return c, true
}

func blobPresent(home, h string) bool {
	if len(h) < 3 {
		return false
	}
	_, err := os.Stat(blobPath(home, h))
	return err == nil
}

// restoreIteration restores the state captured at the end of main-loop
// iteration e.
func (r *Run) restoreIteration(e int64) {
	c, ok := r.replay.ckpts[ckptKey{e, "", 0}]
	if !ok {
		r.fatal(fmt.Errorf("replay: the run has no checkpoint at the end of iteration %d: %w", e, ErrCheckpoint))
	}
	r.restore(c, nil)
}

// restoreLast restores the state after the main loop's last iteration.
func (r *Run) restoreLast() {
	if r.replay.last < 0 {
		if len(r.registeredNames()) == 0 {
			return
		}
		r.fatal(fmt.Errorf("replay: the run has no checkpoint of its main loop: %w", ErrCheckpoint))
	}
	if r.replay.iters > 0 && r.replay.last != r.replay.iters-1 {
		r.fatal(fmt.Errorf("replay: the run's last iteration (%d) has no checkpoint, only iteration %d: replay its main loop instead: %w",
			r.replay.iters-1, r.replay.last, ErrCheckpoint))
	}
	r.restoreIteration(r.replay.last)
}
