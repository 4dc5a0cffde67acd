// Command overhead measures what recording with flor costs a training run:
// the ratio of the wall time of the MNIST example (examples/mnist)
// recording, with a checkpoint of the model, the optimizer and the random
// source every epoch, to that of the same binary with recording off
// (FLOR_RECORD=0, which makes every flor call a no-op but Arg's reading
// of --kwargs).
//
//	go run ./bench/overhead                      # defaults: about 25 s a run
//	go run ./bench/overhead -epochs 2 -pairs 2   # a quicker look
//
// Both sides run one binary, built once with the same flags, as separate
// processes with the same arguments, working directory and MNIST files,
// so each pays for starting, loading the data and training alike; the
// recorded side also pays for its git snapshot, its records and its
// checkpoints. Runs alternate (A B, B A, A B, ...) so that drift in the
// machine's speed falls on both sides. The report gives every run's wall
// time and CPU time (user + system, which other processes disturb less),
// the B/A ratios of each pair with their medians, and the ratio of the
// fastest B to the fastest A: other processes only ever add time, so on a
// busy machine the fastest runs are the least disturbed.
//
// The runs go in a fresh temporary git repository (holding a copy of the
// example's sources, for B's snapshot) with FLOR_HOME in a temporary
// directory. Both sides print the values they log (a few lines a run);
// they must end with the same test accuracy, bit for bit, since recording
// must not change what the program computes, B must have recorded the
// accuracy it printed, and A must have written nothing; the command fails
// otherwise.
//
// It is not a test: it prints figures and asserts nothing about speed.
package main
