package storage

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestRunsMissing(t *testing.T) {
	home := t.TempDir()
	ta, tb, tc := t0, t0.Add(time.Hour), t0.Add(2*time.Hour)
	a := newRunFile(t, home, ta, runOpts{kwargs: map[string]string{"lr": "0.001"}})
	a.train(0.001, 2, 2)
	a.close()
	b := newRunFile(t, home, tb, runOpts{})
	b.train(0.0005, 1, 2)
	b.close()
	c := newRunFile(t, home, tc, runOpts{snapshot: "abc123"})
	c.train(0.01, 2, 3)
	c.close()
	// Run a got grad_norm from a replay.
	rp := newRunFile(t, home, ta, runOpts{dir: "replay/r1", replay: map[string]any{"id": "r1", "names": []string{"grad_norm"}}})
	rp.log(rp.ctx(0, "epoch", 0, 0), "grad_norm", 1.5)
	rp.close()
	// Run b was replayed for w_norm and logged none (it has no epoch to
	// log it in): it is settled too.
	rb := newRunFile(t, home, tb, runOpts{dir: "replay/r2", replay: map[string]any{"id": "r2", "names": []string{"w_norm"}}})
	rb.close()

	s := openTest(t, home)
	ctx := context.Background()
	idents := func(infos []RunInfo) []time.Time {
		var out []time.Time
		for _, i := range infos {
			out = append(out, i.Tstamp)
		}
		return out
	}
	infos, err := s.RunsMissing(ctx, []string{"grad_norm"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := idents(infos); !reflect.DeepEqual(got, []time.Time{tb, tc}) {
		t.Errorf("runs missing grad_norm: %v, want %v", got, []time.Time{tb, tc})
	}
	infos, err = s.RunsMissing(ctx, []string{"w_norm"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := idents(infos); !reflect.DeepEqual(got, []time.Time{ta, tc}) {
		t.Errorf("runs missing w_norm: %v, want %v (b's replay settled it)", got, []time.Time{ta, tc})
	}
	infos, err = s.RunsMissing(ctx, []string{"grad_norm", "loss"}, "lr > 0.0005")
	if err != nil {
		t.Fatal(err)
	}
	if got := idents(infos); !reflect.DeepEqual(got, []time.Time{tc}) {
		t.Fatalf("runs missing grad_norm with lr > 0.0005: %v, want [%v]", got, tc)
	}
	info := infos[0]
	if !reflect.DeepEqual(info.Missing, []string{"grad_norm"}) {
		t.Errorf("missing = %v", info.Missing)
	}
	if !reflect.DeepEqual(info.Args, map[string]any{"lr": 0.01, "epochs": int64(2)}) {
		t.Errorf("args = %#v", info.Args)
	}
	if info.Snapshot != "abc123" || info.Filename != "train" || info.Path != filepath.Join(s.Home(), "runs", tstampName(tc)+".jsonl") {
		t.Errorf("identity: %+v", info.Run)
	}
	p := info.Profile
	if p.Prefix != 0.5 || p.Suffix != 0.25 || p.MainLoop != "epoch" ||
		!reflect.DeepEqual(p.Iteration, []float64{2.5, 2.5}) ||
		!reflect.DeepEqual(p.Nested, map[string][]float64{"step": {2, 2}}) {
		t.Errorf("profile = %+v", p)
	}

	// A per-epoch metric in the filter: runs with some epoch over 0.55.
	infos, err = s.RunsMissing(ctx, []string{"grad_norm"}, "val_acc > 0.55 AND epoch >= 1")
	if err != nil {
		t.Fatal(err)
	}
	if got := idents(infos); !reflect.DeepEqual(got, []time.Time{tc}) {
		t.Errorf("runs with val_acc > 0.55: %v, want [%v]", got, tc)
	}

	_, err = s.RunsMissing(ctx, []string{"grad_norm"}, "nope > 1")
	if !errors.Is(err, ErrUnknownColumn) || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("unknown column: %v", err)
	}
	_, err = s.RunsMissing(ctx, []string{"grad_norm"}, "lr >")
	if !errors.Is(err, ErrWhere) {
		t.Errorf("bad filter: %v", err)
	}
}

// TestProfileNested: a nested loop's timing logged deeper than the main
// loop's iteration is attributed to the outer iteration above it.
func TestProfileNested(t *testing.T) {
	home := t.TempDir()
	r := newRunFile(t, home, t0, runOpts{})
	for e := range 2 {
		ec := r.ctx(0, "epoch", e, e)
		for b := range 2 {
			bc := r.ctx(ec, "batch", b, b)
			r.delta(bc, "inner", 0.25)
		}
		r.delta(ec, "batch", 1)
		r.delta(ec, "iteration", 1.5)
	}
	r.close()
	s := openTest(t, home)
	infos, err := s.RunsMissing(context.Background(), []string{"x"}, "")
	if err != nil {
		t.Fatal(err)
	}
	p := infos[0].Profile
	want := map[string][]float64{"batch": {1, 1}, "inner": {0.5, 0.5}}
	if !reflect.DeepEqual(p.Nested, want) || !math.IsNaN(p.Prefix) || len(p.Iteration) != 2 {
		t.Errorf("profile = %+v, want nested %v", p, want)
	}
	if infos[0].Status != StatusUnfinished {
		t.Errorf("status %s", infos[0].Status)
	}
}
