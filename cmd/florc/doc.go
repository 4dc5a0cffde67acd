// Command florc is flor's compiler: it analyses Go training programs that
// use flor and rewrites them so that replay can skip work and restore its
// effects.
//
//	florc analyze [--json] PKG            loops, log statements, checkpoints, skip-block effects
//	florc instrument [-w | -o DIR] PKG    wrap the loops nested in the main loop in skip blocks
//	florc propagate --new DIR --old DIR [-w | -o DIR] NAME...
//	                                      carry new log statements into an older version
//
// Run `florc COMMAND --help` for a command's flags and examples. Errors
// are printed as `florc: error: file:line:col: ...` with exit code 1;
// usage errors exit with code 2 and say where the help is.
//
// What florc is not for: recording, querying or replaying runs (the flor
// command does that), or changing programs beyond skip blocks and
// carried log statements.
package main
