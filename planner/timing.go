package planner

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/flordb/flor/runtime"
)

// runTimes follows the workers of one run's replay: when each started and
// exited, and the iterations they report in their progress files, to
// revise the run's estimate once each has timed its first iteration and to
// measure, afterwards, what the next estimates assume (see costs).
type runTimes struct {
	p        *replayer
	row      *Row
	lv       Level
	ranges   [][2]int64
	progress []string
	out      *Outcome
	ready    time.Time // the version was prepared

	mu           sync.Mutex
	starts       []time.Time
	exits        []time.Time
	firsts, last []*runtime.Progress
	revised      bool
	queued       time.Duration // the longest a worker waited for its slot
}

func (p *replayer) newTimes(row *Row, lv Level, ranges [][2]int64, progress []string, out *Outcome) *runTimes {
	n := len(ranges)
	return &runTimes{p: p, row: row, lv: lv, ranges: ranges, progress: progress, out: out, ready: time.Now(),
		starts: make([]time.Time, n), exits: make([]time.Time, n),
		firsts: make([]*runtime.Progress, n), last: make([]*runtime.Progress, n)}
}

// started notes that worker w got its slot after waiting queued.
func (t *runTimes) started(w int, queued time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.starts[w] = time.Now()
	t.queued = max(t.queued, queued)
}

func (t *runTimes) exited(w int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.exits[w] = time.Now()
}

// follow revises the estimate as the workers report, until stop is
// called (after the workers exited: then from what they reported). A replay without a main loop to run is revised at once: its
// version's preparation, the one figure it did not know, has been timed.
func (t *runTimes) follow() (stop func()) {
	if t.lv.Mode != runtime.ModeLoop {
		t.revise(false)
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				if t.poll() {
					return
				}
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
		t.poll() // workers quicker than the ticks
	}
}

// poll reads the first progress line of the workers that lack one; once
// each worker has one (or has exited), it revises the estimate and
// reports true.
func (t *runTimes) poll() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for w, f := range t.progress {
		if t.firsts[w] == nil {
			t.firsts[w] = progressAt(f, t.timedIteration(w))
		}
	}
	for w := range t.progress {
		if t.firsts[w] == nil && t.exits[w].IsZero() {
			return false
		}
	}
	t.reviseLocked(true)
	return true
}

// timedIteration is which of worker w's iterations (1: its first) the
// estimate is revised from: its second when its first evaluates what the
// others skip (the self-check's), and it has a second.
func (t *runTimes) timedIteration(w int) int {
	rg, n := t.ranges[w], int64(len(t.row.Run.Iterations))
	stop := rg[1]
	if stop < 0 || stop > n {
		stop = n
	}
	if t.p.heavyFirst && stop-rg[0] >= 2 {
		return 2
	}
	return 1
}

func (t *runTimes) revise(timed bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.reviseLocked(timed)
}

func (t *runTimes) reviseLocked(timed bool) {
	if t.revised {
		return
	}
	t.revised = true
	r, c := t.row.Run, t.p.costs
	starts := slices.Clone(t.starts)
	for w := range starts {
		if starts[w].IsZero() {
			starts[w] = t.ready
		}
	}
	// Like Ran, the revision leaves out the waits for other runs' slots
	// (its version's, then its workers' so far): its end, measured from
	// the replay's start, includes them.
	t.out.Revised = max(revise(r, t.lv, t.ranges, c, t.out.began, starts, t.firsts)-t.out.Queued-t.queued, time.Millisecond)
	what := "version ready"
	if timed {
		var first time.Duration
		second := false
		for w, p := range t.firsts {
			if p != nil {
				first = max(first, p.Ended.Sub(p.Began))
				second = second || t.timedIteration(w) == 2
			}
		}
		what = fmt.Sprintf("first iteration took %s", secs(first))
		if second {
			what = fmt.Sprintf("second iteration (the first skipping the self-check's statements) took %s", secs(first))
		}
	}
	t.p.status(t.row, fmt.Sprintf("%s: revised estimate %s (was %s)", what, secs(t.out.Revised), secs(t.row.Estimate)))
}

// measured reads each worker's progress file in full, once they have all
// exited, for the run's work and the costs it measured.
func (t *runTimes) measured() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for w, f := range t.progress {
		t.firsts[w], t.last[w] = firstLastProgress(f)
		if !t.starts[w].IsZero() && !t.exits[w].IsZero() {
			t.out.Work += t.exits[w].Sub(t.starts[w])
		}
	}
	t.out.Queued += t.queued
	t.out.times = t
}

// sample adds what this run's replay measured to s.
func (t *runTimes) sample(s *costSamples) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := t.row.Run
	var lastExit time.Time
	for w := range t.ranges {
		start, exit := t.starts[w], t.exits[w]
		if start.IsZero() || exit.IsZero() {
			return // a worker did not run: nothing to learn from
		}
		lastExit = maxTime(lastExit, exit)
		switch first, last := t.firsts[w], t.last[w]; {
		case t.lv.Mode == runtime.ModePrefix:
			s.start[r.Filename] = append(s.start[r.Filename], exit.Sub(start)-r.Prefix)
		case first != nil:
			s.start[r.Filename] = append(s.start[r.Filename], first.Began.Sub(start)-first.RestoredAtBegin-r.Prefix)
			s.restoredBytes += last.RestoredBytes
			s.restored += last.Restored
		}
	}
	if !lastExit.IsZero() {
		s.finish = append(s.finish, t.out.began.Add(t.out.Elapsed).Sub(lastExit))
	}
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// progressAt is the k-th line (from 1) of a progress file; nil if none
// yet.
func progressAt(path string, k int) *runtime.Progress {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		p, err := runtime.ParseProgress(sc.Text())
		if err != nil {
			return nil // a line being written
		}
		if k--; k == 0 {
			return &p
		}
	}
	return nil
}

// firstLastProgress are the first and last lines of a progress file.
func firstLastProgress(path string) (first, last *runtime.Progress) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		p, err := runtime.ParseProgress(sc.Text())
		if err != nil {
			continue // a line being written
		}
		if first == nil {
			first = &p
		}
		last = &p
	}
	return first, last
}

// costSamples are the costs one replay measured, over its runs.
type costSamples struct {
	prepare  map[string][]time.Duration // per program
	start    map[string][]time.Duration // per program
	cached   []time.Duration
	finish   []time.Duration
	restored time.Duration
	// restoredBytes were read and decoded in restored.
	restoredBytes int64
}

// learn keeps what the replay's outcomes measured in the flor home, for
// the next estimates.
func (p *replayer) learn(outs []*Outcome) {
	s := &costSamples{prepare: map[string][]time.Duration{}, start: map[string][]time.Duration{}}
	seen := map[*version]bool{}
	for _, o := range outs {
		if o == nil || o.Err != nil || o.times == nil {
			continue
		}
		o.times.sample(s)
	}
	p.mu.Lock()
	for _, v := range p.versions {
		if seen[v] || v.err != nil || v.took == 0 {
			continue
		}
		seen[v] = true
		if v.cached {
			s.cached = append(s.cached, v.took)
		} else {
			s.prepare[v.program] = append(s.prepare[v.program], v.took)
		}
	}
	p.mu.Unlock()
	c := loadCosts(p.opt.Home)
	s.into(c, func(prog string) string { return prog })
	c.save(p.opt.Home)
	// The machine's file blends every program's, for homes that have
	// measured nothing yet.
	if f := machineCostsFile(); f != "" {
		m := readCosts(f)
		s.into(m, func(string) string { return anyProgram })
		m.saveTo(f)
	}
}

// into blends the samples into c, each program's under key(program).
func (s *costSamples) into(c *costs, key func(string) string) {
	merge := func(per map[string][]time.Duration) map[string][]time.Duration {
		out := map[string][]time.Duration{}
		for prog, ds := range per {
			out[key(prog)] = append(out[key(prog)], ds...)
		}
		return out
	}
	for prog, ds := range merge(s.prepare) {
		c.program(prog).Prepare = blend(c.program(prog).Prepare, mean(ds))
	}
	for prog, ds := range merge(s.start) {
		c.program(prog).Start = blend(c.program(prog).Start, mean(ds))
	}
	if len(s.cached) > 0 {
		c.Cached = blend(c.Cached, mean(s.cached))
	}
	if len(s.finish) > 0 {
		c.Finish = blend(c.Finish, max(mean(s.finish), 0.001))
	}
	// A rate from a few kilobytes would be the cost of opening files.
	if s.restoredBytes >= 1<<20 && s.restored > 0 {
		c.Rate = blend(c.Rate, float64(s.restoredBytes)/s.restored.Seconds())
	}
}

func mean(ds []time.Duration) float64 {
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return sum.Seconds() / float64(max(1, len(ds)))
}
