package planner

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flordb/flor/runtime"
)

// TestReplayTimes: a replay revises its estimate from its workers' first
// iterations, says so, and keeps what it measured for the next estimates.
func TestReplayTimes(t *testing.T) {
	machine := filepath.Join(t.TempDir(), "flor", "replay-costs.json")
	defer func(f func() string) { machineCostsFile = f }(machineCostsFile)
	machineCostsFile = func() string { return machine }
	p := newProject(t, []string{"epochs=4"})
	p.edit("\t\tflor.Log(\"w\", m.W)\n", "\t\tflor.Log(\"w\", m.W)\n\t\tflor.Log(\"w2\", m.W*2)\n")
	ctx := context.Background()
	opt := p.options("w2")
	var progress syncBuffer
	opt.Progress = &progress
	s, err := p.plan(ctx, opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Rows) != 1 || s.Rows[0].Workers != 2 || s.Rows[0].Estimate <= 0 {
		t.Fatalf("schedule rows %+v, want one run on 2 workers with an estimate", s.Rows)
	}
	outs := Execute(ctx, s, opt)
	o := outs[0]
	if o.Err != nil {
		t.Fatalf("replay: %v\n%s", o.Err, progress.String())
	}
	if o.Revised <= 0 || !strings.Contains(progress.String(), "revised estimate") {
		t.Errorf("no revised estimate (%v) in the progress:\n%s", o.Revised, progress.String())
	}
	if o.Work <= 0 || o.Prep <= 0 || o.Ran() <= 0 || o.Ran() > o.Elapsed {
		t.Errorf("outcome work %v, prep %v, ran %v of %v", o.Work, o.Prep, o.Ran(), o.Elapsed)
	}
	c := loadCosts(p.home)
	pc := c.Programs["."]
	if pc == nil || pc.Prepare <= 0 || pc.Start == 0 || c.Finish <= 0 {
		data, _ := os.ReadFile(costsFile(p.home))
		t.Errorf("costs measured: %s", data)
	}
	// A home that measured nothing starts from the machine's costs.
	m := readCosts(machine).Programs[anyProgram]
	if m == nil || m.Prepare != pc.Prepare || m.Start != pc.Start {
		data, _ := os.ReadFile(machine)
		t.Fatalf("the machine's costs %s, want the home's %+v", data, pc)
	}
	fresh := loadCosts(t.TempDir())
	if got := fresh.prepare("other"); got != dur(pc.Prepare) {
		t.Errorf("a new home's prepare = %v, want the machine's %v", got, dur(pc.Prepare))
	}
	if got := fresh.finish(); got != dur(c.Finish) {
		t.Errorf("a new home's finish = %v, want the machine's %v", got, dur(c.Finish))
	}
}

// TestReplayRunsShareSlots: runs enough to fill the workers get one
// worker each, from the slots all runs share.
func TestReplayRunsShareSlots(t *testing.T) {
	// Runs of equal length: a third of the work each is far from the half
	// that would earn a run a second worker, whatever the load did to
	// their recorded times.
	p := newProject(t, []string{"epochs=2"}, []string{"epochs=2", "lr=0.5"}, []string{"epochs=2", "lr=0.25"})
	p.edit("\t\tflor.Log(\"w\", m.W)\n", "\t\tflor.Log(\"w\", m.W)\n\t\tflor.Log(\"w2\", m.W*2)\n")
	ctx := context.Background()
	opt := p.options("w2")
	s, err := p.plan(ctx, opt)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range s.Rows {
		if r.Workers != 1 {
			t.Errorf("run %s on %d workers, want 1: three runs fill two workers", r.Run.Tstamp, r.Workers)
		}
	}
	if s.Total() <= 0 {
		t.Errorf("total %v", s.Total())
	}
	for _, o := range Execute(ctx, s, opt) {
		if o.Err != nil {
			t.Fatalf("replay of %s: %v", o.Row.Run.Tstamp, o.Err)
		}
	}
	if n := p.count("SELECT count(*) FROM logs WHERE value_name = 'w2' AND replayed"); n != 2+2+2 {
		t.Errorf("%d replayed w2 values, want 6", n)
	}
}

// TestRevisedLeavesOutQueues: a run that waited for other runs' slots is
// revised, as Ran is measured, without the waits.
func TestRevisedLeavesOutQueues(t *testing.T) {
	run := &Run{Filename: ".", Tstamp: "t", Iterations: []time.Duration{time.Second, time.Second, time.Second, time.Second}}
	row := &Row{Run: run}
	lv := Level{Mode: runtime.ModeLoop}
	ranges := [][2]int64{{0, 2}, {2, 4}}
	began := time.Now().Add(-10 * time.Second)
	p := &replayer{opt: Options{Progress: io.Discard}, costs: &costs{Programs: map[string]*programCosts{}}}
	out := &Outcome{Row: row, began: began, Queued: 2 * time.Second}
	tm := p.newTimes(row, lv, ranges, []string{"", ""}, out)
	tm.started(0, 3*time.Second)
	tm.started(1, time.Second)
	now := time.Now()
	tm.firsts = []*runtime.Progress{
		{Iter: 0, Began: now.Add(-time.Second), Ended: now},
		{Iter: 2, Began: now.Add(-time.Second), Ended: now},
	}
	tm.revise(true)
	whole := revise(run, lv, ranges, p.costs, began, tm.starts, tm.firsts)
	if want := whole - 5*time.Second; out.Revised != want {
		t.Errorf("revised %v, want %v: the end %v less the version's wait (2s) and the longest worker's (3s)", out.Revised, want, whole)
	}
}

// The machine's costs are left alone by test binaries and by a flor run
// with FLOR_MACHINE_COSTS=off (a flor the tests built).
func TestMachineCostsPath(t *testing.T) {
	cacheDir := func() (string, error) { return "/cache", nil }
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == MachineCostsEnv {
				return v
			}
			return ""
		}
	}
	for _, c := range []struct {
		inTest bool
		env    string
		want   string
	}{
		{false, "", "/cache/flor/replay-costs.json"},
		{false, "on", "/cache/flor/replay-costs.json"},
		{false, "off", ""},
		{true, "", ""},
	} {
		if got := machineCostsPath(c.inTest, env(c.env), cacheDir); got != c.want {
			t.Errorf("test binary %v, %s=%q: %q, want %q", c.inTest, MachineCostsEnv, c.env, got, c.want)
		}
	}
	if got := machineCostsPath(false, env(""), func() (string, error) { return "", os.ErrNotExist }); got != "" {
		t.Errorf("no cache directory: %q, want none", got)
	}
}
