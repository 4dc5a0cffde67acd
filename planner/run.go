package planner

import (
	"fmt"
	"time"

	"github.com/flordb/flor/internal/record"
)

// Run is a recorded run to replay, with what the planner needs to know of
// it.
type Run struct {
	ProjID   string
	Tstamp   string // as in the run's records (RFC 3339, microseconds)
	Filename string // main package directory relative to the repository root
	Snapshot string // code snapshot commit
	File     string // the run's record file
	Argv     []string
	Cwd      string
	Kwargs   map[string]string
	Status   string

	// Profiling values recorded by the run.
	Prefix     time.Duration   // before the main loop
	Suffix     time.Duration   // after the main loop
	Iterations []time.Duration // each main-loop iteration
	Nested     []time.Duration // time in nested loops, per main-loop iteration
	// Stale: the run's sources changed after its program was built, so its
	// snapshot may not be the code that ran.
	Stale bool
	// Captured counts the main-loop iterations whose end state the run
	// checkpointed: a replay may start only after one of those.
	Captured int
}

// readHeader fills Argv and Cwd from the run file's first record and
// counts the end-of-iteration checkpoints after it.
func (r *Run) readHeader() error {
	first := true
	err := record.ReadFile(r.File, func(l record.Line) error {
		if first {
			first = false
			h, err := l.Run()
			if err != nil {
				return fmt.Errorf("run %s: %s does not start with a run record: %w", r.Tstamp, r.File, err)
			}
			r.Argv, r.Cwd, r.Stale = h.Argv, h.Cwd, h.Stale
			if r.Snapshot == "" {
				r.Snapshot = h.Snapshot
			}
			if r.Kwargs == nil {
				r.Kwargs = h.Kwargs
			}
			return nil
		}
		if c, err := l.Ckpt(); err == nil && c.EndOfIteration() {
			r.Captured++
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("run %s: %w", r.Tstamp, err)
	}
	if first {
		return fmt.Errorf("run %s: %s is empty", r.Tstamp, r.File)
	}
	return nil
}
