package storage

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

const ckptProgram = `package main

import "github.com/flordb/flor"

func main() {
	defer flor.Commit()
	w := new(float64)
	flor.Checkpoint("w", w)
	for e := range flor.Loop("epoch", flor.Range(3)) {
		*w += float64(e)
	}
}
`

// RunMeta reads what the replay planner needs of a run recorded by the
// real runtime: its directory, staleness and end-of-iteration checkpoints.
func TestRunMeta(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a program")
	}
	dir, bin := buildProgram(t, ckptProgram)
	prog := filepath.Join(dir, "cmd", "tiny")
	record := func(epsilon string) {
		run := exec.Command(bin)
		run.Dir = prog
		run.Env = append(os.Environ(), "FLOR_HOME=", "FLOR_ECHO=0", "FLOR_CHECKPOINT_EPSILON="+epsilon)
		if out, err := run.CombinedOutput(); err != nil {
			t.Fatalf("tiny: %v\n%s", err, out)
		}
	}
	record("0") // every iteration checkpointed
	// Sources newer than the program: the next run's snapshot is stale.
	future := time.Now().Add(time.Hour)
	if err := os.Chtimes(filepath.Join(prog, "main.go"), future, future); err != nil {
		t.Fatal(err)
	}
	record("0")

	ctx := context.Background()
	s := openTest(t, filepath.Join(dir, ".flor"))
	runs, err := s.Runs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 2 {
		t.Fatalf("%d runs, want 2", len(runs))
	}
	wantCwd, _ := filepath.EvalSymlinks(prog)
	for i, stale := range []bool{false, true} {
		m, err := s.RunMeta(ctx, runs[i])
		if err != nil {
			t.Fatal(err)
		}
		if cwd, _ := filepath.EvalSymlinks(m.Cwd); cwd != wantCwd || m.Stale != stale || m.Captured != 3 {
			t.Errorf("run %d: %+v, want cwd %s, stale %v, 3 captured", i, m, wantCwd, stale)
		}
	}

	bad := runs[0]
	bad.Path = filepath.Join(t.TempDir(), "bad.jsonl")
	os.WriteFile(bad.Path, []byte(`{"k":"log","n":"x"}`+"\n"), 0o644)
	if _, err := s.RunMeta(ctx, bad); !errors.Is(err, ErrRunRecord) {
		t.Errorf("a file without a run record: %v, want ErrRunRecord", err)
	}
}
