package planner

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/flordb/flor/runtime"
)

// The estimate of a run's replay charges what its replay does:
//   - preparing its version (materialise, propagate, instrument, build),
//     or taking it out of the version cache;
//   - each worker's start: the program starting, reading the run, and its
//     prefix as the run recorded it;
//   - the restores: the checkpoint bytes each worker reads, at the rate
//     replays in this flor home have read and decoded them;
//   - the recorded time of each iteration's parts that must run;
//   - then, once each worker has timed its first iteration, the new
//     statements' own work, which no record holds (see revise).
//
// What no run records (preparing, starting, the restore rate, the finish)
// is measured by each replay and kept in the flor home (costsFile) for the
// next estimates.

// Costs the planner assumes until a replay in the flor home, or on the
// machine, measured them. Preparing is mostly building the version: its
// dependencies are in the build cache already when its runs were built on
// this machine, so it is about the 1.5 s a small program's takes.
const (
	defaultPrepare = 1500 * time.Millisecond
	defaultCached  = 50 * time.Millisecond
	defaultStart   = 200 * time.Millisecond
	defaultFinish  = 50 * time.Millisecond
	defaultRate    = 200 << 20 // checkpoint bytes read and decoded per second
)

// costs are the measured costs of the steps no run records.
type costs struct {
	// Per program (the run's Filename): preparing a version of it, and a
	// worker's start beyond the recorded prefix.
	Programs map[string]*programCosts `json:"programs"`
	Cached   float64                  `json:"cached"`       // seconds to take a version out of the cache
	Finish   float64                  `json:"finish"`       // seconds from the last worker's exit to the run published
	Rate     float64                  `json:"restore_rate"` // checkpoint bytes read and decoded per second

	machine *costs // the machine's costs, behind the home's (nil: none)
}

type programCosts struct {
	Prepare float64 `json:"prepare"` // seconds
	Start   float64 `json:"start"`   // seconds beyond the recorded prefix
}

// costsFile is where a flor home keeps the measured costs.
func costsFile(home string) string { return filepath.Join(home, "logs", "replay-costs.json") }

// machineCostsFile is where this user's replays keep, for the whole
// machine, the costs that depend on it more than on the project: the
// estimates of a flor home that has measured nothing yet start from them
// instead of the defaults. "" when the user has no cache directory. A
// variable, for the tests.
var machineCostsFile = func() string {
	return machineCostsPath(testing.Testing(), os.Getenv, os.UserCacheDir)
}

// machineCostsPath is machineCostsFile's answer for a process that is a
// test binary or not, with its environment and cache directory.
func machineCostsPath(inTest bool, getenv func(string) string, cacheDir func() (string, error)) string {
	// A test binary's replays, of small programs on a machine busy with
	// the other tests, are no measure of the user's own; nor are those of
	// a flor the tests built and run, which say so with MachineCostsEnv.
	if inTest || getenv(MachineCostsEnv) == "off" {
		return ""
	}
	d, err := cacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(d, "flor", "replay-costs.json")
}

// MachineCostsEnv, set to "off", keeps a replay from reading or writing
// the machine's costs: its estimates start from the flor home's or the
// defaults. Tests that run flor set it, so that replays on a machine busy
// with them do not set the user's next estimates.
const MachineCostsEnv = "FLOR_MACHINE_COSTS"

// anyProgram is the machine file's one program: every program's costs
// blended.
const anyProgram = "*"

// loadCosts reads the costs measured in home, and the machine's behind
// them; missing figures are 0 (the accessors then fall back to the
// machine's, then to the defaults).
func loadCosts(home string) *costs {
	c := readCosts(costsFile(home))
	if f := machineCostsFile(); f != "" {
		c.machine = readCosts(f)
	}
	return c
}

func readCosts(file string) *costs {
	c := &costs{}
	if data, err := os.ReadFile(file); err == nil {
		_ = json.Unmarshal(data, c)
	}
	if c.Programs == nil {
		c.Programs = map[string]*programCosts{}
	}
	return c
}

func (c *costs) save(home string) { c.saveTo(costsFile(home)) }

func (c *costs) saveTo(file string) {
	data, _ := json.MarshalIndent(c, "", "  ")
	if os.MkdirAll(filepath.Dir(file), 0o755) != nil {
		return
	}
	tmp := fmt.Sprintf("%s.%d.tmp", file, os.Getpid())
	if os.WriteFile(tmp, append(data, '\n'), 0o644) == nil {
		if os.Rename(tmp, file) != nil {
			os.Remove(tmp)
		}
	}
}

// fallback is the machine's figure for what c lacks.
func (c *costs) fallback() *costs {
	if c.machine == nil {
		return &costs{Programs: map[string]*programCosts{}}
	}
	return c.machine
}

func dur(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// blend keeps a new measure half and half with the old, so that one slow
// replay on a loaded host does not set the next estimate alone.
func blend(old, new float64) float64 {
	if old == 0 {
		return new
	}
	return (old + new) / 2
}

// prepare is the expected time to prepare a version of program: its own
// measure, else the mean of the other programs', else the default.
func (c *costs) prepare(program string) time.Duration {
	if p := c.Programs[program]; p != nil && p.Prepare > 0 {
		return dur(p.Prepare)
	}
	var sum float64
	var n int
	for _, p := range c.Programs {
		if p.Prepare > 0 {
			sum, n = sum+p.Prepare, n+1
		}
	}
	if n > 0 {
		return dur(sum / float64(n))
	}
	if p := c.fallback().Programs[anyProgram]; p != nil && p.Prepare > 0 {
		return dur(p.Prepare)
	}
	return defaultPrepare
}

// start is a worker's start beyond the recorded prefix.
func (c *costs) start(program string) time.Duration {
	if p := c.Programs[program]; p != nil && p.Start != 0 {
		return dur(p.Start)
	}
	if p := c.fallback().Programs[anyProgram]; p != nil && p.Start != 0 {
		return dur(p.Start)
	}
	return defaultStart
}

func (c *costs) cached() time.Duration {
	return cmpOr(dur(c.Cached), cmpOr(dur(c.fallback().Cached), defaultCached))
}

func (c *costs) finish() time.Duration {
	return cmpOr(dur(c.Finish), cmpOr(dur(c.fallback().Finish), defaultFinish))
}

// restore is the time to read and decode n checkpoint bytes.
func (c *costs) restore(n int64) time.Duration {
	rate := c.Rate
	if rate <= 0 {
		rate = c.fallback().Rate
	}
	if rate <= 0 {
		rate = defaultRate
	}
	return time.Duration(float64(n) / rate * float64(time.Second))
}

func (c *costs) program(name string) *programCosts {
	p := c.Programs[name]
	if p == nil {
		p = &programCosts{}
		c.Programs[name] = p
	}
	return p
}

func cmpOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// unitCost is the expected time of one worker of r's replay at level lv,
// doing iterations rg ([start, stop), stop -1 = to the end): its start,
// the restore it starts from, and each iteration's recorded parts that
// must run with their restores.
func unitCost(r *Run, lv Level, rg [2]int64, c *costs) time.Duration {
	t := c.start(r.Filename) + r.Prefix
	n := int64(len(r.Iterations))
	switch lv.Mode {
	case runtime.ModePrefix:
		return max(t, 0)
	case runtime.ModeSuffix:
		return max(t+c.restore(r.endBytes(n-1))+r.Suffix, 0)
	}
	stop := rg[1]
	if stop < 0 || stop > n {
		stop = n
	}
	if rg[0] > 0 {
		// A worker that starts past iteration 0 pays the program's
		// warm-up in its own first iteration; the record shows it in
		// iteration 0 only.
		t += c.restore(r.endBytes(rg[0]-1)) + warmup(r, lv, c)
	}
	for e := rg[0]; e < stop; e++ {
		t += iterationCost(r, lv, e, c)
	}
	if lv.Suffix && rg[1] < 0 {
		t += r.Suffix
	}
	return max(t, 0)
}

// iterationCost is the expected time of iteration e at level lv: all of it
// at the nested level, else what runs outside the skipped nested loops
// and their restores.
func iterationCost(r *Run, lv Level, e int64, c *costs) time.Duration {
	it := r.Iterations[e]
	if lv.Nested || int(e) >= len(r.Nested) {
		return it
	}
	return max(it-r.Nested[e], 0) + c.restore(r.blockBytes(e))
}

// warmup is what the first iteration a process runs costs beyond the
// others, at level lv: a framework's one-time work, such as compiling its
// graphs or filling caches. The recorded run paid it in iteration 0, each
// replay worker pays it again in its first iteration. It is iteration 0's
// cost beyond the median of the others' (0 with fewer than 3 iterations,
// where a median says little).
func warmup(r *Run, lv Level, c *costs) time.Duration {
	n := int64(len(r.Iterations))
	if n < 3 {
		return 0
	}
	rest := make([]time.Duration, 0, n-1)
	for e := int64(1); e < n; e++ {
		rest = append(rest, iterationCost(r, lv, e, c))
	}
	slices.Sort(rest)
	return max(iterationCost(r, lv, 0, c)-rest[len(rest)/2], 0)
}

// estimate is the expected wall time of replaying r at level lv on the
// workers doing ranges, its version taking prep to prepare (0 when another
// run of the schedule prepares it at the same time: it waits as long).
func estimate(r *Run, lv Level, ranges [][2]int64, prep time.Duration, c *costs) time.Duration {
	var longest time.Duration
	for _, rg := range ranges {
		longest = max(longest, unitCost(r, lv, rg, c))
	}
	return prep + longest + c.finish()
}

// loopWork is the expected time of r's whole main loop at level lv on one
// worker, for dividing the workers among runs.
func loopWork(r *Run, lv Level, c *costs) time.Duration {
	var t time.Duration
	for e := range int64(len(r.Iterations)) {
		t += iterationCost(r, lv, e, c)
	}
	return t
}

// workersFor is how many workers replay each run, the slots being shared
// by all runs: a run gets its share of the workers by its part of all the
// loop work (at least one, at most one per iteration), so that many runs
// keep the workers busy each on a worker of its own, paying one start, and
// one run alone is split across them all. Among many runs, one is not
// split into parts shorter than minStart, which each part pays again: the
// shares of loops of microseconds are noise.
func workersFor(work []time.Duration, iters []int, workers int) []int {
	var total time.Duration
	for _, w := range work {
		total += w
	}
	out := make([]int, len(work))
	for i, w := range work {
		k := 1
		if total > 0 {
			k = int(math.Ceil(float64(w) * float64(workers) / float64(total)))
		}
		if len(work) > 1 {
			k = min(k, int(w/minStart))
		}
		out[i] = max(1, min(k, workers, iters[i]))
	}
	return out
}

// minStart is the least a worker's start is taken to cost: starting a
// process and reading the run's records.
const minStart = 20 * time.Millisecond

// revise re-estimates a run's replay once its workers timed their first
// iteration: each worker's remaining iterations are charged what the
// first took beyond its estimate (the new statements' own work, and
// whatever else the record does not show), added to when it ended. began
// is when the run's replay began; firsts has, per worker, the progress
// line of the iteration it was timed on, its first or its second (nil:
// none yet, the unit's estimate stands, from start, when its worker
// started).
func revise(r *Run, lv Level, ranges [][2]int64, c *costs, began time.Time, starts []time.Time, firsts []*runtime.Progress) time.Duration {
	var end time.Time
	for w, rg := range ranges {
		var fin time.Time
		switch p := firsts[w]; {
		case p != nil:
			// What the first iteration took beyond its recorded cost is
			// charged to each iteration left, less the warm-up that only
			// a process's first iteration pays.
			extra := p.Ended.Sub(p.Began) - iterationCost(r, lv, p.Iter, c)
			if p.Iter > 0 && p.Iter == rg[0] {
				extra -= warmup(r, lv, c)
			}
			rest := unitCost(r, lv, [2]int64{p.Iter + 1, rg[1]}, c) - c.start(r.Filename) - r.Prefix
			if p.Iter+1 > 0 {
				// It goes on from its own state, warm.
				rest -= c.restore(r.endBytes(p.Iter)) + warmup(r, lv, c)
			}
			stop := rg[1]
			if stop < 0 || stop > int64(len(r.Iterations)) {
				stop = int64(len(r.Iterations))
			}
			fin = p.Ended.Add(max(rest, 0) + time.Duration(stop-p.Iter-1)*extra)
		case !starts[w].IsZero():
			fin = starts[w].Add(unitCost(r, lv, rg, c))
		default:
			fin = time.Now().Add(unitCost(r, lv, rg, c))
		}
		if fin.After(end) {
			end = fin
		}
	}
	return end.Sub(began) + c.finish()
}

// simulate is the wall time of a schedule whose versions take preps to
// prepare and whose workers take units, on workers slots: the executor's
// order (preparations first, then the longest unit whose version is
// ready), each task on the slot free first.
func simulate(workers int, preps []time.Duration, units []simUnit) time.Duration {
	free := make([]time.Duration, max(1, workers))
	ready := make([]time.Duration, len(preps))
	take := func(after, d time.Duration) time.Duration {
		i := slices.Index(free, slices.Min(free))
		start := max(free[i], after)
		free[i] = start + d
		return free[i]
	}
	for v, d := range preps {
		ready[v] = take(0, d)
	}
	units = slices.Clone(units)
	slices.SortStableFunc(units, func(a, b simUnit) int {
		return cmp.Or(cmp.Compare(ready[a.version], ready[b.version]), cmp.Compare(b.cost, a.cost))
	})
	var end time.Duration
	for _, u := range units {
		end = max(end, take(ready[u.version], u.cost))
	}
	for _, r := range ready {
		end = max(end, r)
	}
	return end
}

// simUnit is one worker's part of a run, for simulate.
type simUnit struct {
	version int
	cost    time.Duration
}

// Bucket says a duration as FlorDB's prompt does.
func Bucket(d time.Duration) string {
	switch {
	case d < 10*time.Second:
		return "under 10 seconds"
	case d < 2*time.Minute:
		return "under 2 minutes"
	case d <= 15*time.Minute:
		return "up to 15 minutes"
	}
	return fmt.Sprintf("in about %s", d.Round(time.Minute))
}

// split divides iterations [0, n) into at most w contiguous ranges of
// near-equal size; the last range's stop is -1 (to the end).
func split(n, w int) [][2]int64 {
	if n <= 0 {
		return [][2]int64{{0, -1}}
	}
	w = max(1, min(w, n))
	out := make([][2]int64, 0, w)
	start := 0
	for i := range w {
		size := n / w
		if i < n%w {
			size++
		}
		out = append(out, [2]int64{int64(start), int64(start + size)})
		start += size
	}
	out[len(out)-1][1] = -1
	return out
}
