package runtime

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flordb/flor/internal/record"
)

// Errors that callers branch on.
var (
	// ErrNotGit: the program's directory is not inside a git repository.
	ErrNotGit = errors.New("not in a git repository")
	// ErrCommitted: a flor call came after Commit ended the run.
	ErrCommitted = errors.New("run already committed")
	// ErrUnitReplay: a unit (Options.Unit) was asked of a replay.
	ErrUnitReplay = errors.New("units are not replayed")
)

// NoIndex is the index of an Iteration that has none (FlorDB's None): a
// labelled document known by its name rather than its place. Its ctx
// record holds i = -1, so the dataframe shows -1 in the loop's column and
// the element (the document's name) in its _value column.
const NoIndex = -1

// defaultEpsilon bounds checkpoint encoding to 1% of a run's time, the
// record overhead flor aims for.
const defaultEpsilon = 0.01

// processStart approximates the process's start: package initialisation
// runs before main.
var processStart = time.Now()

// Run is one recorded (or replayed) execution of a program. Its methods are
// safe for concurrent use.
type Run struct {
	// Identity, fixed once started.
	ProjID   string // base name of the repository's top directory
	Tstamp   string // RFC 3339, microseconds, UTC; unique per project
	Filename string // main package directory relative to the repository root
	Root     string // repository top directory
	Home     string // flor directory
	Snapshot string // commit on flor.shadow holding the code of this run
	Stale    bool   // the sources are newer than the program: Snapshot may not match it
	File     string // the run file

	kwargs      map[string]string
	kwUsed      map[string]bool
	argv        []string // as started, --kwargs included
	kwWarned    atomic.Bool
	stdout      io.Writer
	stderr      io.Writer
	echo        atomic.Bool
	replay      *replayState
	began       time.Time // the run's start for delta::prefix and the capture budget
	unit        bool      // records kept in memory, written in one piece by Commit
	off         bool      // FLOR_RECORD=0: nothing recorded (off.go)
	argRecs     []byte    // arg records outside every loop, carried to the next run of the process
	forwardLate atomic.Bool
	started     atomic.Bool
	startMu     sync.Mutex
	startErr    error

	w *recordWriter // owns mu, guarding everything below

	nextCtx   int64
	stack     []*frame
	main      *frame // the main loop while it runs
	mainSeen  bool
	mainEnded time.Time
	blocks    []*blockState
	ckpts     []*registration
	ckptNames map[string]bool
	committed bool

	ckq      chan captureJob
	ckdone   chan struct{}
	ckOnce   sync.Once
	ckMu     sync.RWMutex // guards sends on ckq against its close
	ckClosed bool
	ckWarned atomic.Bool
	commitMu sync.Mutex // one Commit at a time
	budget   captureBudget
	// lastCaptured is 1 + the last main iteration whose end was captured.
	lastCaptured atomic.Int64
	written      sync.Map // blob hashes this process stored

	progress *progress
	exit     func(code int) // os.Exit; tests replace it
	getenv   func(string) string
}

// Options configure a Run made by New.
type Options struct {
	Args   []string  // command-line arguments after the program name (for --kwargs)
	Dir    string    // directory the program's code is in ("" = find it)
	Stdout io.Writer // echo destination (default os.Stdout)
	Stderr io.Writer // warnings and progress (default os.Stderr)
	Env    func(string) string
	// Start is when the run began, for delta::prefix and the checkpoint
	// budget (zero: the process's start). A process's later runs begin
	// when the one before them committed.
	Start time.Time
	// Like makes the run another run of Like's process: same identity,
	// kwargs, echo and streams, and, unless Unit, Like's arg values
	// recorded again (the program read them once, before its first run).
	Like *Run
	// Unit keeps the run's records in memory and writes them in one piece
	// at Commit (a file written aside and linked into runs/), so the run
	// appears whole or not at all; its snapshot is the process's newest
	// one. For recording from concurrent requests (flor.Begin).
	Unit bool

	noSelfCheck bool // replay without comparing values (for measuring the check)
}

// New makes a run. Nothing is written until the first call other than Arg.
func New(opt Options) (*Run, error) {
	if opt.Stdout == nil {
		opt.Stdout = os.Stdout
	}
	if opt.Stderr == nil {
		opt.Stderr = os.Stderr
	}
	if opt.Env == nil {
		opt.Env = os.Getenv
	}
	if opt.Like != nil {
		return newLike(opt)
	}
	kw, _, err := ParseKwargs(opt.Args)
	if err != nil {
		return nil, err
	}
	r := &Run{
		kwargs:    kw,
		kwUsed:    map[string]bool{},
		stdout:    opt.Stdout,
		stderr:    opt.Stderr,
		w:         newRecordWriter(opt.Stderr),
		ckptNames: map[string]bool{},
		exit:      os.Exit,
		argv:      append([]string{os.Args[0]}, opt.Args...),
		getenv:    opt.Env,
	}
	r.echo.Store(envBool(opt.Env("FLOR_ECHO"), true))
	r.began = processStart
	if !opt.Start.IsZero() {
		r.began = opt.Start
	}
	r.budget = captureBudget{epsilon: defaultEpsilon, start: r.began}
	if v := opt.Env("FLOR_CHECKPOINT_EPSILON"); v != "" {
		eps, err := strconv.ParseFloat(v, 64)
		if err != nil || eps < 0 {
			return nil, fmt.Errorf("flor: FLOR_CHECKPOINT_EPSILON=%q: want a fraction such as 0.01, or 0 to capture always", v)
		}
		r.budget.epsilon = eps
	}
	if p := opt.Env("FLOR_REPLAY"); p == "" && !envBool(opt.Env(recordEnv), true) {
		r.off = true
		return r, nil
	} else if p != "" {
		rs, err := loadReplay(p, !opt.noSelfCheck)
		if err != nil {
			return nil, err
		}
		r.replay = rs
		r.ProjID, r.Tstamp, r.Filename, r.Home = rs.plan.ProjID, rs.plan.Tstamp, rs.plan.Filename, rs.plan.Home
		if !envBool(opt.Env("FLOR_REPLAY_ECHO"), false) {
			r.echo.Store(false)
		}
	} else {
		if err := r.resolveIdentity(opt); err != nil {
			return nil, err
		}
	}
	if envBool(opt.Env("FLOR_PROGRESS"), true) {
		r.progress = newProgress(opt.Stderr)
	}
	return r, nil
}

func envBool(v string, def bool) bool {
	if v == "" {
		return def
	}
	b, err := parseBool(v)
	if err != nil {
		return def
	}
	return b
}

// SetEcho turns the echo of logged values on standard output on or off.
// Records are written either way.
func (r *Run) SetEcho(on bool) { r.echo.Store(on) }

// ensureStarted creates the run file and snapshots the code on the first
// flor call other than Arg.
func (r *Run) ensureStarted() error {
	if r.started.Load() {
		return r.startErr
	}
	r.startMu.Lock()
	defer r.startMu.Unlock()
	if r.started.Load() {
		return r.startErr
	}
	r.startErr = r.start()
	r.started.Store(true)
	return r.startErr
}

func (r *Run) start() error {
	var f *os.File
	var err error
	if r.unit {
		// Nothing on disk before Commit; the tstamp is the start, and
		// moves on at Commit only if another run holds the name.
		r.Tstamp = record.FormatTime(time.Now().UTC().Truncate(time.Microsecond))
		snap, newest, err := processSnapshot(r.Root, r.Home, r.Tstamp, r.stderr)
		if err != nil {
			r.warn(fmt.Sprintf("code snapshot failed, this run cannot be replayed: %v", err))
		} else {
			r.Snapshot = snap
		}
		r.Stale = r.staleAgainst(newest, false) // said once, by the process's first run
		return nil
	}
	if r.replay != nil {
		f, err = r.replay.openOut()
		if err != nil {
			return err
		}
		r.File = f.Name()
	} else {
		if err := os.MkdirAll(filepath.Join(r.Home, "runs"), 0o755); err != nil {
			return fmt.Errorf("flor: creating %s: %w", r.Home, err)
		}
		f, err = r.createRunFile(time.Now())
		if err != nil {
			return err
		}
		snap, newest, err := snapshot(r.Root, r.Home, r.Tstamp, r.stderr)
		if err != nil {
			r.warn(fmt.Sprintf("code snapshot failed, this run cannot be replayed: %v", err))
		} else {
			r.Snapshot = snap
		}
		r.Stale = r.staleAgainst(newest, true)
	}
	hdr := r.headerRecord()
	r.w.mu.Lock()
	// Records buffered before the start (Arg values) follow the header.
	r.w.prependLocked(append(hdr, '\n'))
	r.w.mu.Unlock()
	r.w.start(f)
	r.w.flush() // the header, and the args before it, are on disk at once
	return nil
}

// staleAgainst reports whether Go sources as new as newest postdate the
// program's executable, warning once per run: the snapshot holds the code
// as it is now, not as built. print false only records the warning.
func (r *Run) staleAgainst(newest time.Time, print bool) bool {
	exe, err := os.Executable()
	if err != nil {
		return false
	}
	st, err := os.Stat(exe)
	if err != nil || !newest.After(st.ModTime()) {
		return false
	}
	msg := "the Go sources changed after this program was built, so its code snapshot may not be the code that runs; rebuild (or use go run) before recording runs you may replay"
	if print {
		r.warn(msg)
	} else {
		r.recordWarn(msg)
	}
	return true
}

// createRunFile picks the run's timestamp: the start time at microsecond
// precision, moved on while another run of this home holds it. The file's
// name, <tstamp>-<suffix>.jsonl, is unique across hosts; the tstamp, which
// is the run's identity, stays unique within a home: a name of the same
// tstamp beside ours (O_EXCL cannot see it) moves ours on.
func (r *Run) createRunFile(t time.Time) (*os.File, error) {
	t = t.UTC().Truncate(time.Microsecond)
	dir := filepath.Join(r.Home, "runs")
	for range 1000 {
		name := filepath.Join(dir, record.UniqueFileName(t))
		f, err := os.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil && !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("flor: creating run file: %w", err)
		}
		if err == nil {
			if sameTstamp(dir, t) == 1 {
				r.Tstamp = record.FormatTime(t)
				r.File = name
				return f, nil
			}
			f.Close()
			os.Remove(name)
		}
		t = t.Add(time.Microsecond)
	}
	return nil, fmt.Errorf("flor: no free run file name in %s", dir)
}

// sameTstamp counts the run files of dir whose tstamp is t's (1 when it
// cannot read dir: ours, so that a run is not refused for it).
func sameTstamp(dir string, t time.Time) int {
	d, err := os.Open(dir)
	if err != nil {
		return 1
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return 1
	}
	prefix, n := t.Format(record.FileLayout), 0
	for _, name := range names {
		if strings.HasPrefix(name, prefix) && strings.HasSuffix(name, ".jsonl") {
			n++
		}
	}
	return n
}

func (r *Run) headerRecord() []byte {
	host, _ := os.Hostname()
	cwd, _ := os.Getwd()
	h := record.NewRun()
	h.ProjID, h.Tstamp, h.Filename, h.Snapshot, h.Stale = r.ProjID, r.Tstamp, r.Filename, r.Snapshot, r.Stale
	h.Kwargs, h.PID, h.Host, h.Argv, h.Cwd, h.Go = r.kwargs, os.Getpid(), host, r.argv, cwd, goruntime.Version()
	h.Liveness = record.LivenessInterval.Seconds()
	h.Build = buildRecord(environ(r.getenv))
	h.Slurm = slurmRecord(r.getenv)
	h.Unit = r.unit
	if h.Kwargs == nil {
		h.Kwargs = map[string]string{}
	}
	if r.replay != nil {
		p := r.replay.plan
		h.Snapshot = p.Snapshot
		h.Replay = &record.Replay{ID: p.ID, Names: p.Names, Worker: p.Worker, Start: p.Start, Stop: p.Stop, Mode: p.Mode,
			Run: filepath.Base(p.Record)}
	}
	return h.Marshal()
}

// warn tells the user and records the warning.
func (r *Run) warn(msg string) {
	fmt.Fprintf(r.stderr, "flor: warning: %s\n", msg)
	r.recordWarn(msg)
}

// recordWarn records a warning without printing it.
func (r *Run) recordWarn(msg string) {
	r.w.mu.Lock()
	r.w.buf = record.AppendWarn(r.w.buf, msg)
	r.w.mu.Unlock()
}

// abandon removes the run's records: the program stops on a usage error
// (a --kwargs value that does not parse), which is not a run.
func (r *Run) abandon() {
	r.w.mu.Lock()
	r.committed = true
	r.w.dropLocked()
	r.w.mu.Unlock()
	if r.started.Load() && r.startErr == nil && r.replay == nil {
		_ = r.w.close()
		os.Remove(r.File)
	}
}

// fatal reports an error the program cannot go on from and exits.
func (r *Run) fatal(err error) {
	msg := err.Error()
	if !strings.HasPrefix(msg, "flor:") {
		msg = "flor: " + msg
	}
	fmt.Fprintln(r.stderr, msg)
	if r.started.Load() && r.startErr == nil {
		_ = r.w.close()
	}
	r.exit(1)
}

// Log records a value under the current loop context and echoes it. It
// reports false when the run was committed first, so the value is not
// recorded: flor's front then records it in the process's next run.
func (r *Run) Log(name string, v scalar) bool {
	if r.off {
		r.offLog(name, v)
		return true
	}
	return r.log(name, v, 0)
}

// Flags of a log record.
const (
	flagArg      = record.FlagArg
	flagInternal = record.FlagInternal
)

func (r *Run) log(name string, v scalar, flag record.Flags) bool {
	write, check := true, false
	if r.replay != nil {
		write = r.replay.names[name]
		check = flag == 0 && r.replay.checks(name)
		if !write && !check {
			return true
		}
	}
	if err := r.ensureStarted(); err != nil {
		r.fatal(err)
	}
	w := r.w
	w.mu.Lock()
	if r.committed {
		w.mu.Unlock()
		r.afterCommit(name)
		return false
	}
	if check {
		r.checkLocked(name, v)
		if !write {
			w.maybeKickLocked()
			w.mu.Unlock()
			return true
		}
	}
	wasEmpty := w.emptyLocked()
	full := w.queueLocked(r.ctxLocked(), name, v, flag)
	w.maybeKickLocked()
	var line []byte
	if flag != flagInternal && r.echo.Load() {
		line = r.echoLineLocked(name, v)
	}
	through := w.wantWriteThroughLocked(wasEmpty) || full
	w.mu.Unlock()
	if through {
		w.flush()
	}
	if line != nil {
		r.printEcho(line)
	}
	return true
}

var afterCommitWarned atomic.Bool

func (r *Run) afterCommit(name string) {
	if r.forwardLate.Load() {
		return // the caller records the value in the process's next run
	}
	if afterCommitWarned.CompareAndSwap(false, true) {
		fmt.Fprintf(r.stderr, "flor: warning: %q logged after Commit is not recorded: %v\n", name, ErrCommitted)
	}
}

// ForwardLate says that the caller records the values logged after
// Commit elsewhere (flor's front: in the process's next run), so Log's
// false is not warned about.
func (r *Run) ForwardLate() { r.forwardLate.Store(true) }

// echoLineLocked formats "epoch: 1, step: 500, loss: 0.51".
func (r *Run) echoLineLocked(name string, v scalar) []byte {
	var b []byte
	for _, f := range r.stack {
		b = appendEchoText(b, f.name)
		b = append(b, ": "...)
		if f.kind == frameIteration && f.val.kind != "" {
			b = appendEchoText(b, f.val.String())
		} else {
			b = strconv.AppendInt(b, f.iter, 10)
		}
		b = append(b, ", "...)
	}
	b = appendEchoText(b, name)
	b = append(b, ": "...)
	b = appendEchoText(b, v.String())
	return append(b, '\n')
}

func (r *Run) printEcho(line []byte) {
	if r.progress != nil {
		r.progress.print(r.stdout, line)
		return
	}
	_, _ = r.stdout.Write(line)
}

// ctxLocked returns the id of the innermost context, writing the context
// records not yet written (parents first). Called with mu held.
func (r *Run) ctxLocked() int64 {
	var parent int64
	for _, f := range r.stack {
		if f.ctx == 0 {
			r.nextCtx++
			f.ctx = r.nextCtx
			b := record.AppendCtx(r.w.buf, f.ctx, parent, f.qname, f.iter)
			if f.val.isLoopValue() {
				b = f.val.appendJSON(record.AppendCtxValue(b))
			}
			r.w.buf = record.Close(b)
		}
		parent = f.ctx
	}
	return parent
}

// Commit ends the run: records the time after the main loop, reports
// kwargs no Arg read, waits for checkpoints to be stored, and syncs the
// run file. Calling it again does nothing.
func (r *Run) Commit() error {
	return r.commit(record.StatusFinished)
}

func (r *Run) commit(status string) error {
	if r.off {
		return nil
	}
	r.commitMu.Lock()
	defer r.commitMu.Unlock()
	if err := r.ensureStarted(); err != nil {
		return err
	}
	r.w.mu.Lock()
	if r.committed {
		r.w.mu.Unlock()
		return nil
	}
	mainEnded := r.mainEnded
	r.w.mu.Unlock()
	if r.replay == nil && !r.unit {
		if !mainEnded.IsZero() {
			r.log("delta::suffix", scalar{kind: TypeFloat, f: time.Since(mainEnded).Seconds()}, flagInternal)
		}
		r.warnUnusedKwargs()
	}
	r.drainCheckpoints()
	if r.progress != nil {
		r.progress.finish()
	}
	r.w.mu.Lock()
	r.committed = true
	r.w.buf = record.AppendEndRecord(r.w.buf, status, time.Now())
	r.w.mu.Unlock()
	if r.unit {
		return r.writeUnit()
	}
	return r.w.close()
}

// warnUnusedKwargs reports the --kwargs no Arg has read, once: at the
// main loop's start, when the args have usually all been read, so a
// misspelled name shows before training rather than after; else at Commit.
func (r *Run) warnUnusedKwargs() {
	unused := r.unusedKwargs()
	if len(unused) == 0 || r.kwWarned.Swap(true) {
		return
	}
	r.warn(fmt.Sprintf("--kwargs %s: no flor.Arg reads %s", strings.Join(unused, " "), plural(len(unused), "this name", "these names")))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// Panicking reports whether the calling goroutine is running deferred calls
// because of a panic: a deferred Commit then marks the run failed.
func Panicking() bool {
	pcs := make([]uintptr, 64)
	n := goruntime.Callers(2, pcs)
	frames := goruntime.CallersFrames(pcs[:n])
	for {
		f, more := frames.Next()
		if f.Function == "runtime.gopanic" {
			return true
		}
		if !more {
			return false
		}
	}
}

// CommitFailed ends the run with status failed (a deferred Commit during a
// panic).
func (r *Run) CommitFailed() error { return r.commit(record.StatusFailed) }

// exitNow ends a replay worker early: flush, sync, exit 0.
func (r *Run) exitNow() {
	if err := r.commit(record.StatusFinished); err != nil {
		fmt.Fprintf(r.stderr, "flor: %v\n", err)
		r.exit(1)
	}
	r.exit(0)
}
