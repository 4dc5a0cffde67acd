package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/flordb/flor/internal/cli"
	"github.com/flordb/flor/internal/gitdir"
	"github.com/flordb/flor/internal/record"
	"github.com/flordb/flor/planner"
	"github.com/flordb/flor/storage"
)

// replayOptions is what flor replay was asked for.
type replayOptions struct {
	yes, dry, keep bool
	accept         bool // publish runs whose replay diverged
	fullCheck      bool // evaluate and check every statement in every iteration
	workers        int
	out            formatFlags
	names          []string // the new statements' names, each once
	where          string   // "": every run
	slurm          slurmFlags
}

var replayCmd = &spec[replayOptions]{
	Name:    "replay",
	Summary: "fill in new log statements' values for past runs",
	Usage: `Usage: flor replay [--yes] [--dry-run] [--workers N] [--accept-divergence] [--full-check]
                   [--slurm [--sbatch "ARGS"] [--no-wait]] NAME[,NAME...] [WHERE]
       flor replay --status

Hindsight logging: add flor.Log statements to the newest code (committed or
not), then ask for their values in the runs recorded before them. flor finds
the statements in the working tree, selects the runs that lack the values
(those matching WHERE, a SQL condition over dataframe columns, when given),
prints a schedule with each run's replay level and estimated time, and asks
before going on.

Each run's code snapshot is materialised in a temporary directory (your
checkout is never touched), the new statements are propagated into it,
loops nested in the main loop are wrapped in skip blocks, and the version
is built and run in replay mode with the run's own arguments: loops without
new statements are skipped and their effects restored from checkpoints, and
the main loop's iterations are split across workers. A run's values appear
all together when it finishes, or not at all; running the same replay again
does only what is missing.

Replay checks itself: every value the replayed code logs under a name the
run recorded, in the same loop context, must be the recorded one bit for
bit. A run where one differs is not published: the summary names the
value, its context and both values. A statement whose value the replay
does not keep, and whose argument the analysis proves it may skip
(florc analyze says which), is evaluated and checked in the first
iteration of each worker and skipped after it; --full-check evaluates and
checks it in every iteration.

Flags:

	--yes        do not ask for confirmation (needed without a terminal)
	--dry-run    print the schedule and stop
	--workers N  processes at once (default: the number of CPUs)
	--keep       keep the temporary directories (their paths are in the logs)
	--accept-divergence
	             publish runs whose replay diverged from the record; the
	             values that differ are marked in the warnings view
	--full-check evaluate every statement in every iteration, so the
	             self-check compares every recorded value it can
	--format f   the final dataframe: table (default), csv or json
	--slurm      replay through Slurm: one array job, a task per unit (a
	             run's range of epochs); FLOR_HOME must be on a file system
	             the nodes share
	--sbatch "ARGS"
	             more sbatch arguments (split at spaces), e.g. "-p gpu"
	--no-wait    with --slurm: submit and return; --status finishes it
	--status     show the Slurm replays in progress and publish the runs
	             whose units have all finished

Examples:

	flor replay grad_norm
	flor replay --dry-run grad_norm,acc_top
	flor replay --yes --workers 4 grad_norm "lr > 0.0005"
	flor replay --yes --slurm --workers 4 --sbatch "-p short" grad_norm
	flor replay --status
`,
	Flags: func(fs *flag.FlagSet, o *replayOptions) {
		fs.BoolVar(&o.yes, "yes", false, "")
		fs.BoolVar(&o.yes, "y", false, "")
		fs.BoolVar(&o.dry, "dry-run", false, "")
		fs.IntVar(&o.workers, "workers", 0, "")
		fs.BoolVar(&o.keep, "keep", false, "")
		fs.BoolVar(&o.accept, "accept-divergence", false, "")
		fs.BoolVar(&o.fullCheck, "full-check", false, "")
		o.out.register(fs, 40)
		o.slurm.register(fs)
	},
	Args: replayArgs,
	Run:  runReplay,
}

func replayArgs(o *replayOptions, pos []string) error {
	if o.slurm.status {
		if len(pos) > 0 {
			return cli.Usagef("replay --status takes no names: it shows the Slurm replays in progress")
		}
		return nil
	}
	if len(pos) == 0 {
		return cli.Usagef("replay needs the names of the new flor.Log statements")
	}
	if len(pos) > 2 {
		return cli.Usagef("too many arguments: %q (quote the WHERE condition)", pos[2:])
	}
	if err := o.out.check(); err != nil {
		return err
	}
	if o.workers < 0 {
		return cli.Usagef("--workers must be positive")
	}
	for _, n := range strings.Split(pos[0], ",") {
		if n = strings.TrimSpace(n); n != "" && !slices.Contains(o.names, n) {
			o.names = append(o.names, n)
		}
	}
	if len(o.names) == 0 {
		return cli.Usagef("replay needs the names of the new flor.Log statements")
	}
	if len(pos) == 2 {
		o.where = pos[1]
	}
	return nil
}

// errDeclined: the user answered no.
var errDeclined = errors.New("replay cancelled")

func runReplay(ctx context.Context, e *env, o *replayOptions) error {
	names, where, out := o.names, o.where, o.out
	home, err := e.home()
	if err != nil {
		return err
	}
	if o.slurm.status {
		return runReplayStatus(ctx, e, home)
	}
	root := filepath.Dir(home)
	if e.getenv("FLOR_HOME") != "" {
		if root, err = repoTop(e.dir); err != nil {
			return err
		}
	}
	start := time.Now()
	opt := planner.Options{Names: names, Where: where, Workers: o.workers, Root: root, Home: home,
		KeepWork: o.keep, AcceptDivergence: o.accept, FullCheck: o.fullCheck, Progress: e.stderr}

	st, err := e.open(ctx)
	if err != nil {
		return err
	}
	runs, err := planner.MissingRuns(ctx, st, names, where)
	st.Close() // replays take long; other flor commands must not wait
	if err != nil {
		return err
	}
	sched, err := planner.Plan(ctx, opt, runs)
	if errors.Is(err, planner.ErrNothingToDo) {
		if sched != nil {
			for _, n := range sched.Notes {
				fmt.Fprintf(e.stdout, "note: %s\n", n)
			}
		}
		fmt.Fprintf(e.stdout, "nothing to replay: no run%s lacks %s\n", whereText(where), strings.Join(names, ", "))
		return nil
	}
	if err != nil {
		return err
	}
	sched.Write(e.stdout)
	if o.dry {
		fmt.Fprintf(e.stdout, "\nreplay estimated to finish %s (dry run: nothing replayed)\n", planner.Bucket(sched.Total()))
		return nil
	}
	if !o.yes {
		if err := e.confirm(fmt.Sprintf("\nContinue replay estimated to finish %s [y/N]? ", planner.Bucket(sched.Total()))); errors.Is(err, errDeclined) {
			fmt.Fprintln(e.stdout, "replay cancelled: nothing was replayed")
			return nil
		} else if err != nil {
			return err
		}
	}
	if o.slurm.on {
		return runReplaySlurm(ctx, e, o, sched, opt)
	}
	outs := planner.Execute(ctx, sched, opt)
	fmt.Fprintln(e.stdout)
	failed, busy, replayed := writeOutcomes(e.stdout, outs)
	if ctx.Err() != nil {
		return fmt.Errorf("replay interrupted: runs not finished left no values; run it again to finish")
	}
	st, err = e.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if len(replayed) > 0 {
		cols := append(whereColumns(where), names...)
		f, err := st.Dataframe(ctx, cols...)
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stdout)
		if err := out.write(e, onlyRuns(f, replayed)); err != nil {
			return err
		}
	}
	fmt.Fprintf(e.stdout, "\nreplayed %d of %d runs in %.1fs\n", len(outs)-failed-busy, len(outs), time.Since(start).Seconds())
	if failed > 0 {
		return fmt.Errorf("%d of %d runs failed to replay (see the logs above)", failed, len(outs))
	}
	return nil
}

// writeOutcomes prints each run's outcome: a table of the time its
// replay took against the estimate of the schedule and the one revised
// as it ran (error: the estimate's distance from the time taken, + when
// it was high), then the failures and notes.
func writeOutcomes(w io.Writer, outs []*planner.Outcome) (failed, busy int, replayed map[string]bool) {
	replayed = map[string]bool{}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "run\tprogram\tstatus\ttook\twaited\testimate\terror\trevised\terror\tlevel")
	pct := func(o *planner.Outcome, d time.Duration) string {
		if d <= 0 {
			return "-\t-"
		}
		return fmt.Sprintf("%.1fs\t%+.0f%%", d.Seconds(), 100*o.EstimateError(d))
	}
	var after []string
	noted := map[string]bool{} // runs of one version share its notes
	for _, o := range outs {
		if o.Busy != "" {
			busy++
			after = append(after, "skipped "+o.Busy)
			continue
		}
		status := "ok"
		if o.Err != nil {
			failed++
			status = "FAILED"
			after = append(after, fmt.Sprintf("%s %s: FAILED: %v\n    log: %s", o.Row.Run.Tstamp, o.Row.Run.Filename, o.Err, o.Log))
		} else {
			replayed[o.Row.Run.Tstamp] = true
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.1fs\t%.1fs\t%s\t%s\t%s\n", o.Row.Run.Tstamp, o.Row.Run.Filename, status,
			o.Ran().Seconds(), o.Queued.Seconds(), pct(o, o.Row.Estimate), pct(o, o.Revised), o.Level)
		for _, n := range o.Notes {
			if !noted[n] {
				noted[n] = true
				after = append(after, "note: "+n)
			}
		}
	}
	tw.Flush()
	for _, a := range after {
		fmt.Fprintln(w, a)
	}
	return failed, busy, replayed
}

func whereText(where string) string {
	if where == "" {
		return ""
	}
	return " matching " + where
}

var identRE = regexp.MustCompile(`"((?:[^"]|"")+)"|[A-Za-z_][A-Za-z0-9_:]*`)

// whereColumns lists the names a WHERE condition mentions that are not
// SQL words, for the final dataframe.
func whereColumns(where string) []string {
	var out []string
	for _, m := range identRE.FindAllStringSubmatch(where, -1) {
		name := m[0]
		if m[1] != "" {
			name = strings.ReplaceAll(m[1], `""`, `"`)
		} else if sqlWords[strings.ToUpper(name)] {
			continue
		}
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}

var sqlWords = map[string]bool{"AND": true, "OR": true, "NOT": true, "IN": true, "IS": true, "NULL": true,
	"LIKE": true, "ILIKE": true, "BETWEEN": true, "TRUE": true, "FALSE": true, "CAST": true, "AS": true,
	"DOUBLE": true, "INTEGER": true, "VARCHAR": true, "BIGINT": true, "BOOLEAN": true}

// confirm asks a yes/no question on a terminal.
func (e *env) confirm(question string) error {
	f, ok := e.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return cli.Usagef("replay asks for confirmation, and standard input is not a terminal: pass --yes to go on (or --dry-run to see the schedule)")
	}
	fmt.Fprint(e.stdout, question)
	line, err := bufio.NewReader(io.LimitReader(e.stdin, 1024)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return nil
	}
	return errDeclined
}

// repoTop is the top directory of the git repository holding dir.
func repoTop(dir string) (string, error) {
	repo, err := gitdir.Find(dir)
	if err != nil {
		return "", fmt.Errorf("%w: %w", errNoHome, err)
	}
	return repo.Top, nil
}

// onlyRuns keeps the rows of the runs whose tstamps (as in their records)
// are in keep: the final table shows what this replay filled in.
func onlyRuns(f *storage.Frame, keep map[string]bool) *storage.Frame {
	if f.Col("tstamp") < 0 {
		return f
	}
	out := &storage.Frame{Columns: f.Columns, Notes: f.Notes}
	for i, row := range f.Rows {
		if ts, ok := f.Value(i, "tstamp").(time.Time); ok && keep[ts.UTC().Format(tstampFormat)] {
			out.Rows = append(out.Rows, row)
		}
	}
	return out
}

// tstampFormat is how run records spell a run's timestamp.
const tstampFormat = record.TimeLayout
