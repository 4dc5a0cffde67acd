package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/flordb/flor/bench/internal/mnistargs"
	"github.com/flordb/flor/examples"
	"github.com/flordb/flor/examples/mnist/mlp"
	"github.com/flordb/flor/internal/scratch"
)

// options are the command's flags.
type options struct {
	mnistargs.Params
	Workers int
	Single  bool
	Cached  bool
	Repeat  int
	Data    string
	Keep    bool
	Levels  []string // prefix, outer, nested
}

const usage = `usage: go run ./bench/replay [flags]

Measures flor's replay speed on the MNIST example: one recorded run, then
new log statements at the prefix, outer-loop and nested-loop levels, each
replayed with flor replay and timed against the original run.

Examples:
  go run ./bench/replay
  go run ./bench/replay -epochs 2 -train_size 10000
  go run ./bench/replay -workers 4 -repeat 2

Flags:
`

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintf(os.Stderr, "replay: %v\n", err)
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

// errCheck: a replay finished but its values are wrong or missing.
var errCheck = errors.New("replayed values are wrong")

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fl := flag.NewFlagSet("replay", flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.Usage = func() {
		fmt.Fprint(stderr, usage)
		fl.PrintDefaults()
	}
	o.Params.Register(fl, 8, "epochs of the recorded run (about 4 s each on 2 idle cores with the other defaults)")
	fl.IntVar(&o.Workers, "workers", goruntime.NumCPU(), "replay workers W (flor replay --workers)")
	fl.BoolVar(&o.Single, "single", true, "also replay the outer and nested levels with 1 worker (when W > 1)")
	fl.BoolVar(&o.Cached, "cached", true, "then record a 1-epoch run of the same code and replay the prefix statement into it, its version already built (with -levels prefix)")
	fl.IntVar(&o.Repeat, "repeat", 1, "replays of each kind; the fastest counts")
	fl.StringVar(&o.Data, "data", "", "directory of the MNIST files (default: $MNIST_DIR, else the GoMNIST module's)")
	fl.BoolVar(&o.Keep, "keep", false, "keep the scratch project and print where it is")
	levelList := fl.String("levels", "prefix,outer,nested", "the levels to replay, comma-separated")
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, err
		}
		return o, fmt.Errorf("%w: %w", errUsage, err)
	}
	if fl.NArg() > 0 {
		return o, fmt.Errorf("%w: unexpected argument %q", errUsage, fl.Arg(0))
	}
	for _, name := range strings.Split(*levelList, ",") {
		name = strings.TrimSpace(name)
		if levelNamed(name) == nil {
			return o, fmt.Errorf("%w: -levels: unknown level %q (want prefix, outer or nested)", errUsage, name)
		}
		if !slices.Contains(o.Levels, name) {
			o.Levels = append(o.Levels, name)
		}
	}
	sizeErr := o.Params.Check()
	switch {
	case sizeErr != nil:
		return o, fmt.Errorf("%w: %w", errUsage, sizeErr)
	case !(o.LR > 0):
		return o, fmt.Errorf("%w: -lr %v: must be positive", errUsage, o.LR)
	case o.Workers <= 0:
		return o, fmt.Errorf("%w: -workers %d: must be positive", errUsage, o.Workers)
	case o.Repeat <= 0:
		return o, fmt.Errorf("%w: -repeat %d: must be positive", errUsage, o.Repeat)
	}
	return o, nil
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
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "flor-replay-bench-")
	if err != nil {
		return err
	}
	if o.Keep {
		fmt.Fprintf(stderr, "scratch files kept in %s\n", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	b := &bench{o: o, root: root, tmp: tmp, data: data, proj: filepath.Join(tmp, "proj"),
		flor: filepath.Join(tmp, "flor"), train: filepath.Join(tmp, "mnist"), log: stderr,
		load0: loadAvg()}
	if err := b.setup(ctx); err != nil {
		return err
	}
	if err := b.record(ctx); err != nil {
		return err
	}
	for _, c := range b.cases() {
		for r := range o.Repeat {
			if err := b.replay(ctx, c, r); err != nil {
				return err
			}
		}
	}
	if o.Cached && slices.Contains(o.Levels, "prefix") {
		// The prefix statement again, into runs of a version built by the
		// first prefix replay: the fixed cost of a cached version.
		if err := b.recordAgain(ctx); err != nil {
			return err
		}
		for r := range o.Repeat {
			if r > 0 {
				if err := b.recordAgain(ctx); err != nil {
					return err
				}
			}
			if err := b.replay(ctx, replayCase{levelNamed("prefix"), o.Workers, true}, 0); err != nil {
				return err
			}
		}
	}
	if b.eval, err = timeEvaluate(data, o.Hidden, o.Seed); err != nil {
		return err
	}
	b.load1 = loadAvg()
	b.report(stdout)
	return nil
}

// bench is one measurement: a scratch project, its recorded run and the
// replays.
type bench struct {
	o                 options
	root, tmp, data   string
	proj, flor, train string
	log               io.Writer // progress
	load0, load1      string

	orig     timing
	recorded recorded
	runs     int           // recorded runs
	eval     time.Duration // one evaluation of the test set, in this process
	ckptSize string        // one checkpoint: its objects and bytes
	results  []*result
}

// timing is one process, timed from the outside.
type timing struct {
	wall, cpu time.Duration
}

// recorded is what the original run recorded about its own time.
type recorded struct {
	prefix, iterations, nested, suffix time.Duration
	epochs                             int
}

func (r recorded) total() time.Duration { return r.prefix + r.iterations + r.suffix }

// setup builds flor and the example and lays out the project.
func (b *bench) setup(ctx context.Context) error {
	fmt.Fprintf(b.log, "building flor and the example...\n")
	if err := b.goBuild(ctx, b.root, b.flor, "./cmd/flor"); err != nil {
		return err
	}
	p, err := scratch.New(b.proj, "mnistproj", b.root, map[string][]byte{"main.go": examples.MNISTMain})
	if err != nil {
		return err
	}
	// -mod=mod completes go.mod's requirements; the commit then holds a
	// go.mod that builds without it, as the replayed versions must.
	if err := b.goBuild(ctx, b.proj, b.train, "."); err != nil {
		return err
	}
	if err := p.Commit("the MNIST example"); err != nil {
		return fmt.Errorf("git commit in %s: %w", b.proj, err)
	}
	return nil
}

func (b *bench) goBuild(ctx context.Context, dir, out, target string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, target)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	if output, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build -o %s %s in %s: %w\n%s", out, target, dir, err, output)
	}
	return nil
}

// env is the environment of the processes run in the project: records go
// to <project>/.flor, and nothing is echoed; a checkpoint budget set by
// the caller stands.
func (b *bench) env() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "FLOR_") || strings.HasPrefix(kv, "FLOR_CHECKPOINT_EPSILON=") || strings.HasPrefix(kv, "FLOR_MACHINE_COSTS=") {
			env = append(env, kv)
		}
	}
	return append(env, "FLOR_ECHO=0", "FLOR_PROGRESS=0")
}

// trainArgs are the recorded run's arguments.
func (b *bench) trainArgs() []string {
	return append([]string{"-data", b.data, "--kwargs"}, b.o.Kwargs()...)
}

// record runs the example once and reads back the time it recorded.
func (b *bench) record(ctx context.Context) error {
	fmt.Fprintf(b.log, "recording: %s %s\n", filepath.Base(b.train), strings.Join(b.trainArgs(), " "))
	cmd := exec.CommandContext(ctx, b.train, b.trainArgs()...)
	cmd.Dir = b.proj
	cmd.Env = b.env()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	b.orig = timing{wall: time.Since(start)}
	if err != nil {
		return fmt.Errorf("%s: %w\n%s", b.train, err, out.String())
	}
	b.orig.cpu = cpuTime(cmd)
	b.runs = 1
	var rows []struct {
		Name string  `json:"value_name"`
		N    int     `json:"n"`
		Sum  float64 `json:"s"`
	}
	if err := b.florJSON(ctx, &rows, "query", "--format", "json",
		`SELECT value_name, count(*) AS n, sum(CAST(value AS DOUBLE)) AS s FROM logs
		 WHERE value_name LIKE 'delta::%' AND NOT replayed GROUP BY ALL`); err != nil {
		return err
	}
	secs := func(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
	for _, r := range rows {
		switch r.Name {
		case "delta::prefix":
			b.recorded.prefix = secs(r.Sum)
		case "delta::iteration":
			b.recorded.iterations, b.recorded.epochs = secs(r.Sum), r.N
		case "delta::step":
			b.recorded.nested = secs(r.Sum)
		case "delta::suffix":
			b.recorded.suffix = secs(r.Sum)
		}
	}
	if b.recorded.epochs != b.o.Epochs {
		return fmt.Errorf("the run recorded %d delta::iteration values, want one per epoch (%d)", b.recorded.epochs, b.o.Epochs)
	}
	size, err := b.checkpointSize(ctx)
	if err != nil {
		return err
	}
	b.ckptSize = size
	return nil
}

// recordAgain records one more run of the committed code (so of the first
// run's version), of one epoch: a prefix replay needs no more.
func (b *bench) recordAgain(ctx context.Context) error {
	if err := os.WriteFile(filepath.Join(b.proj, "main.go"), examples.MNISTMain, 0o644); err != nil {
		return err
	}
	p := b.o.Params
	p.Epochs = 1
	args := append([]string{"-data", b.data, "--kwargs"}, p.Kwargs()...)
	fmt.Fprintf(b.log, "recording: %s %s\n", filepath.Base(b.train), strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, b.train, args...)
	cmd.Dir = b.proj
	cmd.Env = b.env()
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %w\n%s", b.train, err, out)
	}
	b.runs++
	return nil
}

// checkpointSize describes the state captured at the end of the first
// epoch: what a replay restores once per skipped step loop.
func (b *bench) checkpointSize(ctx context.Context) (string, error) {
	var rows []struct {
		Objs map[string]string `json:"objs"`
	}
	if err := b.florJSON(ctx, &rows, "query", "--format", "json",
		`SELECT objs FROM checkpoints WHERE iteration = 0 AND block = ''`); err != nil {
		return "", err
	}
	if len(rows) != 1 || len(rows[0].Objs) == 0 {
		return "", fmt.Errorf("the run recorded %d end-of-epoch checkpoints for epoch 0, want 1", len(rows))
	}
	var size int64
	for name, hash := range rows[0].Objs {
		if len(hash) < 3 {
			return "", fmt.Errorf("checkpoint object %s: bad hash %q", name, hash)
		}
		st, err := os.Stat(filepath.Join(b.proj, ".flor", "objects", hash[:2], hash[2:]))
		if err != nil {
			return "", fmt.Errorf("checkpoint object %s: %w", name, err)
		}
		size += st.Size()
	}
	return fmt.Sprintf("%d objects, %.2f MiB", len(rows[0].Objs), float64(size)/(1<<20)), nil
}

// florJSON runs a flor command in the project and decodes its JSON output.
func (b *bench) florJSON(ctx context.Context, v any, args ...string) error {
	cmd := exec.CommandContext(ctx, b.flor, args...)
	cmd.Dir = b.proj
	cmd.Env = b.env()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("flor %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	if err := json.Unmarshal(out, v); err != nil {
		return fmt.Errorf("flor %s printed %.200q: %w", strings.Join(args, " "), out, err)
	}
	return nil
}

// level is a replay level with the statement that needs it.
type level struct {
	name   string // prefix, outer or nested
	want   string // the start of the level flor must report
	log    string // the statement's log name
	anchor string // the statement goes on its own line before this text
	stmt   string // the statement, %s for its name
	check  func(b *bench, ctx context.Context, name string) (string, error)
}

var levels = []*level{
	{name: "prefix", want: "prefix", log: "n_train", anchor: "\tn := train.N\n",
		stmt: "\tflor.Log(%q, train.N)\n", check: (*bench).checkPrefix},
	{name: "outer", want: "outer loop", log: "acc_top", anchor: "\t\tperm := rng.Perm(n)",
		stmt: "\t\tflor.Log(%q, mlp.Evaluate(model, test))\n", check: (*bench).checkOuter},
	{name: "nested", want: "nested loop", log: "loss_x", anchor: "\t\t\tif step%printEvery == 0 {",
		stmt: "\t\t\tflor.Log(%q, loss*2)\n", check: (*bench).checkNested},
}

// source is the example with the level's statement logging name.
func (lv *level) source(name string) (string, error) {
	src := string(examples.MNISTMain)
	if strings.Count(src, lv.anchor) != 1 {
		return "", fmt.Errorf("examples/mnist/main.go changed: want one %q to put the %s statement before", lv.anchor, lv.name)
	}
	return strings.Replace(src, lv.anchor, fmt.Sprintf(lv.stmt, name)+lv.anchor, 1), nil
}

// replayCase is one kind of replay: a level and a number of workers.
type replayCase struct {
	lv      *level
	workers int
	cached  bool // a statement replayed before, into a newer run of its version
}

func (b *bench) cases() []replayCase {
	var cs []replayCase
	for _, lv := range levels {
		if !slices.Contains(b.o.Levels, lv.name) {
			continue
		}
		cs = append(cs, replayCase{lv, b.o.Workers, false})
		if lv.name != "prefix" && b.o.Single && b.o.Workers > 1 {
			cs = append(cs, replayCase{lv, 1, false})
		}
	}
	return cs
}

// levelNamed is the level called name.
func levelNamed(name string) *level {
	for _, lv := range levels {
		if lv.name == name {
			return lv
		}
	}
	return nil
}

// result is one timed replay.
type result struct {
	c       replayCase
	logName string
	args    []string // flor's arguments
	timing
	level    string        // as flor reported it
	estimate time.Duration // flor's estimate for the run, in the schedule
	revised  time.Duration // flor's revised estimate, once the run's first iteration was timed; 0 = none
	elapsed  time.Duration // flor's own measure of the run's replay
	phases   phases
	checked  string // what the check verified
}

// phases of a replay, from the times flor printed its progress lines.
type phases struct {
	plan, materialise, prepare, build, run, finish time.Duration
	cache                                          time.Duration // copying a cached version out
}

// progress lines: "[1] <tstamp> <filename>: <step>".
var progressRE = regexp.MustCompile(`^\[\d+\] \S+ \S+: (materialising|propagating|building|cached version|replaying|done)`)

// outcome row of flor's final table: "<tstamp> <filename> ok <took>s
// <waited>s <estimate>s <error> <revised>s <error> <level>" (revised "-"
// when there is none).
var outcomeRE = regexp.MustCompile(`^\S+\s+\S+\s+ok\s+([0-9.]+)s\s+[0-9.]+s\s+([0-9.]+)s\s+\S+\s+(?:([0-9.]+)s|-)\s+\S+\s+(.+?)\s*$`)

func (b *bench) replay(ctx context.Context, c replayCase, rep int) error {
	name := c.lv.log
	if c.workers != b.o.Workers {
		name += "_w" + strconv.Itoa(c.workers)
	}
	if rep > 0 {
		name += "_r" + strconv.Itoa(rep+1)
	}
	src, err := c.lv.source(name)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(b.proj, "main.go"), []byte(src), 0o644); err != nil {
		return err
	}
	res := &result{c: c, logName: name, args: []string{"replay", "--yes", "--workers", strconv.Itoa(c.workers), name}}
	fmt.Fprintf(b.log, "timing: flor %s\n", strings.Join(res.args, " "))
	cmd := exec.CommandContext(ctx, b.flor, res.args...)
	cmd.Dir = b.proj
	cmd.Env = b.env()
	lines, err := runTimed(cmd, &res.timing)
	var text strings.Builder
	for _, l := range lines {
		text.WriteString(l.text + "\n")
	}
	if err != nil {
		return fmt.Errorf("flor %s: %w\n%s", strings.Join(res.args, " "), err, text.String())
	}
	at := map[string]time.Duration{}
	for _, l := range lines {
		if m := progressRE.FindStringSubmatch(l.text); m != nil && l.stderr {
			if _, seen := at[m[1]]; !seen {
				at[m[1]] = l.at
			}
		}
		if m := outcomeRE.FindStringSubmatch(l.text); m != nil && !l.stderr {
			res.elapsed, res.estimate, res.revised, res.level = parseSecs(m[1]), parseSecs(m[2]), parseSecs(m[3]), m[4]
		}
	}
	steps := []string{"materialising", "propagating", "building", "replaying", "done"}
	if c.cached {
		steps = []string{"cached version", "replaying", "done"}
	}
	for _, s := range steps {
		if _, ok := at[s]; !ok {
			return fmt.Errorf("flor %s printed no %q progress line:\n%s", strings.Join(res.args, " "), s, text.String())
		}
	}
	if res.level == "" {
		return fmt.Errorf("flor %s printed no outcome line for the run:\n%s", strings.Join(res.args, " "), text.String())
	}
	if !strings.HasPrefix(res.level, c.lv.want) {
		return fmt.Errorf("flor %s replayed at level %q, want %s", strings.Join(res.args, " "), res.level, c.lv.want)
	}
	res.phases = phases{
		plan:        at["materialising"],
		materialise: at["propagating"] - at["materialising"],
		prepare:     at["building"] - at["propagating"],
		build:       at["replaying"] - at["building"],
		run:         at["done"] - at["replaying"],
		finish:      res.wall - at["done"],
	}
	if _, hit := at["cached version"]; hit != c.cached {
		return fmt.Errorf("flor %s: cached version %v, want %v:\n%s", strings.Join(res.args, " "), hit, c.cached, text.String())
	}
	if c.cached {
		res.phases = phases{plan: at["cached version"], cache: at["replaying"] - at["cached version"],
			run: at["done"] - at["replaying"], finish: res.wall - at["done"]}
	}
	if res.checked, err = c.lv.check(b, ctx, name); err != nil {
		return fmt.Errorf("flor %s: %w", strings.Join(res.args, " "), err)
	}
	b.results = append(b.results, res)
	return nil
}

// name is the result's level as the report shows it.
func (r *result) name() string {
	if r.c.cached {
		return "cached"
	}
	return r.c.lv.name
}

func parseSecs(s string) time.Duration {
	f, _ := strconv.ParseFloat(s, 64)
	return time.Duration(f * float64(time.Second))
}

// line is one line a process printed, with when it arrived.
type line struct {
	at     time.Duration // since the process started
	stderr bool
	text   string
}

// runTimed runs cmd, timing it, and returns its output lines stamped with
// their arrival times.
func runTimed(cmd *exec.Cmd, t *timing) ([]line, error) {
	outPipe, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	errPipe, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	var (
		mu    sync.Mutex
		lines []line
		wg    sync.WaitGroup
	)
	start := time.Now()
	read := func(r io.Reader, stderr bool) {
		defer wg.Done()
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
		for sc.Scan() {
			l := line{at: time.Since(start), stderr: stderr, text: sc.Text()}
			mu.Lock()
			lines = append(lines, l)
			mu.Unlock()
		}
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	wg.Add(2)
	go read(outPipe, false)
	go read(errPipe, true)
	wg.Wait() // the pipes must be drained before Wait
	err = cmd.Wait()
	t.wall = time.Since(start)
	if cmd.ProcessState != nil {
		t.cpu = cpuTime(cmd)
	}
	return lines, err
}

// cpuTime is the user + system CPU time of a finished process and of the
// processes it waited for (its builds and replay workers).
func cpuTime(cmd *exec.Cmd) time.Duration {
	st := cmd.ProcessState
	return st.UserTime() + st.SystemTime()
}

// dataframe reads flor's dataframe of names as JSON rows.
func (b *bench) dataframe(ctx context.Context, names ...string) ([]map[string]any, error) {
	var rows []map[string]any
	err := b.florJSON(ctx, &rows, append([]string{"dataframe", "--format", "json"}, names...)...)
	return rows, err
}

// num is a dataframe cell as a number; ok is false for a missing value.
func num(row map[string]any, col string) (float64, bool) {
	f, ok := row[col].(float64)
	return f, ok
}

func (b *bench) checkPrefix(ctx context.Context, name string) (string, error) {
	rows, err := b.dataframe(ctx, name)
	if err != nil {
		return "", err
	}
	var got []float64
	for _, r := range rows {
		if v, ok := num(r, name); ok {
			got = append(got, v)
		}
	}
	if len(got) != b.runs || slices.ContainsFunc(got, func(v float64) bool { return v != float64(b.o.TrainSize) }) {
		return "", fmt.Errorf("%w: %s = %v, want %d (one per run)", errCheck, name, got, b.o.TrainSize)
	}
	if b.runs > 1 {
		return fmt.Sprintf("%s = %d (%d runs)", name, b.o.TrainSize, b.runs), nil
	}
	return fmt.Sprintf("%s = %d", name, b.o.TrainSize), nil
}

// checkOuter: the model at the top of epoch e is the one evaluated at the
// end of epoch e-1.
func (b *bench) checkOuter(ctx context.Context, name string) (string, error) {
	rows, err := b.dataframe(ctx, name, "val_acc")
	if err != nil {
		return "", err
	}
	top := map[int]float64{}
	val := map[int]float64{}
	for _, r := range rows {
		e, ok := num(r, "epoch")
		if !ok {
			return "", fmt.Errorf("%w: a row of the dataframe has no epoch: %v", errCheck, r)
		}
		if v, ok := num(r, name); ok {
			top[int(e)] = v
		}
		if v, ok := num(r, "val_acc"); ok {
			val[int(e)] = v
		}
	}
	if len(top) != b.o.Epochs {
		return "", fmt.Errorf("%w: %d %s values, want one per epoch (%d)", errCheck, len(top), name, b.o.Epochs)
	}
	for e := 1; e < b.o.Epochs; e++ {
		if math.Float64bits(top[e]) != math.Float64bits(val[e-1]) {
			return "", fmt.Errorf("%w: %s at epoch %d is %v, but val_acc at epoch %d was %v", errCheck, name, e, top[e], e-1, val[e-1])
		}
	}
	return fmt.Sprintf("%d values; %s[e] = val_acc[e-1] bit for bit", len(top), name), nil
}

// checkNested: loss_x at every step, twice the loss where it was logged.
func (b *bench) checkNested(ctx context.Context, name string) (string, error) {
	rows, err := b.dataframe(ctx, name, "loss")
	if err != nil {
		return "", err
	}
	n, pairs := 0, 0
	for _, r := range rows {
		x, ok := num(r, name)
		if !ok {
			continue
		}
		n++
		if loss, ok := num(r, "loss"); ok {
			pairs++
			if math.Float64bits(x) != math.Float64bits(2*loss) {
				return "", fmt.Errorf("%w: %s = %v at epoch %v step %v, want 2·loss = %v", errCheck, name, x, r["epoch"], r["step"], 2*loss)
			}
		}
	}
	want := b.o.Epochs * b.o.Steps()
	wantPairs := b.o.Epochs * ((b.o.Steps() + b.o.PrintEvery - 1) / b.o.PrintEvery)
	if n != want || pairs != wantPairs {
		return "", fmt.Errorf("%w: %d %s values (%d where loss was logged), want %d (%d)", errCheck, n, name, pairs, want, wantPairs)
	}
	return fmt.Sprintf("%d values; %s = 2·loss bit for bit at the %d logged steps", n, name, pairs), nil
}

// best is the fastest replay of a case.
func (b *bench) best(lv *level, workers int) (*result, []*result) {
	var all []*result
	for _, r := range b.results {
		if r.c.lv == lv && r.c.workers == workers && !r.c.cached {
			all = append(all, r)
		}
	}
	if len(all) == 0 {
		return nil, nil
	}
	return slices.MinFunc(all, func(x, y *result) int { return cmp.Compare(x.wall, y.wall) }), all
}

func s(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 2, 64) }

func (b *bench) report(w io.Writer) {
	o := b.o
	fmt.Fprintf(w, "flor replay speed on examples/mnist\n")
	fmt.Fprintf(w, "machine: %s/%s, %d CPUs, %s; load average %s at start, %s at end\n",
		goruntime.GOOS, goruntime.GOARCH, goruntime.NumCPU(), goVersion(), b.load0, b.load1)
	fmt.Fprintf(w, "run: %s\n\n", strings.Join(o.Kwargs(), " "))

	rec := b.recorded
	fmt.Fprintf(w, "original run: mnist %s\n", strings.Join(b.trainArgs(), " "))
	fmt.Fprintf(w, "  wall %s s, cpu %s s (the built example, recording, timed from the outside)\n", s(b.orig.wall), s(b.orig.cpu))
	fmt.Fprintf(w, "  recorded: prefix %s + %d iterations %s + suffix %s = %s s; step loops %s s of the iterations\n\n",
		s(rec.prefix), rec.epochs, s(rec.iterations), s(rec.suffix), s(rec.total()), s(rec.nested))

	fmt.Fprintf(w, "replays: flor replay in the project, the statement added to the working tree; wall from start to exit.\n")
	fmt.Fprintf(w, "phases, from flor's progress lines: plan = store, analysis of the working tree, schedule;\n")
	fmt.Fprintf(w, "mat = materialise the snapshot; prep = propagate, analyse, instrument; build = go build;\n")
	fmt.Fprintf(w, "run = the workers (prefix, restores, iterations); fin = ingest the values, print the dataframe.\n")
	fmt.Fprintf(w, "cached = the prefix statement again, into a newer run of the version the first prefix replay built:\n")
	fmt.Fprintf(w, "its prep is copying the version out of flor's cache, with no materialising or build.\n\n")
	fmt.Fprintf(w, "%-7s %3s %-28s %7s %7s %6s %5s %5s %6s %6s %5s %9s %7s\n",
		"level", "W", "statement", "wall", "cpu", "plan", "mat", "prep", "build", "run", "fin", "estimate", "ratio")
	for _, r := range b.results {
		fmt.Fprintf(w, "%-7s %3d %-28s %7s %7s %6s %5s %5s %6s %6s %5s %9s %7.3f\n",
			r.name(), r.c.workers, r.logName, s(r.wall), s(r.cpu), s(r.phases.plan), s(r.phases.materialise),
			s(r.phases.prepare), s(r.phases.build), s(r.phases.run), s(r.phases.finish), s(r.estimate),
			r.wall.Seconds()/b.orig.wall.Seconds())
	}
	fmt.Fprintf(w, "\nchecked:\n")
	for _, r := range b.results {
		fmt.Fprintf(w, "  flor %s: level %s; %s\n", strings.Join(r.args, " "), r.level, r.checked)
	}

	W := o.Workers
	ratio := func(r *result) float64 { return r.wall.Seconds() / b.orig.wall.Seconds() }
	verdict := func(got, target float64) string {
		if got <= target {
			return "PASS"
		}
		return fmt.Sprintf("MISS by %.2fx (%.1f s over)", got/target, (got-target)*b.orig.wall.Seconds())
	}
	pre, _ := b.best(levelNamed("prefix"), W)
	outer, outerAll := b.best(levelNamed("outer"), W)
	nested, nestedAll := b.best(levelNamed("nested"), W)
	fmt.Fprintf(w, "\nfigures (the fastest of %d replay%s each; original wall %s s):\n", o.Repeat, plural(o.Repeat), s(b.orig.wall))
	if outer != nil {
		r := ratio(outer)
		fmt.Fprintf(w, "  outer loop:  flor replay --yes --workers %d %s\n", W, outer.logName)
		// The target falls as the run's length hides the fixed cost:
		// 0.10 from 30 s on, 0.04 from 5 minutes on.
		target, from, fromText := 0.10, 30*time.Second, "30 s"
		if b.orig.wall >= 5*time.Minute {
			target, from, fromText = 0.04, 5*time.Minute, "5 minutes"
		}
		fmt.Fprintf(w, "    replay / original = %s / %s = %.3f   target <= %.2f: %s", s(outer.wall), s(b.orig.wall), r, target, verdict(r, target))
		if b.orig.wall < from {
			fmt.Fprintf(w, " (the target is for runs of 30 s or more; this one took %s s)", s(b.orig.wall))
		} else {
			fmt.Fprintf(w, " (the target for runs of %s or more)", fromText)
		}
		fmt.Fprintln(w)
		fmt.Fprintf(w, "    all: %s\n", walls(outerAll))
		if one, all := b.best(outer.c.lv, 1); one != nil && W != 1 {
			fmt.Fprintf(w, "    with 1 worker: %s s, ratio %.3f (all: %s)\n", s(one.wall), ratio(one), walls(all))
		}
	}
	if nested != nil {
		r := ratio(nested)
		target := 1.15 / float64(W)
		fmt.Fprintf(w, "  nested loop: flor replay --yes --workers %d %s\n", W, nested.logName)
		fmt.Fprintf(w, "    replay / original = %s / %s = %.3f   target <= 1.15/%d = %.3f: %s\n", s(nested.wall), s(b.orig.wall), r, W, target, verdict(r, target))
		fmt.Fprintf(w, "    all: %s\n", walls(nestedAll))
		if one, all := b.best(nested.c.lv, 1); one != nil && W != 1 {
			fmt.Fprintf(w, "    with 1 worker: %s s, ratio %.3f (all: %s); speed-up with %d workers %.2fx (run phase %.2fx)\n",
				s(one.wall), ratio(one), walls(all), W, one.wall.Seconds()/nested.wall.Seconds(), one.phases.run.Seconds()/nested.phases.run.Seconds())
		}
	}

	fmt.Fprintf(w, "\nestimates (flor's, per run) against the actual replay of the run (flor's own measure);\n")
	fmt.Fprintf(w, "error = estimate / actual - 1 (negative: the estimate was low); target within ±25%%:\n")
	errPct := func(est, took time.Duration) string {
		if est <= 0 || took <= 0 {
			return "    -"
		}
		e := est.Seconds()/took.Seconds() - 1
		v := "ok"
		if math.Abs(e) > 0.25 {
			v = "MISS"
		}
		return fmt.Sprintf("%+4.0f%% %s", 100*e, v)
	}
	for _, r := range b.results {
		fmt.Fprintf(w, "  %-7s W=%d %-28s took %7s s; estimated %7s s (%s)", r.name(), r.c.workers, r.logName,
			s(r.elapsed), s(r.estimate), errPct(r.estimate, r.elapsed))
		if r.revised > 0 {
			fmt.Fprintf(w, "; revised %7s s (%s)", s(r.revised), errPct(r.revised, r.elapsed))
		}
		fmt.Fprintln(w)
	}

	fmt.Fprintf(w, "\nwhere the time goes (the fastest replays):\n")
	phaseLine := func(r *result) string {
		p := r.phases
		return fmt.Sprintf("plan %s + mat %s + prep %s + build %s + run %s + fin %s = %s s",
			s(p.plan), s(p.materialise), s(p.prepare), s(p.build), s(p.run), s(p.finish), s(r.wall))
	}
	var preRun time.Duration // the run phase of a replay of the prefix alone
	if pre != nil {
		preRun = pre.phases.run
		fmt.Fprintf(w, "  prefix W=%d: %s\n", W, phaseLine(pre))
		fmt.Fprintf(w, "    its run phase is the version starting and running its prefix (recorded prefix %s s)\n", s(rec.prefix))
		fmt.Fprintf(w, "    this fixed cost of any replay is %.3f of the original run\n", ratio(pre))
	}
	if c := b.fastestCached(); c != nil {
		p := c.phases
		fmt.Fprintf(w, "  prefix W=%d, version cached: plan %s + cache %s + run %s + fin %s = %s s   target <= 1.00: %s\n",
			W, s(p.plan), s(p.cache), s(p.run), s(p.finish), s(c.wall), passMiss(c.wall <= time.Second))
		if pre != nil {
			fmt.Fprintf(w, "    against %s s when the version is built (target <= 1.50: %s): the cache saves %s s\n",
				s(pre.wall), passMiss(pre.wall <= 1500*time.Millisecond), s(pre.wall-c.wall))
		}
	}
	workers := min(W, rec.epochs)
	if outer != nil {
		outside := rec.iterations - rec.nested
		fmt.Fprintf(w, "  outer  W=%d: %s\n", W, phaseLine(outer))
		fmt.Fprintf(w, "    run phase beyond the prefix replay's: %s s for %d epochs on %d workers (%d each): per epoch, a restore (%s),\n",
			s(outer.phases.run-preRun), rec.epochs, workers, (rec.epochs+workers-1)/workers, b.ckptSize)
		fmt.Fprintf(w, "    the epoch body outside the step loop (recorded: %s s an epoch: shuffle, val_acc, checkpoint) and acc_top's evaluation\n",
			s(outside/time.Duration(max(1, rec.epochs))))
		fmt.Fprintf(w, "    one evaluation of the test set, timed in this process: %s s\n", s(b.eval))
	}
	if nested != nil {
		fmt.Fprintf(w, "  nested W=%d: %s\n", W, phaseLine(nested))
		fmt.Fprintf(w, "    run phase beyond the prefix replay's: %s s for %s s of recorded iterations on %d workers (%s s each if split evenly)\n",
			s(nested.phases.run-preRun), s(rec.iterations), workers, s(rec.iterations/time.Duration(workers)))
	}
}

// timeEvaluate times mlp.Evaluate on the test set with a model of the
// run's size, the fastest of three: the work the outer level repeats each
// epoch, twice (val_acc and acc_top).
func timeEvaluate(data string, hidden int, seed int64) (time.Duration, error) {
	train, test, err := mlp.Load(data, 1)
	if err != nil {
		return 0, err
	}
	model := mlp.NewMLP(train.Dim, hidden, 10, rand.New(rand.NewPCG(uint64(seed), 7)))
	best := time.Duration(math.MaxInt64)
	for range 3 {
		start := time.Now()
		mlp.Evaluate(model, test)
		best = min(best, time.Since(start))
	}
	return best, nil
}

// fastestCached is the fastest replay of a cached version.
func (b *bench) fastestCached() *result {
	var best *result
	for _, r := range b.results {
		if r.c.cached && (best == nil || r.wall < best.wall) {
			best = r
		}
	}
	return best
}

func passMiss(ok bool) string {
	if ok {
		return "PASS"
	}
	return "MISS"
}

func walls(rs []*result) string {
	var parts []string
	for _, r := range rs {
		parts = append(parts, s(r.wall)+" s")
	}
	return strings.Join(parts, ", ")
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// goVersion is the go command's version (what builds the replays).
func goVersion() string {
	out, err := exec.Command("go", "env", "GOVERSION").Output()
	if err != nil {
		return goruntime.Version()
	}
	return strings.TrimSpace(string(out))
}

// loadAvg is the 1, 5 and 15 minute load averages, where the system says.
func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// moduleRoot is the directory of the flor module this command runs in.
func moduleRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	root, err := scratch.Root(wd)
	if err != nil {
		return "", fmt.Errorf("run this from inside the flor module: %w", err)
	}
	return root, nil
}
