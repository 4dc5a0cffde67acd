// Package instrument holds the golden cases of `florc instrument`: each
// testdata/*.txtar archive is a main package that uses flor (in/), its
// analysis, and the instrumented package (out/), or the error a case that
// must fail gives. The test instruments every case, diffs the result,
// checks that it is gofmt-clean and that instrumenting it again changes
// nothing, then builds and runs in/ and out/ and compares their records:
// recording behaviour is identical. Cases with a "replay" file are also
// replayed with every block skipped. `go test -update` rewrites the
// analysis, error and out/ sections.
//
// The package has no code of its own; it is not for importing.
package instrument
