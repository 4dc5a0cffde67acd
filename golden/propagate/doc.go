// Package propagate holds the golden cases of statement propagation
// (package rewrite/propagate, `florc propagate`): each testdata/*.txtar
// archive is a pair of versions of a training program and what carrying
// statements from the new one into the old one must give.
//
// An archive's comment names what to carry ("names: grad_norm loss", or
// "targets: train.go:12"), the versions that are broken on purpose
// ("broken: old"), and whether to run the result ("run: same" when the two
// versions compute the same values: the output must log, for the names
// carried, the very records the new version logs; "run: values" compares
// the values without their loop context). Its files are the new version
// (new/...), the old version (old/...), and what is expected: the changed
// old files (out/...) and one line per statement (outcomes), or the error
// that stops everything (error).
//
// The test propagates every case and diffs the result, then compiles and
// vets every version and every output against the flor module of this
// working tree, and builds and runs the cases marked "run:". It prints the
// pass rate. `go test -update` rewrites the expectations from what
// propagate does.
//
// testdata/module/*.txtar holds cases whose versions are whole modules
// (new/go.mod, new/opt/opt.go, ...: a program with packages of its own).
// They go through propagate.Package, as replay does: both versions are
// loaded with their imports, so renames are checked against imported
// types, and the output is type-checked in its module; "pkg: DIR" names the
// package carried into. Each output module is vetted (TestModules).
//
// The package has no code of its own; it is not for importing.
package propagate
