// Command cluster measures flor on a Slurm cluster (.ci/slurm up starts a
// one-node one on this machine). Replay: N runs × U epoch units replayed
// through Slurm (one array job) against a local replay with --workers U,
// from copies of one home: the per-unit overhead of Slurm. Record: T array
// tasks recording at once into one home: records lost (must be 0), how
// many ran at once, and the time to ingest them.
//
//	go run ./bench/cluster                      # 8 runs × 4 units, 128 tasks
//	go run ./bench/cluster -part replay -runs 4
//
// It prints its figures; BENCHMARKS.md holds them.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/flordb/flor/internal/scratch"
	"github.com/flordb/flor/planner"
	"github.com/flordb/flor/storage"
)

// trainSrc burns a fixed amount of CPU per epoch, so that units cost the
// same wherever they run, and logs per step.
const trainSrc = `package main

import "github.com/flordb/flor"

type model struct{ W float64 }

func main() {
	defer flor.Commit()
	epochs := flor.Arg("epochs", 4)
	steps := flor.Arg("steps", 200)
	work := flor.Arg("work", 200000)
	lr := flor.Arg("lr", 0.01)
	m := &model{W: 1}
	flor.Checkpoint("model", m)
	for e := range flor.Loop("epoch", flor.Range(epochs)) {
		for s := range flor.Loop("step", flor.Range(steps)) {
			x := m.W
			for range work / steps {
				x = x*0.999999 + 1e-9
			}
			m.W = x*(1-lr) + float64(e*steps+s)*1e-6
			flor.Log("loss", m.W)
		}
		flor.Log("val", m.W*2)
	}
}
`

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "cluster:", err)
		os.Exit(1)
	}
}

type options struct {
	part               string
	runs, units, tasks int
	epochs, steps      int
	work               int
	keep               bool
	sbatch             string
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o options
	fl := flag.NewFlagSet("cluster", flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.StringVar(&o.part, "part", "all", "replay, record or all")
	fl.IntVar(&o.runs, "runs", 8, "replay: runs recorded, then replayed")
	fl.IntVar(&o.units, "units", 4, "replay: epoch units per run (one per epoch by default)")
	fl.IntVar(&o.tasks, "tasks", 128, "record: array tasks recording into one home")
	fl.IntVar(&o.epochs, "epochs", 4, "epochs per run")
	fl.IntVar(&o.steps, "steps", 200, "steps per epoch (a value logged per step)")
	fl.IntVar(&o.work, "work", 20000000, "replay: inner-loop iterations of CPU per epoch")
	fl.BoolVar(&o.keep, "keep", false, "keep the scratch directory")
	fl.StringVar(&o.sbatch, "sbatch", "", "replay: more sbatch arguments (flor replay --sbatch), e.g. --oversubscribe")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if _, err := exec.LookPath("sbatch"); err != nil {
		return fmt.Errorf("no Slurm here (sbatch not found): .ci/slurm up starts a one-node cluster")
	}
	wd, _ := os.Getwd()
	root, err := scratch.Root(wd)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "flor-cluster-")
	if err != nil {
		return err
	}
	if o.keep {
		fmt.Fprintln(stderr, "scratch:", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	os.Setenv("GOFLAGS", "-mod=mod")
	dir := filepath.Join(tmp, "proj")
	p, err := scratch.New(dir, "example.com/train", root, map[string][]byte{"main.go": []byte(trainSrc)})
	if err != nil {
		return err
	}
	if err := p.Commit("v1"); err != nil {
		return err
	}
	bin := filepath.Join(tmp, "train")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir, build.Env = dir, scratch.BuildEnv()
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %w\n%s", err, out)
	}
	cpus, _ := exec.Command("sinfo", "-h", "-o", "%c").Output()
	fmt.Fprintf(stdout, "one-node Slurm cluster: %s CPUs\n", strings.TrimSpace(string(cpus)))
	if o.part == "all" || o.part == "record" {
		if err := benchRecord(ctx, o, tmp, dir, bin, stdout); err != nil {
			return err
		}
	}
	if o.part == "all" || o.part == "replay" {
		if err := benchReplay(ctx, o, tmp, dir, bin, p, stdout); err != nil {
			return err
		}
	}
	return nil
}

// sbatchArray runs script as an array job of n tasks and waits for it.
func sbatchArray(tmp, script string, n int, extra ...string) error {
	logs := filepath.Join(tmp, "slurm-logs", "%A_%a.out")
	os.MkdirAll(filepath.Dir(logs), 0o755)
	args := append([]string{"--parsable", "--wait", fmt.Sprintf("--array=0-%d", n-1), "-o", logs}, extra...)
	if out, err := exec.Command("sbatch", append(args, script)...).CombinedOutput(); err != nil {
		return fmt.Errorf("sbatch: %w\n%s", err, out)
	}
	return nil
}

func recordScript(tmp, dir, home, bin, kwargs string) (string, error) {
	script := filepath.Join(tmp, fmt.Sprintf("record-%d.sh", time.Now().UnixNano()))
	return script, os.WriteFile(script, []byte(fmt.Sprintf(`#!/bin/sh
cd %q
export FLOR_HOME=%q FLOR_ECHO=0 FLOR_PROGRESS=0 FLOR_CHECKPOINT_EPSILON=0
exec %q --kwargs lr=0.$((SLURM_ARRAY_TASK_ID + 1)) %s
`, dir, home, bin, kwargs)), 0o755)
}

// benchRecord: many array tasks record into one home; every record must
// be there.
func benchRecord(ctx context.Context, o options, tmp, dir, bin string, stdout io.Writer) error {
	home := filepath.Join(tmp, "shared-record", ".flor")
	script, err := recordScript(tmp, dir, home, bin, fmt.Sprintf("epochs=%d steps=%d work=2000000", o.epochs, o.steps))
	if err != nil {
		return err
	}
	start := time.Now()
	// --oversubscribe: as many tasks at once as the partition lets share a CPU.
	if err := sbatchArray(tmp, script, o.tasks, "--oversubscribe"); err != nil {
		return err
	}
	recorded := time.Since(start)
	files, _ := filepath.Glob(filepath.Join(home, "runs", "*.jsonl"))
	var bytesOnDisk int64
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil {
			bytesOnDisk += fi.Size()
		}
	}
	start = time.Now()
	s, err := storage.Open(ctx, home, storage.WithMessages(io.Discard))
	if err != nil {
		return err
	}
	defer s.Close()
	ingest := time.Since(start)
	runs, err := s.Runs(ctx)
	if err != nil {
		return err
	}
	var logs, finished int
	if err := s.DB().QueryRowContext(ctx, "SELECT count(*) FROM logs WHERE value_name IN ('loss', 'val')").Scan(&logs); err != nil {
		return err
	}
	// How many ran at once: the most run intervals covering one instant.
	type ev struct {
		t time.Time
		d int
	}
	var evs []ev
	for _, r := range runs {
		if r.Status == storage.StatusFinished {
			finished++
		}
		evs = append(evs, ev{r.Tstamp, 1}, ev{r.Ended, -1})
	}
	slices.SortFunc(evs, func(a, b ev) int { return a.t.Compare(b.t) })
	var cur, peak int
	for _, e := range evs {
		cur += e.d
		peak = max(peak, cur)
	}
	want := o.tasks * o.epochs * (o.steps + 1)
	fmt.Fprintf(stdout, "record: %d array tasks into one home: %d run files (%.1f MiB), %d runs finished, at most %d at once; %d values of %d expected: %d lost; array job %.1fs; ingest %.2fs (%.0f values/s)\n",
		o.tasks, len(files), float64(bytesOnDisk)/(1<<20), finished, peak, logs, want, want-logs, recorded.Seconds(), ingest.Seconds(), float64(logs)/ingest.Seconds())
	if logs != want || len(runs) != o.tasks || finished != o.tasks {
		return fmt.Errorf("records lost: %d values of %d, %d runs (%d finished) of %d", logs, want, len(runs), finished, o.tasks)
	}
	return nil
}

// benchReplay: the same replay through Slurm and locally.
func benchReplay(ctx context.Context, o options, tmp, dir, bin string, p *scratch.Project, stdout io.Writer) error {
	home := filepath.Join(tmp, "shared-replay", ".flor")
	script, err := recordScript(tmp, dir, home, bin, fmt.Sprintf("epochs=%d steps=%d work=%d", o.epochs, o.steps, o.work))
	if err != nil {
		return err
	}
	if err := sbatchArray(tmp, script, o.runs); err != nil {
		return err
	}
	local := filepath.Join(tmp, "local", ".flor")
	os.MkdirAll(filepath.Dir(local), 0o755)
	if out, err := exec.Command("cp", "-a", home, local).CombinedOutput(); err != nil {
		return fmt.Errorf("cp: %w\n%s", err, out)
	}
	// A new statement in the epoch loop: a loop-level replay, each run's
	// epochs split into units.
	src := strings.Replace(trainSrc, `flor.Log("val", m.W*2)`, `flor.Log("val", m.W*2)
		flor.Log("half", m.W/2)`, 1)
	if err := p.Write("main.go", []byte(src)); err != nil {
		return err
	}
	opt := func(h string) planner.Options {
		return planner.Options{Names: []string{"half"}, Workers: o.units, Root: dir, Home: h, Progress: io.Discard}
	}
	schedule := func(h string) (*planner.Schedule, error) {
		s, err := storage.Open(ctx, h, storage.WithMessages(io.Discard))
		if err != nil {
			return nil, err
		}
		runs, err := planner.MissingRuns(ctx, s, []string{"half"}, "")
		s.Close()
		if err != nil {
			return nil, err
		}
		return planner.Plan(ctx, opt(h), runs)
	}
	// Through Slurm.
	sched, err := schedule(home)
	if err != nil {
		return err
	}
	start := time.Now()
	r, err := planner.SubmitSlurm(ctx, sched, opt(home), planner.SlurmOptions{Sbatch: strings.Fields(o.sbatch)})
	if err != nil {
		return err
	}
	prepared := time.Since(start)
	st, err := r.Wait(ctx, planner.SlurmOptions{Poll: 200 * time.Millisecond})
	if err != nil {
		return err
	}
	slurmWall := time.Since(start)
	for _, run := range st.Runs {
		if run.State != planner.RunPublished {
			return fmt.Errorf("run %s through Slurm: %s %s", run.Tstamp, run.State, run.Err)
		}
	}
	// Locally.
	sched, err = schedule(local)
	if err != nil {
		return err
	}
	start = time.Now()
	outs := planner.Execute(ctx, sched, opt(local))
	localWall := time.Since(start)
	for _, out := range outs {
		if out.Err != nil {
			return fmt.Errorf("run %s locally: %w", out.Row.Run.Tstamp, out.Err)
		}
	}
	a, b := values(ctx, home), values(ctx, local)
	if a != b || a == "" {
		return fmt.Errorf("values through Slurm differ from the local replay's")
	}
	units := r.Units()
	fmt.Fprintf(stdout, "replay: %d runs × %d epoch units (%d units): through Slurm %.1fs (prepare and submit %.1fs, the array job and publishing %.1fs), local --workers %d %.1fs; Slurm costs %.2fs per unit of wall time (%+.0f%%); values identical\n",
		o.runs, o.units, units, slurmWall.Seconds(), prepared.Seconds(), (slurmWall - prepared).Seconds(), o.units, localWall.Seconds(),
		(slurmWall-localWall).Seconds()/float64(units), 100*(slurmWall.Seconds()/localWall.Seconds()-1))
	return nil
}

// values are the replayed values of a home, in one order.
func values(ctx context.Context, home string) string {
	s, err := storage.Open(ctx, home, storage.WithMessages(io.Discard))
	if err != nil {
		return ""
	}
	defer s.Close()
	rows, err := s.DB().QueryContext(ctx, "SELECT tstamp::VARCHAR || ' ' || value FROM logs WHERE value_name = 'half' ORDER BY ALL")
	if err != nil {
		return ""
	}
	defer rows.Close()
	var b bytes.Buffer
	for rows.Next() {
		var v string
		rows.Scan(&v)
		b.WriteString(v + "\n")
	}
	return b.String()
}
