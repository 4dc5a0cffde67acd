package runtime

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flordb/flor/internal/record"
)

// divergences reads the diverge records of a replay's output.
func divergences(t testing.TB, path string) []record.Divergence {
	t.Helper()
	var out []record.Divergence
	err := record.ReadFile(path, func(l record.Line) error {
		if l.Kind == record.KindDiverge {
			d, err := l.Divergence()
			if err != nil {
				return err
			}
			out = append(out, d)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// selfChecked replays plan in-process like replayRun, and returns how
// many values the self-check compared.
func selfChecked(t *testing.T, dir string, plan Plan) int {
	t.Helper()
	pf := filepath.Join(t.TempDir(), "plan.json")
	data, _ := json.Marshal(plan)
	if err := os.WriteFile(pf, data, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := New(Options{Dir: dir, Stdout: discard{}, Stderr: io.Discard, Env: testEnv(map[string]string{"FLOR_REPLAY": pf})})
	if err != nil {
		t.Fatal(err)
	}
	r.exit = func(c int) { panic(exitCode(c)) }
	func() {
		defer func() {
			if v := recover(); v != nil {
				if _, ok := v.(exitCode); !ok {
					panic(v)
				}
			}
		}()
		(&trainer{newStmts: true}).run(r)
		if err := r.Commit(); err != nil {
			t.Fatal(err)
		}
	}()
	return r.replay.check.compared
}

// Replays of unchanged code log the recorded values again, in every mode:
// they are compared and none diverges.
func TestSelfCheckIdentical(t *testing.T) {
	dir := gitInit(t)
	orig := recordRun(t, dir, &trainer{}, "--kwargs", "seed=5")
	base := Plan{ID: "t", Home: orig.Home, ProjID: orig.ProjID, Tstamp: orig.Tstamp, Filename: orig.Filename,
		Record: orig.File, Names: []string{"probe_top"}, Mode: ModeLoop, Stop: -1, Suffix: true}
	for _, c := range []struct {
		name        string
		execute     []string
		start, stop int64
		want        int // values compared: val ×4 + final, loss ×20 when steps run
	}{
		{"outer level", nil, 0, -1, 4 + 1},
		{"nested level", []string{"step"}, 0, -1, 4 + 1 + 20},
		{"worker of epochs 1 to 2", []string{"step"}, 1, 3, 2 + 10},
	} {
		t.Run(c.name, func(t *testing.T) {
			plan := base
			plan.Execute, plan.Start, plan.Stop = c.execute, c.start, c.stop
			plan.Out = filepath.Join(t.TempDir(), "w.jsonl")
			if n := selfChecked(t, dir, plan); n != c.want {
				t.Errorf("compared %d values, want %d", n, c.want)
			}
			if d := divergences(t, plan.Out); len(d) != 0 {
				t.Errorf("divergences: %v", d)
			}
		})
	}
}

// A recorded value that the replay does not reproduce is a diverge
// record naming the value, its context and both values.
func TestSelfCheckDivergence(t *testing.T) {
	dir := gitInit(t)
	orig := recordRun(t, dir, &trainer{}, "--kwargs", "seed=5")
	replayed := tamper(t, orig.File, "val", 1, "0.125")
	plan := Plan{ID: "t", Home: orig.Home, ProjID: orig.ProjID, Tstamp: orig.Tstamp, Filename: orig.Filename,
		Record: orig.File, Out: filepath.Join(t.TempDir(), "w.jsonl"), Names: []string{"probe_top"},
		Mode: ModeLoop, Stop: -1}
	selfChecked(t, dir, plan)
	ds := divergences(t, plan.Out)
	if len(ds) != 1 {
		t.Fatalf("divergences %v, want 1", ds)
	}
	want := "val at epoch 1: recorded 0.125, replayed " + replayed
	if got := ds[0].String(); got != want {
		t.Errorf("divergence %q, want %q", got, want)
	}
	// The requested values are still written.
	if got := logged(t, plan.Out, false); len(got) != 4 {
		t.Errorf("replay wrote %v, want probe_top of 4 epochs", got)
	}
}

// tamper replaces the value of the occurrence-th (from 0) log record of
// name in a run file by val, and returns the value it held.
func tamper(t *testing.T, path, name string, occurrence int, val string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(data, []byte("\n"))
	seen := 0
	var d record.Decoder
	for i, line := range lines {
		l, err := d.Decode(line)
		if err != nil || l.Kind != record.KindLog {
			continue
		}
		g, _ := l.Log()
		if g.Name() != name {
			continue
		}
		if seen++; seen <= occurrence {
			continue
		}
		old := string(g.V)
		lines[i] = []byte(strings.Replace(string(line), `"v":`+old, `"v":`+val, 1))
		if err := os.WriteFile(path, bytes.Join(lines, []byte("\n")), 0o644); err != nil {
			t.Fatal(err)
		}
		return old
	}
	t.Fatalf("%s has no log %d of %q", path, occurrence, name)
	return ""
}
