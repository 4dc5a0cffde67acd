package main

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"strings"

	"github.com/flordb/flor/planner"
)

// slurmFlags are flor replay's Slurm flags.
type slurmFlags struct {
	on, noWait, status bool
	sbatch             string
}

func (f *slurmFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&f.on, "slurm", false, "")
	fs.StringVar(&f.sbatch, "sbatch", "", "")
	fs.BoolVar(&f.noWait, "no-wait", false, "")
	fs.BoolVar(&f.status, "status", false, "")
}

// runReplaySlurm submits the schedule as one Slurm array job and, unless
// --no-wait, waits for it and reports each run.
func runReplaySlurm(ctx context.Context, e *env, o *replayOptions, sched *planner.Schedule, opt planner.Options) error {
	so := planner.SlurmOptions{Sbatch: strings.Fields(o.slurm.sbatch)}
	r, err := planner.SubmitSlurm(ctx, sched, opt, so)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout)
	for _, b := range r.Busy {
		fmt.Fprintf(e.stdout, "skipped %s\n", b)
	}
	for _, f := range r.Failed {
		fmt.Fprintf(e.stdout, "%s %s (%s): FAILED: %v\n    log: %s\n", f.Row.Run.Tstamp, f.Row.Run.Filename, f.Level, f.Err, f.Log)
	}
	if r.Job() == "" {
		if len(r.Failed) > 0 {
			return fmt.Errorf("%d runs failed to prepare: nothing was submitted", len(r.Failed))
		}
		fmt.Fprintln(e.stdout, "nothing submitted")
		return nil
	}
	fmt.Fprintf(e.stdout, "submitted Slurm job %s: %d units\n", r.Job(), r.Units())
	if o.slurm.noWait {
		fmt.Fprintln(e.stdout, "not waiting: flor replay --status shows its progress and publishes what has finished")
		return failedPrep(r)
	}
	st, err := r.Wait(ctx, so)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("stopped waiting: Slurm job %s goes on; flor replay --status publishes what has finished", r.Job())
		}
		return err
	}
	if err := reportSlurm(e, st); err != nil {
		return err
	}
	return failedPrep(r)
}

func failedPrep(r *planner.SlurmReplay) error {
	if len(r.Failed) > 0 {
		return fmt.Errorf("%d runs failed to prepare (see above)", len(r.Failed))
	}
	return nil
}

// runReplayStatus shows the Slurm replays in progress, publishing the
// runs whose units have all finished.
func runReplayStatus(ctx context.Context, e *env, home string) error {
	sts, err := planner.SlurmStatuses(ctx, home, e.stderr)
	if err != nil {
		return err
	}
	if len(sts) == 0 {
		fmt.Fprintln(e.stdout, "no Slurm replay in progress")
		return nil
	}
	var errs int
	for _, st := range sts {
		if reportSlurm(e, st) != nil {
			errs++
		}
	}
	if errs > 0 {
		if errs == 1 {
			return fmt.Errorf("a Slurm replay had runs that failed (see above)")
		}
		return fmt.Errorf("%d Slurm replays had runs that failed (see above)", errs)
	}
	return nil
}

// reportSlurm prints one Slurm replay's runs; an error when one failed.
func reportSlurm(e *env, st *planner.SlurmStatus) error {
	var counts []string
	for s, n := range st.States {
		counts = append(counts, fmt.Sprintf("%d %s", n, strings.ToLower(s)))
	}
	state := "settled"
	if !st.Settled {
		state = "running"
	}
	fmt.Fprintf(e.stdout, "Slurm job %s (replay %s), %s: units %s\n", st.Job, st.ID, state, strings.Join(slices.Sorted(slices.Values(counts)), ", "))
	var failed int
	for _, r := range st.Runs {
		what := "running"
		switch r.State {
		case planner.RunPublished:
			what = "published"
		case planner.RunFailed:
			what = "FAILED: " + r.Err + "\n    log: " + r.Log
			failed++
		}
		fmt.Fprintf(e.stdout, "  %s %s (%s): %d/%d units done, %s\n", r.Tstamp, r.Filename, r.Level, r.Done, r.Units, what)
		if r.Note != "" {
			fmt.Fprintf(e.stdout, "    note: %s\n", r.Note)
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d runs failed to replay through Slurm (see the logs above)", failed, len(st.Runs))
	}
	return nil
}
