package main

import (
	"context"
	"flag"

	"github.com/flordb/flor/internal/cli"
)

// pushOptions is what flor push was asked for.
type pushOptions struct {
	noCheckpoints bool
	remote        string
}

var pushCmd = &spec[pushOptions]{
	Name:    "push",
	Summary: "push the records and code snapshots to a git remote",
	Usage: `Usage: flor push [--no-checkpoints] [REMOTE]

Records the flor home's run files, finished replays and checkpoint blobs
as git objects under refs/flor/records (a commit whose tree mirrors
.flor/runs, .flor/replay and .flor/objects), then pushes that ref and
refs/heads/flor.shadow (the code of each run) to REMOTE: a configured
remote (default origin), or a URL or path. HEAD, the index, the working
tree and your branches are not touched.

What the remote has that this clone lacks is merged in first, as flor pull
does, without unpacking it. Pushing unchanged records adds nothing. An
interrupted push leaves the remote as it was; run it again.

Credentials are git's own: the ssh agent, and for https git's credential
helpers (git credential fill); flor stores none.

Flags:

	--no-checkpoints   leave checkpoint blobs out: the runs stay readable,
	                   and replay runs the blocks it cannot restore

Examples:

	flor push
	flor push --no-checkpoints upstream
	flor push /srv/git/project.git
`,
	Flags: func(fs *flag.FlagSet, o *pushOptions) {
		fs.BoolVar(&o.noCheckpoints, "no-checkpoints", false, "leave checkpoint blobs out")
	},
	Args: func(o *pushOptions, pos []string) error {
		if len(pos) > 1 {
			return cli.Usagef("push takes at most one remote")
		}
		if len(pos) == 1 {
			o.remote = pos[0]
		}
		return nil
	},
	Run: runPush,
}

func runPush(ctx context.Context, e *env, o *pushOptions) error {
	r, err := e.records()
	if err != nil {
		return err
	}
	res, err := r.Push(ctx, o.remote, e.recordsOptions(o.noCheckpoints))
	if err != nil {
		return err
	}
	verb := "pushed to " + res.Remote
	if !res.Pushed {
		verb = res.Remote + " is up to date"
	}
	summarise(e.stdout, verb, res)
	return nil
}
