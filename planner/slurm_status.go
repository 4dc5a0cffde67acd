package planner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/flordb/flor/internal/record"
	"github.com/flordb/flor/internal/slurm"
)

// ErrUnitFailed: a unit of a Slurm replay failed, was cancelled or was
// lost; its run's values are not published.
var ErrUnitFailed = errors.New("replay unit failed")

// SlurmRun is the state of one run of a Slurm replay.
type SlurmRun struct {
	Tstamp, Filename string
	Level            string
	State            string // RunPublished, RunFailed, or "" while its units run
	Err              string // why it failed
	Log              string // the failed unit's log, else the version's
	Note             string
	Units, Done      int // its units, and those that ended well
}

// SlurmStatus is the state of one submitted Slurm replay.
type SlurmStatus struct {
	ID, Job string
	Runs    []SlurmRun
	States  map[string]int // units per Slurm state
	// Settled: every run is published or failed, and the work directory
	// is gone.
	Settled bool
}

// Status is the replay's state now, publishing the runs that finished.
func (r *SlurmReplay) Status(ctx context.Context) (*SlurmStatus, error) {
	lock, err := lockReplay(ctx, r.job.Home, r.say)
	if err != nil {
		return nil, err
	}
	defer lock.unlock()
	return r.job.refreshLocked(ctx, r.say)
}

// Wait polls Slurm until every unit has ended, saying on say each unit's
// change of state and each run's outcome, and publishing each run as its
// units all succeed. When ctx is done the job goes on: flor replay
// --status finishes it.
func (r *SlurmReplay) Wait(ctx context.Context, so SlurmOptions) (*SlurmStatus, error) {
	poll := so.Poll
	if poll <= 0 {
		poll = time.Second
	}
	for {
		st, err := r.Status(ctx)
		if err != nil || st.Settled {
			return st, err
		}
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case <-time.After(poll):
		}
	}
}

// SlurmStatuses reads every Slurm replay of home that is not yet settled,
// publishing the runs whose units all finished well.
func SlurmStatuses(ctx context.Context, home string, say io.Writer) ([]*SlurmStatus, error) {
	lock, err := lockReplay(ctx, home, say)
	if err != nil {
		return nil, err
	}
	defer lock.unlock()
	jobs, err := loadJobs(home)
	if err != nil {
		return nil, err
	}
	var out []*SlurmStatus
	for _, j := range jobs {
		st, err := j.refreshLocked(ctx, say)
		if err != nil {
			return out, err
		}
		out = append(out, st)
	}
	return out, nil
}

// refreshLocked asks Slurm for the job's tasks, says what changed, and
// settles each run whose units have all ended: published when all did
// well, else failed. Called with the replay lock held.
func (j *slurmJob) refreshLocked(ctx context.Context, say io.Writer) (*SlurmStatus, error) {
	states, err := slurm.Tasks(ctx, j.Job)
	if err != nil {
		return nil, fmt.Errorf("%w: job %s: %w", ErrSlurm, j.Job, err)
	}
	changed := false
	ended := make([]error, len(j.Tasks)) // per task, why it failed
	done := make([]bool, len(j.Tasks))
	st := &SlurmStatus{ID: j.ID, Job: j.Job, States: map[string]int{}}
	for _, t := range j.Tasks {
		if j.Runs[t.Run].State != "" {
			// Settled: its units' states are final (a published run's
			// files have moved).
			done[t.Task] = true
			if j.Runs[t.Run].State == RunFailed && t.State != slurm.Completed {
				ended[t.Task] = ErrUnitFailed
			}
			st.States[t.State]++
			continue
		}
		state, fin, err := j.taskState(t, states)
		done[t.Task], ended[t.Task] = fin, err
		st.States[state]++
		if state != t.State {
			t.State, changed = state, true
			run := j.Runs[t.Run]
			fmt.Fprintf(say, "slurm: job %s_%d (run %s, iterations %s): %s\n", j.Job, t.Task, run.Tstamp, iterText(t), strings.ToLower(state))
		}
	}
	settled := true
	for _, r := range j.Runs {
		if r.State == "" {
			j.settle(r, done, ended, say)
			changed = changed || r.State != ""
		}
		settled = settled && r.State != ""
		sr := SlurmRun{Tstamp: r.Tstamp, Filename: r.Filename, Level: r.Level, State: r.State, Err: r.Err, Log: r.Log, Note: r.Note, Units: len(r.Tasks)}
		for _, k := range r.Tasks {
			if done[k] && ended[k] == nil {
				sr.Done++
			}
		}
		st.Runs = append(st.Runs, sr)
	}
	if settled {
		// Every run is published (its directory moved out) or failed:
		// the versions, plans and failed runs' partial values go; the
		// tasks' logs stay in <home>/logs.
		st.Settled = true
		return st, os.RemoveAll(j.dir)
	}
	if changed {
		return st, j.save()
	}
	return st, nil
}

// settle publishes r when its units all ended well, or marks it failed
// when one ended otherwise and none still runs.
func (j *slurmJob) settle(r *slurmRun, done []bool, ended []error, say io.Writer) {
	var errs []string
	for _, k := range r.Tasks {
		if !done[k] {
			return // a unit still runs: wait for it, whatever the others did
		}
		if ended[k] != nil {
			if len(errs) == 0 {
				r.Log = j.taskLog(k) // the first failed unit's
			}
			errs = append(errs, ended[k].Error())
		}
	}
	if len(errs) == 0 {
		if err := j.publish(r); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		r.State, r.Err = RunFailed, strings.Join(errs, "; ")
		fmt.Fprintf(say, "slurm: run %s %s: failed, not published: %s\n    log: %s\n", r.Tstamp, r.Filename, r.Err, r.Log)
		return
	}
	r.State = RunPublished
	fmt.Fprintf(say, "slurm: run %s %s: published\n", r.Tstamp, r.Filename)
}

// publish checks the run's units' divergences and makes its values
// visible, all at once, by one rename.
func (j *slurmJob) publish(r *slurmRun) error {
	var divs []record.Divergence
	for _, k := range r.Tasks {
		_, d, err := workerRecords(j.Tasks[k].Out)
		if err != nil {
			return err
		}
		divs = append(divs, d...)
	}
	if len(divs) > 0 {
		summary := divergenceSummary(divs)
		if !j.Accept {
			return fmt.Errorf("%w: %s; not published (--accept-divergence publishes it, marking these values)", ErrDivergence, summary)
		}
		r.Note = strings.TrimPrefix(r.Note+"; accepted divergence: "+summary, "; ")
	}
	if err := os.Rename(r.Out, r.Final); err != nil {
		return fmt.Errorf("publishing replay of %s: %w", r.Tstamp, err)
	}
	return nil
}

// taskState is a unit's state, whether it has ended, and if it ended
// otherwise than well, why. Its exit status file is the truth once
// written; until then Slurm's state (squeue's, sacct's) says.
func (j *slurmJob) taskState(t *slurmTask, states map[int]string) (string, bool, error) {
	unit := fmt.Sprintf("unit %d of run %s (Slurm job %s_%d, iterations %s)", t.Worker, j.Runs[t.Run].Tstamp, j.Job, t.Task, iterText(t))
	data, err := os.ReadFile(filepath.Join(j.dir, "tasks", fmt.Sprintf("%d.rc", t.Task)))
	if err == nil {
		rc, err := strconv.Atoi(strings.TrimSpace(string(data)))
		if err != nil || rc != 0 {
			out, _ := os.ReadFile(j.taskLog(t.Task))
			return slurm.Failed, true, fmt.Errorf("%w: %s exited with status %s: %s", ErrUnitFailed, unit, strings.TrimSpace(string(data)), workerFailure(string(out), j.Runs[t.Run].Tree))
		}
		status, _, err := workerRecords(t.Out)
		if err != nil {
			return slurm.Failed, true, fmt.Errorf("%w: %s: its records: %w", ErrUnitFailed, unit, err)
		}
		if status != record.StatusFinished {
			return slurm.Failed, true, fmt.Errorf("%w: %s exited without finishing its records in %s", ErrUnitFailed, unit, t.Out)
		}
		return slurm.Completed, true, nil
	}
	state, known := states[t.Task]
	switch {
	case known && !slurm.Terminal(state):
		return state, false, nil
	case !known:
		state = "LOST"
		return state, true, fmt.Errorf("%w: %s: Slurm no longer knows it, and it left no exit status", ErrUnitFailed, unit)
	}
	return state, true, fmt.Errorf("%w: %s ended %s without an exit status", ErrUnitFailed, unit, state)
}

// taskLog is where Slurm writes task k's output.
func (j *slurmJob) taskLog(k int) string {
	return filepath.Join(j.Home, "logs", fmt.Sprintf("%s-slurm-%s_%d.log", j.ID, j.Job, k))
}

func iterText(t *slurmTask) string {
	if t.Stop < 0 {
		return fmt.Sprintf("%d to the end", t.Start)
	}
	return fmt.Sprintf("%d to %d", t.Start, t.Stop)
}
