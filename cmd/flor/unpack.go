package main

import (
	"context"
	"flag"

	"github.com/flordb/flor/internal/cli"
)

// unpackOptions is what flor unpack was asked for.
type unpackOptions struct {
	noCheckpoints bool
	remote        string
}

var unpackCmd = &spec[unpackOptions]{
	Name:    "unpack",
	Summary: "rebuild the flor home from refs/flor/records",
	Usage: `Usage: flor unpack [--no-checkpoints]

Writes the run files, finished replays and checkpoint blobs held in the
local refs/flor/records into the flor home, for a clone that fetched the
ref itself, say. Files already there are kept; a run file is only ever
replaced by a longer version of itself. The store ingests them on the
next reading command.

Flags:

	--no-checkpoints   do not unpack checkpoint blobs into .flor/objects

Examples:

	git fetch origin refs/flor/records:refs/flor/records && flor unpack
`,
	Flags: func(fs *flag.FlagSet, o *unpackOptions) {
		fs.BoolVar(&o.noCheckpoints, "no-checkpoints", false, "do not unpack checkpoint blobs")
	},
	Args: func(o *unpackOptions, pos []string) error {
		if len(pos) > 0 {
			return cli.Usagef("unpack takes no arguments")
		}
		return nil
	},
	Run: runUnpack,
}

func runUnpack(ctx context.Context, e *env, o *unpackOptions) error {
	r, err := e.records()
	if err != nil {
		return err
	}
	res, err := r.Unpack(ctx, e.recordsOptions(o.noCheckpoints))
	if err != nil {
		return err
	}
	summarise(e.stdout, "unpacked", res)
	return nil
}
