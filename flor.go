// Package flor is hindsight logging for Go training programs.
//
// A program logs values with Log, reads hyper-parameters with Arg, marks
// its loops with Loop and registers its training state with Checkpoint;
// every run is recorded (values, loop context, hyper-parameters, a git
// snapshot of the code, checkpoints). When a Log statement is added later,
// `flor replay` carries it into the code of past runs and fills in the
// values those runs would have logged, skipping the work it can skip.
//
//	func main() {
//		defer flor.Commit()
//		lr := flor.Arg("lr", 1e-3)
//		epochs := flor.Arg("epochs", 5)
//		pcg := rand.NewPCG(uint64(flor.Arg("seed", 42)), 7)
//		model := NewMLP(...)
//		flor.Checkpoint("model", model)
//		flor.Checkpoint("rng", pcg)
//		for epoch := range flor.Loop("epoch", flor.Range(epochs)) {
//			for s := range flor.Loop("step", flor.Range(steps)) {
//				flor.Log("loss", train(model, s))
//			}
//			flor.Log("val_acc", evaluate(model))
//		}
//		flor.Log("accuracy", evaluate(model))
//	}
//
// Run it with `go run . --kwargs lr=5e-4 epochs=3`; the --kwargs words are
// removed from os.Args before main runs. Read the records with
// `flor dataframe lr loss val_acc` or the storage package.
//
// # Goroutines
//
// Log, Arg, Checkpoint, SetEcho and Commit are safe for concurrent use;
// Loop, Iteration and the skip blocks are the process's one loop context
// and belong to one goroutine. Concurrent work (web requests) records
// through units, one per goroutine: Begin, then the Unit's methods and
// Commit (see Unit).
//
// This package is a thin front over package runtime, which the records'
// format and the replay protocol are documented with.
package flor

import (
	"fmt"
	"iter"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flordb/flor/runtime"
)

// ArgValue is the set of types Arg accepts.
type ArgValue = runtime.ArgValue

var (
	current  atomic.Pointer[runtime.Run]
	makeMu   sync.Mutex   // one goroutine makes the next run
	first    *runtime.Run // the process's first run, made on first use
	last     *runtime.Run // the run Commit ended last; the next is made like it
	lastEnd  time.Time
	progArgs []string // os.Args[1:] as the program was started
)

func init() {
	progArgs = append([]string(nil), os.Args[1:]...)
	_, rest, err := runtime.ParseKwargs(progArgs)
	if err != nil {
		fmt.Fprintf(os.Stderr, "flor: %v\nusage: %s [args] --kwargs name=value ...\n", err, os.Args[0])
		os.Exit(2)
	}
	// The program's own flag parsing never sees --kwargs.
	os.Args = append(os.Args[:1:1], rest...)
}

// run returns the process's current run, making it on first use and
// after each Commit.
func run() *runtime.Run {
	if r := current.Load(); r != nil {
		return r
	}
	makeMu.Lock()
	defer makeMu.Unlock()
	if r := current.Load(); r != nil {
		return r
	}
	var r *runtime.Run
	var err error
	if last == nil {
		r, err = runtime.New(runtime.Options{Args: progArgs})
	} else {
		r, err = runtime.New(runtime.Options{Like: last, Start: lastEnd})
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	r.ForwardLate()
	if first == nil {
		first = r
	}
	current.Store(r)
	return r
}

// Log records value under name, in the context of the enclosing loops, and
// prints `epoch: 1, step: 500, name: value` unless the echo is off
// (FLOR_ECHO=0 or SetEcho(false)). It returns value, so it can wrap an
// expression. Numbers, strings and bools are stored as themselves; other
// values as JSON, or their fmt form when JSON fails. A value logged after
// Commit starts the process's next run.
func Log[T any](name string, value T) T {
	for {
		r := run()
		if runtime.Log(r, name, value) {
			return value
		}
		// r was committed under us: its successor records the value.
		current.CompareAndSwap(r, nil)
	}
}

// Arg returns hyper-parameter name: the value given on the command line as
// `--kwargs name=value`, cast to def's type, else def. The value is
// logged. In replay it returns the value the replayed run used. A value
// that does not parse stops the program with exit code 2.
func Arg[T ArgValue](name string, def T) T {
	return runtime.Arg(run(), name, def)
}

// Loop marks a loop: each element of seq opens an iteration of the loop
// name, which the values logged inside are recorded under. The outermost
// Loop is the main loop: the state registered with Checkpoint is saved at
// the end of each of its iterations. On a terminal, Loop draws a progress
// bar on standard error.
func Loop[T any](name string, seq iter.Seq[T]) iter.Seq[T] {
	return runtime.Loop(run(), name, seq)
}

// Range yields 0, 1, ..., n-1; with Loop it gives the progress bar its
// length.
func Range(n int) iter.Seq[int] { return runtime.Range(n) }

// NoIndex is the index of an Iteration that has none, FlorDB's None: a
// document known by its name, not its place. The dataframe shows -1 in the
// loop's column and the value in its _value column, so that the newest
// value per document (Latest) is keyed by the name.
//
//	end := flor.Iteration("document", flor.NoIndex, doc.Name)
const NoIndex = runtime.NoIndex

// Iteration opens one iteration named name with the given index (or
// NoIndex) and value around code that is not a loop; values logged until
// the returned func is called are recorded in it. The context is the
// process's: concurrent requests record through their own Unit instead.
//
//	end := flor.Iteration("document", i, doc.Name)
//	flor.Log("label", label)
//	end()
func Iteration[T any](name string, index int, value T) (end func()) {
	return runtime.IterationOf(run(), name, index, value)
}

// Checkpoint registers ptr, a pointer to training state (a model, an
// optimizer, an RNG such as *rand.PCG), under name. Its value is saved at
// the end of every iteration of the main loop and restored in replay. It
// must be a value encoding/gob handles, or implement
// encoding.BinaryMarshaler and encoding.BinaryUnmarshaler.
func Checkpoint(name string, ptr any) { run().Checkpoint(name, ptr) }

// RecordEnv declares environment variables that select what the program
// computes (a backend, a kernel, a thread count): each run records their
// values, and replay runs the run's version with them, as it rebuilds it
// with the recorded build tags and settings. A pattern ending in '*' is a
// prefix ("GOMLX_*"). Call it before the first flor call other than Arg;
// adapters call it from init.
func RecordEnv(patterns ...string) { runtime.RecordEnv(patterns...) }

// Commit ends the run: it records the time after the main loop, reports
// --kwargs that no Arg read, waits for checkpoints and syncs the records.
// Call it with defer at the top of main; a run that dies without it is
// shown as unfinished, with everything logged until about a second before.
//
// The next flor call starts a new run (FlorDB's flor.commit): a new
// tstamp, the Arg values recorded again, and a new snapshot only when the
// code changed. Commit with no flor call since the last Commit does
// nothing. Call it outside every Loop.
func Commit() error {
	makeMu.Lock()
	r := current.Load()
	if r == nil && first != nil {
		makeMu.Unlock()
		return nil // nothing since the last Commit
	}
	makeMu.Unlock()
	if r == nil {
		r = run() // a program that calls only Commit still records a run
	}
	// Calls from now on go to the next run, made like this one.
	makeMu.Lock()
	if !current.CompareAndSwap(r, nil) {
		makeMu.Unlock()
		return nil // another goroutine's Commit took it
	}
	last, lastEnd = r, time.Now()
	makeMu.Unlock()
	var err error
	if runtime.Panicking() {
		err = r.CommitFailed()
	} else {
		err = r.Commit()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "flor: %v\n", err)
	}
	return err
}

// SetEcho turns the printing of logged values on or off; they are recorded
// either way.
func SetEcho(on bool) { run().SetEcho(on) }

// SkipStart opens a skip block around a loop nested in the main loop and
// reports whether to run it. It is written by `florc instrument`, not by
// hand: recording, the block always runs and its end state is captured;
// in replay a block without new statements is skipped and SkipEnd restores
// its effects. ptrs point to variables the block changes that Checkpoint
// does not cover.
func SkipStart(id string, ptrs ...any) bool { return run().SkipStart(id, ptrs...) }

// SkipEnd closes the skip block id opened by SkipStart.
func SkipEnd(id string) { run().SkipEnd(id) }
