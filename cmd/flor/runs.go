package main

import (
	"context"
	"flag"
	"maps"
	"slices"
	"strings"

	"github.com/flordb/flor/internal/cli"
	"github.com/flordb/flor/storage"
)

// runsOptions is what flor runs was asked for.
type runsOptions struct {
	out formatFlags
}

var runsCmd = &spec[runsOptions]{
	Name:    "runs",
	Summary: "list the recorded runs",
	Usage: `Usage: flor runs [--format table|csv|json]

Lists the recorded runs of the flor home, oldest first: a line per run with
its timestamp (the run's identity, with the project and program), the
program (main package directory), the code snapshot (commit on
refs/heads/flor.shadow, shortened), its status and the --kwargs it was
given.

Status is finished (flor.Commit ran), failed (it panicked, or a --kwargs
value did not parse after it had logged), running (its process is alive,
or, on another host, its file is fresh) or unfinished (it stopped before
flor.Commit). Runs recorded under Slurm add a column with the job (as
squeue names it: JOB_TASK for an array task) and the node.

Flags:

	--format f   table (default), csv or json; csv and json show the full
	             snapshot hash and kwargs as an object

Examples:

	flor runs
	flor runs --format json
`,
	Flags: func(fs *flag.FlagSet, o *runsOptions) { o.out.register(fs, 0) },
	Args: func(o *runsOptions, pos []string) error {
		if len(pos) > 0 {
			return cli.Usagef("runs takes no arguments")
		}
		return o.out.check()
	},
	Run: runRuns,
}

func runRuns(ctx context.Context, e *env, o *runsOptions) error {
	s, err := e.open(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	runs, err := s.Runs(ctx)
	if err != nil {
		return err
	}
	return o.out.write(e, runsFrame(runs, o.out.format == "table"))
}

// runsFrame lays runs out as a table; short abbreviates for people.
func runsFrame(runs []storage.Run, short bool) *storage.Frame {
	f := &storage.Frame{Columns: []storage.Column{
		{Name: "tstamp", Type: "TIMESTAMP"},
		{Name: "projid", Type: "VARCHAR"},
		{Name: "program", Type: "VARCHAR"},
		{Name: "snapshot", Type: "VARCHAR"},
		{Name: "status", Type: "VARCHAR"},
		{Name: "kwargs", Type: "VARCHAR"},
	}}
	if !short {
		f.Columns[5].Type = "JSON"
	}
	for _, r := range runs {
		snap := r.Snapshot
		var kw any = r.Kwargs
		if short {
			if len(snap) > 10 {
				snap = snap[:10]
			}
			var parts []string
			for _, k := range slices.Sorted(maps.Keys(r.Kwargs)) {
				parts = append(parts, k+"="+r.Kwargs[k])
			}
			kw = strings.Join(parts, " ")
		}
		f.Rows = append(f.Rows, []any{r.Tstamp, r.Projid, r.Filename, snap, r.Status, kw})
	}
	if slices.ContainsFunc(runs, func(r storage.Run) bool { return r.Slurm.JobID != "" }) {
		f.Columns = append(f.Columns, storage.Column{Name: "slurm", Type: "VARCHAR"})
		for i, r := range runs {
			var job any // NULL outside Slurm
			if r.Slurm.JobID != "" {
				job = r.Slurm.String() + " on " + r.Slurm.Node
			}
			f.Rows[i] = append(f.Rows[i], job)
		}
	}
	return f
}
