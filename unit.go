package flor

import (
	"iter"

	"github.com/flordb/flor/runtime"
)

// Unit is one run recorded by one piece of work among many at once, such
// as a web request saving a human's labels: its values, loops and
// iterations are its own (never interleaved with another unit's or the
// process's), and Commit writes the whole run at once, so a reader sees
// all of it or none. Each unit is a run with its own tstamp, the process's
// identity and kwargs, and the process's code snapshot (taken once).
//
//	u := flor.Begin()
//	defer u.Commit()
//	end := u.Iteration("document", flor.NoIndex, name)
//	for i := range u.Loop("page", len(labels)) {
//		u.Log("page_color", labels[i])
//	}
//	end()
//
// A Unit is for one goroutine at a time; Begin and Commit are safe from
// any number of goroutines. Units are not replayed: in a replay, Begin
// returns a unit that records nothing.
type Unit struct {
	r *runtime.Run
}

// Begin starts a unit.
func Begin() *Unit {
	r, err := runtime.New(runtime.Options{Like: run(), Unit: true})
	if err != nil {
		return &Unit{} // a replay: record nothing
	}
	return &Unit{r: r}
}

// Log records value under name in the unit's current loop context.
func (u *Unit) Log(name string, value any) {
	if u.r != nil {
		runtime.Log(u.r, name, value)
	}
}

// LogTo records value under name in unit u and returns it; unlike
// u.Log it does not box numbers, strings and bools.
func LogTo[T any](u *Unit, name string, value T) T {
	if u.r != nil {
		runtime.Log(u.r, name, value)
	}
	return value
}

// Loop marks a loop of n iterations in the unit, yielding 0..n-1.
func (u *Unit) Loop(name string, n int) iter.Seq[int] {
	return LoopIn(u, name, Range(n))
}

// LoopIn marks a loop over seq in unit u, as Loop does for the process's
// run.
func LoopIn[T any](u *Unit, name string, seq iter.Seq[T]) iter.Seq[T] {
	if u.r == nil {
		return seq
	}
	return runtime.Loop(u.r, name, seq)
}

// Iteration opens one iteration of the unit named name, with an index (or
// NoIndex) and a value; the returned func closes it.
func (u *Unit) Iteration(name string, index int, value any) (end func()) {
	if u.r == nil {
		return func() {}
	}
	return runtime.IterationOf(u.r, name, index, value)
}

// Checkpoint registers state of the unit, as Checkpoint does for the
// process's run.
func (u *Unit) Checkpoint(name string, ptr any) {
	if u.r != nil {
		u.r.Checkpoint(name, ptr)
	}
}

// Commit ends the unit and writes its run file in one piece (synced, then
// linked into runs/). Later calls do nothing; values logged after it are
// not recorded.
func (u *Unit) Commit() error {
	if u.r == nil {
		return nil
	}
	if runtime.Panicking() {
		return u.r.CommitFailed()
	}
	return u.r.Commit()
}

// Tstamp is the unit's run's tstamp (RFC 3339, microseconds), known once
// it logged or committed.
func (u *Unit) Tstamp() string {
	if u.r == nil {
		return ""
	}
	return u.r.Tstamp
}

// Process records into the process's current run; it is what
// reader.RecordReads takes for a program's own run (a *Unit records
// into the unit).
var Process process

type process struct{}

// Log records value under name in the process's current run (as Log).
func (process) Log(name string, value any) { Log(name, value) }
