package runtime

import (
	"iter"
	"sync"
	"time"
	"unsafe"

	"github.com/flordb/flor/internal/record"
)

type frameKind uint8

const (
	frameLoop frameKind = iota
	frameIteration
)

// frame is one open loop (or named iteration) on the context stack.
type frame struct {
	name   string
	qname  string // name as a JSON string
	kind   frameKind
	iter   int64
	val    scalar
	ctx    int64 // context id of the current iteration; 0 = not written yet
	rec    int64 // replay: the recorded context of the iteration; 0 = not looked up, -1 none
	total  int   // number of iterations when known, else -1
	isMain bool
	block  bool      // a nested loop directly in the main loop: a skip block
	occ    int       // occurrence of this block in the main iteration
	begun  time.Time // start of the loop (blocks) or of the iteration (main)
	// occurrences of each block id within the current main iteration
	occs map[string]int
}

// loopState is what the generic Loop keeps between calls into the Run.
type loopState struct {
	r    *Run
	f    *frame
	skip bool // replay: the loop does not run
	// replay range of the main loop
	first, stop int64
	restoreAt   int64 // iteration before which the state is restored; -1 none
}

// rangeMemo lets Loop know the length of a sequence made by Range, for
// progress bars, without changing Range's type.
var rangeMemo struct {
	sync.Mutex
	fn unsafe.Pointer
	n  int
}

// Range yields 0, 1, ..., n-1.
func Range(n int) iter.Seq[int] {
	seq := func(yield func(int) bool) {
		for i := range n {
			if !yield(i) {
				return
			}
		}
	}
	rangeMemo.Lock()
	rangeMemo.fn, rangeMemo.n = funcPtr(seq), n
	rangeMemo.Unlock()
	return seq
}

func funcPtr[T any](seq iter.Seq[T]) unsafe.Pointer {
	return *(*unsafe.Pointer)(unsafe.Pointer(&seq))
}

func seqLen[T any](seq iter.Seq[T]) int {
	p := funcPtr(seq)
	rangeMemo.Lock()
	defer rangeMemo.Unlock()
	if rangeMemo.fn == p && p != nil {
		return rangeMemo.n
	}
	return -1
}

// Loop wraps seq so that each element opens an iteration of the loop name.
// The outermost Loop is the main loop: its iterations are checkpointed and,
// in replay, run only over the planned range. A Loop nested directly in
// the main loop is a skip block: its end state is captured when recording,
// and in replay it is skipped and restored when it holds no new statement.
func Loop[T any](r *Run, name string, seq iter.Seq[T]) iter.Seq[T] {
	if r.off {
		return seq
	}
	total := seqLen(seq)
	return func(yield func(T) bool) {
		ls := r.enterLoop(name, total)
		if ls.skip {
			return
		}
		defer ls.exit()
		var i int64 = -1
		for v := range seq {
			i++
			if !ls.next(i, scalarOfT(v)) {
				continue
			}
			ok := yield(v)
			if !ls.endIteration() || !ok {
				return
			}
		}
	}
}

// scalarOfT classifies a value without boxing the common kinds; it is
// zero for values that are not scalars (structs, slices, maps).
func scalarOfT[T any](v T) scalar {
	switch x := any(v).(type) {
	case float64:
		return scalar{kind: TypeFloat, f: x}
	case int:
		return scalar{kind: TypeInt, i: int64(x)}
	case int64:
		return scalar{kind: TypeInt, i: x}
	case string:
		return scalar{kind: TypeStr, s: x}
	case bool:
		return boolScalar(x)
	case int32:
		return scalar{kind: TypeInt, i: int64(x)}
	case uint32:
		return scalar{kind: TypeInt, i: int64(x)}
	case uint64:
		return uintScalar(x)
	case uint:
		return uintScalar(uint64(x))
	case float32:
		return scalar{kind: TypeFloat, f: float64(x)}
	}
	// Other numbers, named ones included (type Step int): boxed, rarer.
	if s := scalarOf(any(v)); s.isLoopValue() {
		return s
	}
	return scalar{}
}

// enterLoop pushes a loop frame and decides, in replay, whether it runs.
func (r *Run) enterLoop(name string, total int) *loopState {
	if err := r.ensureStarted(); err != nil {
		r.fatal(err)
	}
	ls := &loopState{r: r, restoreAt: -1, stop: -1}
	f := &frame{name: name, qname: string(record.AppendString(nil, name)), kind: frameLoop, iter: -1, total: total, begun: time.Now()}
	ls.f = f
	r.w.mu.Lock()
	switch inner := r.innerLoopLocked(); {
	case r.main == nil && !r.mainSeen && inner == nil:
		f.isMain = true
		r.main = f
		r.mainSeen = true
		f.occs = map[string]int{}
	case r.main != nil && inner == r.main && len(r.blocks) == 0:
		f.block = true
		f.occ = r.main.occs[name]
		r.main.occs[name]++
	}
	r.w.mu.Unlock()

	if f.isMain {
		if r.replay == nil {
			r.log("delta::prefix", scalar{kind: TypeFloat, f: time.Since(r.began).Seconds()}, flagInternal)
			r.warnUnusedKwargs()
		} else {
			switch r.replay.plan.Mode {
			case ModePrefix:
				r.exitNow()
			case ModeSuffix:
				r.restoreLast()
				r.w.mu.Lock()
				r.main = nil
				r.w.mu.Unlock()
				ls.skip = true
				return ls
			}
			ls.first, ls.stop = r.replay.plan.Start, r.replay.plan.Stop
			if ls.first > 0 {
				ls.restoreAt = ls.first
			}
		}
	}
	if f.block && r.replay != nil {
		if c, ok := r.replay.skippable(r.main.iter, name, f.occ, 0, r.registeredNames()); ok {
			r.restore(c, nil)
			ls.skip = true
			return ls
		}
	}
	r.w.mu.Lock()
	r.stack = append(r.stack, f)
	r.w.mu.Unlock()
	if r.progress != nil {
		r.progress.push(f)
	}
	return ls
}

// innerLoopLocked is the innermost open loop, skipping named iterations
// (flor.Iteration), which do not change what the main loop is.
func (r *Run) innerLoopLocked() *frame {
	for i := len(r.stack) - 1; i >= 0; i-- {
		if r.stack[i].kind == frameLoop {
			return r.stack[i]
		}
	}
	return nil
}

// next opens iteration i with element v. It reports false when the
// iteration is outside the replay range and must not run.
func (ls *loopState) next(i int64, v scalar) bool {
	r, f := ls.r, ls.f
	if f.isMain && r.replay != nil && i < ls.first {
		return false
	}
	if i == ls.restoreAt {
		// A worker starting mid-run begins from the state at the end of
		// the iteration before its range.
		r.restoreIteration(i - 1)
	}
	r.w.mu.Lock()
	f.iter = i
	f.val = v
	f.ctx = 0
	f.rec = 0
	if f.isMain {
		f.begun = time.Now()
		clear(f.occs)
		if r.replay != nil {
			r.replay.iterRestored = r.replay.restoredNs.Load()
		}
	}
	r.w.mu.Unlock()
	if r.progress != nil {
		r.progress.step(f)
	}
	return true
}

// endIteration closes the current iteration. It reports false when the
// loop must stop (the end of a replay range).
func (ls *loopState) endIteration() bool {
	r, f := ls.r, ls.f
	if !f.isMain {
		return true
	}
	if r.replay == nil {
		r.log("delta::iteration", scalar{kind: TypeFloat, f: time.Since(f.begun).Seconds()}, flagInternal)
		r.capture(f.iter, "", 0, nil, false, false)
		return true
	}
	r.restoreElided(f.iter, ls.stop >= 0 && f.iter+1 >= ls.stop)
	r.replay.iterationDone(f.iter, f.begun, r.replay.iterRestored)
	if ls.stop >= 0 && f.iter+1 >= ls.stop {
		// The range of this worker is done; the next worker goes on.
		r.exitNow()
	}
	return true
}

// exit pops the loop frame when the loop ends, normally or not.
func (ls *loopState) exit() {
	r, f := ls.r, ls.f
	r.w.mu.Lock()
	if n := len(r.stack); n > 0 && r.stack[n-1] == f {
		r.stack = r.stack[:n-1]
	} else {
		// A loop left by a panic or goto through an inner one: drop
		// everything above it too.
		for i := len(r.stack) - 1; i >= 0; i-- {
			if r.stack[i] == f {
				r.stack = r.stack[:i]
				break
			}
		}
	}
	if f.isMain {
		r.main = nil
		r.mainEnded = time.Now()
	}
	r.w.mu.Unlock()
	if r.progress != nil {
		r.progress.pop(f)
	}
	switch {
	case f.block && r.replay == nil:
		// Recorded in the main iteration's context: the block's parent.
		r.log("delta::"+f.name, scalar{kind: TypeFloat, f: time.Since(f.begun).Seconds()}, flagInternal)
		r.capture(r.mainIter(), f.name, f.occ, nil, false, false)
	case f.isMain && r.replay != nil && !r.replay.plan.Suffix && !Panicking():
		// A panic must reach the user, not end the worker as finished.
		r.exitNow()
	case f.isMain && r.replay == nil && !Panicking():
		// The state after the main loop is always kept, whatever the
		// capture budget skipped: replaying the code after the loop
		// starts from it.
		if f.iter >= 0 && r.lastCaptured.Load() != f.iter+1 {
			r.capture(f.iter, "", 0, nil, false, true)
		}
		// Everything logged in the main loop is on disk now, even if the
		// program ends without Commit.
		r.sync()
	}
}

func (r *Run) mainIter() int64 {
	r.w.mu.Lock()
	defer r.w.mu.Unlock()
	if r.main == nil {
		return -1
	}
	return r.main.iter
}

// Iteration opens one named iteration around code that is not a loop; the
// returned func closes it.
func (r *Run) Iteration(name string, index int, v scalar) func() {
	if r.off {
		return func() {}
	}
	if err := r.ensureStarted(); err != nil {
		r.fatal(err)
	}
	f := &frame{name: name, qname: string(record.AppendString(nil, name)), kind: frameIteration, iter: int64(index), val: v, total: -1}
	r.w.mu.Lock()
	r.stack = append(r.stack, f)
	r.w.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			r.w.mu.Lock()
			for i := len(r.stack) - 1; i >= 0; i-- {
				if r.stack[i] == f {
					r.stack = append(r.stack[:i], r.stack[i+1:]...)
					break
				}
			}
			r.w.mu.Unlock()
		})
	}
}
