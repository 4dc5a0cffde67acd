package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/flordb/flor/internal/scratch"
	"github.com/flordb/flor/storage"
)

// slurmUp skips the test unless a Slurm cluster answers (.ci/slurm up
// starts one on CI).
func slurmUp(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("sbatch"); err != nil {
		t.Skip("Slurm is not installed (sbatch not found); .ci/slurm up installs and starts a one-node cluster")
	}
	out, err := exec.Command("sinfo", "-h", "-o", "%t").CombinedOutput()
	state := strings.TrimSpace(string(out))
	if err != nil || !(strings.HasPrefix(state, "idle") || strings.HasPrefix(state, "mix") || strings.HasPrefix(state, "alloc")) {
		t.Skipf("no Slurm node is up (sinfo: %q, %v); .ci/slurm up starts one", state, err)
	}
}

const slurmTrainSrc = `package main

import "github.com/flordb/flor"

func main() {
	defer flor.Commit()
	lr := flor.Arg("lr", 0.1)
	w := 1.0
	for e := range flor.Loop("epoch", flor.Range(3)) {
		w = w*(1-lr) + float64(e)
		flor.Log("w", w)
	}
}
`

// Four tasks of one Slurm array job record into one shared home at once:
// every run is there whole, with its job, task and node, and the first
// runs of the same code left one intact snapshot branch.
func TestSlurmArrayRecords(t *testing.T) {
	if testing.Short() {
		t.Skip("submits a Slurm array job")
	}
	slurmUp(t)
	wd, _ := os.Getwd()
	root, err := scratch.Root(wd)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "proj")
	p, err := scratch.New(dir, "example.com/train", root, map[string][]byte{"main.go": []byte(slurmTrainSrc)})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Commit("v1"); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "train")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = dir
	build.Env = scratch.BuildEnv()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	home := filepath.Join(t.TempDir(), "shared", ".flor")
	script := filepath.Join(dir, "job.sh")
	os.WriteFile(script, []byte(fmt.Sprintf(`#!/bin/sh
cd %q
export FLOR_HOME=%q FLOR_ECHO=0 FLOR_PROGRESS=0
exec %q --kwargs lr=0.$((SLURM_ARRAY_TASK_ID + 1))
`, dir, home, bin)), 0o755)
	logs := filepath.Join(t.TempDir(), "slurm-%A_%a.out")
	out, err := exec.Command("sbatch", "--parsable", "--wait", "--array=0-3", "-o", logs, script).CombinedOutput()
	if err != nil {
		all, _ := filepath.Glob(filepath.Join(filepath.Dir(logs), "*"))
		for _, f := range all {
			b, _ := os.ReadFile(f)
			t.Logf("%s:\n%s", f, b)
		}
		t.Fatalf("sbatch: %v\n%s", err, out)
	}
	job := strings.TrimSpace(strings.Split(string(out), ";")[0])

	ctx := context.Background()
	s, err := storage.Open(ctx, home, storage.WithMessages(&bytes.Buffer{}))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	runs, err := s.Runs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 4 {
		t.Fatalf("%d runs, want 4", len(runs))
	}
	var tasks []string
	node, _ := os.Hostname()
	node, _, _ = strings.Cut(node, ".")
	for _, r := range runs {
		if r.Status != storage.StatusFinished {
			t.Errorf("run %s: status %s", r.Tstamp, r.Status)
		}
		if r.Slurm.ArrayJobID != job || r.Slurm.JobID == "" || r.Slurm.Node != node {
			t.Errorf("run %s: slurm %+v, want array job %s on %s", r.Tstamp, r.Slurm, job, node)
		}
		tasks = append(tasks, r.Slurm.ArrayTaskID)
	}
	slices.Sort(tasks)
	if !slices.Equal(tasks, []string{"0", "1", "2", "3"}) {
		t.Errorf("array tasks %v, want 0 to 3", tasks)
	}
	var n int
	if err := s.DB().QueryRowContext(ctx, "SELECT count(*) FROM logs WHERE value_name = 'w'").Scan(&n); err != nil || n != 12 {
		t.Errorf("%d values of w (%v), want 12", n, err)
	}
	// flor runs shows the job of each.
	var stdout, stderr bytes.Buffer
	e := &env{stdout: &stdout, stderr: &stderr, getenv: func(k string) string {
		if k == "FLOR_HOME" {
			return home
		}
		return ""
	}, dir: dir}
	s.Close()
	if code := e.run(ctx, "runs"); code != 0 {
		t.Fatalf("flor runs: exit %d\n%s", code, stderr.String())
	}
	for _, task := range tasks {
		if !strings.Contains(stdout.String(), job+"_"+task+" on "+node) {
			t.Errorf("flor runs lacks %s_%s on %s:\n%s", job, task, node, stdout.String())
		}
	}
	// Concurrent first runs of one tree: the shadow branch is sound and
	// holds one snapshot of it, however many tasks made one.
	fsck := exec.Command("git", "fsck", "--no-dangling")
	fsck.Dir = dir
	if out, err := fsck.CombinedOutput(); err != nil {
		t.Fatalf("git fsck: %v\n%s", err, out)
	}
	snaps := map[string]bool{}
	for _, r := range runs {
		snaps[r.Snapshot] = true
		show := exec.Command("git", "cat-file", "-e", r.Snapshot+"^{tree}")
		show.Dir = dir
		if err := show.Run(); r.Snapshot == "" || err != nil {
			t.Errorf("run %s: snapshot %q is not a commit of the repository (%v)", r.Tstamp, r.Snapshot, err)
		}
	}
	trees := map[string]bool{}
	for sn := range snaps {
		out, _ := exec.Command("git", "-C", dir, "rev-parse", sn+"^{tree}").Output()
		trees[strings.TrimSpace(string(out))] = true
	}
	if len(trees) != 1 {
		t.Errorf("the runs' snapshots hold %d different trees, want 1", len(trees))
	}
}
