// Package elide holds the golden cases of the replay build's guards:
// each testdata/*.txtar archive is a main package that uses flor (in/),
// the analysis' verdict on each flor.Log statement (elide: elidable or
// not, and why), and the replay build (out/: skip blocks, and
// flor.Wanted around the statements replay may skip). The test diffs
// both, checks that out/ is gofmt-clean, builds in/ and out/, records a
// run of in/ and replays it with out/ writing the names of the "replay"
// file ("keep NAME" lines): their values must be the recorded ones, and
// the self-check must find no divergence. `go test -update` rewrites the
// elide and out/ sections.
//
// The package has no code of its own; it is not for importing.
package elide
