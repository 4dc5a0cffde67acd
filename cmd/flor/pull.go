package main

import (
	"context"
	"flag"

	"github.com/flordb/flor/internal/cli"
)

// pullOptions is what flor pull was asked for.
type pullOptions struct {
	noCheckpoints bool
	remote        string
}

var pullCmd = &spec[pullOptions]{
	Name:    "pull",
	Summary: "fetch and merge the records of a git remote",
	Usage: `Usage: flor pull [--no-checkpoints] [REMOTE]

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
	Flags: func(fs *flag.FlagSet, o *pullOptions) {
		fs.BoolVar(&o.noCheckpoints, "no-checkpoints", false, "leave checkpoint blobs out")
	},
	Args: func(o *pullOptions, pos []string) error {
		if len(pos) > 1 {
			return cli.Usagef("pull takes at most one remote")
		}
		if len(pos) == 1 {
			o.remote = pos[0]
		}
		return nil
	},
	Run: runPull,
}

func runPull(ctx context.Context, e *env, o *pullOptions) error {
	r, err := e.records()
	if err != nil {
		return err
	}
	res, err := r.Pull(ctx, o.remote, e.recordsOptions(o.noCheckpoints))
	if err != nil {
		return err
	}
	summarise(e.stdout, "pulled from "+res.Remote, res)
	return nil
}
