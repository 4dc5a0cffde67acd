package planner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/flordb/flor/analyzer"
	"github.com/flordb/flor/internal/record"
	"github.com/flordb/flor/runtime"
)

// ErrNothingToDo: every selected run already has the values.
var ErrNothingToDo = errors.New("nothing to replay")

// ErrCannotReplay: no selected run can be replayed.
var ErrCannotReplay = errors.New("cannot replay")

// Options of a replay.
type Options struct {
	Names    []string // the new statements' log names
	Where    string   // SQL condition over dataframe columns; "" = all runs
	Workers  int      // processes at once; 0 = number of CPUs
	Root     string   // the repository's top directory (the working tree)
	Home     string   // the flor directory
	KeepWork bool     // keep temporary directories, for debugging
	// AcceptDivergence publishes a run whose replay did not reproduce
	// recorded values; the values that differ are ingested as warnings.
	AcceptDivergence bool
	// FullCheck evaluates every statement in every iteration. Otherwise a
	// statement whose value the replay does not keep, and whose argument
	// the analysis proves it may skip, is evaluated (and its value
	// compared with the record) in each worker's first iteration only.
	FullCheck bool
	// Progress receives one line per step of each run; nil = none. When it
	// is a terminal, a bar of runs and epochs is kept below the lines.
	Progress io.Writer
}

// Row is one run in the schedule.
type Row struct {
	Index    int
	Run      *Run
	Level    Level         // from the newest code; a version may need more
	Estimate time.Duration // expected replay time
	// Workers is how many workers replay the run: its share of
	// Options.Workers, the slots being shared by all runs.
	Workers int

	prep  time.Duration   // its version's preparation, as estimated
	units []time.Duration // its workers' expected times
	vkey  string          // its version, for Total
}

// Schedule is a replay plan: the new statements, the level, the runs.
type Schedule struct {
	Statements []*analyzer.LogStmt // in the working tree
	Level      Level
	Rows       []*Row
	Workers    int
	Notes      []string // what the user should know before going on
	// Blocked are the runs that cannot be replayed, with the reason: the
	// new statements do not carry into their version.
	Blocked []*Blocked
	// Check says what the self-check compares (see selfCheckLine).
	Check string
	// heavyFirst: each worker's first iteration evaluates statements the
	// others skip, so it is not the one to revise the estimates from.
	heavyFirst bool
}

// Blocked is a run left out of a replay, and why.
type Blocked struct {
	Run *Run
	Err error
}

// Total is the schedule's estimated wall time, all runs sharing the
// workers: each version prepared once, then the runs' workers.
func (s *Schedule) Total() time.Duration {
	var preps []time.Duration
	var units []simUnit
	index := map[string]int{}
	var finish time.Duration
	for _, r := range s.Rows {
		v, ok := index[r.vkey]
		if !ok {
			v = len(preps)
			index[r.vkey] = v
			preps = append(preps, r.prep)
		}
		for _, u := range r.units {
			units = append(units, simUnit{version: v, cost: u})
		}
		finish = max(finish, r.Estimate-r.prep-slices.Max(append([]time.Duration{0}, r.units...)))
	}
	return simulate(s.Workers, preps, units) + finish
}

// Plan finds the new statements in the working tree and the runs that
// lack their values. runs are the candidate runs (from the store, already
// filtered by WHERE and by missing names).
func Plan(ctx context.Context, opt Options, runs []*Run) (*Schedule, error) {
	if len(opt.Names) == 0 {
		return nil, fmt.Errorf("%w: give the names of the new flor.Log statements", ErrNoStatement)
	}
	opt = opt.withDefaults()
	s := &Schedule{Workers: opt.Workers, Level: Level{Mode: runtime.ModePrefix}}
	// A run whose code was never snapshotted cannot be rebuilt.
	kept := runs[:0:0]
	for _, r := range runs {
		if r.Snapshot == "" {
			s.Notes = append(s.Notes, fmt.Sprintf("run %s has no code snapshot (git failed when it ran): it cannot be replayed", r.Tstamp))
			continue
		}
		if r.Stale {
			s.Notes = append(s.Notes, fmt.Sprintf("run %s: its sources changed after its program was built; its snapshot may not be the code that ran, and its replayed values may differ", r.Tstamp))
		}
		kept = append(kept, r)
	}
	runs = kept
	withoutAbsentBlobs(s, opt.Home, runs)
	// The statements, from each program of the project in the working tree.
	programs := map[string]bool{}
	for _, r := range runs {
		programs[r.Filename] = true
	}
	levels := map[string]Level{}
	found := map[string]bool{}
	var skipped []*analyzer.LogStmt
	var loadErrs []string
	for _, prog := range slices.Sorted(mapKeys(programs)) {
		dir := filepath.Join(opt.Root, filepath.FromSlash(prog))
		a, err := analyzeTree(ctx, opt.Home, dir)
		if err != nil {
			loadErrs = append(loadErrs, fmt.Sprintf("%s: %v", prog, err))
			continue
		}
		for _, l := range a.Logs {
			if l.Kind == analyzer.KindLog && slices.Contains(opt.Names, l.Name) {
				s.Statements = append(s.Statements, l)
				found[l.Name] = true
			}
		}
		lv, err := levelOf(a, opt.Names)
		if err != nil && !errors.Is(err, ErrNoStatement) {
			return nil, err
		}
		// Effects replay cannot restore: the values may differ from a
		// fresh run's, and the user must know before going on.
		for _, w := range a.Warnings() {
			s.Notes = append(s.Notes, fmt.Sprintf("%s: %s", prog, w.Error()))
		}
		levels[prog] = lv
		s.Level = s.Level.max(lv)
		skipped = append(skipped, skippedAfterFirst(a, opt.Names, lv)...)
	}
	s.Check = selfCheckLine(s.Level, skipped, opt.FullCheck)
	s.heavyFirst = len(skipped) > 0 && !opt.FullCheck && s.Level.Mode == runtime.ModeLoop
	var missing []string
	for _, n := range opt.Names {
		if !found[n] {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 && len(runs) > 0 {
		if len(loadErrs) > 0 {
			// The program could not be analysed: that is the news.
			return nil, fmt.Errorf("%w: cannot analyse the working tree's program, so cannot find %s:\n%s",
				ErrNoStatement, strings.Join(quoteAll(missing), ", "), strings.Join(loadErrs, "\n"))
		}
		return nil, fmt.Errorf("%w: no flor.Log statement in the working tree logs %s", ErrNoStatement, strings.Join(quoteAll(missing), ", "))
	}
	c := loadCosts(opt.Home)
	cached := cachedVersions(opt)
	verr := checkVersions(opt.Root, opt.Names, runs)
	for _, r := range runs {
		if err := verr[versionKey(r)]; err != nil {
			s.Blocked = append(s.Blocked, &Blocked{Run: r, Err: err})
			continue
		}
		row := &Row{Index: len(s.Rows) + 1, Run: r, Level: levels[r.Filename],
			vkey: r.Snapshot + "\x00" + r.Filename + "\x00" + buildKey(r.Build)}
		if cached(r) {
			row.prep = c.cached() // built by an earlier replay
		} else {
			row.prep = c.prepare(r.Filename)
		}
		s.Rows = append(s.Rows, row)
	}
	// The workers, shared by all runs: each run's share, by its work.
	work := make([]time.Duration, len(s.Rows))
	iters := make([]int, len(s.Rows))
	for i, row := range s.Rows {
		if row.Level.Mode == runtime.ModeLoop {
			work[i], iters[i] = loopWork(row.Run, row.Level, c), len(row.Run.Iterations)
		}
	}
	for i, k := range workersFor(work, iters, opt.Workers) {
		row := s.Rows[i]
		row.Workers = k
		lv, ranges := rangesFor(row.Run, row.Level, k, false, false)
		for _, rg := range ranges {
			row.units = append(row.units, unitCost(row.Run, lv, rg, c))
		}
		row.Estimate = estimate(row.Run, lv, ranges, row.prep, c)
	}
	switch {
	case len(s.Rows) == 0 && len(s.Blocked) > 0:
		var msgs []string
		for _, b := range s.Blocked {
			msgs = append(msgs, fmt.Sprintf("run %s: %v", b.Run.Tstamp, b.Err))
		}
		return s, fmt.Errorf("%w: the new statements do not carry into any run's version:\n%s", ErrCannotReplay, strings.Join(msgs, "\n"))
	case len(s.Rows) == 0:
		return s, ErrNothingToDo
	}
	return s, nil
}

func mapKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func (o Options) withDefaults() Options {
	if o.Workers <= 0 {
		o.Workers = defaultWorkers()
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	return o
}

// Write prints the schedule: the statements, the level, one row per run.
func (s *Schedule) Write(w io.Writer) {
	for _, st := range s.Statements {
		fmt.Fprintf(w, "new statement %q at %s: depth %d, %s\n", st.Name, st.Pos, st.Depth, st.Phase)
	}
	fmt.Fprintf(w, "log level %s.\n", s.Level)
	if s.Check != "" {
		fmt.Fprintf(w, "%s.\n", s.Check)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\tprojid\ttstamp\tfilename\tversion\tstatus\tepochs\tdelta::prefix\tdelta::loop\tdelta::suffix\testimate")
	for _, r := range s.Rows {
		var loop time.Duration
		for _, d := range r.Run.Iterations {
			loop += d
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", r.Index, r.Run.ProjID, r.Run.Tstamp,
			r.Run.Filename, short(r.Run.Snapshot), r.Run.Status, len(r.Run.Iterations),
			secs(r.Run.Prefix), secs(loop), secs(r.Run.Suffix), secs(r.Estimate))
	}
	tw.Flush()
	for _, b := range s.Blocked {
		fmt.Fprintf(w, "cannot replay run %s: %v\n", b.Run.Tstamp, b.Err)
	}
	for _, n := range s.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2fs", d.Seconds()) }

// replayer carries one Execute.
type replayer struct {
	opt        Options
	heavyFirst bool // see Schedule.heavyFirst
	id         string
	slots      *slots
	costs      *costs // as measured by earlier replays
	// workRoot holds the versions' work directories; "" = the system's
	// temporary directory. A Slurm replay's live in the shared home.
	workRoot string

	mu       sync.Mutex
	versions map[string]*version // by snapshot and program
	bar      bool                // Progress is a terminal
	progress map[int][]string    // per row, its workers' progress files
	epochs   map[int]int         // per row, main-loop iterations to replay
	done     map[int]bool        // rows finished (well or not)
	counted  map[int]int         // per row, iterations replayed, once its workers ended
	names    map[int][]string    // per row, the names its run still lacks
	rows     int
}

func (p *replayer) status(row *Row, what string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar {
		fmt.Fprint(p.opt.Progress, "\r\x1b[K")
	}
	fmt.Fprintf(p.opt.Progress, "[%d] %s %s: %s\n", row.Index, row.Run.Tstamp, row.Run.Filename, what)
	p.drawLocked()
}

// watch registers a row's workers' progress files and its iterations.
func (p *replayer) watch(row *Row, files []string, epochs int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.progress[row.Index] = files
	p.epochs[row.Index] = epochs
}

func (p *replayer) finished(row *Row) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done[row.Index] = true
}

// countLocked is the number of iterations a row's workers have reported;
// it stays once the workers are done and their files are gone.
func (p *replayer) countLocked(idx int) int {
	if n, ok := p.counted[idx]; ok {
		return n
	}
	n := 0
	for _, f := range p.progress[idx] {
		data, _ := os.ReadFile(f)
		n += bytes.Count(data, []byte{'\n'})
	}
	return n
}

// workersDone freezes a row's count before its files are removed.
func (p *replayer) workersDone(row *Row) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.counted[row.Index] = p.countLocked(row.Index)
}

// drawLocked redraws the bar: runs done and epochs replayed.
func (p *replayer) drawLocked() {
	if !p.bar {
		return
	}
	var done, total int
	for idx := range p.progress {
		total += p.epochs[idx]
		done += p.countLocked(idx)
	}
	ndone := len(p.done)
	line := fmt.Sprintf("replay: runs %d/%d", ndone, p.rows)
	if total > 0 {
		const width = 30
		fill := min(width, width*done/total)
		line += fmt.Sprintf(" | epochs %d/%d |%s%s|", done, total, strings.Repeat("█", fill), strings.Repeat(" ", width-fill))
	}
	fmt.Fprint(p.opt.Progress, "\r\x1b[K"+line)
}

// Execute replays the schedule's runs, versions side by side, and returns
// one outcome per run. A run that fails (a version that no longer builds)
// is reported; the others go on.
//
// Replays of one flor home take turns (see LockName): Execute waits for
// the replay in progress, saying so on opt.Progress, then reads again what
// each run lacks. A run another replay filled in meanwhile is not replayed
// again; its outcome says Settled.
func Execute(ctx context.Context, s *Schedule, opt Options) []*Outcome {
	opt = opt.withDefaults()
	failAll := func(err error) []*Outcome {
		outs := make([]*Outcome, len(s.Rows))
		for i, row := range s.Rows {
			outs[i] = &Outcome{Row: row, Level: row.Level, Err: err}
		}
		return outs
	}
	lock, err := lockReplay(ctx, opt.Home, opt.Progress)
	if err != nil {
		return failAll(err)
	}
	defer lock.unlock()
	cleanStale(opt.Home)
	if err := os.MkdirAll(filepath.Join(opt.Home, "logs"), 0o755); err != nil {
		return failAll(err)
	}
	// A run a Slurm replay still replays is left to it; one that finished
	// is settled first, so stillMissing sees what it published.
	busy, err := slurmBusyLocked(ctx, opt.Home)
	if err != nil {
		fmt.Fprintf(opt.Progress, "slurm: %v: its runs are left to it\n", err)
	}
	missing, err := stillMissing(ctx, opt, s.Rows)
	if err != nil {
		return failAll(fmt.Errorf("reading what the runs lack: %w", err))
	}
	p := &replayer{opt: opt, id: time.Now().UTC().Format(record.FileLayout), slots: newSlots(opt.Workers), heavyFirst: s.heavyFirst,
		costs: loadCosts(opt.Home),
		bar:   isTerminal(opt.Progress), progress: map[int][]string{}, epochs: map[int]int{}, done: map[int]bool{},
		counted: map[int]int{}, rows: len(s.Rows), versions: map[string]*version{}, names: map[int][]string{}}
	if p.bar {
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			t := time.NewTicker(250 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
					p.mu.Lock()
					p.drawLocked()
					p.mu.Unlock()
				}
			}
		}()
		defer fmt.Fprint(opt.Progress, "\r\x1b[K")
	}
	outs := make([]*Outcome, len(s.Rows))
	for i, row := range s.Rows {
		if busy[row.Run.File] != "" {
			outs[i] = &Outcome{Row: row, Level: row.Level, Busy: busyNote(row, busy)}
			p.finished(row)
			p.status(row, "skipped: Slurm job "+busy[row.Run.File]+" is replaying it")
			continue
		}
		if names := missing[row]; len(names) > 0 {
			p.names[row.Index] = names // only what is still missing is written
			continue
		}
		outs[i] = &Outcome{Row: row, Level: row.Level, Settled: true,
			Notes: []string{"another flor replay filled in its values while this one waited: nothing to do"}}
		p.finished(row)
		p.status(row, "already replayed by another flor replay")
	}
	var wg sync.WaitGroup
	for i, row := range s.Rows {
		if outs[i] != nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i] = p.replayOne(ctx, row)
			p.finished(row)
			if outs[i].Err != nil {
				p.status(row, "failed (log: "+outs[i].Log+")")
			} else {
				p.status(row, "done in "+outs[i].Timing())
			}
		}()
	}
	wg.Wait()
	p.learn(outs)
	if !opt.KeepWork {
		for _, v := range p.versions {
			if v.work != "" {
				os.RemoveAll(v.work)
			}
		}
	}
	sort.SliceStable(outs, func(i, j int) bool { return outs[i].Row.Index < outs[j].Row.Index })
	return outs
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// defaultWorkers is the number of CPUs the process may use.
func defaultWorkers() int {
	n := goruntime.NumCPU()
	return max(1, n)
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
