package main

import (
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"

	"github.com/flordb/flor"
	"github.com/flordb/flor/examples/mnist/mlp"
)

func main() {
	defer flor.Commit()
	hidden := flor.Arg("hidden", 128)
	epochs := flor.Arg("epochs", 3)
	batchSize := flor.Arg("batch_size", 32)
	lr := flor.Arg("lr", 1e-3)
	seed := flor.Arg("seed", int64(42))
	printEvery := flor.Arg("print_every", 500)
	trainSize := flor.Arg("train_size", 60000)
	if err := check(hidden, epochs, batchSize, printEvery, trainSize, lr); err != nil {
		fail(err)
	}

	dataDir := parseFlags(os.Args[1:])

	pcg := rand.NewPCG(uint64(seed), 7)
	rng := rand.New(pcg)
	train, test, err := loadMNIST(dataDir, trainSize)
	if err != nil {
		fail(err)
	}
	model := mlp.NewMLP(train.Dim, hidden, 10, rng)
	opt := mlp.NewAdam(model, lr)
	flor.Checkpoint("model", model)
	flor.Checkpoint("optimizer", opt)
	flor.Checkpoint("rng", pcg)

	n := train.N
	steps := (n + batchSize - 1) / batchSize
	for range flor.Loop("epoch", flor.Range(epochs)) {
		perm := rng.Perm(n) // a new shuffle per epoch, from the checkpointed source
		for step := range flor.Loop("step", flor.Range(steps)) {
			batch := perm[step*batchSize : min((step+1)*batchSize, n)]
			loss := mlp.TrainStep(model, opt, train, batch)
			if step%printEvery == 0 {
				flor.Log("loss", loss)
			}
		}
		flor.Log("val_acc", mlp.Evaluate(model, test))
	}
	flor.Log("accuracy", mlp.Evaluate(model, test))
}

// check rejects hyper-parameters the training loop cannot run with.
func check(hidden, epochs, batchSize, printEvery, trainSize int, lr float64) error {
	switch {
	case hidden <= 0:
		return fmt.Errorf("hidden=%d: must be positive", hidden)
	case epochs < 0:
		return fmt.Errorf("epochs=%d: must not be negative", epochs)
	case batchSize <= 0:
		return fmt.Errorf("batch_size=%d: must be positive", batchSize)
	case printEvery <= 0:
		return fmt.Errorf("print_every=%d: must be positive", printEvery)
	case trainSize <= 0:
		return fmt.Errorf("train_size=%d: must be positive", trainSize)
	case !(lr > 0):
		return fmt.Errorf("lr=%v: must be positive", lr)
	}
	return nil
}

const usage = `usage: mnist [-data DIR] [--kwargs name=value ...]

Trains a one-hidden-layer perceptron on MNIST, recorded with flor.

Hyper-parameters (--kwargs): hidden (128), epochs (3), batch_size (32),
lr (0.001), seed (42), print_every (500), train_size (60000).

Examples:
  go run ./examples/mnist
  go run ./examples/mnist --kwargs epochs=5 lr=0.0005
  go run ./examples/mnist -data ~/mnist --kwargs train_size=10000

Flags:
`

// parseFlags returns the -data flag's value; flor has taken its --kwargs
// out of os.Args already. It exits on a usage error, before anything is
// recorded.
func parseFlags(args []string) (dataDir string) {
	fl := flag.NewFlagSet("mnist", flag.ContinueOnError)
	fl.Usage = func() {
		fmt.Fprint(fl.Output(), usage)
		fl.PrintDefaults()
	}
	fl.StringVar(&dataDir, "data", "", "directory of the four MNIST .gz files (default: $"+mlp.DataEnv+", else the GoMNIST module's data/)")
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		os.Exit(2) // the flag package has printed the error and the usage
	}
	if fl.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "mnist: unexpected argument %q\n", fl.Arg(0))
		fl.Usage()
		os.Exit(2)
	}
	return dataDir
}

// loadMNIST loads the training set (its first trainSize images) and the
// test set from dataDir, or when it is empty from $MNIST_DIR or the GoMNIST
// module's files.
func loadMNIST(dataDir string, trainSize int) (train, test *mlp.Dataset, err error) {
	dir, err := mlp.DataDir(dataDir)
	if err != nil {
		return nil, nil, err
	}
	return mlp.Load(dir, trainSize)
}

// fail reports err and exits: nothing has been recorded yet, since only
// flor.Arg ran.
func fail(err error) {
	fmt.Fprintf(os.Stderr, "mnist: %v\n", err)
	os.Exit(1)
}
