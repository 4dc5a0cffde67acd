package planner

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// addW2 adds a statement at the top of the epoch loop: an outer-level
// replay runs the epoch body again, which logs the recorded "w" too.
func addW2(p *project) {
	p.edit("\t\tflor.Log(\"w\", m.W)\n", "\t\tflor.Log(\"w\", m.W)\n\t\tflor.Log(\"w2\", m.W*2)\n")
}

// A replay that logs the recorded values again, identically, publishes
// with no divergence.
func TestReplaySelfCheckIdentical(t *testing.T) {
	p := newProject(t, []string{"lr=0.5"})
	addW2(p)
	ctx := context.Background()
	opt := p.options("w2")
	s, err := p.plan(ctx, opt)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range Execute(ctx, s, opt) {
		if o.Err != nil || len(o.Divergences) != 0 {
			t.Fatalf("replay: %v, divergences %v", o.Err, o.Divergences)
		}
	}
	if n := p.count(`SELECT count(*) FROM logs WHERE value_name = 'w2'`); n != 3 {
		t.Errorf("%d w2 values published, want 3", n)
	}
	if n := p.count(`SELECT count(*) FROM warnings`); n != 0 {
		t.Errorf("%d warnings, want none", n)
	}
}

// A recorded value the replay does not reproduce stops the run from
// being published, naming the value, its context and both values; with
// AcceptDivergence the run is published and the value marked.
func TestReplaySelfCheckDivergence(t *testing.T) {
	p := newProject(t, []string{"lr=0.5"})
	addW2(p)
	// w of epoch 1 is 0.25 + 1 = 1.25; the record is edited to say 0.125.
	runs, _ := filepath.Glob(filepath.Join(p.home, "runs", "*.jsonl"))
	if len(runs) != 1 {
		t.Fatalf("runs %v", runs)
	}
	data, err := os.ReadFile(runs[0])
	if err != nil {
		t.Fatal(err)
	}
	edited := bytes.Replace(data, []byte(`"n":"w","t":"float","v":1.25`), []byte(`"n":"w","t":"float","v":0.125`), 1)
	if bytes.Equal(edited, data) {
		t.Fatalf("the run file has no w of 1.25:\n%s", data)
	}
	if err := os.WriteFile(runs[0], edited, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	opt := p.options("w2")
	// Epoch 1 is worker 0's second iteration, where w (whose value the
	// replay does not keep) is evaluated only with FullCheck.
	opt.FullCheck = true
	s, err := p.plan(ctx, opt)
	if err != nil {
		t.Fatal(err)
	}
	outs := Execute(ctx, s, opt)
	if len(outs) != 1 {
		t.Fatalf("%d outcomes", len(outs))
	}
	o := outs[0]
	if !errors.Is(o.Err, ErrDivergence) {
		t.Fatalf("err = %v, want ErrDivergence", o.Err)
	}
	want := "replay diverged from the recorded run: 1 value differs from the record: w at epoch 1: recorded 0.125, replayed 1.25; " +
		"not published (--accept-divergence publishes it, marking these values)"
	if o.Err.Error() != want {
		t.Errorf("error:\n%v\nwant:\n%s", o.Err, want)
	}
	if n := p.count(`SELECT count(*) FROM logs WHERE value_name = 'w2'`); n != 0 {
		t.Errorf("a diverged replay published %d values", n)
	}
	if log, _ := os.ReadFile(o.Log); !strings.Contains(string(log), "diverged: w at epoch 1") {
		t.Errorf("the log does not name the divergence:\n%s", log)
	}

	opt.AcceptDivergence = true
	if s, err = p.plan(ctx, opt); err != nil {
		t.Fatal(err)
	}
	outs = Execute(ctx, s, opt)
	if o := outs[0]; o.Err != nil || len(o.Divergences) != 1 {
		t.Fatalf("accepted replay: %v, divergences %v", o.Err, o.Divergences)
	}
	if n := p.count(`SELECT count(*) FROM logs WHERE value_name = 'w2'`); n != 3 {
		t.Errorf("%d w2 values published, want 3", n)
	}
	if n := p.count(`SELECT count(*) FROM warnings WHERE msg = 'replay diverged (accepted): w at epoch 1: recorded 0.125, replayed 1.25'`); n != 1 {
		t.Errorf("%d warnings mark the divergence, want 1", n)
	}
}
