package planner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/flordb/flor/internal/record"
	"github.com/flordb/flor/internal/slurm"
)

// A replay through Slurm prepares each version once on the submitting
// host, into the shared flor home, and submits one array job whose tasks
// are the units local workers would run: one (run, iteration range) each.
// Everything a task needs lives under <home>/replay/slurm-<id>/ (the
// nodes share only the home):
//
//	job.json            the manifest: runs, units, the Slurm job id
//	job.sh              the array job's script: runs tasks/<task>.sh
//	tasks/<task>.sh     one unit: cd to the run's directory, run the binary
//	tasks/<task>.json   its plan (FLOR_REPLAY)
//	tasks/<task>.rc     its exit status, written when it ends
//	out/<run>/w<n>.jsonl  the units' values, published together
//	versions/...        the materialised, instrumented and built versions
//
// Tasks' output goes to <home>/logs/<id>-slurm-<job>_<task>.log, which
// outlives the work directory. A run's values are published, by one rename
// of its out/<run> directory to replay/<id>-<run>, when all its units have
// succeeded; the directory is removed once every run is settled.

// ErrSlurm: submitting or watching a Slurm job failed.
var ErrSlurm = errors.New("slurm replay")

// slurmPrefix names a Slurm replay's work directory in <home>/replay.
const slurmPrefix = "slurm-"

// SlurmOptions are what a replay through Slurm adds to Options.
type SlurmOptions struct {
	Sbatch []string      // the user's own sbatch arguments
	Poll   time.Duration // how often Wait asks Slurm; 0 = 1s
}

// slurmJob is a submitted replay's manifest (job.json).
type slurmJob struct {
	ID        string       `json:"id"`  // the replay's id
	Job       string       `json:"job"` // the Slurm array job
	Home      string       `json:"home"`
	Accept    bool         `json:"accept_divergence"`
	Submitted time.Time    `json:"submitted"`
	Runs      []*slurmRun  `json:"runs"`
	Tasks     []*slurmTask `json:"tasks"`
	dir       string
}

// slurmRun is one run of a Slurm replay.
type slurmRun struct {
	Index    int    `json:"index"`
	Tstamp   string `json:"tstamp"`
	Filename string `json:"filename"`
	File     string `json:"file"`  // the run's record file
	Level    string `json:"level"` // as the version needs it
	Out      string `json:"out"`   // where its units write
	Final    string `json:"final"` // where its values are published
	Tree     string `json:"tree"`  // its version's snapshot, for panics' paths
	Tasks    []int  `json:"tasks"`
	State    string `json:"state"` // "" while its units run, then one of the run states
	Err      string `json:"error,omitempty"`
	Log      string `json:"log,omitempty"` // the first failed unit's, or the version's
	Note     string `json:"note,omitempty"`
}

// slurmTask is one unit: a task of the array job.
type slurmTask struct {
	Task   int    `json:"task"`
	Run    int    `json:"run"` // index into Runs
	Worker int    `json:"worker"`
	Start  int64  `json:"start"`
	Stop   int64  `json:"stop"`
	Out    string `json:"out"`
	State  string `json:"state"` // the last state seen
}

// States of a run in a Slurm replay.
const (
	RunPublished = "published"
	RunFailed    = "failed"
)

// SlurmReplay is a submitted replay.
type SlurmReplay struct {
	job *slurmJob
	say io.Writer
	// Failed are the runs that never reached Slurm: their version did not
	// prepare (it does not build, say).
	Failed []*Outcome
	// Busy notes the runs left out because a Slurm replay still running
	// is filling them in.
	Busy []string
}

// Job is the Slurm array job's id ("" when nothing was submitted).
func (r *SlurmReplay) Job() string {
	if r.job == nil {
		return ""
	}
	return r.job.Job
}

// Units is the number of tasks submitted.
func (r *SlurmReplay) Units() int {
	if r.job == nil {
		return 0
	}
	return len(r.job.Tasks)
}

// SubmitSlurm prepares the schedule's versions into the flor home and
// submits their units as one Slurm array job. It does not wait: see Wait
// and SlurmStatus.
func SubmitSlurm(ctx context.Context, s *Schedule, opt Options, so SlurmOptions) (*SlurmReplay, error) {
	opt = opt.withDefaults()
	lock, err := lockReplay(ctx, opt.Home, opt.Progress)
	if err != nil {
		return nil, err
	}
	defer lock.unlock()
	cleanStale(opt.Home)
	if err := os.MkdirAll(filepath.Join(opt.Home, "logs"), 0o755); err != nil {
		return nil, err
	}
	// Settle the earlier Slurm replays first: a run one of them is still
	// replaying is not submitted twice.
	busy, err := slurmBusyLocked(ctx, opt.Home)
	if err != nil {
		return nil, err
	}
	missing, err := stillMissing(ctx, opt, s.Rows)
	if err != nil {
		return nil, fmt.Errorf("reading what the runs lack: %w", err)
	}
	id := time.Now().UTC().Format(record.FileLayout)
	dir := filepath.Join(opt.Home, "replay", slurmPrefix+id)
	for _, d := range []string{"tasks", "out", "versions"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	submitted := false
	defer func() {
		if !submitted {
			os.RemoveAll(dir)
		}
	}()
	p := &replayer{opt: opt, id: id, slots: newSlots(opt.Workers), versions: map[string]*version{},
		names: map[int][]string{}, progress: map[int][]string{}, epochs: map[int]int{}, done: map[int]bool{},
		counted: map[int]int{}, rows: len(s.Rows), workRoot: filepath.Join(dir, "versions")}
	out := &SlurmReplay{say: opt.Progress}
	var rows []*Row
	for _, row := range s.Rows {
		switch {
		case busy[row.Run.File] != "":
			out.Busy = append(out.Busy, busyNote(row, busy))
		case len(missing[row]) > 0:
			p.names[row.Index] = missing[row]
			rows = append(rows, row)
		}
	}
	// Prepare the versions side by side, as a local replay does.
	vs := make([]*version, len(rows))
	var wg sync.WaitGroup
	for i, row := range rows {
		wg.Go(func() { vs[i] = p.prepare(ctx, row) })
	}
	wg.Wait()
	job := &slurmJob{ID: id, Home: opt.Home, Accept: opt.AcceptDivergence, dir: dir}
	for i, row := range rows {
		v := vs[i]
		if v.err != nil {
			out.Failed = append(out.Failed, &Outcome{Row: row, Level: row.Level, Err: v.err, Log: v.log, Notes: v.notes})
			continue
		}
		if err := job.addRun(p, row, v); err != nil {
			return nil, err
		}
	}
	if len(job.Tasks) == 0 {
		return out, nil
	}
	script := filepath.Join(dir, "job.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nexec /bin/sh "+shq(filepath.Join(dir, "tasks"))+"/\"$SLURM_ARRAY_TASK_ID.sh\"\n"), 0o755); err != nil {
		return nil, err
	}
	logs := filepath.Join(opt.Home, "logs", id+"-slurm-%A_%a.log")
	jobID, err := slurm.Submit(ctx, script, len(job.Tasks), logs, so.Sbatch)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSlurm, err)
	}
	job.Job, job.Submitted = jobID, time.Now().UTC()
	if err := job.save(); err != nil {
		// The job runs, but nothing could publish it: stop it.
		slurm.Cancel(context.WithoutCancel(ctx), jobID)
		return nil, err
	}
	submitted = true
	out.job = job
	return out, nil
}

// addRun writes the task scripts and plans of row's units.
func (j *slurmJob) addRun(p *replayer, row *Row, v *version) error {
	run := row.Run
	// Each run is split across all the workers: a cluster has nodes enough.
	lv, ranges := rangesFor(run, v.level, p.opt.Workers, v.carried, v.extras)
	r := &slurmRun{Index: len(j.Runs), Tstamp: run.Tstamp, Filename: run.Filename, File: run.File, Level: lv.String(),
		Out: filepath.Join(j.dir, "out", fmt.Sprint(row.Index)), Tree: v.tree, Log: v.log,
		Final: filepath.Join(p.opt.Home, "replay", fmt.Sprintf("%s-%d", j.ID, row.Index)), Note: strings.Join(v.notes, "; ")}
	if err := os.MkdirAll(r.Out, 0o755); err != nil {
		return err
	}
	id := fmt.Sprintf("%s-%d", j.ID, row.Index)
	cwd := workerDir(p.opt.Root, run.Cwd, v)
	var args []string
	if len(run.Argv) > 1 {
		args = run.Argv[1:]
	}
	for w, rg := range ranges {
		k := len(j.Tasks)
		plan := p.unitPlan(row, id, lv, rg, w, r.Out, "")
		planFile := filepath.Join(j.dir, "tasks", fmt.Sprintf("%d.json", k))
		data, _ := json.MarshalIndent(plan, "", "  ")
		if err := os.WriteFile(planFile, data, 0o644); err != nil {
			return err
		}
		var sh strings.Builder
		fmt.Fprintf(&sh, "#!/bin/sh\n# run %s, unit %d: iterations %d to %d\ncd %s || exit 97\n", run.Tstamp, w, rg[0], rg[1], shq(cwd))
		env := map[string]string{"FLOR_REPLAY": planFile, "FLOR_ECHO": "0", "FLOR_PROGRESS": "0"}
		maps.Copy(env, run.Build.Env)
		for _, key := range slices.Sorted(maps.Keys(env)) {
			fmt.Fprintf(&sh, "export %s=%s\n", key, shq(env[key]))
		}
		fmt.Fprintf(&sh, "%s", shq(v.bin))
		for _, a := range args {
			fmt.Fprintf(&sh, " %s", shq(a))
		}
		// The exit status, for a cluster without accounting: squeue soon
		// forgets a finished task.
		fmt.Fprintf(&sh, "\necho $? > %s\n", shq(filepath.Join(j.dir, "tasks", fmt.Sprintf("%d.rc", k))))
		if err := os.WriteFile(filepath.Join(j.dir, "tasks", fmt.Sprintf("%d.sh", k)), []byte(sh.String()), 0o755); err != nil {
			return err
		}
		j.Tasks = append(j.Tasks, &slurmTask{Task: k, Run: r.Index, Worker: w, Start: rg[0], Stop: rg[1], Out: plan.Out})
		r.Tasks = append(r.Tasks, k)
	}
	j.Runs = append(j.Runs, r)
	return nil
}

// shq quotes s for sh.
func shq(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// save writes the manifest whole: to a temporary name, then renamed.
func (j *slurmJob) save() error {
	data, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(j.dir, "job.json.tmp")
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(j.dir, "job.json"))
}

// slurmBusyLocked settles home's finished Slurm replays and maps each run
// file an unsettled one still replays to its Slurm job. Called with the
// replay lock held. A job Slurm cannot be asked about keeps its unsettled
// runs busy: the returned error says why, and the map is still whole.
func slurmBusyLocked(ctx context.Context, home string) (map[string]string, error) {
	busy := map[string]string{}
	jobs, err := loadJobs(home)
	if err != nil {
		return busy, err
	}
	var errs []error
	for _, j := range jobs {
		if _, err := j.refreshLocked(ctx, io.Discard); err != nil {
			errs = append(errs, err)
		}
		for _, r := range j.Runs {
			if r.State == "" {
				busy[r.File] = j.Job
			}
		}
	}
	return busy, errors.Join(errs...)
}

// busyNote says that row's run is left to the Slurm job replaying it.
func busyNote(row *Row, busy map[string]string) string {
	return fmt.Sprintf("run %s: Slurm job %s is replaying it", row.Run.Tstamp, busy[row.Run.File])
}

// loadJobs reads the manifests of home's Slurm replays, oldest first. A
// work directory without one never reached Slurm.
func loadJobs(home string) ([]*slurmJob, error) {
	dirs, _ := filepath.Glob(filepath.Join(home, "replay", slurmPrefix+"*"))
	var jobs []*slurmJob
	for _, d := range dirs {
		data, err := os.ReadFile(filepath.Join(d, "job.json"))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrSlurm, err)
		}
		j := &slurmJob{dir: d}
		if err := json.Unmarshal(data, j); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrSlurm, filepath.Join(d, "job.json"), err)
		}
		jobs = append(jobs, j)
	}
	return jobs, nil
}
