// Package analyze holds the golden cases of `florc analyze`: each
// testdata/*.txtar archive is a main package that uses flor (in/) and the
// analysis florc must print for it ("analysis"), errors included for a
// case that must fail. `go test -update` rewrites the analysis sections.
//
// The package has no code of its own; it is not for importing.
package analyze
