package runtime

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
)

// guarded is a program whose val statement is guarded as the replay
// build guards it: its argument changes the checkpointed M, and top, at
// the start of the next iteration, reads what it changed.
type guarded struct {
	M      struct{ N, W int }
	wanted []bool
}

func (g *guarded) run(r *Run, restores ...string) {
	Checkpoint(r, "m", &g.M)
	for range Loop(r, "epoch", Range(4)) {
		Log(r, "top", g.M.N)
		g.M.W++
		w := r.Wanted("val", restores...)
		g.wanted = append(g.wanted, w)
		if w {
			g.M.N++
			Log(r, "val", g.M.W*10)
		}
	}
}

func TestWanted(t *testing.T) {
	dir := gitInit(t)
	rec, err := New(Options{Dir: dir, Stdout: discard{}, Env: testEnv(nil)})
	if err != nil {
		t.Fatal(err)
	}
	g := &guarded{}
	g.run(rec, "m")
	if err := rec.Commit(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(g.wanted, []bool{true, true, true, true}) {
		t.Fatalf("recording: wanted %v, want always", g.wanted)
	}
	base := Plan{ID: "t", Home: rec.Home, ProjID: rec.ProjID, Tstamp: rec.Tstamp, Filename: rec.Filename,
		Record: rec.File, Names: []string{"top"}, Mode: ModeLoop, Stop: -1, Suffix: true}
	tops := func(out string) []any {
		var vs []any
		for e := range 4 {
			vs = append(vs, logged(t, out, false)[fmt.Sprintf("/epoch=%d/top", e)]...)
		}
		return vs
	}
	for _, c := range []struct {
		name     string
		edit     func(*Plan)
		restores []string
		want     []bool
		tops     []any
	}{
		{"first iteration checked, then skipped and restored", nil, []string{"m"},
			[]bool{true, false, false, false}, []any{0.0, 1.0, 2.0, 3.0}},
		{"a worker starting mid-run checks its first", func(p *Plan) { p.Start = 2 }, []string{"m"},
			[]bool{true, false}, []any{2.0, 3.0}},
		{"full check", func(p *Plan) { p.FullCheck = true }, []string{"m"},
			[]bool{true, true, true, true}, []any{0.0, 1.0, 2.0, 3.0}},
		{"a kept name", func(p *Plan) { p.Names = append(p.Names, "val") }, []string{"m"},
			[]bool{true, true, true, true}, []any{0.0, 1.0, 2.0, 3.0}},
		{"a registration the run has no capture of", nil, []string{"other"},
			[]bool{true, true, true, true}, []any{0.0, 1.0, 2.0, 3.0}},
	} {
		t.Run(c.name, func(t *testing.T) {
			plan := base
			if c.edit != nil {
				c.edit(&plan)
			}
			plan.Out = filepath.Join(t.TempDir(), "w0.jsonl")
			g := &guarded{}
			r, err := New(Options{Dir: dir, Stdout: discard{}, Env: testEnv(map[string]string{"FLOR_REPLAY": writePlan(t, plan)})})
			if err != nil {
				t.Fatal(err)
			}
			g.run(r, c.restores...)
			if err := r.Commit(); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(g.wanted, c.want) {
				t.Errorf("wanted %v, want %v", g.wanted, c.want)
			}
			if got := tops(plan.Out); !reflect.DeepEqual(got, c.tops) {
				t.Errorf("top = %v, want %v (as recorded)", got, c.tops)
			}
		})
	}
}

// writePlan writes plan as a replay's plan file and returns its path.
func writePlan(t *testing.T, plan Plan) string {
	t.Helper()
	pf := filepath.Join(t.TempDir(), "plan.json")
	data, err := json.Marshal(plan)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pf, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return pf
}
