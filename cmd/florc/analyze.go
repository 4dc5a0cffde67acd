package main

import (
	"context"
	"errors"
	"flag"

	"github.com/flordb/flor/analyzer"
)

// analyzeOptions is what florc analyze was asked for.
type analyzeOptions struct {
	json bool
	pkg  string
}

var analyzeCmd = &spec[analyzeOptions]{
	Name:    "analyze",
	Summary: "report loops, log statements, checkpoints and skip-block effects",
	Usage:   analyzeUsage,
	Flags: func(fs *flag.FlagSet, o *analyzeOptions) {
		fs.BoolVar(&o.json, "json", false, "write the analysis as JSON")
	},
	Args: func(o *analyzeOptions, pos []string) (err error) {
		o.pkg, err = onePackage(pos)
		return err
	},
	Run: runAnalyze,
}

const analyzeUsage = `Usage: florc analyze [--json] PKG

Reports what replay needs to know about the main package PKG (a directory
or a package pattern): its flor loops and the plain loops around flor
calls with their depths, every flor.Log and flor.Arg with its depth, loop
chain and phase (prefix, main, suffix), the main loop, the flor.Checkpoint
registrations, and for each loop nested in the main loop (a skip block)
the state it changes and what restores it, and the main loop's carried
state: what its body changes outside its blocks, whether a checkpoint
restores it, and whether a later iteration or the code after the loop
reads it again. An effect that nothing restores and that is read again is
a warning: replay may differ there. Errors (no main
loop, a log name that is not a constant, code that does not compile)
exit with status 1.

Examples:
  florc analyze ./examples/mnist
  florc analyze --json ./examples/mnist | jq '.logs[] | {name, depth}'

Flags:
`

func runAnalyze(ctx context.Context, e *env, o *analyzeOptions) error {
	a, err := analyzer.Analyze(ctx, o.pkg)
	if a == nil {
		return err
	}
	if o.json {
		if werr := a.WriteJSON(e.stdout); werr != nil {
			return werr
		}
	} else if werr := a.WriteText(e.stdout); werr != nil {
		return werr
	}
	if err != nil {
		// Every error, not only the first: each is a line of its own.
		var errs []error
		for _, d := range a.Diagnostics {
			if d.Severity == analyzer.SevError {
				errs = append(errs, d)
			}
		}
		return errors.Join(errs...)
	}
	return nil
}
