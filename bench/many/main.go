package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/flordb/flor/bench/internal/mnistargs"
	"github.com/flordb/flor/examples"
	"github.com/flordb/flor/examples/mnist/mlp"
	"github.com/flordb/flor/internal/scratch"
	"github.com/flordb/flor/planner"
	"github.com/flordb/flor/storage"
)

// options are the command's flags.
type options struct {
	mnistargs.Params
	Versions, Runs, Workers int
	Level                   string // nested or outer
	Data                    string
	Keep                    bool
}

const usage = `usage: go run ./bench/many [flags]

Replays one new log statement into many recorded runs of several versions
of the MNIST example at once, and prints the total time against the ideal
schedule on W workers.

Examples:
  go run ./bench/many
  go run ./bench/many -level outer -workers 2
  go run ./bench/many -versions 2 -runs 2 -epochs 2 -train_size 2000

Flags:
`

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintf(os.Stderr, "many: %v\n", err)
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

// errCheck: a replay finished but its values are wrong or missing.
var errCheck = errors.New("replayed values are wrong")

// statements are the new statements by level: the anchor is the text the
// statement goes before, in examples/mnist/main.go.
var statements = map[string]struct{ name, stmt, anchor string }{
	"nested": {"loss_x", "\t\t\tflor.Log(\"loss_x\", loss*2)\n", "\t\t\tif step%printEvery == 0 {"},
	"outer":  {"acc_top", "\t\tflor.Log(\"acc_top\", mlp.Evaluate(model, test))\n", "\t\tperm := rng.Perm(n)"},
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fl := flag.NewFlagSet("many", flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.Usage = func() {
		fmt.Fprint(stderr, usage)
		fl.PrintDefaults()
	}
	o.Params.Register(fl, 4, "epochs of each recorded run")
	// Smaller runs than the example's defaults: 16 of them are recorded.
	for name, v := range map[string]string{"train_size": "12000", "hidden": "64", "print_every": "100"} {
		if err := fl.Set(name, v); err != nil {
			return o, err
		}
		fl.Lookup(name).DefValue = v
	}
	fl.IntVar(&o.Versions, "versions", 4, "versions of the example committed, each with its own runs")
	fl.IntVar(&o.Runs, "runs", 4, "runs recorded of each version (each with its own seed)")
	fl.IntVar(&o.Workers, "workers", 2, "replay workers W, shared by all runs")
	fl.StringVar(&o.Level, "level", "nested", "where the new statement goes: nested (the step loop: each run replays its steps) or outer (the epoch loop: each run restores its checkpoints)")
	fl.StringVar(&o.Data, "data", "", "directory of the MNIST files (default: $MNIST_DIR, else the GoMNIST module's)")
	fl.BoolVar(&o.Keep, "keep", false, "keep the scratch project and print where it is")
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, err
		}
		return o, fmt.Errorf("%w: %w", errUsage, err)
	}
	if fl.NArg() > 0 {
		return o, fmt.Errorf("%w: unexpected argument %q", errUsage, fl.Arg(0))
	}
	if _, ok := statements[o.Level]; !ok {
		return o, fmt.Errorf("%w: -level %q: want nested or outer", errUsage, o.Level)
	}
	switch err := o.Params.Check(); {
	case err != nil:
		return o, fmt.Errorf("%w: %w", errUsage, err)
	case !(o.LR > 0):
		return o, fmt.Errorf("%w: -lr %v: must be positive", errUsage, o.LR)
	case o.Versions <= 0 || o.Runs <= 0 || o.Workers <= 0:
		return o, fmt.Errorf("%w: -versions, -runs and -workers must be positive", errUsage)
	}
	return o, nil
}

// bench is one measurement: a scratch project, its runs, the replay.
type bench struct {
	o          options
	root, data string
	proj, home string
	log        io.Writer
	p          *scratch.Project
	recorded   time.Duration
	version    map[string]int // run file → the version it ran
}

// run is the command; progress goes to stderr, the report to stdout.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	data, err := mlp.DataDir(o.Data)
	if err != nil {
		return err
	}
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	root, err := scratch.Root(wd)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "flor-many-bench-")
	if err != nil {
		return err
	}
	if o.Keep {
		fmt.Fprintf(stderr, "scratch files kept in %s\n", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	// The planner runs in this process and its workers inherit its
	// environment: records go to the project's own home, nothing echoed.
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "FLOR_") {
			os.Unsetenv(k)
		}
	}
	os.Setenv("FLOR_ECHO", "0")
	os.Setenv("FLOR_PROGRESS", "0")
	b := &bench{o: o, root: root, data: data, proj: filepath.Join(tmp, "proj"), log: stderr, version: map[string]int{}}
	b.home = filepath.Join(b.proj, ".flor")
	load0 := loadAvg()
	if err := b.record(ctx, filepath.Join(tmp, "bin")); err != nil {
		return err
	}
	res, err := b.replay(ctx)
	if err != nil {
		return err
	}
	checked, err := b.check(ctx)
	if err != nil {
		return err
	}
	b.report(stdout, res, checked, load0, loadAvg())
	return nil
}

// source is version v of the example (0-based): the same program, a
// different snapshot.
func source(v int) string {
	return string(examples.MNISTMain) + fmt.Sprintf("\n// Version %d of this project's history.\n", v+1)
}

// record commits each version, builds it and records its runs.
func (b *bench) record(ctx context.Context, bin string) error {
	p, err := scratch.New(b.proj, "mnistproj", b.root, nil)
	if err != nil {
		return err
	}
	b.p = p
	start := time.Now()
	for v := range b.o.Versions {
		if err := p.Write("main.go", []byte(source(v))); err != nil {
			return err
		}
		exe := filepath.Join(bin, "v"+strconv.Itoa(v))
		cmd := exec.CommandContext(ctx, "go", "build", "-o", exe, ".")
		cmd.Dir = b.proj
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build in %s: %w\n%s", b.proj, err, out)
		}
		if err := p.Commit(fmt.Sprintf("version %d", v+1)); err != nil {
			return fmt.Errorf("git commit in %s: %w", b.proj, err)
		}
		for r := range b.o.Runs {
			prm := b.o.Params
			prm.Seed = int64(1 + v*b.o.Runs + r)
			args := append([]string{"-data", b.data, "--kwargs"}, prm.Kwargs()...)
			fmt.Fprintf(b.log, "recording version %d, run %d of %d (seed %d)\n", v+1, r+1, b.o.Runs, prm.Seed)
			before, err := runFiles(b.home)
			if err != nil {
				return err
			}
			cmd := exec.CommandContext(ctx, exe, args...)
			cmd.Dir = b.proj
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("%s %s: %w\n%s", exe, strings.Join(args, " "), err, out)
			}
			after, err := runFiles(b.home)
			if err != nil {
				return err
			}
			for f := range after {
				if !before[f] {
					b.version[f] = v
				}
			}
		}
	}
	b.recorded = time.Since(start)
	if n := len(b.version); n != b.o.Versions*b.o.Runs {
		return fmt.Errorf("recorded %d run files, want %d", n, b.o.Versions*b.o.Runs)
	}
	return nil
}

// runFiles are the names of the home's run files.
func runFiles(home string) (map[string]bool, error) {
	ents, err := os.ReadDir(filepath.Join(home, "runs"))
	if errors.Is(err, os.ErrNotExist) {
		return map[string]bool{}, nil
	}
	if err != nil {
		return nil, err
	}
	m := map[string]bool{}
	for _, e := range ents {
		m[e.Name()] = true
	}
	return m, nil
}

// result is the replay, timed.
type result struct {
	stmt     string
	level    planner.Level
	estimate time.Duration // the schedule's total
	total    time.Duration // Execute, start to end
	outs     []*planner.Outcome
}

// replay adds the statement to the newest version's code in the working
// tree and replays it into every run, as flor replay --yes does.
func (b *bench) replay(ctx context.Context) (*result, error) {
	st := statements[b.o.Level]
	src := source(b.o.Versions - 1)
	if strings.Count(src, st.anchor) != 1 {
		return nil, fmt.Errorf("examples/mnist/main.go changed: want one %q to put the statement before", st.anchor)
	}
	src = strings.Replace(src, st.anchor, st.stmt+st.anchor, 1)
	if err := b.p.Write("main.go", []byte(src)); err != nil {
		return nil, err
	}
	opt := planner.Options{Names: []string{st.name}, Workers: b.o.Workers, Root: b.proj, Home: b.home, Progress: b.log}
	s, err := storage.Open(ctx, b.home)
	if err != nil {
		return nil, err
	}
	runs, err := planner.MissingRuns(ctx, s, opt.Names, "")
	s.Close()
	if err != nil {
		return nil, err
	}
	sched, err := planner.Plan(ctx, opt, runs)
	if err != nil {
		return nil, err
	}
	for _, row := range sched.Rows {
		if _, ok := b.version[filepath.Base(row.Run.File)]; !ok {
			return nil, fmt.Errorf("the schedule replays run file %s, which this bench did not record", row.Run.File)
		}
	}
	if len(sched.Rows) != len(b.version) {
		return nil, fmt.Errorf("the schedule replays %d runs, want %d", len(sched.Rows), len(b.version))
	}
	sched.Write(b.log)
	res := &result{stmt: strings.TrimSpace(st.stmt), level: sched.Level, estimate: sched.Total()}
	start := time.Now()
	res.outs = planner.Execute(ctx, sched, opt)
	res.total = time.Since(start)
	for _, o := range res.outs {
		if o.Err != nil {
			return nil, fmt.Errorf("run %s: %w (log: %s)", o.Row.Run.Tstamp, o.Err, o.Log)
		}
	}
	return res, nil
}

// check reads the replayed values back: loss_x is twice the loss where
// the run logged it, at every step; acc_top at the top of epoch e is the
// val_acc the run logged at the end of epoch e-1.
func (b *bench) check(ctx context.Context) (string, error) {
	s, err := storage.Open(ctx, b.home)
	if err != nil {
		return "", err
	}
	defer s.Close()
	name := statements[b.o.Level].name
	other := map[string]string{"nested": "loss", "outer": "val_acc"}[b.o.Level]
	f, err := s.Dataframe(ctx, name, other)
	if err != nil {
		return "", err
	}
	type key struct {
		run        string
		epoch, row int
	}
	perRun := map[string]int{}
	vals, others := map[key]float64{}, map[key]float64{}
	for i := range f.Rows {
		run := fmt.Sprint(f.Value(i, "tstamp"))
		e, _ := f.Value(i, "epoch").(int64)
		k := key{run: run, epoch: int(e)}
		if b.o.Level == "nested" {
			st, _ := f.Value(i, "step").(int64)
			k.row = int(st)
		}
		if v, ok := f.Value(i, name).(float64); ok {
			vals[k] = v
			perRun[run]++
		}
		if v, ok := f.Value(i, other).(float64); ok {
			others[k] = v
		}
	}
	want := b.o.Epochs
	if b.o.Level == "nested" {
		want *= b.o.Steps()
	}
	if len(perRun) != len(b.version) {
		return "", fmt.Errorf("%w: %d runs have %s values, want %d", errCheck, len(perRun), name, len(b.version))
	}
	for run, n := range perRun {
		if n != want {
			return "", fmt.Errorf("%w: run %s has %d %s values, want %d", errCheck, run, n, name, want)
		}
	}
	pairs := 0
	for k, v := range vals {
		ref, prev := k, k
		prev.epoch--
		var o float64
		var ok bool
		if b.o.Level == "nested" {
			o, ok = others[ref]
			o *= 2
		} else {
			o, ok = others[prev]
		}
		if !ok {
			continue
		}
		pairs++
		if math.Float64bits(v) != math.Float64bits(o) {
			return "", fmt.Errorf("%w: run %s epoch %d: %s = %v, want %v", errCheck, k.run, k.epoch, name, v, o)
		}
	}
	if pairs == 0 {
		return "", fmt.Errorf("%w: no %s value had a recorded %s to compare with", errCheck, name, other)
	}
	if b.o.Level == "nested" {
		return fmt.Sprintf("%d values; loss_x = 2·loss bit for bit at the %d steps where loss was logged", len(vals), pairs), nil
	}
	return fmt.Sprintf("%d values; acc_top[e] = val_acc[e-1] bit for bit (%d pairs)", len(vals), pairs), nil
}

func secs(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 2, 64) }

// report prints the figures.
func (b *bench) report(w io.Writer, r *result, checked, load0, load1 string) {
	fmt.Fprintf(w, "machine: %s/%s, %d CPUs, %s; load %s -> %s\n", goruntime.GOOS, goruntime.GOARCH, goruntime.NumCPU(), goruntime.Version(), load0, load1)
	fmt.Fprintf(w, "recorded: %d runs (%d versions × %d), %d epochs each, train_size %d, hidden %d, in %s s\n",
		len(b.version), b.o.Versions, b.o.Runs, b.o.Epochs, b.o.TrainSize, b.o.Hidden, secs(b.recorded))
	fmt.Fprintf(w, "replay: %s, level %s, W=%d\n", r.stmt, r.level, b.o.Workers)

	var work, prep time.Duration
	preps := map[int]time.Duration{} // by version: every run of it reports the same preparation
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "  run\tversion\ttook\twaited\tprep\twork\testimate\t")
	for _, o := range r.outs {
		v := b.version[filepath.Base(o.Row.Run.File)]
		work += o.Work
		preps[v] = max(preps[v], o.Prep)
		fmt.Fprintf(tw, "  %s\t%d\t%s\t%s\t%s\t%s\t%s\t\n", o.Row.Run.Tstamp, v+1, secs(o.Elapsed), secs(o.Queued), secs(o.Prep), secs(o.Work), secs(o.Row.Estimate))
	}
	tw.Flush()
	for _, p := range preps {
		prep += p
	}
	W := time.Duration(b.o.Workers)
	mean := prep / time.Duration(len(preps))
	ideal := work/W + mean
	strict := (work + prep) / W
	ratio := r.total.Seconds() / ideal.Seconds()
	verdict := "PASS"
	if ratio > 1.3 {
		verdict = "MISS"
	}
	fmt.Fprintf(w, "  total %s s (the schedule estimated %s s, %+.0f%%)\n", secs(r.total), secs(r.estimate), 100*(r.estimate.Seconds()/r.total.Seconds()-1))
	fmt.Fprintf(w, "  work: %s s of workers' wall time over %d runs (%s s a run)\n", secs(work), len(r.outs), secs(work/time.Duration(len(r.outs))))
	fmt.Fprintf(w, "  preparation: %d versions, %s s (%s s each on average)\n", len(preps), secs(prep), secs(mean))
	fmt.Fprintf(w, "  ideal = work / W + one version's preparation = %s + %s = %s s\n", secs(work/W), secs(mean), secs(ideal))
	fmt.Fprintf(w, "  total / ideal = %s / %s = %.2f   target <= 1.30: %s\n", secs(r.total), secs(ideal), ratio, verdict)
	fmt.Fprintf(w, "  stricter ideal = (work + every preparation) / W = %s s; total / that = %.2f\n", secs(strict), r.total.Seconds()/strict.Seconds())
	fmt.Fprintf(w, "  values: %s\n", checked)
}

// loadAvg is the 1-minute load average, or "?".
func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(bytes.TrimSpace(data)))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}
