package planner

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/flordb/flor/internal/scratch"
	"github.com/flordb/flor/storage"
)

// The replay tests record real runs of a small training program in a
// scratch git project, then replay new statements into them with the
// planner and read the results back from the store.

const trainSrc = `package main

import "github.com/flordb/flor"

type model struct{ W float64 }

func main() {
	defer flor.Commit()
	epochs := flor.Arg("epochs", 3)
	lr := flor.Arg("lr", 0.5)
	m := &model{W: 1}
	flor.Checkpoint("model", m)
	for e := range flor.Loop("epoch", flor.Range(epochs)) {
		m.W = m.W*(1-lr) + float64(e)
		flor.Log("w", m.W)
	}
	flor.Log("final", m.W)
}
`

type project struct {
	t    *testing.T
	dir  string
	home string
	p    *scratch.Project
	src  string // main.go as committed
}

// newProject commits trainSrc and records one run per kwargs list.
func newProject(t *testing.T, kwargs ...[]string) *project {
	t.Helper()
	return newProjectFrom(t, trainSrc, kwargs...)
}

// newProjectFrom commits src as main.go and records one run per kwargs
// list.
func newProjectFrom(t *testing.T, src string, kwargs ...[]string) *project {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs a training program")
	}
	wd, _ := os.Getwd()
	root, err := scratch.Root(wd)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOFLAGS", "-mod=mod")
	dir := filepath.Join(t.TempDir(), "proj")
	p, err := scratch.New(dir, "example.com/train", root, map[string][]byte{"main.go": []byte(src)})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Commit("v1"); err != nil {
		t.Fatal(err)
	}
	pr := &project{t: t, dir: dir, home: filepath.Join(dir, ".flor"), p: p, src: src}
	bin := filepath.Join(t.TempDir(), "train")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = dir
	build.Env = scratch.BuildEnv()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, kw := range kwargs {
		cmd := exec.Command(bin, append([]string{"--kwargs"}, kw...)...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "FLOR_ECHO=0", "FLOR_PROGRESS=0", "FLOR_HOME=",
			"FLOR_CHECKPOINT_EPSILON=0") // every iteration checkpointed: replays restore
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("train %v: %v\n%s", kw, err, out)
		}
	}
	return pr
}

// edit replaces old by new in the working tree's main.go (not committed).
func (p *project) edit(old, new string) {
	p.t.Helper()
	src := strings.Replace(p.src, old, new, 1)
	if src == p.src {
		p.t.Fatalf("main.go has no %q", old)
	}
	if err := p.p.Write("main.go", []byte(src)); err != nil {
		p.t.Fatal(err)
	}
}

func (p *project) options(names ...string) Options {
	return Options{Names: names, Workers: 2, Root: p.dir, Home: p.home}
}

// plan finds the runs lacking names and plans their replay.
func (p *project) plan(ctx context.Context, opt Options) (*Schedule, error) {
	st, err := storage.Open(ctx, p.home, storage.WithMessages(&bytes.Buffer{}))
	if err != nil {
		return nil, err
	}
	runs, err := MissingRuns(ctx, st, opt.Names, opt.Where)
	st.Close()
	if err != nil {
		return nil, err
	}
	return Plan(ctx, opt, runs)
}

// count runs a query returning one number on the project's store.
func (p *project) count(query string) int {
	p.t.Helper()
	ctx := context.Background()
	st, err := storage.Open(ctx, p.home, storage.WithMessages(&bytes.Buffer{}))
	if err != nil {
		p.t.Fatal(err)
	}
	defer st.Close()
	var n int
	if err := st.DB().QueryRowContext(ctx, query).Scan(&n); err != nil {
		p.t.Fatalf("%s: %v", query, err)
	}
	return n
}

// runs lists the project's runs, oldest first.
func (p *project) runs() []storage.Run {
	p.t.Helper()
	ctx := context.Background()
	st, err := storage.Open(ctx, p.home, storage.WithMessages(&bytes.Buffer{}))
	if err != nil {
		p.t.Fatal(err)
	}
	defer st.Close()
	runs, err := st.Runs(ctx)
	if err != nil {
		p.t.Fatal(err)
	}
	return runs
}

// syncBuffer is a bytes.Buffer safe for the replay's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
