// Package planner replays past runs to fill in values that newer code
// logs: hindsight logging across versions.
//
// Given the names of new flor.Log statements in the working tree, it
// finds the recorded runs that lack them (optionally filtered by a WHERE
// over dataframe columns), picks a replay level for each (prefix, outer
// loop, nested loop; with or without the code after the main loop),
// estimates the cost from the runs' profiling values, and then, for each
// run: materialises the run's code snapshot from git into a temporary
// directory, propagates the new statements into it, instruments skip
// blocks, builds it with the Go toolchain and runs it in replay mode,
// its main loop's iterations split across workers. A run's replayed values
// become visible together, when every worker has finished, or not at all.
//
// It never touches the user's checkout: HEAD, branches, index and working
// tree stay as they were, whether the replay succeeds, fails or is killed.
//
// It is not a scheduler for recording new runs, and it does not decide
// what to log: the user's new statements do.
package planner
