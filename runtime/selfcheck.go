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
// anyway (readRecord), without a hash map entry per value: names get
// small ids; a context is found from its parent and loop name (a few
// pairs per run) and its iteration (a slice index); the names logged in a
// context are a short chain; the values' bytes are in one arena.

// childKey is a loop as seen from its parent context: the recorded id of
// the parent (0 = none) and the loop name's id.
type childKey struct {
	parent int64
	name   int32
}

// recVal is one recorded value: its type and its bytes in the arena.
type recVal struct {
	off, n uint32
	t      record.TypeCode
}

// recEntry is the values recorded under one name in one context, in
// order, and how many of them the replay has logged so far.
type recEntry struct {
	name  int32
	chain int32 // the context's next entry; -1 = none
	first recVal
	more  []recVal
	next  int32
}

func (e *recEntry) count() int32 { return 1 + int32(len(e.more)) }

func (e *recEntry) at(i int32) recVal {
	if i == 0 {
		return e.first
	}
	return e.more[i-1]
}

// ambiguous marks a context the run holds more than once at one place (a
// loop of the same name run twice in one iteration), or does not hold:
// which recorded context a replayed one is cannot be told, so its values
// are not checked.
const ambiguous = -1

// maxDivergeEcho bounds the divergences printed on stderr (to the
// worker's log); all of them are recorded.
const maxDivergeEcho = 10

// maxArena bounds the recorded bytes indexed (offsets are 32-bit);
// values past it are not checked.
const maxArena = 1<<32 - 1

type selfCheck struct {
	ids      map[string]int32 // name → id
	checked  []bool           // by name id: the name has a plain recorded value
	children map[childKey]int // into iters
	iters    [][]int64        // by iteration: the recorded context id, 0 none, or ambiguous
	lastKey  childKey         // one-entry cache in front of children, while reading
	lastIdx  int
	heads    []int32 // by recorded context id: its first entry, -1 none
	entries  []recEntry
	arena    []byte
	scratch  []byte // the replayed value's encoding
	// skippedIter is the main iteration in which a skip block was
	// skipped: a name logged more than once in that iteration's context
	// may have been logged in the block too, so its order is lost.
	skippedIter int64
	compared    int // values compared, diverged ones included
	diverged    int
}

// newSelfCheck makes an empty index sized for a run file of size bytes:
// growing it by appends would allocate several times what it keeps.
func newSelfCheck(size int64) *selfCheck {
	size = min(max(size, 0), 1<<30)
	return &selfCheck{ids: map[string]int32{}, children: map[childKey]int{}, skippedIter: -1, lastIdx: -1,
		heads:   make([]int32, 0, size/bytesPerCtx),
		entries: make([]recEntry, 0, size/bytesPerLog),
		arena:   make([]byte, 0, size/bytesPerLog*16)}
}

// The sizes of records in a typical run file (a log record of a float
// is about 55 bytes, a ctx record about 45), for sizing the index.
const (
	bytesPerLog = 60
	bytesPerCtx = 120
)

// idOfRaw returns the id of a raw JSON name, giving it one if new.
func (sc *selfCheck) idOfRaw(raw []byte) int32 {
	if len(raw) > 1 && raw[0] == '"' && bytes.IndexByte(raw, '\\') < 0 {
		// Plain names need no decoding, and the lookup does not allocate.
		if id, ok := sc.ids[string(raw[1:len(raw)-1])]; ok {
			return id
		}
	}
	s, _ := record.String(raw)
	id, ok := sc.ids[s]
	if !ok {
		id = int32(len(sc.checked))
		sc.ids[s] = id
		sc.checked = append(sc.checked, false)
	}
	return id
}

// head returns the slot of context c's first entry, growing heads.
func (sc *selfCheck) head(c int64) *int32 {
	for int64(len(sc.heads)) <= c {
		sc.heads = append(sc.heads, -1)
	}
	return &sc.heads[c]
}

// addCtx indexes a recorded ctx record.
func (sc *selfCheck) addCtx(l record.Line) {
	c, ok1 := record.Int(l.Get(record.KeyCtx))
	p, _ := record.Int(l.Get(record.KeyParent))
	i, ok2 := record.Int(l.Get(record.KeyIter))
	n := l.Get(record.KeyName)
	if !ok1 || !ok2 || n == nil || c <= 0 || i < 0 || i > 1<<40 {
		return
	}
	k := childKey{p, sc.idOfRaw(n)}
	if k != sc.lastKey || sc.lastIdx < 0 {
		idx, ok := sc.children[k]
		if !ok {
			idx = len(sc.iters)
			sc.children[k] = idx
			sc.iters = append(sc.iters, nil)
		}
		sc.lastKey, sc.lastIdx = k, idx
	}
	iters := &sc.iters[sc.lastIdx]
	for i >= int64(len(*iters)) {
		if i > int64(2*len(*iters)+1<<16) {
			return // sparse iterations (a flor.Iteration index): not checked
		}
		*iters = append(*iters, 0)
	}
	if (*iters)[i] != 0 {
		(*iters)[i] = ambiguous
	} else {
		(*iters)[i] = c
	}
	sc.head(c)
}

// addLog indexes a recorded log record; args and internal values are not
// the program's computations and are not checked.
func (sc *selfCheck) addLog(g record.Log) {
	if g.Flags != 0 || g.C < 0 || len(sc.arena)+len(g.V) > maxArena {
		return
	}
	id := sc.idOfRaw(g.N)
	sc.checked[id] = true
	v := recVal{off: uint32(len(sc.arena)), n: uint32(len(g.V)), t: g.T}
	sc.arena = append(sc.arena, g.V...)
	h := sc.head(g.C)
	for i := *h; i >= 0; i = sc.entries[i].chain {
		if e := &sc.entries[i]; e.name == id {
			e.more = append(e.more, v)
			return
		}
	}
	sc.entries = append(sc.entries, recEntry{name: id, chain: *h, first: v})
	*h = int32(len(sc.entries) - 1)
}

// doneReading is called once the run file is read.
func (sc *selfCheck) doneReading() {}

// recordedCtxLocked returns the recorded id of the current context (0
// outside every loop), or ambiguous when the run has no such context or
// cannot tell which. Frames keep their id once looked up. Called with mu
// held.
func (r *Run) recordedCtxLocked(sc *selfCheck) int64 {
	var parent int64
	for _, f := range r.stack {
		if f.rec == 0 {
			f.rec = ambiguous
			if id, ok := sc.ids[f.name]; ok {
				if idx, ok := sc.children[childKey{parent, id}]; ok && f.iter >= 0 && f.iter < int64(len(sc.iters[idx])) && sc.iters[idx][f.iter] != 0 {
					f.rec = sc.iters[idx][f.iter]
				}
			}
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
	if c == ambiguous || c >= int64(len(sc.heads)) {
		return
	}
	id := sc.ids[name]
	var e *recEntry
	for i := sc.heads[c]; i >= 0; i = sc.entries[i].chain {
		if sc.entries[i].name == id {
			e = &sc.entries[i]
			break
		}
	}
	if e == nil || e.next >= e.count() {
		return // not recorded here, or logged more often than recorded
	}
	rv := e.at(e.next)
	e.next++
	if e.count() > 1 && r.main != nil && sc.skippedIter == r.main.iter {
		return
	}
	sc.compared++
	sc.scratch = v.appendJSON(sc.scratch[:0])
	t := record.CodeOfType(v.kind)
	rec := sc.arena[rv.off : rv.off+rv.n]
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
	if rs.check == nil {
		return false
	}
	id, ok := rs.check.ids[name]
	return ok && rs.check.checked[id]
}
