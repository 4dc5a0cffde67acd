// Command gomlx trains a GoMLX multi-layer perceptron on MNIST, on GoMLX's
// pure-Go backend, recorded with flor: hyper-parameters are flor.Args,
// the epoch and step loops are flor.Loops, and the whole GoMLX context
// (weights, optimizer state, global step, RNG state) is checkpointed
// through florgomlx, so that `flor replay` can skip epochs and split them
// across workers.
package main

import (
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"

	"github.com/flordb/flor"
	"github.com/flordb/flor/contrib/florgomlx"
	"github.com/flordb/flor/examples/gomlx/mnistmlp"
	"github.com/flordb/flor/examples/mnist/mlp"
	"github.com/gomlx/gomlx/backends"
	_ "github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/gomlx/gomlx/pkg/ml/train/losses"
	"github.com/gomlx/gomlx/pkg/ml/train/metrics"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
)

func main() {
	defer flor.Commit()
	epochs := flor.Arg("epochs", 2)
	batchSize := flor.Arg("batch_size", 64)
	seed := flor.Arg("seed", int64(42))
	printEvery := flor.Arg("print_every", 10)
	trainSize := flor.Arg("train_size", 2048)
	testSize := flor.Arg("test_size", 1000)
	if err := check(epochs, batchSize, printEvery, trainSize, testSize); err != nil {
		fail(err)
	}
	dataDir := parseFlags(os.Args[1:])
	trainSet, testSet, err := loadMNIST(dataDir, trainSize, testSize)
	if err != nil {
		fail(err)
	}

	backend := backends.MustNew()
	ctx := context.New()
	florgomlx.Args(ctx, map[string]any{optimizers.ParamLearningRate: 1e-3, mnistmlp.ParamHidden: 64})
	if err := ctx.SetRNGStateFromSeed(seed); err != nil {
		fail(err)
	}
	trainer := train.NewTrainer(backend, ctx, mnistmlp.Model, losses.SparseCategoricalCrossEntropyLogits,
		optimizers.Adam().Done(), nil,
		[]metrics.Interface{metrics.NewSparseCategoricalAccuracy("Accuracy", "#acc")})
	// The shuffle draws from its own seeded source, checkpointed with the
	// model: never from the global math/rand generator.
	pcg := rand.NewPCG(uint64(seed), 7)
	rng := rand.New(pcg)
	flor.Checkpoint("model", florgomlx.Context(ctx, trainer))
	flor.Checkpoint("rng", pcg)

	steps := trainSet.N / batchSize // whole batches only: one graph shape
	for range flor.Loop("epoch", flor.Range(epochs)) {
		perm := rng.Perm(trainSet.N)
		for step := range flor.Loop("step", flor.Range(steps)) {
			inputs, labels := mnistmlp.Batch(trainSet, perm[step*batchSize:(step+1)*batchSize])
			m, err := trainer.TrainStep(nil, inputs, labels)
			if err != nil {
				fail(err)
			}
			if step%printEvery == 0 {
				florgomlx.LogMetrics(trainer, m)
			}
		}
		flor.Log("val_acc", mnistmlp.Evaluate(trainer, testSet, batchSize))
	}
	flor.Log("accuracy", mnistmlp.Evaluate(trainer, testSet, batchSize))
}

// check rejects hyper-parameters the training loop cannot run with.
func check(epochs, batchSize, printEvery, trainSize, testSize int) error {
	switch {
	case epochs < 0:
		return fmt.Errorf("epochs=%d: must not be negative", epochs)
	case batchSize <= 0:
		return fmt.Errorf("batch_size=%d: must be positive", batchSize)
	case printEvery <= 0:
		return fmt.Errorf("print_every=%d: must be positive", printEvery)
	case trainSize < batchSize:
		return fmt.Errorf("train_size=%d: must be at least batch_size (%d)", trainSize, batchSize)
	case testSize <= 0:
		return fmt.Errorf("test_size=%d: must be positive", testSize)
	}
	return nil
}

const usage = `usage: gomlx [-data DIR] [--kwargs name=value ...]

Trains a GoMLX multi-layer perceptron on (a subset of) MNIST on GoMLX's
pure-Go backend, recorded with flor.

Hyper-parameters (--kwargs): epochs (2), batch_size (64), seed (42),
print_every (10), train_size (2048), test_size (1000), learning_rate
(0.001), hidden (64).

Examples:
  go run . --kwargs epochs=3 hidden=128
  go run . --kwargs train_size=60000 test_size=10000

Flags:
`

// parseFlags returns the -data flag's value; flor has taken its --kwargs
// out of os.Args already. It exits 2 on a usage error.
func parseFlags(args []string) (dataDir string) {
	fl := flag.NewFlagSet("gomlx", flag.ContinueOnError)
	fl.Usage = func() {
		fmt.Fprint(fl.Output(), usage)
		fl.PrintDefaults()
	}
	fl.StringVar(&dataDir, "data", "", "directory of the four MNIST .gz files (default: $"+mlp.DataEnv+", else the GoMNIST module's data/)")
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		os.Exit(2)
	}
	if fl.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "gomlx: unexpected argument %q\n", fl.Arg(0))
		fl.Usage()
		os.Exit(2)
	}
	return dataDir
}

// loadMNIST loads the first trainSize training images and the first
// testSize test images.
func loadMNIST(dataDir string, trainSize, testSize int) (trainSet, testSet *mlp.Dataset, err error) {
	dir, err := mlp.DataDir(dataDir)
	if err != nil {
		return nil, nil, err
	}
	trainSet, testSet, err = mlp.Load(dir, trainSize)
	if err != nil {
		return nil, nil, err
	}
	if testSize < testSet.N {
		testSet = &mlp.Dataset{N: testSize, Dim: testSet.Dim,
			Pixels: testSet.Pixels[:testSize*testSet.Dim], Labels: testSet.Labels[:testSize]}
	}
	return trainSet, testSet, nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "gomlx:", err)
	os.Exit(1)
}
