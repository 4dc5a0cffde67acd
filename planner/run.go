package planner

import (
	"time"

	"github.com/flordb/flor/storage"
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
	// EndBytes and BlockBytes are, per main-loop iteration, the bytes of
	// its end-of-iteration checkpoint and of its blocks' checkpoints:
	// what a replay restores, for the estimates. Nil when unknown.
	EndBytes, BlockBytes []int64
	// Build is how the run's program was built, and the environment it
	// declared: its version is built and run the same way.
	Build storage.Build
}

// endBytes is the size of iteration e's end-of-iteration checkpoint.
func (r *Run) endBytes(e int64) int64 { return at(r.EndBytes, e) }

// blockBytes is the size of iteration e's blocks' checkpoints.
func (r *Run) blockBytes(e int64) int64 { return at(r.BlockBytes, e) }

func at(s []int64, i int64) int64 {
	if i < 0 || i >= int64(len(s)) {
		return 0
	}
	return s[i]
}
