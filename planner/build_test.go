package planner

import (
	"bytes"
	"context"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flordb/flor/internal/record"
	"github.com/flordb/flor/internal/scratch"
	"github.com/flordb/flor/storage"
)

// A program whose arithmetic depends on a build tag and on a declared
// environment variable, as a GoMLX program's backend depends on noxla and
// GOMLX_BACKEND.
const buildSrc = `package main

import (
	"os"

	"github.com/flordb/flor"
)

func init() { flor.RecordEnv("TRAIN_*") }

type model struct{ W float64 }

func main() {
	defer flor.Commit()
	scale := 1.0
	if os.Getenv("TRAIN_SCALE") == "big" {
		scale = 10
	}
	m := &model{W: 1}
	flor.Checkpoint("model", m)
	for e := range flor.Loop("epoch", flor.Range(4)) {
		m.W = m.W*0.5 + float64(e+1)*scale*tagFactor
		flor.Log("w", m.W)
	}
}
`

// Replay rebuilds a version with the tags it was recorded with and runs it
// with the environment it declared, whatever the shell of the replay has.
func TestReplayUsesRecordedBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a program")
	}
	wd, _ := os.Getwd()
	root, err := scratch.Root(wd)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOFLAGS", "-mod=mod")
	t.Setenv("TRAIN_SCALE", "") // the replay's shell: no such setting
	dir := filepath.Join(t.TempDir(), "proj")
	p, err := scratch.New(dir, "example.com/train", root, map[string][]byte{
		"main.go":    []byte(buildSrc),
		"tag_on.go":  []byte("//go:build special\n\npackage main\n\nconst tagFactor = 3.0\n"),
		"tag_off.go": []byte("//go:build !special\n\npackage main\n\nconst tagFactor = 1.0\n"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Commit("v1"); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "train")
	build := exec.Command("go", "build", "-tags", "special", "-o", bin, ".")
	build.Dir = dir
	build.Env = scratch.BuildEnv()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	run := exec.Command(bin)
	run.Dir = dir
	run.Env = append(os.Environ(), "FLOR_ECHO=0", "FLOR_PROGRESS=0", "FLOR_HOME=", "FLOR_CHECKPOINT_EPSILON=0", "TRAIN_SCALE=big")
	if out, err := run.CombinedOutput(); err != nil {
		t.Fatalf("train: %v\n%s", err, out)
	}
	home := filepath.Join(dir, ".flor")

	// The run record holds the tag and the declared variable.
	files, _ := filepath.Glob(filepath.Join(home, "runs", "*.jsonl"))
	if len(files) != 1 {
		t.Fatalf("%d run files", len(files))
	}
	var hdr record.Run
	first := true
	record.ReadFile(files[0], func(l record.Line) error {
		if first {
			first = false
			hdr, err = l.Run()
		}
		return err
	})
	if hdr.Build == nil || hdr.Build.Tags != "special" || hdr.Build.Env["TRAIN_SCALE"] != "big" {
		t.Fatalf("run record's build = %+v, want tags special and TRAIN_SCALE=big", hdr.Build)
	}

	src := strings.Replace(buildSrc, "\t\tflor.Log(\"w\", m.W)\n", "\t\tflor.Log(\"w\", m.W)\n\t\tflor.Log(\"w2\", m.W)\n", 1)
	if err := p.Write("main.go", []byte(src)); err != nil {
		t.Fatal(err)
	}
	f := replayW2(t, dir, home)
	for i := range f.Len() {
		w, _ := f.Value(i, "w").(float64)
		w2, ok := f.Value(i, "w2").(float64)
		if !ok || math.Float64bits(w) != math.Float64bits(w2) {
			t.Errorf("epoch %d: w2 = %v, want %v (the recorded build's)", i, f.Value(i, "w2"), w)
		}
	}
}

// A statement that uses a name the recorded version declares only behind
// the tag it was built with is propagated into, analysed in and replayed
// with that version's files: the loads select files as its build does.
func TestReplayLoadsRecordedTags(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a program")
	}
	wd, _ := os.Getwd()
	root, err := scratch.Root(wd)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOFLAGS", "-mod=mod")
	t.Setenv("TRAIN_SCALE", "")
	dir := filepath.Join(t.TempDir(), "proj")
	p, err := scratch.New(dir, "example.com/train", root, map[string][]byte{
		"main.go":    []byte(buildSrc),
		"tag_on.go":  []byte("//go:build special\n\npackage main\n\nconst tagFactor = 3.0\n\nconst tagBonus = 0.5\n"),
		"tag_off.go": []byte("//go:build !special\n\npackage main\n\nconst tagFactor = 1.0\n"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Commit("v1"); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "train")
	build := exec.Command("go", "build", "-tags", "special", "-o", bin, ".")
	build.Dir = dir
	build.Env = scratch.BuildEnv()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	run := exec.Command(bin)
	run.Dir = dir
	run.Env = append(os.Environ(), "FLOR_ECHO=0", "FLOR_PROGRESS=0", "FLOR_HOME=", "FLOR_CHECKPOINT_EPSILON=0")
	if out, err := run.CombinedOutput(); err != nil {
		t.Fatalf("train: %v\n%s", err, out)
	}
	home := filepath.Join(dir, ".flor")

	// Later tagBonus is declared without the tag too, and logged. In the
	// recorded version it exists only in tag_on.go: loaded without the
	// tag, that version has no tagBonus and the statement is refused.
	src := strings.Replace(buildSrc, "\t\tflor.Log(\"w\", m.W)\n", "\t\tflor.Log(\"w\", m.W)\n\t\tflor.Log(\"w2\", m.W+tagBonus)\n", 1)
	if err := p.Write("main.go", []byte(src)); err != nil {
		t.Fatal(err)
	}
	if err := p.Write("tag_off.go", []byte("//go:build !special\n\npackage main\n\nconst tagFactor = 1.0\n\nconst tagBonus = 0.5\n")); err != nil {
		t.Fatal(err)
	}
	f := replayW2(t, dir, home)
	for i := range f.Len() {
		w, _ := f.Value(i, "w").(float64)
		w2, ok := f.Value(i, "w2").(float64)
		if !ok || math.Float64bits(w+0.5) != math.Float64bits(w2) {
			t.Errorf("epoch %d: w2 = %v, want %v (w+tagBonus of the recorded build)", i, f.Value(i, "w2"), w+0.5)
		}
	}
}

// replayW2 replays w2 into the runs of the project in dir on two workers
// and returns the dataframe of w and w2, one row per epoch of its run.
func replayW2(t *testing.T, dir, home string) *storage.Frame {
	t.Helper()
	ctx := context.Background()
	opt := Options{Names: []string{"w2"}, Workers: 2, Root: dir, Home: home}
	st, err := storage.Open(ctx, home, storage.WithMessages(&bytes.Buffer{}))
	if err != nil {
		t.Fatal(err)
	}
	runs, err := MissingRuns(ctx, st, opt.Names, "")
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	s, err := Plan(ctx, opt, runs)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range Execute(ctx, s, opt) {
		if o.Err != nil {
			t.Fatalf("replay: %v\n%s", o.Err, o.Log)
		}
	}
	st, err = storage.Open(ctx, home, storage.WithMessages(&bytes.Buffer{}))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	f, err := st.Dataframe(ctx, "w", "w2")
	if err != nil {
		t.Fatal(err)
	}
	if f.Len() != 4 {
		t.Fatalf("%d rows, want 4", f.Len())
	}
	return f
}
