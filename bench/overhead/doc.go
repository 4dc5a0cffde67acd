// Command overhead measures what recording with flor costs a training run:
// the ratio of the wall time of the flor-instrumented MNIST example
// (examples/mnist, recording, with a checkpoint of the model, the optimizer
// and the random source every epoch) to that of the same training loop with
// no flor call at all.
//
//	go run ./bench/overhead                      # defaults: about 25 s a run
//	go run ./bench/overhead -epochs 2 -pairs 2   # a quicker look
//
// Both sides run as separate processes with the same hyper-parameters and
// the same MNIST files, so each pays for starting, loading the data and
// training; the recorded side also pays for its git snapshot, its records
// and its checkpoints. Runs alternate (A B, B A, A B, ...) so that drift in
// the machine's speed falls on both sides. The report gives every run's
// wall time and CPU time (user + system, which other processes disturb
// less), the B/A ratios of each pair with their medians, and the ratio of
// the fastest B to the fastest A: other processes only ever add time, so on
// a busy machine the fastest runs are the least disturbed.
//
// The recorded run goes in a fresh temporary git repository (holding a copy
// of the example's sources, for its snapshot) with FLOR_HOME in a temporary
// directory and its echo off (FLOR_ECHO=0). Both sides must end with the
// same test accuracy, bit for bit, since recording must not change what the
// program computes; the command fails otherwise.
//
// It is not a test: it prints figures and asserts nothing about speed.
package main
