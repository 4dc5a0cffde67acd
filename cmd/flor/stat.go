package main

import (
	"context"
	"fmt"
	"text/tabwriter"
)

// statOptions is what flor stat was asked for: nothing yet.
type statOptions struct{}

var statCmd = &spec[statOptions]{
	Name:    "stat",
	Summary: "summarise the flor home",
	Usage: `Usage: flor stat

Prints the flor home's path, its runs by status, how many records and
logged values the store holds, the size of the checkpoint objects and of
the database; in a git repository also the records (flor push): how many
run files are not yet in refs/flor/records, its size in records and in
checkpoint blobs, and how many runs origin held at the last push or pull.

Examples:

	flor stat
	FLOR_HOME=/data/experiments/.flor flor stat
`,
	Run: runStat,
}

func runStat(ctx context.Context, e *env, _ *statOptions) error {
	s, err := e.open(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	st, err := s.Stat(ctx)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "home\t%s\n", s.Home())
	fmt.Fprintf(w, "runs\t%d (%d finished, %d failed, %d running, %d unfinished)\n", st.Runs, st.Finished, st.Failed, st.Running, st.Unfinished)
	fmt.Fprintf(w, "replays\t%d files\n", st.ReplayFiles)
	fmt.Fprintf(w, "records\t%d\n", st.Records)
	fmt.Fprintf(w, "values\t%d (%d names)\n", st.Values, st.Names)
	fmt.Fprintf(w, "checkpoints\t%d (%s in %d objects)\n", st.Checkpoints, bytesize(st.ObjectBytes), st.Objects)
	fmt.Fprintf(w, "database\t%s (%s)\n", bytesize(st.DBBytes), s.Path())
	e.statRecords(w, s.Home())
	return w.Flush()
}

// bytesize prints a byte count for people.
func bytesize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
