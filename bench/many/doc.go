// Command many measures how well flor replay keeps its worker slots busy
// across many runs of several versions: the MNIST example (examples/mnist)
// committed as V versions (each its own snapshot), R runs recorded of each,
// then one new flor.Log statement in the working tree, replayed into every
// run at once with W workers.
//
//	go run ./bench/many                          # 16 runs (4 versions × 4), W=2
//	go run ./bench/many -level outer             # the statement at the top of the epoch loop
//	go run ./bench/many -versions 2 -runs 2 -epochs 2 -train_size 2000
//
// It calls the planner as flor replay does, in this process, so that each
// run's outcome gives its version's preparation (propagate, instrument,
// build) and its workers' wall times. It prints the replay's total time
// against the ideal: the sum of the runs' work divided by W, plus the
// fixed cost of one version (the mean preparation: the first workers wait
// for one), and the stricter ideal that also spreads every version's
// preparation over the W slots, which preparations share with workers.
// Every replayed value is checked against the record.
package main
