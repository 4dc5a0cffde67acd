package main

import (
	"context"
	"fmt"
	"io"

	"github.com/flordb/flor/analyzer"
)

const analyzeUsage = `usage: florc analyze [--json] PKG

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

func runAnalyze(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("analyze", analyzeUsage, stdout)
	asJSON := fs.Bool("json", false, "write the analysis as JSON")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{fmt.Errorf("want one package, got %d arguments", len(pos))}
	}
	a, err := analyzer.Analyze(ctx, pos[0])
	if a == nil {
		return err
	}
	if *asJSON {
		if werr := a.WriteJSON(stdout); werr != nil {
			return werr
		}
	} else if werr := a.WriteText(stdout); werr != nil {
		return werr
	}
	if err != nil {
		for _, d := range a.Diagnostics {
			if d.Severity == analyzer.SevError {
				fmt.Fprintf(stderr, "florc: %s\n", d.Error())
			}
		}
		return errReported
	}
	return nil
}
