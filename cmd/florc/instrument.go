package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"

	"github.com/flordb/flor/analyzer"
	"github.com/flordb/flor/rewrite"
)

const instrumentUsage = `usage: florc instrument [-w | -o DIR] PKG

Wraps each loop nested in the main loop of the main package PKG in a skip
block (flor.SkipStart / flor.SkipEnd), so that replay can skip the loop
and restore its effects. Effects no flor.Checkpoint covers are passed to
the skip block when encoding/gob can save them; the others stay warnings.
Comments and formatting are kept, the result is gofmt-clean, //line
directives keep compiler errors on the user's lines, and instrumenting
twice changes nothing more.

Without -w or -o the changed files are written to standard output, each
after a "-- file.go --" line. Files are replaced through a temporary file
and a rename; on any error nothing is written.

Examples:
  florc instrument ./examples/mnist            # show the instrumented files
  florc instrument -w ./examples/mnist         # rewrite them in place
  florc instrument -o /tmp/mnist-inst ./examples/mnist

Flags:
`

func runInstrument(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("instrument", instrumentUsage, stdout)
	inPlace := fs.Bool("w", false, "write the instrumented files over the originals")
	outDir := fs.String("o", "", "write the package's files, instrumented, into `DIR`")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) != 1:
		return usageError{fmt.Errorf("want one package, got %d arguments", len(pos))}
	case *inPlace && *outDir != "":
		return usageError{fmt.Errorf("-w and -o exclude each other")}
	}
	a, err := analyzer.Analyze(ctx, pos[0])
	if err != nil {
		return err
	}
	for _, w := range a.Warnings() {
		fmt.Fprintf(stderr, "florc: warning: %s\n", w.Error())
	}
	changed, err := rewrite.Instrument(a)
	if err != nil {
		return err
	}
	if *inPlace || *outDir != "" {
		_, err := rewrite.Write(a, changed, *outDir)
		return err
	}
	names := make([]string, 0, len(changed))
	for p := range changed {
		names = append(names, p)
	}
	slices.Sort(names)
	for _, p := range names {
		fmt.Fprintf(stdout, "-- %s --\n%s", filepath.Base(p), changed[p])
	}
	return nil
}
