package runtime

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// flushInterval bounds how much a crash can lose: records older than this
// are in the operating system's hands.
const flushInterval = time.Second

// flushSize makes a burst of logging flush before the interval is up, so
// the buffer stays small.
const flushSize = 1 << 20

// recordWriter appends records to a run file. Producers append to buf, or
// queue log records in logs (see queue.go), under mu; a background
// goroutine swaps them out, encodes and writes them, so the training
// goroutine waits on the disk only for the few records written through
// (see wantWriteThroughLocked).
type recordWriter struct {
	mu   sync.Mutex
	buf  []byte
	q    logQueue // log records not yet encoded, placed among buf's bytes
	file *os.File
	path string

	kick     chan struct{}
	done     chan struct{}
	closed   chan struct{}
	fault    writeFault // guarded by wmu
	spare    batch      // the buffers of the last batch written, for the next; guarded by mu
	busy     bool       // a flush is encoding a batch of busyLogs or more; guarded by mu
	kicked   bool       // asked for a flush of the buffer as it is; guarded by mu
	enc      logEncoder // guarded by wmu
	out      []byte     // buf with logs encoded; guarded by wmu
	wmu      sync.Mutex // serialises writes to file
	shut     bool       // closed; guarded by wmu
	stopOnce sync.Once
	// write-through budget, guarded by mu
	windowStart int64
	windowCount int
}

// A record that arrives at an empty buffer goes to the file at once, up to
// throughBudget times per throughWindow: a program that logs rarely, or
// ends without Commit, keeps everything it logged, while a busy logger
// pays for at most a few hundred writes a second and otherwise buffers.
const (
	throughWindow = 100 * time.Millisecond
	throughBudget = 16
)

// wantWriteThroughLocked reports whether the record just appended to a
// buffer that was empty should be written now. Called with mu held.
func (w *recordWriter) wantWriteThroughLocked(wasEmpty bool) bool {
	if !wasEmpty || w.file == nil {
		return false
	}
	if w.busy {
		// The writer is encoding a burst of records: waiting for it would
		// cost the caller that whole batch. It goes on with this record
		// once it is done.
		w.kickLocked()
		return false
	}
	now := time.Now().UnixNano()
	if now-w.windowStart >= int64(throughWindow) {
		w.windowStart, w.windowCount = now, 0
	}
	if w.windowCount >= throughBudget {
		return false
	}
	w.windowCount++
	return true
}

// newRecordWriter makes a writer that buffers until start gives it a file.
// Write faults are reported on stderr.
func newRecordWriter(stderr io.Writer) *recordWriter {
	return &recordWriter{
		fault:  writeFault{stderr: stderr, bound: maxPending},
		buf:    make([]byte, 0, 64<<10),
		spare:  batch{raw: make([]byte, 0, 64<<10)},
		kick:   make(chan struct{}, 1),
		done:   make(chan struct{}),
		closed: make(chan struct{}),
	}
}

// start gives the writer its file and starts the background flushes.
func (w *recordWriter) start(f *os.File) {
	w.wmu.Lock()
	w.mu.Lock() // producers look at file under mu
	w.file = f
	w.path = f.Name()
	w.mu.Unlock()
	w.wmu.Unlock()
	go w.loop()
}

func (w *recordWriter) loop() {
	defer close(w.closed)
	t := time.NewTicker(flushInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			w.flush()
			w.keepAlive(time.Now())
			w.wmu.Lock()
			w.checkPath()
			w.wmu.Unlock()
		case <-w.kick:
			w.flush()
		case <-w.done:
			w.flush()
			return
		}
	}
}

// flush writes whatever is buffered. Safe to call from any goroutine.
func (w *recordWriter) flush() {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	w.mu.Lock()
	if w.file == nil {
		w.mu.Unlock()
		return // records before the start wait for the file
	}
	b := w.swapLocked()
	w.mu.Unlock()
	var cur cursor
	for done := false; !done; {
		var out []byte
		out, done = w.encode(&b, &cur)
		if !w.shut && (len(out) > 0 || len(w.fault.pending) > 0) {
			w.writeOut(out) // what does not go through is kept in w.fault
		}
	}
	w.recycle(b)
}

// maybeKick asks the background goroutine for an early flush when the
// buffer has grown large. Called with mu held.
func (w *recordWriter) maybeKickLocked() {
	if !w.kicked && (len(w.buf) >= flushSize || w.q.n >= flushLogs) {
		w.kicked = true // once per batch: the next swap takes it all
		w.kickLocked()
	}
}

// kickLocked asks the background goroutine for a flush.
func (w *recordWriter) kickLocked() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// close flushes, syncs and closes the file. Later calls do nothing.
func (w *recordWriter) close() error {
	w.wmu.Lock()
	started := w.file != nil && !w.shut
	w.wmu.Unlock()
	if !started {
		return nil
	}
	w.stopOnce.Do(func() { close(w.done) })
	<-w.closed
	w.flush()
	w.wmu.Lock()
	defer w.wmu.Unlock()
	if w.shut {
		return nil
	}
	w.checkPath()
	w.shut = true
	err := w.lostErr()
	if serr := w.file.Sync(); serr != nil && err == nil {
		err = fmt.Errorf("syncing %s: %w", w.path, serr)
	}
	if cerr := w.file.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("closing %s: %w", w.path, cerr)
	}
	return err
}
