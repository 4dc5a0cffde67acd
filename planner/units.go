package planner

import (
	"cmp"
	"fmt"
	"path/filepath"

	"github.com/flordb/flor/runtime"
)

// unitPlan is what worker w of a run's replay is to do: iterations rg at
// level lv, writing into tmpDir.
func (p *replayer) unitPlan(row *Row, id string, lv Level, rg [2]int64, w int, tmpDir, progress string) runtime.Plan {
	run := row.Run
	return runtime.Plan{
		ID: id, Home: p.opt.Home, ProjID: run.ProjID, Tstamp: run.Tstamp, Filename: run.Filename,
		Snapshot: run.Snapshot, Record: run.File,
		Out:   filepath.Join(tmpDir, fmt.Sprintf("w%d.jsonl", w)),
		Names: p.names[row.Index], Execute: lv.Execute, Skip: lv.Skip, Start: rg[0], Stop: rg[1], Mode: lv.Mode,
		Suffix: lv.Suffix && rg[1] < 0 && run.Status == "finished", Worker: w,
		Progress: progress, FullCheck: p.opt.FullCheck,
	}
}

// units splits a run's replay into the (iteration range) units its
// workers replay, at the level its version needs, on its share of the
// workers (Row.Workers).
func (p *replayer) units(row *Row, v *version) (Level, [][2]int64) {
	return rangesFor(row.Run, v.level, cmp.Or(row.Workers, p.opt.Workers), v.carried, v.extras)
}

// rangesFor splits run's replay at level lv into at most workers ranges;
// carried and extras are the version's (see version).
func rangesFor(run *Run, lv Level, workers int, carried, extras bool) (Level, [][2]int64) {
	// Workers: the main loop's recorded iterations split into ranges. A
	// worker starts from the checkpoint before its range, so the run must
	// have one for every iteration, no block may hold state that only its
	// own captures keep (skip-block extras), and the main loop's body may
	// carry no state across iterations that no checkpoint covers.
	n := len(run.Iterations)
	if lv.Mode == runtime.ModeSuffix && (n == 0 || run.Captured < n || carried) {
		// Nothing restores the main loop's end state (whole): run the loop.
		lv.Mode, lv.Suffix = runtime.ModeLoop, true
	}
	ranges := [][2]int64{{0, -1}}
	if lv.Mode == runtime.ModeLoop {
		if run.Captured < n || extras || carried {
			// A worker starting mid-run could not restore all it needs.
			workers = 1
		}
		ranges = split(n, workers)
		if run.Status != "finished" && n > 0 {
			// Do not run past where the run stopped.
			ranges[len(ranges)-1][1] = int64(n)
		}
	}
	return lv, ranges
}
