package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/flordb/flor/examples"
	"github.com/flordb/flor/internal/scratch"
)

// The MNIST example, CI-sized, recorded as four tasks of one Slurm array
// job into a shared home, then replayed through Slurm with a statement at
// the top of the epoch loop and one in the step loop: the values must be
// those of a local replay of a copy of the home, bit for bit.

// mnistSlurmKwargs are the CI-sized kwargs of the local end-to-end test;
// each array task adds its own lr. Three epochs over two workers make
// units of unequal length (epochs 0-1 and 2).
var mnistSlurmKwargs = strings.Join(runKwargs[0], " ")

// exactValues renders values' values so that any difference in their bits
// (even -0 against 0, or one NaN against another) shows.
func exactValues(vals map[string]any) map[string]string {
	out := make(map[string]string, len(vals))
	for k, v := range vals {
		out[k] = fmt.Sprintf("%T %#v", v, v)
	}
	return out
}

// diffValues lists the keys whose values differ between got and want.
func diffValues(got, want map[string]string) []string {
	var d []string
	for k, w := range want {
		if g, ok := got[k]; !ok || g != w {
			d = append(d, fmt.Sprintf("%s: %q, local %q", k, g, w))
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			d = append(d, fmt.Sprintf("%s: %q, none locally", k, g))
		}
	}
	sort.Strings(d)
	return d
}

func TestSlurmReplayMNIST(t *testing.T) {
	if testing.Short() {
		t.Skip("trains the MNIST example through Slurm array jobs")
	}
	slurmUp(t)
	proj := newE2EProject(t, filepath.Join(t.TempDir(), "proj"))
	v1 := string(examples.MNISTMain)
	proj.write("main.go", v1)
	proj.commit("v1")
	bin := filepath.Join(t.TempDir(), "train")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir, build.Env = proj.dir, scratch.BuildEnv()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	// Record: four array tasks, one run each, into one home outside the
	// repository.
	home := filepath.Join(t.TempDir(), "shared", ".flor")
	script := filepath.Join(t.TempDir(), "record.sh")
	os.WriteFile(script, []byte(fmt.Sprintf(`#!/bin/sh
cd %q
export FLOR_HOME=%q FLOR_ECHO=0 FLOR_PROGRESS=0 FLOR_CHECKPOINT_EPSILON=0
exec %q --kwargs %s lr=0.00$((SLURM_ARRAY_TASK_ID + 1))
`, proj.dir, home, bin, mnistSlurmKwargs)), 0o755)
	logs := filepath.Join(t.TempDir(), "slurm-%A_%a.out")
	if out, err := exec.Command("sbatch", "--parsable", "--wait", "--array=0-3", "-o", logs, script).CombinedOutput(); err != nil {
		all, _ := filepath.Glob(filepath.Join(filepath.Dir(logs), "*"))
		for _, f := range all {
			b, _ := os.ReadFile(f)
			t.Logf("%s:\n%s", f, b)
		}
		t.Fatalf("sbatch: %v\n%s", err, out)
	}

	// The new statements, in the working tree only.
	newest := v1
	for _, s := range newStatements[:2] { // acc_top (epoch loop), loss_x (step loop)
		if !strings.Contains(newest, s.anchor) {
			t.Fatalf("the example changed: no %q", s.anchor)
		}
		stmt := strings.ReplaceAll(s.stmt, "(net,", "(model,") // written for v2, which renames model
		newest = strings.Replace(newest, s.anchor, stmt+s.anchor, 1)
	}
	proj.write("main.go", newest)
	sp := &slurmProject{t: t, dir: proj.dir, home: home, p: proj.Project}
	local := sp.copyHome()
	before := proj.checkout()

	out, errs, code := sp.flor(home, "replay", "--yes", "--slurm", "--workers", "2", "acc_top,loss_x")
	if code != 0 {
		t.Fatalf("flor replay --slurm: exit %d\n%s\n%s", code, out, errs)
	}
	if !strings.Contains(out, "submitted Slurm job") || strings.Count(errs, ": published") != 4 {
		t.Errorf("flor replay --slurm did not submit, or did not publish 4 runs:\n%s\n%s", out, errs)
	}
	if after := proj.checkout(); after != before {
		t.Errorf("the checkout changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if out, errs, code := sp.flor(local, "replay", "--yes", "--workers", "2", "acc_top,loss_x"); code != 0 {
		t.Fatalf("local flor replay: exit %d\n%s\n%s", code, out, errs)
	}

	// 4 runs × 3 epochs, and ⌈1500/32⌉ = 47 steps an epoch.
	for name, want := range map[string]int{"acc_top": 4 * 3, "loss_x": 4 * 3 * 47} {
		got, loc := exactValues(values(t, filepath.Dir(home), name)), exactValues(values(t, filepath.Dir(local), name))
		if len(got) != want || len(loc) != want {
			t.Errorf("%s: %d values through Slurm, %d locally, want %d", name, len(got), len(loc), want)
		}
		if d := diffValues(got, loc); len(d) != 0 {
			t.Errorf("%s through Slurm differs from a local replay in %d values:\n%s", name, len(d), strings.Join(d, "\n"))
		}
	}
	// acc_top at the top of epoch e evaluates the model that val_acc did
	// at the end of epoch e-1 when recorded: the checkpoint was restored
	// whole, on the unit's first epoch (2) as within it (1).
	acc, val := exactValues(values(t, filepath.Dir(home), "acc_top")), exactValues(values(t, filepath.Dir(home), "val_acc"))
	if len(val) != 4*3 {
		t.Fatalf("%d values of val_acc, want %d", len(val), 4*3)
	}
	for k, v := range val {
		run, e, _ := strings.Cut(k, " epoch=")
		if e == "2" {
			continue
		}
		next := fmt.Sprintf("%s epoch=%c", run, e[0]+1)
		if acc[next] != v {
			t.Errorf("%s: acc_top %q, val_acc of the epoch before %q", next, acc[next], v)
		}
	}
	if after := proj.checkout(); after != before {
		t.Errorf("the local replay changed the checkout:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}
