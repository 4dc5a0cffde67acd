package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flordb/flor/internal/scratch"
	"github.com/flordb/flor/storage"
)

// The Slurm replay tests record four runs as one array job into a shared
// home (outside the repository, as on a cluster), add statements to the
// newest code and replay them through the real Slurm.

const slurmNestedSrc = `package main

import (
	"math"

	"github.com/flordb/flor"
)

type model struct{ W float64 }

func main() {
	defer flor.Commit()
	lr := flor.Arg("lr", 0.5)
	m := &model{W: 1}
	flor.Checkpoint("model", m)
	for e := range flor.Loop("epoch", flor.Range(4)) {
		for s := range flor.Loop("step", flor.Range(3)) {
			m.W = m.W*(1-lr) + math.Sin(float64(e*3+s))
		}
		flor.Log("w", m.W)
	}
	flor.Log("final", m.W)
}
`

// The new statements: one at the top of the epoch loop, one in the step loop.
var slurmNewSrc = strings.NewReplacer(
	"for e := range flor.Loop(\"epoch\", flor.Range(4)) {\n", "for e := range flor.Loop(\"epoch\", flor.Range(4)) {\n\t\tflor.Log(\"w_start\", m.W*3)\n",
	"m.W = m.W*(1-lr) + math.Sin(float64(e*3+s))\n", "m.W = m.W*(1-lr) + math.Sin(float64(e*3+s))\n\t\t\tflor.Log(\"step_w\", math.Sqrt(math.Abs(m.W)))\n",
).Replace(slurmNestedSrc)

type slurmProject struct {
	t         *testing.T
	dir, home string
	p         *scratch.Project
}

// recordOnSlurm commits slurmNestedSrc and records four runs of it as one
// Slurm array job into a home outside the repository.
func recordOnSlurm(t *testing.T) *slurmProject {
	t.Helper()
	if testing.Short() {
		t.Skip("submits Slurm array jobs")
	}
	slurmUp(t)
	wd, _ := os.Getwd()
	root, err := scratch.Root(wd)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOFLAGS", "-mod=mod")
	dir := filepath.Join(t.TempDir(), "proj")
	p, err := scratch.New(dir, "example.com/train", root, map[string][]byte{"main.go": []byte(slurmNestedSrc)})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Commit("v1"); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "train")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = dir
	build.Env = scratch.BuildEnv()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	home := filepath.Join(t.TempDir(), "shared", ".flor")
	script := filepath.Join(t.TempDir(), "record.sh")
	os.WriteFile(script, []byte(fmt.Sprintf(`#!/bin/sh
cd %q
export FLOR_HOME=%q FLOR_ECHO=0 FLOR_PROGRESS=0 FLOR_CHECKPOINT_EPSILON=0
exec %q --kwargs lr=0.$((SLURM_ARRAY_TASK_ID + 1))
`, dir, home, bin)), 0o755)
	logs := filepath.Join(t.TempDir(), "slurm-%A_%a.out")
	if out, err := exec.Command("sbatch", "--parsable", "--wait", "--array=0-3", "-o", logs, script).CombinedOutput(); err != nil {
		t.Fatalf("sbatch: %v\n%s", err, out)
	}
	if err := p.Write("main.go", []byte(slurmNewSrc)); err != nil {
		t.Fatal(err)
	}
	return &slurmProject{t: t, dir: dir, home: home, p: p}
}

// flor runs flor in the project with home as FLOR_HOME.
func (sp *slurmProject) flor(home string, args ...string) (stdout, stderr string, code int) {
	var out, errb bytes.Buffer
	e := &env{stdout: &out, stderr: &errb, stdin: strings.NewReader(""), dir: sp.dir, getenv: func(k string) string {
		switch k {
		case "FLOR_HOME":
			return home
		case "FLOR_CHECKPOINT_EPSILON":
			return "0"
		}
		return os.Getenv(k)
	}}
	code = e.run(context.Background(), args...)
	return out.String(), errb.String(), code
}

// values is every value of the new names in home, in one canonical order.
func (sp *slurmProject) values(home string) []string {
	sp.t.Helper()
	ctx := context.Background()
	s, err := storage.Open(ctx, home, storage.WithMessages(&bytes.Buffer{}))
	if err != nil {
		sp.t.Fatal(err)
	}
	defer s.Close()
	rows, err := s.DB().QueryContext(ctx, `SELECT tstamp::VARCHAR || ' ' || value_name || ' ' || value FROM logs
		WHERE value_name IN ('w_start', 'step_w') ORDER BY ALL`)
	if err != nil {
		sp.t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		rows.Scan(&v)
		out = append(out, v)
	}
	return out
}

func (sp *slurmProject) gitStatus() string {
	out, err := exec.Command("git", "-C", sp.dir, "status", "--porcelain").CombinedOutput()
	if err != nil {
		sp.t.Fatalf("git status: %v\n%s", err, out)
	}
	return string(out)
}

// copyHome copies the home, for a local replay to compare with.
func (sp *slurmProject) copyHome() string {
	sp.t.Helper()
	dst := filepath.Join(sp.t.TempDir(), "copy", ".flor")
	os.MkdirAll(filepath.Dir(dst), 0o755)
	if out, err := exec.Command("cp", "-a", sp.home, dst).CombinedOutput(); err != nil {
		sp.t.Fatalf("cp: %v\n%s", err, out)
	}
	return dst
}

// want is the number of new values in four runs: 4 epochs × (1 + 3 steps).
const slurmWant = 4 * 4 * (1 + 3)

// A replay through Slurm fills in a statement at the top of the epoch loop
// and one in the step loop, bit for bit as a local replay does, and leaves
// the checkout as it was.
func TestSlurmReplay(t *testing.T) {
	sp := recordOnSlurm(t)
	local := sp.copyHome()
	before := sp.gitStatus()
	out, errs, code := sp.flor(sp.home, "replay", "--yes", "--slurm", "--workers", "2", "w_start,step_w")
	if code != 0 {
		t.Fatalf("flor replay --slurm: exit %d\n%s\n%s", code, out, errs)
	}
	for _, want := range []string{"submitted Slurm job", ": 8 units", "settled"} {
		if !strings.Contains(out, want) {
			t.Errorf("flor replay --slurm says no %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errs, "): completed") || strings.Count(errs, ": published") != 4 {
		t.Errorf("progress lacks units' states or runs published:\n%s", errs)
	}
	if after := sp.gitStatus(); after != before {
		t.Errorf("the checkout changed: git status\n%s\nnow\n%s", before, after)
	}
	got := sp.values(sp.home)
	if len(got) != slurmWant {
		t.Fatalf("%d new values through Slurm, want %d", len(got), slurmWant)
	}
	if entries, _ := filepath.Glob(filepath.Join(sp.home, "replay", "slurm-*")); len(entries) != 0 {
		t.Errorf("work directories left: %v", entries)
	}
	if out, errs, code := sp.flor(local, "replay", "--yes", "--workers", "2", "w_start,step_w"); code != 0 {
		t.Fatalf("local flor replay: exit %d\n%s\n%s", code, out, errs)
	}
	want := sp.values(local)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("values through Slurm differ from a local replay's:\n%s\nlocal:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Again: nothing to do.
	if out, _, _ := sp.flor(sp.home, "replay", "--yes", "--slurm", "w_start,step_w"); !strings.Contains(out, "nothing to replay") {
		t.Errorf("second replay:\n%s", out)
	}
}

// submitHeld submits the replay held (--sbatch --hold, --no-wait) and
// returns its job id and work directory.
func (sp *slurmProject) submitHeld() (job, dir string) {
	sp.t.Helper()
	out, errs, code := sp.flor(sp.home, "replay", "--yes", "--slurm", "--workers", "2", "--no-wait", "--sbatch", "--hold", "w_start,step_w")
	if code != 0 || !strings.Contains(out, "flor replay --status") {
		sp.t.Fatalf("flor replay --slurm --no-wait: exit %d\n%s\n%s", code, out, errs)
	}
	_, rest, _ := strings.Cut(out, "submitted Slurm job ")
	job, _, _ = strings.Cut(rest, ":")
	dirs, _ := filepath.Glob(filepath.Join(sp.home, "replay", "slurm-*"))
	if len(dirs) != 1 {
		sp.t.Fatalf("work directories %v, want one", dirs)
	}
	return job, dirs[0]
}

// settle runs flor replay --status until the job is settled.
func (sp *slurmProject) settle() (stdout string, code int) {
	sp.t.Helper()
	for range 600 {
		out, errs, code := sp.flor(sp.home, "replay", "--status")
		if strings.Contains(out, "no Slurm replay in progress") {
			sp.t.Fatalf("flor replay --status: nothing in progress\n%s", errs)
		}
		if strings.Contains(out, ", settled:") {
			return out + errs, code
		}
		time.Sleep(200 * time.Millisecond)
	}
	sp.t.Fatal("the Slurm job did not settle")
	return "", 0
}

func slurmCmd(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

// Cancelled half-way (one unit done, the others cancelled): nothing is
// published, not even the run whose first unit finished; a rerun
// completes.
func TestSlurmReplayCancelled(t *testing.T) {
	sp := recordOnSlurm(t)
	job, dir := sp.submitHeld()
	slurmCmd(t, "scontrol", "release", job+"_0")
	for range 600 {
		if _, err := os.Stat(filepath.Join(dir, "tasks", "0.rc")); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	slurmCmd(t, "scancel", job)
	out, code := sp.settle()
	if code == 0 || !strings.Contains(out, "Slurm job "+job+"_1") || !strings.Contains(out, "CANCELLED") {
		t.Errorf("flor replay --status after scancel: exit %d, want the cancelled units named:\n%s", code, out)
	}
	t.Logf("flor replay --status after scancel:\n%s", out)
	if n := len(sp.values(sp.home)); n != 0 {
		t.Errorf("%d values published from a cancelled replay, want 0", n)
	}
	if out, errs, code := sp.flor(sp.home, "replay", "--yes", "--slurm", "--workers", "2", "w_start,step_w"); code != 0 {
		t.Fatalf("rerun: exit %d\n%s\n%s", code, out, errs)
	}
	if n := len(sp.values(sp.home)); n != slurmWant {
		t.Errorf("%d values after the rerun, want %d", n, slurmWant)
	}
}

// One unit fails (its plan is broken): it is reported with its Slurm job
// and task and its log, its run is not published, the others are; a
// rerun does the one that is missing.
func TestSlurmReplayUnitFails(t *testing.T) {
	sp := recordOnSlurm(t)
	job, dir := sp.submitHeld()
	if err := os.WriteFile(filepath.Join(dir, "tasks", "3.json"), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	slurmCmd(t, "scontrol", "release", job)
	out, code := sp.settle()
	log := filepath.Join(sp.home, "logs")
	if code == 0 || !strings.Contains(out, "Slurm job "+job+"_3") || !strings.Contains(out, "log: "+log) || strings.Count(out, "units done, published") != 3 {
		t.Errorf("flor replay --status: exit %d, want task %s_3 failed with its log and 3 runs published:\n%s", code, job, out)
	}
	if n := len(sp.values(sp.home)); n != slurmWant*3/4 {
		t.Errorf("%d values published, want %d", n, slurmWant*3/4)
	}
	out, errs, code := sp.flor(sp.home, "replay", "--yes", "--slurm", "--workers", "2", "w_start,step_w")
	if code != 0 || !strings.Contains(out, ": 2 units") {
		t.Fatalf("rerun: exit %d, want the 2 missing units\n%s\n%s", code, out, errs)
	}
	if n := len(sp.values(sp.home)); n != slurmWant {
		t.Errorf("%d values after the rerun, want %d", n, slurmWant)
	}
}

// A version that does not build (its program embeds a file git ignores,
// so its snapshot lacks it) is reported and never submitted; the runs of
// the other version are replayed through Slurm and published.
func TestSlurmReplayVersionFails(t *testing.T) {
	sp := recordOnSlurm(t)
	embed := strings.NewReplacer(
		"import (\n", "import (\n\t_ \"embed\"\n",
		"type model struct{ W float64 }\n", "//go:embed data.txt\nvar data string\n\ntype model struct{ W float64 }\n",
		"lr := flor.Arg(\"lr\", 0.5)\n", "lr := flor.Arg(\"lr\", 0.5) + float64(len(data))*0\n")
	for name, data := range map[string]string{"main.go": embed.Replace(slurmNestedSrc), ".gitignore": "data.txt\n", "data.txt": "x"} {
		if err := sp.p.Write(name, []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	if err := sp.p.Commit("v2: embeds an ignored file"); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "train2")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir, build.Env = sp.dir, scratch.BuildEnv()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	run := exec.Command(bin)
	run.Dir = sp.dir
	run.Env = append(os.Environ(), "FLOR_HOME="+sp.home, "FLOR_ECHO=0", "FLOR_PROGRESS=0", "FLOR_CHECKPOINT_EPSILON=0")
	if out, err := run.CombinedOutput(); err != nil {
		t.Fatalf("v2 run: %v\n%s", err, out)
	}
	if err := sp.p.Write("main.go", []byte(embed.Replace(slurmNewSrc))); err != nil {
		t.Fatal(err)
	}
	before := sp.gitStatus()
	out, errs, code := sp.flor(sp.home, "replay", "--yes", "--slurm", "--workers", "2", "w_start,step_w")
	if code == 0 || !strings.Contains(out, "FAILED") || !strings.Contains(out, "data.txt") || strings.Count(out, "units done, published") != 4 {
		t.Errorf("flor replay --slurm: exit %d, want the v2 run failed to build and 4 runs published:\n%s\n%s", code, out, errs)
	}
	t.Logf("flor replay --slurm:\n%s", out)
	if n := len(sp.values(sp.home)); n != slurmWant {
		t.Errorf("%d values published, want %d", n, slurmWant)
	}
	if after := sp.gitStatus(); after != before {
		t.Errorf("the checkout changed: git status\n%s\nnow\n%s", before, after)
	}
}
