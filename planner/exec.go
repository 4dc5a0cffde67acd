package planner

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/flordb/flor/analyzer"
	"github.com/flordb/flor/internal/record"
	"github.com/flordb/flor/runtime"
	"github.com/flordb/flor/storage"
)

// Errors that callers branch on.
var (
	// ErrNoStatement: no name was given, or no statement in the code logs
	// a requested name.
	ErrNoStatement = errors.New("no new statement")
	// ErrWorker: a replay worker failed.
	ErrWorker = errors.New("replay worker failed")
	// ErrDivergence: the replay logged a value the run recorded, in the
	// same loop context, and it differs from the record.
	ErrDivergence = errors.New("replay diverged from the recorded run")
)

// Outcome is what happened to one run's replay.
type Outcome struct {
	Row     *Row
	Level   Level // the level the propagated version needed
	Elapsed time.Duration
	Log     string // build and run output
	Notes   []string
	Err     error
	// Settled: another replay filled in the run's values while this one
	// waited for its turn, so it was not replayed again.
	Settled bool
	// Busy, when set, says the run was skipped because a Slurm replay
	// still replays it (see SubmitSlurm): replaying it here too would
	// publish its values twice.
	Busy string
	// Divergences are the recorded values the replay did not reproduce
	// (published only with Options.AcceptDivergence).
	Divergences []record.Divergence
	// Cached: the run's version was prepared and built by an earlier
	// replay, and reused from the version cache (see cache.go).
	Cached bool
	// Revised is the estimate once the version was ready and, with a main
	// loop to replay, each worker had timed its first iteration; 0 = none.
	Revised time.Duration
	// Queued is the part of Elapsed spent waiting for slots other runs
	// held (its version's preparation, then its workers'): Elapsed less
	// Queued is what Row.Estimate and Revised estimate.
	Queued time.Duration
	// Prep is how long its version took to prepare (or to take out of the
	// cache), and Work the sum of its workers' wall times.
	Prep, Work time.Duration

	began time.Time
	times *runTimes
}

// Ran is the part of the replay that the estimates estimate: Elapsed
// less the time waiting for other runs' slots.
func (o *Outcome) Ran() time.Duration { return o.Elapsed - o.Queued }

// EstimateError is how far an estimate of the run's replay was from Ran,
// as a fraction of it: -0.2 is 20% low.
func (o *Outcome) EstimateError(est time.Duration) float64 {
	if o.Ran() <= 0 {
		return 0
	}
	return est.Seconds()/o.Ran().Seconds() - 1
}

// Timing says how long the replay took against its estimates.
func (o *Outcome) Timing() string {
	s := fmt.Sprintf("%s, estimated %s (%+.0f%%)", secs(o.Ran()), secs(o.Row.Estimate), 100*o.EstimateError(o.Row.Estimate))
	if o.Revised > 0 {
		s += fmt.Sprintf(", revised %s (%+.0f%%)", secs(o.Revised), 100*o.EstimateError(o.Revised))
	}
	if o.Queued >= 10*time.Millisecond {
		s += fmt.Sprintf(", after %s waiting for other runs' slots", secs(o.Queued))
	}
	return s
}

// slots bounds the processes (builds and workers) running at once, for
// all the runs of a replay: each version's preparation and each worker
// takes one slot, so that many runs keep all the slots busy. A freed slot
// goes to the waiter of highest priority (preparations first, since runs
// wait for them, then the longest unit: the tail is then short), in
// arrival order among equals.
type slots struct {
	mu      sync.Mutex
	free    int
	seq     int
	waiters []*slotWaiter // by priority, then arrival
}

type slotWaiter struct {
	prio  time.Duration
	seq   int
	ready chan struct{}
}

// prepPriority is a version preparation's priority: above any unit's.
const prepPriority = time.Duration(math.MaxInt64)

func newSlots(n int) *slots { return &slots{free: max(1, n)} }

// acquire waits for a slot, prio ranking the waiters (see slots).
func (s *slots) acquire(ctx context.Context, prio time.Duration) error {
	s.mu.Lock()
	if s.free > 0 && len(s.waiters) == 0 {
		s.free--
		s.mu.Unlock()
		return nil
	}
	s.seq++
	w := &slotWaiter{prio: prio, seq: s.seq, ready: make(chan struct{})}
	i, _ := slices.BinarySearchFunc(s.waiters, w, func(a, b *slotWaiter) int {
		return cmp.Or(cmp.Compare(b.prio, a.prio), cmp.Compare(a.seq, b.seq))
	})
	s.waiters = slices.Insert(s.waiters, i, w)
	s.mu.Unlock()
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		if i := slices.Index(s.waiters, w); i >= 0 {
			s.waiters = slices.Delete(s.waiters, i, i+1)
			s.mu.Unlock()
			return ctx.Err()
		}
		s.mu.Unlock()
		s.release() // granted as the context ended: pass it on
		return ctx.Err()
	}
}

// release frees a slot, handing it to the first waiter.
func (s *slots) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.waiters) > 0 {
		w := s.waiters[0]
		s.waiters = s.waiters[1:]
		close(w.ready)
		return
	}
	s.free++
}

// version is one code snapshot prepared for replay: materialised,
// propagated, analysed, instrumented and built once, whatever the number
// of runs that share it.
type version struct {
	once  sync.Once
	work  string // its work directory
	tree  string // the materialised snapshot
	pkg   string // the program's directory in it
	bin   string // the built program
	log   string // propagation, analysis and build output
	level Level  // what the propagated version needs
	a     *analyzer.Analysis
	notes []string
	build storage.Build // how its runs were built: the replay build is the same
	err   error

	// What replayRun needs of the analysis, which a cached version lacks.
	carried bool   // state carried across iterations that no checkpoint covers
	extras  bool   // a skip block keeps state of its own
	key     string // its cache key; "" = not cached
	cached  bool   // reused from the version cache
	built   string // the tree bin was compiled in, whose paths its panics show

	program      string        // its run's Filename, for its costs
	queued, took time.Duration // waiting for a slot, then preparing
}

// prepare readies the version of run (once per snapshot and program).
func (p *replayer) prepare(ctx context.Context, row *Row) *version {
	// Runs of one snapshot built differently (other tags, say) are
	// different versions.
	key := row.Run.Snapshot + "\x00" + row.Run.Filename + "\x00" + buildKey(row.Run.Build)
	p.mu.Lock()
	v := p.versions[key]
	if v == nil {
		v = &version{}
		p.versions[key] = v
	}
	p.mu.Unlock()
	v.once.Do(func() {
		v.program = row.Run.Filename
		// Preparing is CPU work (go list, type checking, the compiler):
		// it takes a worker's slot like a replay does.
		asked := time.Now()
		if v.err = p.slots.acquire(ctx, prepPriority); v.err != nil {
			return
		}
		defer p.slots.release()
		began := time.Now()
		v.queued = began.Sub(asked)
		defer func() { v.took = time.Since(began) }()
		if p.fromCache(row, v) {
			return
		}
		if v.err = p.prepareSteps(ctx, row, v); v.err == nil {
			p.keepVersion(row, v)
		}
	})
	return v
}

func (p *replayer) prepareSteps(ctx context.Context, row *Row, v *version) error {
	run := row.Run
	work, err := os.MkdirTemp(p.workRoot, workPrefix)
	if err != nil {
		return err
	}
	v.work = work
	// The next replay removes it if this process dies without doing so.
	if err := writeOwner(work); err != nil {
		return err
	}
	if p.opt.KeepWork {
		os.WriteFile(filepath.Join(work, "keep"), nil, 0o644)
	}
	v.log = filepath.Join(p.opt.Home, "logs", fmt.Sprintf("%s-version-%s.log", p.id, short(run.Snapshot)))
	log, err := os.Create(v.log)
	if err != nil {
		return err
	}
	defer log.Close()
	fmt.Fprintf(log, "version %s of %s, work directory %s\n", run.Snapshot, run.Filename, work)
	tree := filepath.Join(work, "src")
	v.tree = tree
	// Each step's time goes to the version's log: where a slow
	// preparation spends it.
	step := time.Now()
	took := func(what string) {
		fmt.Fprintf(log, "%s took %.3fs\n", what, time.Since(step).Seconds())
		step = time.Now()
	}
	p.status(row, "materialising version "+short(run.Snapshot))
	if err := Materialize(p.opt.Root, run.Snapshot, tree); err != nil {
		return err
	}
	v.pkg = filepath.Join(tree, filepath.FromSlash(run.Filename))
	newPkg := filepath.Join(p.opt.Root, filepath.FromSlash(run.Filename))
	modDir, err := moduleDir(tree, v.pkg)
	if err != nil {
		return err
	}
	relMod, _ := filepath.Rel(tree, modDir)
	if err := fixReplaces(modDir, filepath.Join(p.opt.Root, relMod), tree, p.opt.Root); err != nil {
		return err
	}
	took("materialising")
	p.status(row, "propagating")
	// The loads select the version's files as its build does: a file
	// behind a tag the run was built with is part of it.
	flags := buildFlags(run.Build)
	notes, err := propagateInto(ctx, newPkg, v.pkg, p.opt.Names, flags)
	v.notes = append(v.notes, notes...)
	for _, n := range notes {
		fmt.Fprintf(log, "propagate: %s\n", n)
	}
	if err != nil {
		return err
	}
	took("propagating")
	a, err := analyze(ctx, v.pkg, flags)
	if err != nil {
		return fmt.Errorf("version %s: %w", short(run.Snapshot), err)
	}
	v.a = a
	if v.level, err = levelOf(a, p.opt.Names); err != nil {
		return fmt.Errorf("version %s: %w", short(run.Snapshot), err)
	}
	for _, w := range a.Warnings() {
		v.notes = append(v.notes, w.Error())
		fmt.Fprintf(log, "analysis: %s\n", w.Error())
	}
	took("analysing")
	if err := instrument(ctx, a, log); err != nil {
		return err
	}
	took("instrumenting")
	if err := ensureCommit(a); err != nil {
		return err
	}
	p.status(row, "building")
	v.bin = filepath.Join(work, "replay-bin")
	v.build = run.Build
	if err := build(ctx, modDir, v.pkg, v.bin, run.Build, log); err != nil {
		return fmt.Errorf("version %s: %w", short(run.Snapshot), err)
	}
	took("building")
	return nil
}

// replayOne replays one run on its prepared version.
func (p *replayer) replayOne(ctx context.Context, row *Row) *Outcome {
	start := time.Now()
	out := &Outcome{Row: row, Level: row.Level, began: start}
	defer func() { out.Elapsed = time.Since(start) }()
	id := p.id + "-" + strconv.Itoa(row.Index)
	v := p.prepare(ctx, row)
	out.Notes, out.Log, out.Cached = v.notes, v.log, v.cached
	out.Queued, out.Prep = v.queued, v.took
	if v.err != nil {
		out.Err = v.err
		return out
	}
	out.Level = v.level
	out.Log = filepath.Join(p.opt.Home, "logs", id+".log")
	log, err := os.Create(out.Log)
	if err != nil {
		out.Err = err
		return out
	}
	defer log.Close()
	fmt.Fprintf(log, "run %s, version %s (see %s)\n", row.Run.Tstamp, short(row.Run.Snapshot), v.log)
	out.Err = p.replayRun(ctx, row, id, v, log, out)
	if out.Err != nil {
		fmt.Fprintf(log, "\nreplay failed: %v\n", out.Err)
	}
	return out
}

func (p *replayer) replayRun(ctx context.Context, row *Row, id string, v *version, log *os.File, out *Outcome) error {
	run := row.Run
	lv, ranges := p.units(row, v)
	n := len(run.Iterations)
	out.Level = lv
	tmpDir := filepath.Join(p.opt.Home, "replay", "tmp-"+id)
	if err := os.MkdirAll(tmpDir, 0o755); err != nil {
		return err
	}
	if err := writeOwner(tmpDir); err != nil {
		return err
	}
	published := false
	defer func() {
		if !published {
			os.RemoveAll(tmpDir)
		}
	}()
	cwd := workerDir(p.opt.Root, run.Cwd, v)
	var args []string
	if len(run.Argv) > 1 {
		args = run.Argv[1:]
	}
	p.status(row, fmt.Sprintf("replaying %s on %d worker%s", lv, len(ranges), plural(len(ranges))))
	var wg sync.WaitGroup
	errs := make([]error, len(ranges))
	divs := make([][]record.Divergence, len(ranges))
	var progress []string
	for w := range ranges {
		progress = append(progress, filepath.Join(v.work, fmt.Sprintf("progress-%d-w%d", row.Index, w)))
	}
	if lv.Mode == runtime.ModeLoop {
		p.watch(row, progress, n)
	}
	t := p.newTimes(row, lv, ranges, progress, out)
	stop := t.follow()
	for w, rg := range ranges {
		plan := p.unitPlan(row, id, lv, rg, w, tmpDir, progress[w])
		planFile := filepath.Join(v.work, fmt.Sprintf("plan-%d-w%d.json", row.Index, w))
		data, _ := json.MarshalIndent(plan, "", "  ")
		if err := os.WriteFile(planFile, data, 0o644); err != nil {
			stop()
			return err
		}
		wg.Go(func() {
			// Each worker takes a slot of its own, shared with all runs.
			asked := time.Now()
			if errs[w] = p.slots.acquire(ctx, unitCost(run, lv, rg, p.costs)); errs[w] != nil {
				return
			}
			defer p.slots.release()
			t.started(w, time.Since(asked))
			divs[w], errs[w] = runWorker(ctx, v.bin, v.built, args, cwd, planFile, plan, v.build, log)
			t.exited(w)
		})
	}
	wg.Wait()
	stop()
	t.measured()
	p.workersDone(row)
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for _, d := range divs {
		out.Divergences = append(out.Divergences, d...)
	}
	if err := p.checkDivergences(out, log); err != nil {
		return err
	}
	// Publish: one rename makes all of the run's values visible at once;
	// the owner file goes after, so no cleanup sees an ownerless tmp dir.
	final := filepath.Join(p.opt.Home, "replay", id)
	if err := os.Rename(tmpDir, final); err != nil {
		return fmt.Errorf("publishing replay of %s: %w", run.Tstamp, err)
	}
	published = true
	return removeOwner(final)
}

var logMu sync.Mutex

// runWorker runs one replay worker and checks it finished its range.
// tree is the version's materialised snapshot, for the paths of a panic.
func runWorker(ctx context.Context, bin, tree string, args []string, cwd, planFile string, plan runtime.Plan, b storage.Build, log io.Writer) ([]record.Divergence, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = cwd
	cmd.Env = append(runEnv(os.Environ(), b), "FLOR_REPLAY="+planFile, "FLOR_ECHO=0", "FLOR_PROGRESS=0")
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	output, err := cmd.CombinedOutput()
	logMu.Lock()
	fmt.Fprintf(log, "--- worker %d (iterations %d to %d): %s %s\n%s", plan.Worker, plan.Start, plan.Stop, bin, strings.Join(args, " "), output)
	logMu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("%w: worker %d: %w: %s", ErrWorker, plan.Worker, err, workerFailure(string(output), tree))
	}
	status, divs, err := workerRecords(plan.Out)
	if err != nil {
		return nil, fmt.Errorf("%w: worker %d: its records: %w", ErrWorker, plan.Worker, err)
	}
	if status != record.StatusFinished {
		return nil, fmt.Errorf("%w: worker %d exited without finishing its records in %s", ErrWorker, plan.Worker, plan.Out)
	}
	return divs, nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// hasExtras reports whether a block passes extras to its skip block: state
// only that block's captures keep, which a worker starting mid-run cannot
// restore.
func hasExtras(a *analyzer.Analysis) bool {
	for _, b := range a.Blocks {
		if b.Skippable && len(b.Extras) > 0 {
			return true
		}
	}
	return false
}

// workerDir is where a replay worker runs: the run's working directory as
// it is in the materialised snapshot, so that whatever the old program
// writes lands there and never in the user's checkout. Entries of the
// original directory that the snapshot lacks (ignored data, large inputs)
// are linked in, so that relative paths the program reads still resolve.
// A run started outside the repository runs where it ran.
func workerDir(root, cwd string, v *version) string {
	if cwd == "" {
		return v.pkg
	}
	rel, err := filepath.Rel(root, cwd)
	if err != nil || !filepath.IsLocal(rel) && rel != "." {
		if st, err := os.Stat(cwd); err == nil && st.IsDir() {
			return cwd
		}
		return v.pkg
	}
	dir := filepath.Join(v.tree, rel)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return v.pkg
	}
	entries, _ := os.ReadDir(cwd)
	for _, e := range entries {
		if e.Name() == ".git" || e.Name() == ".flor" {
			continue
		}
		if _, err := os.Lstat(filepath.Join(dir, e.Name())); err == nil {
			continue // the snapshot has it
		}
		_ = os.Symlink(filepath.Join(cwd, e.Name()), filepath.Join(dir, e.Name()))
	}
	return dir
}
