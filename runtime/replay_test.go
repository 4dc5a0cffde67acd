package runtime

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// trainer is a small training program with the shapes replay must get
// right: a nested flor.Loop and a plain loop in the main loop, state that
// changes after the nested loop (RNG draws in evaluation, a decayed
// learning rate), and a counter no Checkpoint covers, passed to a skip
// block instead.
type trainer struct {
	Model struct {
		W  []float64
		LR float64
	}
	pcg       *rand.PCG
	stepsRun  int
	newStmts  bool
	usesBlock bool
}

func (tr *trainer) run(r *Run) {
	tr.pcg = rand.NewPCG(uint64(Arg(r, "seed", 3)), 1)
	rng := rand.New(tr.pcg)
	tr.Model.W = make([]float64, 4)
	tr.Model.LR = Arg(r, "lr", 0.5)
	Checkpoint(r, "model", &tr.Model)
	Checkpoint(r, "rng", tr.pcg)
	total := 0.0
	if tr.newStmts {
		Log(r, "probe_prefix", tr.Model.LR*2)
	}
	for e := range Loop(r, "epoch", Range(4)) {
		if tr.newStmts {
			Log(r, "probe_top", tr.Model.W[0]+tr.Model.W[1]) // state at the start of the iteration
		}
		for s := range Loop(r, "step", Range(5)) {
			tr.stepsRun++
			i := s % len(tr.Model.W)
			tr.Model.W[i] += tr.Model.LR * (rng.Float64() - 0.25)
			Log(r, "loss", tr.Model.W[i])
			if tr.newStmts {
				Log(r, "probe_step", tr.Model.W[i]*float64(e))
			}
		}
		if tr.newStmts {
			Log(r, "probe_after", tr.Model.W[2]) // state after the nested loop
		}
		if SkipStart(r, "loop#1", &total) {
			for i := range 3 {
				total += tr.Model.W[i]
			}
		}
		SkipEnd(r, "loop#1")
		Log(r, "val", rng.Float64()+tr.Model.W[3]) // evaluation draws from the RNG
		tr.Model.LR *= 0.9
		if tr.newStmts {
			Log(r, "probe_total", total)
		}
	}
	if tr.newStmts {
		Log(r, "probe_suffix", tr.Model.W[0]*tr.Model.LR+total)
	}
	Log(r, "final", tr.Model.W[1])
}

// Checkpoint with a Run, as the flor front does.
func Checkpoint(r *Run, name string, ptr any) { r.Checkpoint(name, ptr) }

// SkipStart and SkipEnd with a Run, as the flor front does.
func SkipStart(r *Run, id string, ptrs ...any) bool { return r.SkipStart(id, ptrs...) }
func SkipEnd(r *Run, id string)                     { r.SkipEnd(id) }

type exitCode int

// replayRun runs tr under plan in-process; a worker's early exit comes
// back as a recovered exitCode.
func replayRun(t *testing.T, dir string, plan Plan, tr *trainer) (code int) {
	t.Helper()
	pf := filepath.Join(t.TempDir(), "plan.json")
	data, _ := json.Marshal(plan)
	if err := os.WriteFile(pf, data, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := New(Options{Dir: dir, Stdout: discard{}, Stderr: os.Stderr, Env: testEnv(map[string]string{"FLOR_REPLAY": pf})})
	if err != nil {
		t.Fatal(err)
	}
	r.exit = func(c int) { panic(exitCode(c)) }
	defer func() {
		if v := recover(); v != nil {
			c, ok := v.(exitCode)
			if !ok {
				panic(v)
			}
			code = int(c)
		}
	}()
	tr.run(r)
	if err := r.Commit(); err != nil {
		t.Fatal(err)
	}
	return 0
}

func recordRun(t *testing.T, dir string, tr *trainer, args ...string) *Run {
	t.Helper()
	r, err := New(Options{Args: args, Dir: dir, Stdout: discard{}, Stderr: os.Stderr, Env: testEnv(nil)})
	if err != nil {
		t.Fatal(err)
	}
	tr.run(r)
	if err := r.Commit(); err != nil {
		t.Fatal(err)
	}
	return r
}

// pick keeps the entries of a logged map whose name is in names.
func pick(m map[string][]any, names ...string) map[string][]any {
	out := map[string][]any{}
	for k, v := range m {
		for _, n := range names {
			if filepath.Base(k) == n {
				out[k] = v
			}
		}
	}
	return out
}

func TestReplayMatchesFreshRun(t *testing.T) {
	dir := gitInit(t)
	orig := recordRun(t, dir, &trainer{}, "--kwargs", "seed=11", "lr=0.25")
	fresh := recordRun(t, dir, &trainer{newStmts: true}, "--kwargs", "seed=11", "lr=0.25")
	freshVals := logged(t, fresh.File, false)
	probes := []string{"probe_prefix", "probe_top", "probe_after", "probe_total", "probe_suffix"}
	want := pick(freshVals, probes...)
	if len(want) != 1+4+4+4+1 {
		t.Fatalf("fresh run logged %d probe values: %v", len(want), want)
	}

	base := Plan{ID: "t1", Home: orig.Home, ProjID: orig.ProjID, Tstamp: orig.Tstamp, Filename: orig.Filename,
		Record: orig.File, Names: probes, Mode: ModeLoop, Stop: -1, Suffix: true}

	t.Run("outer level skips the nested loops", func(t *testing.T) {
		plan := base
		plan.Out = filepath.Join(t.TempDir(), "w0.jsonl")
		plan.Progress = filepath.Join(t.TempDir(), "progress")
		tr := &trainer{newStmts: true}
		if code := replayRun(t, dir, plan, tr); code != 0 {
			t.Fatalf("exit %d", code)
		}
		data, _ := os.ReadFile(plan.Progress)
		lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
		if len(lines) != 4 {
			t.Errorf("progress file = %q, want the four iterations", data)
		}
		for i, l := range lines {
			p, err := ParseProgress(l)
			if err != nil {
				t.Error(err)
				continue
			}
			// The skipped step loops are restored, each iteration.
			if p.Iter != int64(i) || p.Ended.Before(p.Began) || p.RestoredBytes == 0 || p.Restored < p.RestoredAtBegin {
				t.Errorf("progress line %d = %q: %+v", i, l, p)
			}
		}
		if tr.stepsRun != 0 {
			t.Errorf("the step loop ran %d times; it holds no new statement", tr.stepsRun)
		}
		got := pick(logged(t, plan.Out, false), probes...)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("replayed values differ from a fresh run:\n got %v\nwant %v", got, want)
		}
		for k := range logged(t, plan.Out, true) {
			if b := filepath.Base(k); b == "loss" || b == "val" || b == "seed" || b == "delta::iteration" {
				t.Errorf("replay wrote %s, which it was not asked for", k)
			}
		}
	})

	t.Run("blocks outside the allow-list run", func(t *testing.T) {
		plan := base
		plan.Skip = []string{"loop#1"} // the analysis would not skip "step"
		plan.Out = filepath.Join(t.TempDir(), "w0.jsonl")
		tr := &trainer{newStmts: true}
		replayRun(t, dir, plan, tr)
		if tr.stepsRun != 20 {
			t.Errorf("steps run = %d, want 20: step is not in the allow-list", tr.stepsRun)
		}
		if got := pick(logged(t, plan.Out, false), probes...); !reflect.DeepEqual(got, want) {
			t.Errorf("got %v\nwant %v", got, want)
		}
	})

	t.Run("nested level runs the step loop", func(t *testing.T) {
		plan := base
		plan.Names = []string{"probe_step"}
		plan.Execute = []string{"step"}
		plan.Out = filepath.Join(t.TempDir(), "w0.jsonl")
		tr := &trainer{newStmts: true}
		replayRun(t, dir, plan, tr)
		if tr.stepsRun != 20 {
			t.Errorf("steps run = %d, want 20", tr.stepsRun)
		}
		if got, w := logged(t, plan.Out, false), pick(freshVals, "probe_step"); !reflect.DeepEqual(got, w) {
			t.Errorf("got %v\nwant %v", got, w)
		}
	})

	t.Run("workers split the epochs", func(t *testing.T) {
		got := map[string][]any{}
		for w, rng := range [][2]int64{{0, 2}, {2, 3}, {3, -1}} {
			plan := base
			plan.Worker, plan.Start, plan.Stop = w, rng[0], rng[1]
			plan.Out = filepath.Join(t.TempDir(), "w.jsonl")
			tr := &trainer{newStmts: true}
			code := replayRun(t, dir, plan, tr)
			if rng[1] >= 0 && code != 0 {
				t.Errorf("worker %d exit %d", w, code)
			}
			for k, v := range pick(logged(t, plan.Out, false), probes...) {
				got[k] = append(got[k], v...)
			}
		}
		// Only the last worker runs the prefix's log... every worker runs
		// the prefix; keep one copy of it.
		got["/probe_prefix"] = got["/probe_prefix"][:1]
		if !reflect.DeepEqual(got, want) {
			t.Errorf("workers' values differ:\n got %v\nwant %v", got, want)
		}
	})

	t.Run("prefix mode stops at the main loop", func(t *testing.T) {
		plan := base
		plan.Mode = ModePrefix
		plan.Names = []string{"probe_prefix"}
		plan.Out = filepath.Join(t.TempDir(), "w0.jsonl")
		tr := &trainer{newStmts: true}
		if code := replayRun(t, dir, plan, tr); code != 0 {
			t.Fatalf("exit %d", code)
		}
		if got, w := logged(t, plan.Out, false), pick(freshVals, "probe_prefix"); !reflect.DeepEqual(got, w) {
			t.Errorf("got %v want %v", got, w)
		}
	})

	t.Run("suffix mode restores the last iteration", func(t *testing.T) {
		plan := base
		plan.Mode = ModeSuffix
		plan.Names = []string{"final"}
		plan.Out = filepath.Join(t.TempDir(), "w0.jsonl")
		tr := &trainer{newStmts: false}
		replayRun(t, dir, plan, tr)
		if tr.stepsRun != 0 {
			t.Errorf("suffix replay ran %d steps", tr.stepsRun)
		}
		if got, w := logged(t, plan.Out, false), pick(logged(t, orig.File, false), "final"); !reflect.DeepEqual(got, w) || len(w) != 1 {
			t.Errorf("got %v want %v", got, w)
		}
	})

	t.Run("args come from the recorded run", func(t *testing.T) {
		plan := base
		plan.Names = []string{"lr", "seed"}
		plan.Mode = ModePrefix
		plan.Out = filepath.Join(t.TempDir(), "w0.jsonl")
		replayRun(t, dir, plan, &trainer{})
		got := logged(t, plan.Out, false)
		if !reflect.DeepEqual(got, map[string][]any{"/seed": {11.0}, "/lr": {0.25}}) {
			t.Errorf("args = %v", got)
		}
	})
}

func TestReplayRunsBlocksWithoutCapture(t *testing.T) {
	dir := gitInit(t)
	// Recorded without any Checkpoint: nothing can be restored, so replay
	// must run every block.
	r, err := New(Options{Dir: dir, Stdout: discard{}, Env: testEnv(nil)})
	if err != nil {
		t.Fatal(err)
	}
	steps := 0
	for range Loop(r, "epoch", Range(2)) {
		for range Loop(r, "step", Range(3)) {
			steps++
		}
	}
	if err := r.Commit(); err != nil {
		t.Fatal(err)
	}
	plan := Plan{ID: "x", Home: r.Home, ProjID: r.ProjID, Tstamp: r.Tstamp, Filename: r.Filename,
		Record: r.File, Out: filepath.Join(t.TempDir(), "o.jsonl"), Names: []string{"n"}, Mode: ModeLoop, Stop: -1}
	pf := filepath.Join(t.TempDir(), "p.json")
	data, _ := json.Marshal(plan)
	if err := os.WriteFile(pf, data, 0o644); err != nil {
		t.Fatal(err)
	}
	rr, err := New(Options{Dir: dir, Stdout: discard{}, Env: testEnv(map[string]string{"FLOR_REPLAY": pf})})
	if err != nil {
		t.Fatal(err)
	}
	rr.exit = func(c int) { panic(exitCode(c)) }
	func() {
		defer func() {
			if v := recover(); v != nil {
				if _, ok := v.(exitCode); !ok {
					panic(v)
				}
			}
		}()
		steps = 0
		for range Loop(rr, "epoch", Range(2)) {
			for range Loop(rr, "step", Range(3)) {
				steps++
			}
		}
	}()
	if steps != 6 {
		t.Errorf("steps = %d, want 6: blocks with no capture must run", steps)
	}
}
