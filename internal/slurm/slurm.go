// Package slurm runs Slurm's commands (sbatch, squeue, sacct, scancel)
// and parses what they print. No Go client library speaks to Debian's
// Slurm 22.05, and the commands are what a cluster's users have anyway.
//
// It is not a scheduler: it submits array jobs, reads their tasks' states
// and cancels them, nothing more.
package slurm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
)

// Errors that callers branch on.
var (
	// ErrMissing: a Slurm command is not installed.
	ErrMissing = errors.New("slurm command not found")
	// ErrCommand: a Slurm command failed.
	ErrCommand = errors.New("slurm command failed")
)

// Task states, as squeue and sacct spell them.
const (
	Pending   = "PENDING"
	Running   = "RUNNING"
	Completed = "COMPLETED"
	Cancelled = "CANCELLED"
	Failed    = "FAILED"
)

// Terminal reports whether a task in state will not run again.
func Terminal(state string) bool {
	switch state {
	case Pending, Running, "CONFIGURING", "COMPLETING", "REQUEUED", "RESIZING", "SUSPENDED", "REQUEUE_HOLD", "REQUEUE_FED", "SIGNALING", "STAGE_OUT", "STOPPED":
		return false
	}
	return true
}

// run runs a Slurm command and returns its standard output.
func run(ctx context.Context, name string, args ...string) (string, error) {
	if _, err := exec.LookPath(name); err != nil {
		return "", fmt.Errorf("%w: %s (is Slurm installed on this host?)", ErrMissing, name)
	}
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%w: %s %s: %w: %s", ErrCommand, name, strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

// Submit submits script as an array job of tasks 0 to n-1 with sbatch
// --parsable, log as its output file pattern and extra as the user's own
// sbatch arguments (they come last, so they win), and returns its job id.
func Submit(ctx context.Context, script string, n int, log string, extra []string) (string, error) {
	args := []string{"--parsable", fmt.Sprintf("--array=0-%d", n-1), "--job-name=flor-replay", "--output=" + log}
	args = append(append(args, extra...), script)
	out, err := run(ctx, "sbatch", args...)
	if err != nil {
		return "", err
	}
	// --parsable prints "jobid" or "jobid;cluster".
	id, _, _ := strings.Cut(strings.TrimSpace(out), ";")
	if _, err := strconv.Atoi(id); err != nil {
		return "", fmt.Errorf("%w: sbatch printed %q, not a job id", ErrCommand, out)
	}
	return id, nil
}

// Cancel cancels every task of job.
func Cancel(ctx context.Context, job string) error {
	_, err := run(ctx, "scancel", job)
	return err
}

// Tasks returns the state of each task of array job that Slurm still
// knows: squeue's (which keeps finished jobs for MinJobAge), then sacct's
// for those squeue no longer lists, when accounting is enabled. A task
// neither knows is absent.
func Tasks(ctx context.Context, job string) (map[int]string, error) {
	states := map[int]string{}
	out, err := run(ctx, "squeue", "--states=all", "--noheader", "--array", "--jobs="+job, "--format=%i|%T")
	if err != nil && !strings.Contains(err.Error(), "Invalid job id") {
		return nil, err
	}
	parseStates(out, job, states)
	// Accounting is often disabled on small clusters: then squeue is all.
	if acct, err := run(ctx, "sacct", "--noheader", "--parsable2", "--allocations", "--jobs="+job, "--format=JobID,State"); err == nil {
		more := map[int]string{}
		parseStates(acct, job, more)
		for t, s := range more {
			if _, ok := states[t]; !ok {
				states[t] = s
			}
		}
	}
	return states, nil
}

// parseStates reads "job_task|STATE" lines into states. A task field may
// be a range of pending tasks ("12_[0-3,5%2]"); a state may carry a
// reason ("CANCELLED by 0").
func parseStates(out, job string, states map[int]string) {
	for _, line := range strings.Split(out, "\n") {
		id, state, ok := strings.Cut(strings.TrimSpace(line), "|")
		if !ok {
			continue
		}
		state, _, _ = strings.Cut(strings.TrimSpace(state), " ")
		j, task, ok := strings.Cut(id, "_")
		if !ok || j != job {
			continue
		}
		for _, t := range expand(task) {
			states[t] = state
		}
	}
}

// expand reads a task id or a bracketed list of ranges.
func expand(s string) []int {
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	s, _, _ = strings.Cut(s, "%") // the limit of tasks at once
	var out []int
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			continue
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil {
				continue
			}
		}
		for t := a; t <= b; t++ {
			out = append(out, t)
		}
	}
	return out
}
