package main

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/flordb/flor/analyzer"
	"github.com/flordb/flor/internal/cli"
	"github.com/flordb/flor/rewrite"
)

// instrumentOptions is what florc instrument was asked for.
type instrumentOptions struct {
	inPlace bool   // -w
	outDir  string // -o
	pkg     string
}

var instrumentCmd = &spec[instrumentOptions]{
	Name:    "instrument",
	Summary: "wrap the loops nested in the main loop in skip blocks",
	Usage:   instrumentUsage,
	Flags: func(fs *flag.FlagSet, o *instrumentOptions) {
		fs.BoolVar(&o.inPlace, "w", false, "write the instrumented files over the originals")
		fs.StringVar(&o.outDir, "o", "", "write the package's files, instrumented, into `DIR`")
	},
	Args: func(o *instrumentOptions, pos []string) (err error) {
		if o.pkg, err = onePackage(pos); err != nil {
			return err
		}
		if o.inPlace && o.outDir != "" {
			return cli.Usagef("-w and -o exclude each other")
		}
		return nil
	},
	Run: runInstrument,
}

const instrumentUsage = `Usage: florc instrument [-w | -o DIR] PKG

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

func runInstrument(ctx context.Context, e *env, o *instrumentOptions) error {
	a, err := analyzer.Analyze(ctx, o.pkg)
	if err != nil {
		return err
	}
	for _, w := range a.Warnings() {
		fmt.Fprintf(e.stderr, "florc: warning: %s\n", w.Error())
	}
	changed, err := rewrite.Instrument(a)
	if err != nil {
		return err
	}
	if o.inPlace || o.outDir != "" {
		_, err := rewrite.Write(a, changed, o.outDir)
		return err
	}
	names := make([]string, 0, len(changed))
	for p := range changed {
		names = append(names, p)
	}
	slices.Sort(names)
	for _, p := range names {
		fmt.Fprintf(e.stdout, "-- %s --\n%s", filepath.Base(p), changed[p])
	}
	return nil
}
