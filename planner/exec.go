package planner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/flordb/flor/analyzer"
	"github.com/flordb/flor/runtime"
)

// Errors that callers branch on.
var (
	// ErrNoStatement: no statement in the code logs a requested name.
	ErrNoStatement = errors.New("no new statement")
	// ErrWorker: a replay worker failed.
	ErrWorker = errors.New("replay worker failed")
)

// Outcome is what happened to one run's replay.
type Outcome struct {
	Row     *Row
	Level   Level // the level the propagated version needed
	Elapsed time.Duration
	Log     string // build and run output
	Notes   []string
	Err     error
}

// slots bounds the processes (builds and workers) running at once. A
// run takes all its workers' slots at once (the semaphore is FIFO), so two
// runs never each hold part of what they need.
type slots struct{ sem *semaphore.Weighted }

func newSlots(n int) slots { return slots{semaphore.NewWeighted(int64(n))} }

func (s slots) acquire(ctx context.Context, n int) error { return s.sem.Acquire(ctx, int64(n)) }

func (s slots) release(n int) { s.sem.Release(int64(n)) }

// replayOne replays one run: materialise, propagate, instrument, build,
// run the workers, publish.
func (p *replayer) replayOne(ctx context.Context, row *Row) *Outcome {
	start := time.Now()
	out := &Outcome{Row: row}
	id := p.id + "-" + strconv.Itoa(row.Index)
	logDir := filepath.Join(p.opt.Home, "logs")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		out.Err = err
		return out
	}
	out.Log = filepath.Join(logDir, id+".log")
	log, err := os.Create(out.Log)
	if err != nil {
		out.Err = err
		return out
	}
	defer log.Close()
	defer func() { out.Elapsed = time.Since(start) }()
	out.Err = p.replaySteps(ctx, row, id, log, out)
	if out.Err != nil {
		fmt.Fprintf(log, "\nreplay failed: %v\n", out.Err)
	}
	return out
}

func (p *replayer) replaySteps(ctx context.Context, row *Row, id string, log *os.File, out *Outcome) error {
	run := row.Run
	// The work directory lives in the flor home, where the next replay
	// cleans it up if this one is killed; ingest skips tmp- directories.
	work := filepath.Join(p.opt.Home, "replay", "tmp-work-"+id)
	if err := os.MkdirAll(work, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(work, "owner"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return err
	}
	if !p.opt.KeepWork {
		defer os.RemoveAll(work)
	} else {
		fmt.Fprintf(log, "work directory: %s\n", work)
	}
	tree := filepath.Join(work, "src")
	p.status(row, "materialising")
	if err := Materialize(p.opt.Root, run.Snapshot, tree); err != nil {
		return err
	}
	oldPkg := filepath.Join(tree, filepath.FromSlash(run.Filename))
	newPkg := filepath.Join(p.opt.Root, filepath.FromSlash(run.Filename))

	modDir, err := moduleDir(tree, oldPkg)
	if err != nil {
		return err
	}
	relMod, _ := filepath.Rel(tree, modDir)
	if err := fixReplaces(modDir, filepath.Join(p.opt.Root, relMod), tree, p.opt.Root); err != nil {
		return err
	}
	p.status(row, "propagating")
	notes, err := propagateInto(ctx, newPkg, oldPkg, p.opt.Names)
	out.Notes = append(out.Notes, notes...)
	for _, n := range notes {
		fmt.Fprintf(log, "propagate: %s\n", n)
	}
	if err != nil {
		return err
	}
	a, err := analyze(ctx, oldPkg)
	if err != nil {
		return err
	}
	lv, err := levelOf(a, p.opt.Names)
	if err != nil {
		return fmt.Errorf("version %s: %w", short(run.Snapshot), err)
	}
	out.Level = lv
	for _, w := range a.Warnings() {
		out.Notes = append(out.Notes, w.Error())
		fmt.Fprintf(log, "analysis: %s\n", w.Error())
	}
	if err := instrument(ctx, a); err != nil {
		return err
	}

	p.status(row, "building")
	bin := filepath.Join(work, "replay-bin")
	if err := p.slots.acquire(ctx, 1); err != nil {
		return err
	}
	built := time.Now()
	err = build(ctx, modDir, oldPkg, bin, log)
	p.slots.release(1)
	if err == nil {
		saveBuild(p.opt.Home, time.Since(built))
	}
	if err != nil {
		return fmt.Errorf("version %s: %w", short(run.Snapshot), err)
	}

	// Workers: the main loop's recorded iterations split into ranges. A
	// worker starts from the checkpoint before its range, so the run must
	// have one for every iteration, and no block may hold state that only
	// its own captures keep (skip-block extras).
	n := len(run.Iterations)
	if lv.Mode == runtime.ModeSuffix && (n == 0 || run.Captured < n) {
		// Nothing to restore the main loop's end from: run it.
		lv.Mode, lv.Suffix = runtime.ModeLoop, true
		out.Level = lv
	}
	ranges := [][2]int64{{0, -1}}
	if lv.Mode == runtime.ModeLoop {
		workers := p.opt.Workers
		if run.Captured < n || hasExtras(a) {
			workers = 1
		}
		ranges = split(n, workers)
		if run.Status != "finished" && n > 0 {
			// Do not run past where the run stopped.
			ranges[len(ranges)-1][1] = int64(n)
		}
	}
	tmpDir := filepath.Join(p.opt.Home, "replay", "tmp-"+id)
	if err := os.MkdirAll(tmpDir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmpDir, "owner"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return err
	}
	published := false
	defer func() {
		if !published {
			os.RemoveAll(tmpDir)
		}
	}()
	cwd := run.Cwd
	if st, err := os.Stat(cwd); cwd == "" || err != nil || !st.IsDir() {
		cwd = oldPkg
	}
	var args []string
	if len(run.Argv) > 1 {
		args = run.Argv[1:]
	}
	p.status(row, fmt.Sprintf("replaying %s on %d worker%s", lv, len(ranges), plural(len(ranges))))
	if err := p.slots.acquire(ctx, len(ranges)); err != nil {
		return err
	}
	defer p.slots.release(len(ranges))
	var wg sync.WaitGroup
	errs := make([]error, len(ranges))
	var progress []string
	for w := range ranges {
		progress = append(progress, filepath.Join(work, fmt.Sprintf("progress-w%d", w)))
	}
	if lv.Mode == runtime.ModeLoop {
		p.watch(row, progress, n)
	}
	for w, rg := range ranges {
		plan := runtime.Plan{
			ID: id, Home: p.opt.Home, ProjID: run.ProjID, Tstamp: run.Tstamp, Filename: run.Filename,
			Snapshot: run.Snapshot, Record: run.File,
			Out:   filepath.Join(tmpDir, fmt.Sprintf("w%d.jsonl", w)),
			Names: p.opt.Names, Execute: lv.Execute, Start: rg[0], Stop: rg[1], Mode: lv.Mode,
			Suffix: lv.Suffix && rg[1] < 0 && run.Status == "finished", Worker: w,
			Progress: progress[w],
		}
		planFile := filepath.Join(work, fmt.Sprintf("plan-w%d.json", w))
		data, _ := json.MarshalIndent(plan, "", "  ")
		if err := os.WriteFile(planFile, data, 0o644); err != nil {
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[w] = runWorker(ctx, bin, args, cwd, planFile, plan, log)
		}()
	}
	wg.Wait()
	p.workersDone(row)
	if err := errors.Join(errs...); err != nil {
		return err
	}
	// Publish: one rename makes all of the run's values visible at once.
	if err := os.Remove(filepath.Join(tmpDir, "owner")); err != nil {
		return err
	}
	if err := os.Rename(tmpDir, filepath.Join(p.opt.Home, "replay", id)); err != nil {
		return fmt.Errorf("publishing replay of %s: %w", run.Tstamp, err)
	}
	published = true
	return nil
}

var logMu sync.Mutex

// runWorker runs one replay worker and checks it finished its range.
func runWorker(ctx context.Context, bin string, args []string, cwd, planFile string, plan runtime.Plan, log io.Writer) error {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = cwd
	cmd.Env = append(os.Environ(), "FLOR_REPLAY="+planFile, "FLOR_ECHO=0", "FLOR_PROGRESS=0")
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	output, err := cmd.CombinedOutput()
	logMu.Lock()
	fmt.Fprintf(log, "--- worker %d (iterations %d to %d): %s %s\n%s", plan.Worker, plan.Start, plan.Stop, bin, strings.Join(args, " "), output)
	logMu.Unlock()
	if err != nil {
		tail := strings.TrimSpace(string(output))
		if lines := strings.Split(tail, "\n"); len(lines) > 5 {
			tail = strings.Join(lines[len(lines)-5:], "\n")
		}
		return fmt.Errorf("%w: worker %d: %v\n%s", ErrWorker, plan.Worker, err, tail)
	}
	data, err := os.ReadFile(plan.Out)
	if err != nil || !strings.Contains(string(data), `{"k":"end"`) {
		return fmt.Errorf("%w: worker %d ended without finishing its records", ErrWorker, plan.Worker)
	}
	return nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// cleanStale removes the work of replays whose process is gone.
func cleanStale(home string) {
	dirs, _ := filepath.Glob(filepath.Join(home, "replay", "tmp-*"))
	for _, d := range dirs {
		data, err := os.ReadFile(filepath.Join(d, "owner"))
		pid, perr := strconv.Atoi(strings.TrimSpace(string(data)))
		if err == nil && perr == nil && pid > 0 && syscall.Kill(pid, 0) == nil {
			continue // a replay still running
		}
		os.RemoveAll(d)
	}
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
