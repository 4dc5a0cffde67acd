package runtime

import (
	"math"
	"unsafe"

	"github.com/flordb/flor/internal/record"
)

// A logged value is queued as it was given (name, kind, raw value, loop
// context) and encoded when the buffer is written, by the writer's
// goroutine in the common case: formatting a float takes longer than the
// rest of Log, and the training goroutine need not wait for it.
//
// Queued records keep their place among the records written into the
// buffer as bytes (contexts, args, checkpoints, warnings): each remembers
// the buffer's length when it was logged, and encoding writes it there.
// The file receives the same bytes, in the same order, as if every record
// had been encoded at once.

// queuedLog is a log record not yet encoded. It holds no pointer, so a
// chunk of them costs the garbage collector nothing to scan: the name is
// an id in the writer's name table, a string value (or the name, past
// maxNames) an index in its strs.
type queuedLog struct {
	at   int    // len(buf) when it was logged: its place among the buffer's bytes
	ctx  int64  // loop context
	bits uint64 // the int (or bool) or the float's bits; for strings, the index in strs
	name uint32 // id in names; with nameInStrs, the index in strs
	code record.TypeCode
	flag record.Flags
}

// nameInStrs marks a name kept in strs rather than in the name table.
const nameInStrs = 1 << 31

// flushLogs makes a burst of logging flush early, as flushSize does for
// bytes: about a megabyte of records.
const flushLogs = 16 << 10

// maxQueued bounds the queue: a loop that logs faster than the writer
// encodes (a million values a second) waits for it, encoding in its
// turn, rather than growing the queue without end. 64 MiB of records.
const maxQueued = 64 << 20 / int(unsafe.Sizeof(queuedLog{}))

// busyLogs is the size of a batch whose encoding a record written through
// does not wait for (see wantWriteThroughLocked). A smaller batch is
// written as fast as before records were queued: a program that logs
// rarely still has each value on disk when Log returns.
const busyLogs = 1024

// maxNames bounds the name table: names repeat, but a program that makes
// a name per value must not grow it without end.
const maxNames = 4096

// chunkLogs is the most records a chunk of the queue holds: 128 KiB.
// Records go into chunks that never move, so a queue that grows while
// the writer is busy copies nothing; written chunks are used again.
const chunkLogs = 4096

// firstChunkLogs is the first chunk's size: a unit that logs a few values
// does not pay for a whole chunk.
const firstChunkLogs = 64

// logQueue is the writer's queue of log records and the names they use.
// Guarded by the writer's mu.
type logQueue struct {
	cur      []queuedLog       // the chunk being filled
	full     [][]queuedLog     // filled chunks, oldest first
	n        int               // records queued
	free     [][]queuedLog     // written chunks of chunkLogs, for reuse
	strs     []string          // string values, and names past maxNames
	names    []string          // id -> name; append-only, so the writer reads it outside mu
	ids      map[string]uint32 // name -> id
	lastName string            // one-entry cache in front of ids
	lastID   uint32
}

// nameID interns name.
func (q *logQueue) nameID(name string) uint32 {
	if name == q.lastName && len(q.names) > 0 {
		return q.lastID
	}
	id, ok := q.ids[name]
	if !ok {
		if len(q.names) >= maxNames {
			q.strs = append(q.strs, name)
			return uint32(len(q.strs)-1) | nameInStrs
		}
		if q.ids == nil {
			q.ids = map[string]uint32{}
		}
		id = uint32(len(q.names))
		q.names = append(q.names, name)
		q.ids[name] = id
	}
	q.lastName, q.lastID = name, id
	return id
}

// push queues a log record at offset at.
func (q *logQueue) push(at int, ctx int64, name string, v scalar, flag record.Flags) {
	l := queuedLog{at: at, ctx: ctx, name: q.nameID(name), code: kindCode(v.kind), flag: flag}
	switch l.code {
	case record.CodeInt, record.CodeBool:
		l.bits = uint64(v.i)
	case record.CodeFloat:
		l.bits = math.Float64bits(v.f)
	case record.CodeStr, record.CodeJSON:
		l.bits = uint64(len(q.strs))
		q.strs = append(q.strs, v.s)
	}
	if len(q.cur) == cap(q.cur) {
		q.grow()
	}
	q.cur = append(q.cur, l)
	q.n++
}

// grow starts a new chunk.
func (q *logQueue) grow() {
	if q.cur != nil {
		q.full = append(q.full, q.cur)
	}
	switch {
	case len(q.free) > 0:
		q.cur = q.free[len(q.free)-1][:0]
		q.free = q.free[:len(q.free)-1]
	case cap(q.cur) == 0:
		q.cur = make([]queuedLog, 0, firstChunkLogs)
	default:
		q.cur = make([]queuedLog, 0, min(2*cap(q.cur), chunkLogs))
	}
}

// chunks is the queue's chunks, oldest first.
func (q *logQueue) chunks() [][]queuedLog {
	if len(q.cur) == 0 {
		return q.full
	}
	return append(q.full, q.cur)
}

// each calls f on every queued record, in order.
func (q *logQueue) each(f func(*queuedLog)) {
	for _, c := range q.chunks() {
		for i := range c {
			f(&c[i])
		}
	}
}

// reset empties the queue, keeping its chunks of chunkLogs for reuse.
func (q *logQueue) reset() {
	q.recycle(q.chunks())
	q.cur, q.full, q.n = nil, q.full[:0], 0
}

// maxFreeChunks bounds the chunks kept for reuse (4 MiB): a loop that
// logs faster than the writer encodes fills chunks while the writer
// works, and chunks used again are in the cache, fresh ones are not.
const maxFreeChunks = 32

// recycle keeps written chunks for reuse.
func (q *logQueue) recycle(chunks [][]queuedLog) {
	for _, c := range chunks {
		if cap(c) == chunkLogs && len(q.free) < maxFreeChunks {
			q.free = append(q.free, c[:0])
		}
	}
}

// kindCode is the code of a scalar's kind; "" (none) is CodeNone.
func kindCode(kind string) record.TypeCode {
	switch kind {
	case TypeFloat:
		return record.CodeFloat
	case TypeInt:
		return record.CodeInt
	case TypeStr:
		return record.CodeStr
	case TypeBool:
		return record.CodeBool
	case TypeJSON:
		return record.CodeJSON
	}
	return record.CodeNone
}

// scalar is the value l holds.
func (l *queuedLog) scalar(strs []string) scalar {
	s := scalar{kind: l.code.String()}
	switch l.code {
	case record.CodeInt, record.CodeBool:
		s.i = int64(l.bits)
	case record.CodeFloat:
		s.f = math.Float64frombits(l.bits)
	case record.CodeStr, record.CodeJSON:
		s.s = strs[l.bits]
	}
	return s
}

// batch is what a flush takes from the queue: the buffer's bytes and the
// records queued among them.
type batch struct {
	raw   []byte
	logs  [][]queuedLog // chunks
	n     int           // records in logs
	strs  []string
	names []string // the name table as it was: entries below its length never change
}

// logEncoder encodes batches. It keeps the names quoted, by id; it
// belongs to whoever holds the writer's wmu.
type logEncoder struct {
	quoted []string
}

// quoteName is name as a JSON string literal.
func quoteName(name string) string { return string(record.AppendString(nil, name)) }

// cursor is how far the encoding of a batch has got: the chunk, the
// record in it, and the bytes of raw already copied.
type cursor struct{ chunk, i, prev int }

// merge appends to dst the bytes of b, from cur on, with the queued
// records encoded at their places. It stops at a record's end once dst
// holds limit bytes, and reports whether b is all in.
func (e *logEncoder) merge(dst []byte, b *batch, cur *cursor, limit int) ([]byte, bool) {
	for i := len(e.quoted); i < len(b.names); i++ {
		e.quoted = append(e.quoted, quoteName(b.names[i]))
	}
	for ; cur.chunk < len(b.logs); cur.chunk, cur.i = cur.chunk+1, 0 {
		c := b.logs[cur.chunk]
		for ; cur.i < len(c); cur.i++ {
			if len(dst) >= limit {
				return dst, false
			}
			l := &c[cur.i]
			dst = append(dst, b.raw[cur.prev:l.at]...)
			cur.prev = l.at
			var qname string
			if l.name&nameInStrs != 0 {
				qname = quoteName(b.strs[l.name&^nameInStrs])
			} else {
				qname = e.quoted[l.name]
			}
			dst = appendLogRecord(dst, l.ctx, qname, l.scalar(b.strs), l.flag)
		}
	}
	dst = append(dst, b.raw[cur.prev:]...)
	cur.prev = len(b.raw)
	return dst, true
}

// appendLogRecord appends one log record: the one encoding of a log
// record, queued or not.
func appendLogRecord(b []byte, ctx int64, quotedName string, v scalar, flag record.Flags) []byte {
	b = record.AppendLog(b, ctx, quotedName, v.kind)
	b = v.appendJSON(b)
	return record.AppendLogEnd(b, flag)
}

// queueLocked queues a log record after the bytes buffered so far. It
// reports whether the queue is full: the caller then flushes. Called with
// mu held.
func (w *recordWriter) queueLocked(ctx int64, name string, v scalar, flag record.Flags) (full bool) {
	w.q.push(len(w.buf), ctx, name, v, flag)
	return w.q.n >= maxQueued
}

// emptyLocked reports whether nothing is buffered. Called with mu held.
func (w *recordWriter) emptyLocked() bool { return len(w.buf) == 0 && w.q.n == 0 }

// prependLocked puts b before everything buffered (the run's header
// before the args logged ahead of the start). Called with mu held.
func (w *recordWriter) prependLocked(b []byte) {
	w.buf = append(b, w.buf...)
	w.q.each(func(l *queuedLog) { l.at += len(b) })
}

// swapLocked takes everything buffered, leaving the spare buffers in its
// place. Called with mu held.
func (w *recordWriter) swapLocked() batch {
	b := batch{raw: w.buf, logs: w.q.chunks(), n: w.q.n, strs: w.q.strs, names: w.q.names}
	w.buf, w.q.strs = w.spare.raw[:0], w.spare.strs[:0]
	w.q.cur, w.q.full, w.q.n = nil, w.spare.logs[:0], 0
	w.spare = batch{}
	w.busy, w.kicked = b.n >= busyLogs, false
	return b
}

// recycle keeps b's buffers for the next swap. Called with wmu held.
func (w *recordWriter) recycle(b batch) {
	clear(b.strs) // the values are not kept alive
	w.mu.Lock()
	w.q.recycle(b.logs)
	clear(b.logs)
	w.spare = batch{raw: b.raw[:0], logs: b.logs[:0], strs: b.strs[:0]}
	w.busy = false
	w.mu.Unlock()
}

// encode returns the next piece of b as the file receives it, about
// flushSize bytes in w.out (all of raw when nothing was queued), and
// whether it is the last. Called with wmu held.
func (w *recordWriter) encode(b *batch, cur *cursor) ([]byte, bool) {
	if b.n == 0 {
		return b.raw, true
	}
	var done bool
	w.out, done = w.enc.merge(w.out[:0], b, cur, flushSize)
	return w.out, done
}

// takeLocked returns everything buffered, encoded, and empties the
// buffer: a unit's records at Commit. Called with wmu and mu held.
func (w *recordWriter) takeLocked() []byte {
	b := w.swapLocked()
	w.busy = false // nothing is written: the caller writes what it takes
	if b.n == 0 {
		return b.raw
	}
	out, _ := w.enc.merge(make([]byte, 0, len(b.raw)+64*b.n), &b, &cursor{}, math.MaxInt)
	return out
}

// dropLocked empties the buffer. Called with mu held.
func (w *recordWriter) dropLocked() {
	w.buf = w.buf[:0]
	w.q.reset()
	clear(w.q.strs)
	w.q.strs = w.q.strs[:0]
}
