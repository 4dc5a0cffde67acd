// Package mnistargs holds the MNIST example's hyper-parameters as the
// benchmarks set them: their flags and the --kwargs they pass. It is not
// for users' programs, which read their own with flor.Arg.
package mnistargs

import (
	"errors"
	"flag"
	"strconv"
)

// Params are the example's hyper-parameters; their names are its flor.Arg
// names.
type Params struct {
	Hidden, Epochs, BatchSize, PrintEvery, TrainSize int
	LR                                               float64
	Seed                                             int64
}

// Kwargs are the --kwargs words that give the example p.
func (p Params) Kwargs() []string {
	return []string{
		"hidden=" + strconv.Itoa(p.Hidden),
		"epochs=" + strconv.Itoa(p.Epochs),
		"batch_size=" + strconv.Itoa(p.BatchSize),
		"lr=" + strconv.FormatFloat(p.LR, 'g', -1, 64),
		"seed=" + strconv.FormatInt(p.Seed, 10),
		"print_every=" + strconv.Itoa(p.PrintEvery),
		"train_size=" + strconv.Itoa(p.TrainSize),
	}
}

// Steps is the number of steps of one epoch.
func (p Params) Steps() int { return (p.TrainSize + p.BatchSize - 1) / p.BatchSize }

// Register adds the hyper-parameters' flags to fl, with the example's
// defaults but for epochs.
func (p *Params) Register(fl *flag.FlagSet, epochs int, epochsHelp string) {
	fl.IntVar(&p.Hidden, "hidden", 128, "hidden units")
	fl.IntVar(&p.Epochs, "epochs", epochs, epochsHelp)
	fl.IntVar(&p.BatchSize, "batch_size", 32, "batch size")
	fl.IntVar(&p.PrintEvery, "print_every", 500, "log the loss every this many steps")
	fl.IntVar(&p.TrainSize, "train_size", 60000, "training images used")
	fl.Float64Var(&p.LR, "lr", 1e-3, "Adam learning rate")
	fl.Int64Var(&p.Seed, "seed", 42, "random seed")
}

// ErrNotPositive: a size flag is zero or negative.
var ErrNotPositive = errors.New("-epochs, -hidden, -batch_size, -print_every and -train_size must be positive")

// Check rejects sizes the training loop cannot run with.
func (p Params) Check() error {
	if p.Epochs <= 0 || p.Hidden <= 0 || p.BatchSize <= 0 || p.PrintEvery <= 0 || p.TrainSize <= 0 {
		return ErrNotPositive
	}
	return nil
}
