package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-git/go-git/v5"

	"github.com/flordb/flor/bench/internal/mnistargs"
	"github.com/flordb/flor/examples/mnist/mlp"
	"github.com/flordb/flor/internal/scratch"
)

// options are the command's flags.
type options struct {
	mnistargs.Params
	Pairs int
	Data  string
	Keep  bool
}

const usage = `usage: go run ./bench/overhead [flags]

Measures flor's record overhead on the MNIST example: the wall time of the
recorded example (B) over that of the same binary with recording off
(FLOR_RECORD=0, A), in alternating pairs, with the median ratio.

Examples:
  go run ./bench/overhead
  go run ./bench/overhead -epochs 2 -pairs 2
  go run ./bench/overhead -train_size 20000 -hidden 64 -pairs 5

Flags:
`

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "overhead: %v\n", err)
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fl := flag.NewFlagSet("overhead", flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.Usage = func() {
		fmt.Fprint(stderr, usage)
		fl.PrintDefaults()
	}
	o.Params.Register(fl, 5, "epochs per run (about 4 s each on 2 cores with the other defaults)")
	fl.IntVar(&o.Pairs, "pairs", 3, "A/B pairs to run")
	fl.StringVar(&o.Data, "data", "", "directory of the MNIST files (default: $MNIST_DIR, else the GoMNIST module's)")
	fl.BoolVar(&o.Keep, "keep", false, "keep the temporary repository and flor directory, and print where they are")
	// Flags may come after other words; there are no positional arguments.
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, err
		}
		return o, fmt.Errorf("%w: %w", errUsage, err)
	}
	if fl.NArg() > 0 {
		return o, fmt.Errorf("%w: unexpected argument %q", errUsage, fl.Arg(0))
	}
	sizeErr := o.Params.Check()
	switch {
	case o.Pairs <= 0:
		return o, fmt.Errorf("%w: -pairs %d: must be positive", errUsage, o.Pairs)
	case sizeErr != nil:
		return o, fmt.Errorf("%w: %w", errUsage, sizeErr)
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	o, err := parseFlags(args, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	dir, err := mlp.DataDir(o.Data)
	if err != nil {
		return err
	}
	return compare(ctx, o, dir, stdout)
}

// sample is one timed run.
type sample struct {
	side     string  // "A" (plain) or "B" (flor)
	seconds  float64 // wall time
	cpu      float64 // user + system CPU time of the process
	accuracy float64
}

func compare(ctx context.Context, o options, dataDir string, stdout io.Writer) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "flor-overhead-")
	if err != nil {
		return err
	}
	if o.Keep {
		fmt.Fprintf(stdout, "temporary files kept in %s\n", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}

	example := filepath.Join(tmp, "mnist")
	// -trimpath: the runtime then finds the program's repository from the
	// working directory, not from the source paths of the build.
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", example, "./examples/mnist")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./examples/mnist in %s: %w\n%s", root, err, out)
	}
	repo := filepath.Join(tmp, "repo")
	if err := makeRepo(repo, filepath.Join(root, "examples", "mnist")); err != nil {
		return err
	}

	fmt.Fprintf(stdout, "flor record overhead on examples/mnist: %s, %d pairs\n",
		strings.Join(o.Kwargs(), " "), o.Pairs)
	fmt.Fprintf(stdout, "one binary: A = recording off (FLOR_RECORD=0), B = recorded (checkpoint each epoch); both print their values\n\n")

	var samples []sample
	var ratios, cpuRatios []float64
	var bHome string
	for i := range o.Pairs {
		order := []string{"A", "B"}
		if i%2 == 1 {
			order = []string{"B", "A"}
		}
		var pair [2]sample // A, B
		for _, side := range order {
			var s sample
			home := filepath.Join(tmp, fmt.Sprintf("flor-home-%d-%s", i, side))
			s, err = runExample(ctx, example, repo, home, side, o, dataDir)
			if side == "B" {
				bHome = home
			}
			if err != nil {
				return fmt.Errorf("pair %d, side %s: %w", i+1, side, err)
			}
			samples = append(samples, s)
			if side == "A" {
				pair[0] = s
			} else {
				pair[1] = s
			}
			fmt.Fprintf(stdout, "pair %d  %s  wall %8.3f s  cpu %8.3f s  accuracy %.4f\n", i+1, side, s.seconds, s.cpu, s.accuracy)
		}
		if math.Float64bits(pair[0].accuracy) != math.Float64bits(pair[1].accuracy) {
			return fmt.Errorf("pair %d: accuracy %v with recording off but %v recorded: recording changed the computation",
				i+1, pair[0].accuracy, pair[1].accuracy)
		}
		r, rc := pair[1].seconds/pair[0].seconds, pair[1].cpu/pair[0].cpu
		ratios, cpuRatios = append(ratios, r), append(cpuRatios, rc)
		fmt.Fprintf(stdout, "pair %d  B/A wall %.4f  cpu %.4f\n", i+1, r, rc)
	}

	var as, bs, acpu, bcpu []float64
	for _, s := range samples {
		if s.side == "A" {
			as, acpu = append(as, s.seconds), append(acpu, s.cpu)
		} else {
			bs, bcpu = append(bs, s.seconds), append(bcpu, s.cpu)
		}
	}
	size, files := dirSize(bHome)
	fmt.Fprintf(stdout, "\nmedian wall: A %.3f s, B %.3f s; median cpu: A %.3f s, B %.3f s\n",
		median(as), median(bs), median(acpu), median(bcpu))
	fmt.Fprintf(stdout, "B/A wall per pair: %s\n", formatRatios(ratios))
	fmt.Fprintf(stdout, "B/A cpu  per pair: %s\n", formatRatios(cpuRatios))
	fmt.Fprintf(stdout, "B/A median: wall %.4f (overhead %+.2f%%), cpu %.4f (overhead %+.2f%%)\n",
		median(ratios), 100*(median(ratios)-1), median(cpuRatios), 100*(median(cpuRatios)-1))
	// Other processes only ever add time, so the fastest runs are the least
	// disturbed: their ratio is the steadiest figure on a busy machine.
	minWall, minCPU := slices.Min(bs)/slices.Min(as), slices.Min(bcpu)/slices.Min(acpu)
	fmt.Fprintf(stdout, "B/A of the fastest runs: wall %.4f (overhead %+.2f%%), cpu %.4f (overhead %+.2f%%)\n",
		minWall, 100*(minWall-1), minCPU, 100*(minCPU-1))
	fmt.Fprintf(stdout, "one recorded run wrote %d files, %.1f MiB (records and checkpoints)\n", files, float64(size)/(1<<20))
	return nil
}

// runExample runs the example binary in repo, recording into home (side
// B) or with recording off (side A), and returns its times and the
// accuracy it printed. Both sides run the same binary with the same
// arguments and print the same few lines (the echo of the values logged
// every print_every steps and per epoch), so they differ only in
// recording. Side B's recorded accuracy must be the printed one; side A
// must leave nothing in its home.
func runExample(ctx context.Context, example, repo, home, side string, o options, dataDir string) (sample, error) {
	args := append([]string{"-data", dataDir, "--kwargs"}, o.Kwargs()...)
	cmd := exec.CommandContext(ctx, example, args...)
	cmd.Dir = repo
	record := "1"
	if side == "A" {
		record = "0"
	}
	cmd.Env = append(os.Environ(), "FLOR_HOME="+home, "FLOR_ECHO=1", "FLOR_PROGRESS=0", "FLOR_RECORD="+record)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	secs := time.Since(start).Seconds()
	if err != nil {
		return sample{}, fmt.Errorf("%s: %w\n%s", example, err, stderr.String())
	}
	cpu := cpuSeconds(cmd)
	acc, err := printedAccuracy(stdout.String())
	if err != nil {
		return sample{}, fmt.Errorf("%s: %w", example, err)
	}
	if side == "A" {
		if _, err := os.Stat(home); !errors.Is(err, fs.ErrNotExist) {
			return sample{}, fmt.Errorf("recording off, yet %s exists (%v)", home, err)
		}
		return sample{side: side, seconds: secs, cpu: cpu, accuracy: acc}, nil
	}
	rec, err := recordedAccuracy(home)
	if err != nil {
		return sample{}, err
	}
	if math.Float64bits(rec) != math.Float64bits(acc) {
		return sample{}, fmt.Errorf("printed accuracy %v, recorded %v", acc, rec)
	}
	return sample{side: side, seconds: secs, cpu: cpu, accuracy: acc}, nil
}

// printedAccuracy is the value of the last "accuracy: " line of out (the
// echo prints floats exactly, as strconv's shortest form).
func printedAccuracy(out string) (float64, error) {
	const prefix = "accuracy: "
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(lines[i], prefix); ok {
			return strconv.ParseFloat(v, 64)
		}
	}
	return 0, fmt.Errorf("no %q line in its output %q", prefix, out)
}

// cpuSeconds is the CPU time a finished process used. It counts work done
// off the training goroutine (the runtime's checkpoint writer) and is less
// disturbed than wall time by other processes on the machine.
func cpuSeconds(cmd *exec.Cmd) float64 {
	st := cmd.ProcessState
	return (st.UserTime() + st.SystemTime()).Seconds()
}

// recordedAccuracy reads the value logged as "accuracy" from the one run
// file under home, and checks that the run finished and checkpointed.
func recordedAccuracy(home string) (float64, error) {
	files, err := filepath.Glob(filepath.Join(home, "runs", "*.jsonl"))
	if err != nil || len(files) != 1 {
		return 0, fmt.Errorf("%s/runs: want one run file, found %d (%v)", home, len(files), err)
	}
	f, err := os.Open(files[0])
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var (
		acc      float64
		found    bool
		ended    bool
		ckpts    int
		lineNo   int
		scanner  = bufio.NewScanner(f)
		maxToken = 16 << 20
	)
	scanner.Buffer(make([]byte, 64<<10), maxToken)
	for scanner.Scan() {
		lineNo++
		var rec struct {
			K string          `json:"k"`
			N string          `json:"n"`
			V json.RawMessage `json:"v"`
		}
		if err := json.Unmarshal(scanner.Bytes(), &rec); err != nil {
			return 0, fmt.Errorf("%s:%d: %w", files[0], lineNo, err)
		}
		switch rec.K {
		case "log":
			if rec.N == "accuracy" {
				if err := json.Unmarshal(rec.V, &acc); err != nil {
					return 0, fmt.Errorf("%s:%d: accuracy %s: %w", files[0], lineNo, rec.V, err)
				}
				found = true
			}
		case "ckpt":
			ckpts++
		case "end":
			ended = true
		}
	}
	if err := scanner.Err(); err != nil {
		return 0, fmt.Errorf("%s: %w", files[0], err)
	}
	switch {
	case !found:
		return 0, fmt.Errorf("%s: no accuracy logged", files[0])
	case !ended:
		return 0, fmt.Errorf("%s: no end record", files[0])
	case ckpts == 0:
		return 0, fmt.Errorf("%s: no checkpoint recorded", files[0])
	}
	return acc, nil
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

// makeRepo makes a git repository at dir holding a copy of the example's
// sources, so that the recorded run snapshots a real (small) tree.
func makeRepo(dir, src string) error {
	if _, err := git.PlainInit(dir, false); err != nil {
		return fmt.Errorf("git init %s: %w", dir, err)
	}
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		if !strings.HasSuffix(p, ".go") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
}

func dirSize(dir string) (size int64, files int) {
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				size += info.Size()
				files++
			}
		}
		return nil
	})
	return size, files
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func formatRatios(rs []float64) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = strconv.FormatFloat(r, 'f', 4, 64)
	}
	return strings.Join(parts, " ")
}
