package planner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/flordb/flor/internal/scratch"
	"github.com/flordb/flor/storage"
)

// evalSrc logs val through a call that changes the model (it counts its
// calls in it, as a model's scratch buffers would change): replay may
// skip it when it keeps no val, restoring the model after.
const evalSrc = `package main

import "github.com/flordb/flor"

type model struct {
	W     float64
	Evals int
}

func evaluate(m *model) float64 {
	m.Evals++
	return m.W * 3
}

func main() {
	defer flor.Commit()
	epochs := flor.Arg("epochs", 4)
	m := &model{W: 1}
	flor.Checkpoint("model", m)
	for e := range flor.Loop("epoch", flor.Range(epochs)) {
		for s := range flor.Loop("step", flor.Range(3)) {
			m.W = m.W*0.5 + float64(e+s)
		}
		flor.Log("val", evaluate(m))
	}
	flor.Log("final", m.W)
}
`

// addEvals puts a statement at the top of the epoch loop that reads what
// the skipped evaluate of the iteration before changed.
func addEvals(p *project) {
	p.edit("\tfor e := range flor.Loop(\"epoch\", flor.Range(epochs)) {\n",
		"\tfor e := range flor.Loop(\"epoch\", flor.Range(epochs)) {\n\t\tflor.Log(\"evals\", m.Evals)\n")
}

// A statement after a skipped evaluation (at the top of the next
// iteration, reading the state the evaluation changed) gets the values a
// fresh run of the new code logs, on one worker and on two.
func TestElidedStatementFidelity(t *testing.T) {
	for _, workers := range []int{1, 2} {
		t.Run(fmt.Sprint(workers, "workers"), func(t *testing.T) {
			p := newProjectFrom(t, evalSrc, []string{"epochs=5"})
			addEvals(p)
			ctx := context.Background()
			opt := p.options("evals")
			opt.Workers = workers
			s, err := p.plan(ctx, opt)
			if err != nil {
				t.Fatal(err)
			}
			var sched bytes.Buffer
			s.Write(&sched)
			if !strings.Contains(sched.String(), "self-check: first iteration of each worker; 1 statement skipped after it (val at main.go:") {
				t.Errorf("the schedule does not say what is checked:\n%s", sched.String())
			}
			outs := Execute(ctx, s, opt)
			if len(outs) != 1 || outs[0].Err != nil || len(outs[0].Divergences) != 0 {
				t.Fatalf("replay: %+v", outs[0])
			}
			if log := versionLog(t, outs[0]); !strings.Contains(log, "instrument: val at main.go:") {
				t.Errorf("the version's log does not say val is guarded:\n%s", log)
			}
			got := values(t, p.home, "evals")
			want := freshValues(t, p, "evals", "epochs=5")
			if !slices.Equal(got, want) || len(want) != 5 {
				t.Errorf("replayed evals %v, a fresh run logs %v", got, want)
			}
		})
	}
}

// The self-check compares a skipped statement's value in each worker's
// first iteration: a divergence there stops the run. One in a later
// iteration is seen only with FullCheck, which evaluates everything.
func TestElidedSelfCheck(t *testing.T) {
	p := newProjectFrom(t, evalSrc, []string{"epochs=4"})
	addEvals(p)
	ctx := context.Background()
	runs, _ := filepath.Glob(filepath.Join(p.home, "runs", "*.jsonl"))
	if len(runs) != 1 {
		t.Fatalf("runs %v", runs)
	}
	orig, err := os.ReadFile(runs[0])
	if err != nil {
		t.Fatal(err)
	}
	vals := regexp.MustCompile(`"n":"val","t":"float","v":([0-9.]+)`).FindAllSubmatch(orig, -1)
	if len(vals) != 4 {
		t.Fatalf("the run file has %d values of val, want 4", len(vals))
	}
	// corrupt changes the last digit of the recorded val of epoch, so the
	// file keeps its size (the store reads it as it was); the self-check
	// reads the file itself. It returns the value now recorded.
	corrupt := func(epoch int) string {
		t.Helper()
		v := vals[epoch][1]
		changed := append(bytes.Clone(v[:len(v)-1]), '0'+(v[len(v)-1]-'0'+1)%10)
		from := []byte(`"n":"val","t":"float","v":` + string(v))
		edited := bytes.Replace(orig, from, []byte(`"n":"val","t":"float","v":`+string(changed)), 1)
		if err := os.WriteFile(runs[0], edited, 0o644); err != nil {
			t.Fatal(err)
		}
		return string(changed)
	}
	replay := func(full bool) *Outcome {
		t.Helper()
		opt := p.options("evals")
		opt.Workers, opt.FullCheck = 2, full // worker 0: epochs 0 and 1; worker 1: 2 and 3
		s, err := p.plan(ctx, opt)
		if err != nil {
			t.Fatal(err)
		}
		outs := Execute(ctx, s, opt)
		if len(outs) != 1 {
			t.Fatalf("%d outcomes", len(outs))
		}
		return outs[0]
	}

	at2 := corrupt(2) // worker 1's first iteration
	if o := replay(false); !errors.Is(o.Err, ErrDivergence) || !strings.Contains(o.Err.Error(), "val at epoch 2: recorded "+at2) {
		t.Fatalf("a divergence in a worker's first iteration: err = %v", o.Err)
	}
	at1 := corrupt(1) // worker 0's second iteration, where val is skipped
	if o := replay(true); !errors.Is(o.Err, ErrDivergence) || !strings.Contains(o.Err.Error(), "val at epoch 1: recorded "+at1) {
		t.Fatalf("with FullCheck, a divergence in a later iteration: err = %v", o.Err)
	}
	if o := replay(false); o.Err != nil || len(o.Divergences) != 0 {
		t.Fatalf("val of epoch 1 is skipped, so not compared: err = %v, divergences %v", o.Err, o.Divergences)
	}
	if n := p.count(`SELECT count(*) FROM logs WHERE value_name = 'evals'`); n != 4 {
		t.Errorf("%d evals values published, want 4", n)
	}
}

// values lists the values of name in home's store, by epoch.
func values(t *testing.T, home, name string) []string {
	t.Helper()
	ctx := context.Background()
	st, err := storage.Open(ctx, home, storage.WithMessages(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	f, err := st.Dataframe(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := range f.Len() {
		if v := f.Value(i, name); v != nil {
			out = append(out, fmt.Sprint(f.Value(i, "epoch"), ":", v))
		}
	}
	slices.Sort(out)
	for i, s := range out {
		_, out[i], _ = strings.Cut(s, ":")
	}
	return out
}

// freshValues builds the working tree's program, records a run of it
// with kwargs in a home of its own, and returns its values of name.
func freshValues(t *testing.T, p *project, name string, kwargs ...string) []string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "fresh")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = p.dir
	build.Env = scratch.BuildEnv()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	home := filepath.Join(t.TempDir(), "fresh-home")
	cmd := exec.Command(bin, append([]string{"--kwargs"}, kwargs...)...)
	cmd.Dir = p.dir
	cmd.Env = append(os.Environ(), "FLOR_ECHO=0", "FLOR_PROGRESS=0", "FLOR_HOME="+home)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("fresh run: %v\n%s", err, out)
	}
	return values(t, home, name)
}
