// Command bench prints flor's figures on the GoMLX example: the recording
// overhead (the recorded example's wall time over that of the same
// training with no flor call, in alternating pairs, the final accuracies
// equal bit for bit) and the cost of a nested-level replay (a statement
// added in the step loop) and of an outer-level one (at the top of the
// epoch loop) on two workers over the recorded run's time.
//
//	cd examples/gomlx && go run ./bench
//	go run ./bench -epochs 4 -train_size 8192 -pairs 5
//	go run ./bench -pairs 0            # the replays only
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/flordb/flor/examples/gomlx/internal/gomlxproj"
	"github.com/flordb/flor/examples/gomlx/mnistmlp"
	"github.com/flordb/flor/examples/mnist/mlp"
	"github.com/flordb/flor/internal/scratch"
	"github.com/gomlx/gomlx/backends"
	_ "github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/gomlx/gomlx/pkg/ml/train/losses"
	"github.com/gomlx/gomlx/pkg/ml/train/metrics"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
)

// params are the example's defaults that the benchmark changes; the
// others (batch_size 64, seed 42, learning_rate 0.001, hidden 64) are the
// example's own, which the plain side repeats.
type params struct{ epochs, trainSize, testSize int }

func (p params) kwargs() []string {
	return []string{"--kwargs", fmt.Sprintf("epochs=%d", p.epochs), fmt.Sprintf("train_size=%d", p.trainSize),
		fmt.Sprintf("test_size=%d", p.testSize)}
}

func main() {
	var p params
	var pairs int
	var plain bool
	fl := flag.NewFlagSet("bench", flag.ContinueOnError)
	fl.IntVar(&p.epochs, "epochs", 3, "epochs per run")
	fl.IntVar(&p.trainSize, "train_size", 4096, "training images")
	fl.IntVar(&p.testSize, "test_size", 1000, "test images")
	fl.IntVar(&pairs, "pairs", 3, "A/B pairs for the overhead")
	fl.BoolVar(&verbose, "v", false, "print flor replay's output: its schedule, progress and final table")
	fl.BoolVar(&plain, "plain", false, "train once without flor and print the accuracy as JSON (used by the command itself)")
	if err := fl.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		os.Exit(2)
	}
	if plain {
		acc, err := trainPlain(p)
		if err != nil {
			fail(err)
		}
		json.NewEncoder(os.Stdout).Encode(acc)
		return
	}
	if err := run(p, pairs); err != nil {
		fail(err)
	}
}

// verbose: print flor replay's output.
var verbose bool

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}

// trainPlain is the example's training with no flor call: the same
// hyper-parameters, shuffle and evaluation.
func trainPlain(p params) (float64, error) {
	const batchSize, seed = 64, 42
	dir, err := mlp.DataDir("")
	if err != nil {
		return 0, err
	}
	trainSet, testSet, err := mlp.Load(dir, p.trainSize)
	if err != nil {
		return 0, err
	}
	if p.testSize < testSet.N {
		testSet = &mlp.Dataset{N: p.testSize, Dim: testSet.Dim, Pixels: testSet.Pixels[:p.testSize*testSet.Dim], Labels: testSet.Labels[:p.testSize]}
	}
	ctx := context.New()
	ctx.SetParam(mnistmlp.ParamHidden, 64)
	ctx.SetParam(optimizers.ParamLearningRate, 1e-3)
	if err := ctx.SetRNGStateFromSeed(seed); err != nil {
		return 0, err
	}
	trainer := train.NewTrainer(backends.MustNew(), ctx, mnistmlp.Model, losses.SparseCategoricalCrossEntropyLogits,
		optimizers.Adam().Done(), nil, []metrics.Interface{metrics.NewSparseCategoricalAccuracy("Accuracy", "#acc")})
	rng := rand.New(rand.NewPCG(seed, 7))
	steps := trainSet.N / batchSize
	for range p.epochs {
		perm := rng.Perm(trainSet.N)
		for step := range steps {
			inputs, labels := mnistmlp.Batch(trainSet, perm[step*batchSize:(step+1)*batchSize])
			if _, err := trainer.TrainStep(nil, inputs, labels); err != nil {
				return 0, err
			}
		}
		_ = mnistmlp.Evaluate(trainer, testSet, batchSize)
	}
	return mnistmlp.Evaluate(trainer, testSet, batchSize), nil
}

// timed runs a command in dir and returns its wall time and output.
func timed(dir, name string, args ...string) (time.Duration, []byte, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = gomlxproj.Env()
	start := time.Now()
	out, err := cmd.CombinedOutput()
	d := time.Since(start)
	if err != nil {
		return d, out, fmt.Errorf("%s %s: %w\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	return d, out, nil
}

// lastValue is the last value of name in the project's store.
func lastValue(flor, dir, name string) (float64, error) {
	_, out, err := timed(dir, flor, "dataframe", "--format", "json", name)
	if err != nil {
		return 0, err
	}
	var rows []map[string]any
	if err := json.Unmarshal(out, &rows); err != nil {
		return 0, fmt.Errorf("flor dataframe %s: %w", name, err)
	}
	for i := len(rows) - 1; i >= 0; i-- {
		if v, ok := rows[i][name].(float64); ok {
			return v, nil
		}
	}
	return 0, fmt.Errorf("no %s recorded in %s", name, dir)
}

func run(p params, pairs int) error {
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	root, err := scratch.Root(wd)
	if err != nil {
		return err
	}
	src, err := os.ReadFile(filepath.Join(root, "examples", "gomlx", "main.go"))
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "florgomlx-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	self, err := os.Executable()
	if err != nil {
		return err
	}
	flor := filepath.Join(tmp, "flor")
	if _, _, err := timed(root, "go", "build", "-o", flor, "./cmd/flor"); err != nil {
		return err
	}

	// Overhead: A trains without flor, B is the recorded example.
	proj := filepath.Join(tmp, "overhead")
	if _, err := gomlxproj.New(proj, root, map[string][]byte{"main.go": src}); err != nil {
		return err
	}
	bin := filepath.Join(tmp, "example")
	if _, _, err := timed(proj, "go", "build", "-o", bin, "."); err != nil {
		return err
	}
	fmt.Printf("GoMLX example, simplego: %d epochs, %d training images, %d test images\n", p.epochs, p.trainSize, p.testSize)
	var ratios []float64
	for i := range pairs {
		a, out, err := timed(wd, self, "-plain", fmt.Sprintf("-epochs=%d", p.epochs), fmt.Sprintf("-train_size=%d", p.trainSize), fmt.Sprintf("-test_size=%d", p.testSize))
		if err != nil {
			return err
		}
		var accA float64
		if err := json.Unmarshal(out, &accA); err != nil {
			return fmt.Errorf("plain side: %w: %s", err, out)
		}
		b, _, err := timed(proj, bin, p.kwargs()...)
		if err != nil {
			return err
		}
		accB, err := lastValue(flor, proj, "accuracy")
		if err != nil {
			return err
		}
		if accA != accB {
			return fmt.Errorf("pair %d: accuracy without flor %v, with flor %v: not the same training", i+1, accA, accB)
		}
		ratios = append(ratios, b.Seconds()/a.Seconds())
		fmt.Printf("pair %d: without flor %.2fs, recorded %.2fs, ratio %.3f (accuracy %v both)\n", i+1, a.Seconds(), b.Seconds(), ratios[i], accA)
	}
	if len(ratios) > 0 {
		slices.Sort(ratios)
		fmt.Printf("recording overhead: median ratio %.3f\n", ratios[len(ratios)/2])
	}

	// Replay: one recorded run, a statement added in the step loop,
	// replayed on two workers.
	rp := filepath.Join(tmp, "replay")
	rproj, err := gomlxproj.New(rp, root, map[string][]byte{"main.go": src})
	if err != nil {
		return err
	}
	if err := rproj.Commit("example"); err != nil {
		return err
	}
	if _, _, err := timed(rp, "go", "build", "-o", bin, "."); err != nil {
		return err
	}
	orig, _, err := timed(rp, bin, p.kwargs()...)
	if err != nil {
		return err
	}
	anchor := "\t\t\tif step%printEvery == 0 {"
	if !strings.Contains(string(src), anchor) {
		return fmt.Errorf("the example changed: no %q", anchor)
	}
	newest := strings.Replace(string(src), anchor, "\t\t\tflor.Log(\"loss_x\", m[0].Value())\n"+anchor, 1)
	if err := rproj.Write("main.go", []byte(newest)); err != nil {
		return err
	}
	rep, out, err := timed(rp, flor, "replay", "--yes", "--workers", "2", "loss_x")
	if err != nil {
		return err
	}
	fmt.Printf("nested-level replay (loss_x in the step loop), 2 workers: %.2fs, the recorded run %.2fs: ratio %.2f (the replay includes building the version)\n",
		rep.Seconds(), orig.Seconds(), rep.Seconds()/orig.Seconds())
	if err := printEstimates(out); err != nil {
		return err
	}

	// Outer level: a statement at the top of the epoch loop, which needs
	// the state at the start of each epoch and no step loop at all.
	top := "\t\tperm := rng.Perm(trainSet.N)\n"
	if !strings.Contains(newest, top) {
		return fmt.Errorf("the example changed: no %q", top)
	}
	outer := strings.Replace(newest, top, "\t\tflor.Log(\"acc_top\", mnistmlp.Evaluate(trainer, testSet, batchSize))\n"+top, 1)
	if err := rproj.Write("main.go", []byte(outer)); err != nil {
		return err
	}
	rep, out, err = timed(rp, flor, "replay", "--yes", "--workers", "2", "acc_top")
	if err != nil {
		return err
	}
	fmt.Printf("outer-level replay (acc_top at the top of the epoch loop), 2 workers: %.2fs, the recorded run %.2fs: ratio %.3f (the replay includes building the version)\n",
		rep.Seconds(), orig.Seconds(), rep.Seconds()/orig.Seconds())
	if err := printEstimates(out); err != nil {
		return err
	}
	return nil
}

// outcomeRE is a row of flor replay's final table: "<run> <program> ok
// <took>s <waited>s <estimate>s <error> <revised>s <error> <level>", the
// revised estimate and its error "-" when there is none.
var outcomeRE = regexp.MustCompile(`(?m)^\S+\s+\S+\s+ok\s+([0-9.]+)s\s+[0-9.]+s\s+([0-9.]+)s\s+(\S+)\s+(?:([0-9.]+)s\s+(\S+)|-\s+-)\s`)

// printEstimates says how flor's estimates of the replayed run compared
// with the time it took, from flor replay's output.
func printEstimates(out []byte) error {
	if verbose {
		os.Stdout.Write(out)
	}
	m := outcomeRE.FindSubmatch(out)
	if m == nil {
		return fmt.Errorf("flor replay printed no outcome row with its estimates:\n%s", out)
	}
	s := fmt.Sprintf("  flor's estimate for the run: took %ss, estimated %ss (%s)", m[1], m[2], m[3])
	if len(m[4]) > 0 {
		s += fmt.Sprintf(", revised after the first iteration %ss (%s)", m[4], m[5])
	}
	fmt.Println(s + "; target within ±25%")
	return nil
}
