package storage

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flordb/flor/internal/scratch"
)

const tinyProgram = `package main

import "github.com/flordb/flor"

func main() {
	defer flor.Commit()
	lr := flor.Arg("lr", 0.01)
	epochs := flor.Arg("epochs", 2)
	for e := range flor.Loop("epoch", flor.Range(epochs)) {
		for s := range flor.Loop("step", flor.Range(3)) {
			flor.Log("loss", lr*float64(10*e+s))
		}
		flor.Log("val_acc", 0.5+float64(e)/10)
	}
	flor.Log("done", true)
}
`

// TestRealProgram runs a tiny program linked with the real runtime, twice,
// and reads what it recorded: the run files written by the runtime are what
// the store must understand.
func TestRealProgram(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a program")
	}
	dir, bin := buildProgram(t, tinyProgram)
	prog := filepath.Join(dir, "cmd", "tiny")
	for _, args := range [][]string{nil, {"--kwargs", "lr=0.001", "epochs=1"}} {
		run := exec.Command(bin, args...)
		run.Dir = prog
		run.Env = append(os.Environ(), "FLOR_HOME=")
		if out, err := run.CombinedOutput(); err != nil {
			t.Fatalf("tiny %v: %v\n%s", args, err, out)
		}
	}

	s, err := Open(context.Background(), filepath.Join(dir, ".flor"), WithMessages(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	runs, err := s.Runs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 2 {
		t.Fatalf("%d runs, want 2", len(runs))
	}
	for i, r := range runs {
		if r.Status != StatusFinished || r.Projid != filepath.Base(dir) || r.Filename != "cmd/tiny" || r.Snapshot == "" {
			t.Errorf("run %d: %+v", i, r)
		}
	}
	if runs[1].Kwargs["lr"] != "0.001" || runs[1].Kwargs["epochs"] != "1" {
		t.Errorf("kwargs of the second run: %v", runs[1].Kwargs)
	}

	f, err := s.Dataframe(ctx, "lr", "epochs", "loss", "val_acc")
	if err != nil {
		t.Fatal(err)
	}
	if f.Len() != 2*3+1*3 {
		t.Fatalf("%d rows, want 9:\n%s", f.Len(), frameText(t, f))
	}
	for i := range f.Len() {
		lr := f.Value(i, "lr").(float64)
		e := f.Value(i, "epoch").(int64)
		st := f.Value(i, "step").(int64)
		if want := lr * float64(10*e+st); f.Value(i, "loss") != want {
			t.Errorf("row %d: loss %v, want %v", i, f.Value(i, "loss"), want)
		}
		if want := 0.5 + float64(e)/10; f.Value(i, "val_acc") != want {
			t.Errorf("row %d: val_acc %v, want %v", i, f.Value(i, "val_acc"), want)
		}
		wantEpochs := int64(2)
		if lr == 0.001 {
			wantEpochs = 1
		}
		if f.Value(i, "epochs") != wantEpochs {
			t.Errorf("row %d: epochs %v, want %d", i, f.Value(i, "epochs"), wantEpochs)
		}
	}
	// No names: one row per run with its loop-free values and args.
	f, err = s.Dataframe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if f.Len() != 2 || f.Col("lr") < 0 || f.Col("done") < 0 || f.Value(1, "done") != true {
		t.Errorf("run frame:\n%s", frameText(t, f))
	}
	for _, c := range f.Columns {
		if strings.HasPrefix(c.Name, "delta::") {
			t.Errorf("internal value %s in the run frame", c.Name)
		}
	}

	// The planner's view: timings recorded by the runtime.
	infos, err := s.RunsMissing(ctx, []string{"grad_norm"}, "lr < 0.005")
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 1 || infos[0].Args["epochs"] != int64(1) {
		t.Fatalf("runs missing grad_norm with lr < 0.005: %+v", infos)
	}
	p := infos[0].Profile
	if p.MainLoop != "epoch" || len(p.Iteration) != 1 || math.IsNaN(p.Prefix) || math.IsNaN(p.Suffix) || len(p.Nested["step"]) != 1 {
		t.Errorf("profile = %+v", p)
	}
}

// buildProgram lays out program as cmd/tiny of a module in a fresh git
// repository, builds it against this flor checkout, and returns the
// repository and the binary.
func buildProgram(t *testing.T, program string) (dir, bin string) {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	if _, err := scratch.New(dir, "example.com/tiny", root, map[string][]byte{"cmd/tiny/main.go": []byte(program)}); err != nil {
		t.Fatal(err)
	}
	bin = filepath.Join(t.TempDir(), "tiny.bin")
	build := exec.Command(goBin, "build", "-o", bin, "./cmd/tiny")
	build.Dir = dir
	build.Env = append(scratch.BuildEnv(), "FLOR_HOME=")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return dir, bin
}

const busyProgram = `package main

import "github.com/flordb/flor"

func main() {
	defer flor.Commit()
	id := flor.Arg("id", 0)
	for e := range flor.Loop("epoch", flor.Range(5)) {
		for s := range flor.Loop("step", flor.Range(400)) {
			flor.Log("loss", float64(id*100000+e*1000+s))
		}
		flor.Log("val_acc", float64(e))
	}
}
`

// TestSixteenWritersAndAReader runs 16 recording programs at once while
// this process reads the store over and over: no record may be lost and no
// reader may see a lock error.
func TestSixteenWritersAndAReader(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs 16 programs")
	}
	dir, bin := buildProgram(t, busyProgram)
	home := filepath.Join(dir, ".flor")
	const n = 16
	cmds := make([]*exec.Cmd, n)
	for i := range n {
		cmds[i] = exec.Command(bin, "--kwargs", fmt.Sprintf("id=%d", i))
		cmds[i].Dir = dir
		cmds[i].Env = append(os.Environ(), "FLOR_HOME=", "FLOR_ECHO=0")
		if err := cmds[i].Start(); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error, n)
	for _, c := range cmds {
		go func() { done <- c.Wait() }()
	}
	ctx := context.Background()
	reads := 0
	for finished := 0; finished < n; {
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("a writer failed: %v", err)
			}
			finished++
		default:
			if _, err := os.Stat(home); err != nil {
				continue // no run has started yet
			}
			s, err := Open(ctx, home, WithMessages(nil))
			if err != nil {
				t.Fatalf("reader: %v", err)
			}
			if _, err := s.Dataframe(ctx, "loss"); err != nil {
				t.Fatalf("reader: %v", err)
			}
			s.Close()
			reads++
		}
	}
	s, err := Open(ctx, home, WithMessages(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	f, err := s.Dataframe(ctx, "loss")
	if err != nil {
		t.Fatal(err)
	}
	if want := n * 5 * 400; f.Len() != want {
		t.Errorf("%d loss rows after %d reads during the runs, want %d", f.Len(), reads, want)
	}
	seen := map[float64]bool{}
	for i := range f.Len() {
		seen[f.Value(i, "loss").(float64)] = true
	}
	if len(seen) != n*5*400 {
		t.Errorf("%d distinct values, want %d", len(seen), n*5*400)
	}
	runs, err := s.Runs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range runs {
		if r.Status != StatusFinished {
			t.Errorf("run %v: %s", r.Tstamp, r.Status)
		}
	}
}
