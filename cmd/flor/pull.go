package main

import (
	"context"
	"flag"
)

var pullCmd = &command{
	name:    "pull",
	summary: "fetch and merge the records of a git remote",
	usage: `Usage: flor pull [--no-checkpoints] [REMOTE]

Fetches refs/flor/records and refs/heads/flor.shadow from REMOTE (a
configured remote, default origin, or a URL or path), merges them into
this clone's and unpacks the result into the flor home: the next reading
command (flor runs, flor dataframe) sees every clone's runs.

The merge is a union. A run file present on both sides keeps the longer
version when one is a prefix of the other (run files are only appended
to); two different files for one run are a conflict: this clone's stays,
the other is kept as conflicts/runs/<name>.conflict-<hash>.jsonl, which
the store does not read. Nothing is deleted. Pulling again changes
nothing.

Flags:

	--no-checkpoints   do not unpack checkpoint blobs into .flor/objects

Examples:

	flor pull
	flor pull upstream
`,
	run: runPull,
}

func runPull(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("pull", flag.ContinueOnError)
	noCkpt := fs.Bool("no-checkpoints", false, "do not unpack checkpoint blobs")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return &usageError{msg: "pull takes at most one remote"}
	}
	remote := ""
	if len(pos) == 1 {
		remote = pos[0]
	}
	r, err := e.records()
	if err != nil {
		return err
	}
	res, err := r.Pull(ctx, remote, e.recordsOptions(*noCkpt))
	if err != nil {
		return err
	}
	summarise(e.stdout, "pulled from "+res.Remote, res)
	return nil
}
