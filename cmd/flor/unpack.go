package main

import (
	"context"
	"flag"
)

var unpackCmd = &command{
	name:    "unpack",
	summary: "rebuild the flor home from refs/flor/records",
	usage: `Usage: flor unpack [--no-checkpoints]

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
	run: runUnpack,
}

func runUnpack(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("unpack", flag.ContinueOnError)
	noCkpt := fs.Bool("no-checkpoints", false, "do not unpack checkpoint blobs")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return &usageError{msg: "unpack takes no arguments"}
	}
	r, err := e.records()
	if err != nil {
		return err
	}
	res, err := r.Unpack(ctx, e.recordsOptions(*noCkpt))
	if err != nil {
		return err
	}
	summarise(e.stdout, "unpacked", res)
	return nil
}
