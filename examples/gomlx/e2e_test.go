package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/flordb/flor/examples/gomlx/internal/gomlxproj"
	"github.com/flordb/flor/internal/scratch"
)

// The flor the tests run replays on a machine busy with them: no measure
// for the user's next estimates.
func init() { os.Setenv("FLOR_MACHINE_COSTS", "off") }

// The end-to-end test: a git project with two committed versions of this
// example (the second renames the trainer), a recorded run of each, then
// new statements in the working tree at the top of the epoch loop and in
// the step loop, replayed with two workers. Each replayed value must
// equal, bit for bit, what a fresh run of the new code logs.

var runKwargs = [][]string{
	{"epochs=3", "train_size=384", "test_size=200", "print_every=2"},
	{"epochs=3", "train_size=384", "test_size=200", "print_every=2", "seed=5", "learning_rate=0.003"},
}

// newStatements go into the newest version: at the top of the epoch
// loop, and in the step loop.
var newStatements = []struct{ anchor, stmt string }{
	{"\t\tperm := rng.Perm(trainSet.N)", "\t\tflor.Log(\"acc_top\", mnistmlp.Evaluate(learner, testSet, batchSize))\n"},
	{"\t\t\tif step%printEvery == 0 {", "\t\t\tflor.Log(\"loss_x\", m[0].Value())\n"},
	// The moving average carries the trainer's metric state across
	// epochs, which a worker that starts at a later epoch restores.
	{"\t\t\tif step%printEvery == 0 {", "\t\t\tflor.Log(\"avg_x\", m[1].Value())\n"},
}

type project struct {
	t   *testing.T
	dir string
	p   *scratch.Project
}

// newProject lays out a scratch git project for the example.
func newProject(t *testing.T, dir, root string) *project {
	t.Helper()
	p, err := gomlxproj.New(dir, root, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &project{t: t, dir: dir, p: p}
}

func (p *project) write(name, content string) {
	p.t.Helper()
	if err := p.p.Write(name, []byte(content)); err != nil {
		p.t.Fatal(err)
	}
}

func (p *project) commit(msg string) {
	p.t.Helper()
	if err := p.p.Commit(msg); err != nil {
		p.t.Fatal(err)
	}
}

func (p *project) run(name string, args ...string) string {
	p.t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = p.dir
	cmd.Env = gomlxproj.Env()
	out, err := cmd.CombinedOutput()
	if err != nil {
		p.t.Fatalf("%s %v: %v\n%s", filepath.Base(name), args, err, out)
	}
	return string(out)
}

// train builds the working tree's program and runs it once per kwargs.
func (p *project) train(kwargs ...[]string) {
	p.t.Helper()
	bin := filepath.Join(p.t.TempDir(), "train")
	p.run("go", "build", "-o", bin, ".")
	for _, kw := range kwargs {
		p.run(bin, append([]string{"--kwargs"}, kw...)...)
	}
}

// values reads name's values from the project's store, keyed by the run's
// seed and the loop position.
func (p *project) values(flor, name string) map[string]any {
	p.t.Helper()
	cmd := exec.Command(flor, "dataframe", "--format", "json", "seed", name)
	cmd.Dir = p.dir
	cmd.Env = gomlxproj.Env()
	out, err := cmd.Output()
	if err != nil {
		p.t.Fatalf("flor dataframe %s: %v", name, err)
	}
	var rows []map[string]any
	if err := json.Unmarshal(out, &rows); err != nil {
		p.t.Fatalf("flor dataframe %s: %v\n%s", name, err, out)
	}
	vals := map[string]any{}
	for _, r := range rows {
		if r[name] == nil {
			continue
		}
		vals[fmt.Sprintf("seed=%v epoch=%v step=%v", r["seed"], r["epoch"], r["step"])] = r[name]
	}
	return vals
}

func TestReplayEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds flor and three versions of the example, and trains them")
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root, err := scratch.Root(wd)
	if err != nil {
		t.Fatal(err)
	}
	base := t.TempDir()
	flor := filepath.Join(base, "flor")
	build := exec.Command("go", "build", "-o", flor, "./cmd/flor")
	build.Dir = root
	build.Env = append(os.Environ(), "GOWORK=off")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/flor: %v\n%s", err, out)
	}

	mainV1, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	v1 := string(mainV1)
	v2 := strings.ReplaceAll(v1, "trainer", "learner")
	if !strings.Contains(v2, "learner := train.NewTrainer") {
		t.Fatal("the example changed: the rename did not apply")
	}
	newest := v2
	for _, s := range newStatements {
		if !strings.Contains(newest, s.anchor) {
			t.Fatalf("the example changed: no %q", s.anchor)
		}
		newest = strings.Replace(newest, s.anchor, s.stmt+s.anchor, 1)
	}

	proj := newProject(t, filepath.Join(base, "proj"), root)
	proj.write("main.go", v1)
	proj.commit("v1")
	proj.train(runKwargs[0])
	proj.write("main.go", v2)
	proj.commit("v2: trainer is learner")
	proj.train(runKwargs[1])
	proj.write("main.go", newest)

	fresh := newProject(t, filepath.Join(base, "fresh"), root)
	fresh.write("main.go", newest)
	fresh.commit("new")
	fresh.train(runKwargs...)

	for _, name := range []string{"acc_top", "loss_x", "avg_x"} {
		t.Run(name, func(t *testing.T) {
			proj, fresh := &project{t, proj.dir, proj.p}, &project{t, fresh.dir, fresh.p}
			out := proj.run(flor, "replay", "--yes", "--workers", "2", name)
			got, want := proj.values(flor, name), fresh.values(flor, name)
			if len(want) == 0 {
				t.Fatalf("fresh runs logged no %s", name)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("replayed %s differs from fresh runs of the new code:\n got %v\nwant %v\n%s", name, got, want, out)
			}
			t.Logf("flor replay --workers 2 %s:\n%s", name, out)
		})
	}
}
