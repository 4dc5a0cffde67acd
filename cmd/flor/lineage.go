package main

import (
	"context"
	"fmt"

	"github.com/flordb/flor/internal/cli"
	"github.com/flordb/flor/internal/record"
	"github.com/flordb/flor/reader"
	"github.com/flordb/flor/storage"
)

// lineageOptions is what flor lineage was asked for.
type lineageOptions struct {
	run string
}

var lineageCmd = &spec[lineageOptions]{
	Name:    "lineage",
	Summary: "show the runs a run was built from, and those built from it",
	Usage: `Usage: flor lineage RUN

Shows what RUN read through package reader (its dataframes, the best run
it picked, the checkpoints it loaded) and which runs read RUN: the build
DAG of featurize, label, train and infer, from the runs' own records. A
program records its reads with reader.RecordReads(flor.Process).

RUN is a tstamp as flor runs prints it, or a prefix that one run has.

Examples:

	flor lineage 2026-11-28T05:18
`,
	Args: func(o *lineageOptions, pos []string) error {
		if len(pos) != 1 {
			return cli.Usagef("lineage needs one RUN (flor runs lists them)")
		}
		o.run = pos[0]
		return nil
	},
	Run: runLineage,
}

func runLineage(ctx context.Context, e *env, o *lineageOptions) error {
	h, err := e.home()
	if err != nil {
		return err
	}
	run, from, to, err := reader.At(h, reader.WithMessages(e.stderr)).Lineage(ctx, o.run)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s\n", runLine(run))
	section := func(title string, runs []storage.Run) {
		fmt.Fprintf(e.stdout, "%s (%d):\n", title, len(runs))
		for _, r := range runs {
			fmt.Fprintf(e.stdout, "  %s\n", runLine(r))
		}
	}
	section("built from", from)
	section("built on by", to)
	return nil
}

func runLine(r storage.Run) string {
	return record.FormatTime(r.Tstamp) + "  " + r.Projid + "  " + r.Filename
}
