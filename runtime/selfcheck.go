package runtime

import (
	"bytes"
	"fmt"
	"strconv"

	"github.com/flordb/flor/internal/record"
)

// Replay checks itself: a value the replayed code logs under a name the
// run recorded, in the same loop context, is compared byte for byte with
// the recorded one (as the recording encoder wrote it). A difference is
// written to the worker's output as a diverge record, which the planner
// reads before it publishes the run.
//
// The index is built from the one read of the run file that replay does
// anyway (readRecord): recorded contexts by (parent, loop name,
// iteration), and plain log values by (context, name), their bytes in one
// arena.

// ctxPath identifies a recorded context by its place: the recorded id of
// its parent (0 = none), its loop name and its iteration.
type ctxPath struct {
	parent int64
	name   string
	iter   int64
}

// valKey identifies the values logged under a name in a recorded context.
type valKey struct {
	ctx  int64
	name string
}

// recVal is one recorded value: its type and its bytes in the arena.
type recVal struct {
	t        record.TypeCode
	off, end int
}

// recEntry is the values recorded under one name in one context, in
// order, and how many of them the replay has logged so far.
type recEntry struct {
	vals []recVal
	next int
}

// ambiguous marks a context path the run holds more than once (a loop of
// the same name run twice in one iteration): which recorded context a
// replayed one is cannot be told, so its values are not checked.
const ambiguous = -1

// maxDivergeEcho bounds the divergences printed on stderr (to the
// worker's log); all of them are recorded.
const maxDivergeEcho = 10

type selfCheck struct {
	names   map[string]bool   // names with a plain recorded value
	ctxs    map[ctxPath]int64 // recorded context id, or ambiguous
	index   map[valKey]int    // into entries
	entries []recEntry
	arena   []byte
	intern  map[string]string // raw JSON name → name, while reading
	scratch []byte            // the replayed value's encoding
	// skippedIter is the main iteration in which a skip block was
	// skipped: a name logged more than once in that iteration's context
	// may have been logged in the block too, so its order is lost.
	skippedIter int64
	compared    int // values compared, diverged ones included
	diverged    int
}

func newSelfCheck() *selfCheck {
	return &selfCheck{names: map[string]bool{}, ctxs: map[ctxPath]int64{}, index: map[valKey]int{},
		intern: map[string]string{}, skippedIter: -1}
}

// name returns the decoded name of a raw JSON string, interned: names repeat.
func (sc *selfCheck) name(raw []byte) string {
	if s, ok := sc.intern[string(raw)]; ok {
		return s
	}
	s, _ := record.String(raw)
	sc.intern[string(raw)] = s
	return s
}

// addCtx indexes a recorded ctx record.
func (sc *selfCheck) addCtx(l record.Line) {
	c, ok1 := record.Int(l.Get(record.KeyCtx))
	p, _ := record.Int(l.Get(record.KeyParent))
	i, ok2 := record.Int(l.Get(record.KeyIter))
	n := l.Get(record.KeyName)
	if !ok1 || !ok2 || n == nil || c <= 0 {
		return
	}
	k := ctxPath{p, sc.name(n), i}
	if _, dup := sc.ctxs[k]; dup {
		sc.ctxs[k] = ambiguous
		return
	}
	sc.ctxs[k] = c
}

// addLog indexes a recorded log record; args and internal values are not
// the program's computations and are not checked.
func (sc *selfCheck) addLog(g record.Log) {
	if g.Flags != 0 {
		return
	}
	name := sc.name(g.N)
	sc.names[name] = true
	k := valKey{g.C, name}
	i, ok := sc.index[k]
	if !ok {
		i = len(sc.entries)
		sc.index[k] = i
		sc.entries = append(sc.entries, recEntry{})
	}
	off := len(sc.arena)
	sc.arena = append(sc.arena, g.V...)
	e := &sc.entries[i]
	e.vals = append(e.vals, recVal{t: g.T, off: off, end: len(sc.arena)})
}

// doneReading drops what only reading needed.
func (sc *selfCheck) doneReading() { sc.intern = nil }

// recordedCtxLocked returns the recorded id of the current context (0
// outside every loop), or ambiguous when the run has no such context or
// cannot tell which. Frames keep their id once looked up. Called with mu
// held.
func (r *Run) recordedCtxLocked(sc *selfCheck) int64 {
	var parent int64
	for _, f := range r.stack {
		if f.rec == 0 {
			id, ok := sc.ctxs[ctxPath{parent, f.name, f.iter}]
			if !ok {
				id = ambiguous
			}
			f.rec = id
		}
		if f.rec == ambiguous {
			return ambiguous
		}
		parent = f.rec
	}
	return parent
}

// checkLocked compares a value logged in replay with the one the run
// recorded under its name in this context, if any, and records a
// divergence. Called with mu held.
func (r *Run) checkLocked(name string, v scalar) {
	sc := r.replay.check
	c := r.recordedCtxLocked(sc)
	if c == ambiguous {
		return
	}
	i, ok := sc.index[valKey{c, name}]
	if !ok {
		return
	}
	e := &sc.entries[i]
	if e.next >= len(e.vals) {
		return // logged more often than recorded: nothing to compare with
	}
	rv := e.vals[e.next]
	e.next++
	if len(e.vals) > 1 && r.main != nil && sc.skippedIter == r.main.iter {
		return
	}
	sc.compared++
	sc.scratch = v.appendJSON(sc.scratch[:0])
	t := record.CodeOfType(v.kind)
	rec := sc.arena[rv.off:rv.end]
	if t == rv.t && bytes.Equal(sc.scratch, rec) {
		return
	}
	sc.diverged++
	at := r.contextTextLocked()
	r.w.buf = record.AppendDiverge(r.w.buf, name, at, rv.t, rec, t, sc.scratch)
	if sc.diverged <= maxDivergeEcho {
		d := record.Divergence{Name: name, At: at, RecType: rv.t, Recorded: rec, Type: t, Replayed: sc.scratch}
		fmt.Fprintf(r.stderr, "flor: warning: replay diverged: %s\n", d)
	}
}

// contextTextLocked spells the current context as diverge records do:
// "epoch 3, step 120". Called with mu held.
func (r *Run) contextTextLocked() string {
	var b []byte
	for i, f := range r.stack {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, f.name...)
		b = append(b, ' ')
		b = strconv.AppendInt(b, f.iter, 10)
	}
	return string(b)
}

// checks reports whether replay compares values logged under name.
func (rs *replayState) checks(name string) bool {
	return rs.check != nil && rs.check.names[name]
}
