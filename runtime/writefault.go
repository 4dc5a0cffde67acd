package runtime

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrLost: records of the run could not be written to its file (a full
// disk, a read-only file system, a removed run file). Commit returns it
// with the number of records lost.
var ErrLost = errors.New("records lost")

// errRemoved is the cause given when the run file's path no longer names
// the file being written: whatever is written goes to a file nobody can
// open.
var errRemoved = errors.New("the run file was removed or replaced while recording")

// maxPending bounds the records kept in memory while the run file cannot
// be written: a long run on a full disk keeps its first 64 MiB of records
// for a retry, and counts the rest as lost rather than growing without end.
const maxPending = 64 << 20

// writeFault is a record writer's state when writes fail. Guarded by the
// writer's wmu.
type writeFault struct {
	stderr    io.Writer // where the fault is reported, once
	bound     int       // maxPending; tests lower it
	pending   []byte    // bytes not yet in the file, oldest first
	cause     error     // the last write error; nil while writes work
	reported  bool
	recovered bool  // writes worked again after the fault was reported
	dropped   int   // records that did not fit within bound
	inFile    int   // records fully written to the file
	removed   bool  // the path no longer names the open file
	lostCause error // the first cause of a loss, for Commit's error
}

// writeOut writes pending bytes and then out, keeping what does not go
// through for the next flush. Called with wmu held.
func (w *recordWriter) writeOut(out []byte) {
	f := &w.fault
	if f.removed {
		f.dropped += bytes.Count(out, newline)
		return
	}
	if len(f.pending) > 0 {
		n, err := w.file.Write(f.pending)
		f.inFile += bytes.Count(f.pending[:n], newline)
		if err != nil {
			f.pending = f.pending[:copy(f.pending, f.pending[n:])]
			w.keep(out)
			w.failed(err)
			return
		}
		f.pending = f.pending[:0]
	}
	if len(out) == 0 {
		w.worked()
		return
	}
	n, err := w.file.Write(out)
	f.inFile += bytes.Count(out[:n], newline)
	if err != nil {
		w.keep(out[n:])
		w.failed(err)
		return
	}
	w.worked()
}

var newline = []byte{'\n'}

// keep adds b to the pending bytes, up to the bound; the whole records
// beyond it are counted as lost.
func (w *recordWriter) keep(b []byte) {
	f := &w.fault
	room := f.bound - len(f.pending)
	if len(b) > room {
		cut := bytes.LastIndexByte(b[:max(room, 0)], '\n') + 1
		f.dropped += bytes.Count(b[cut:], newline)
		if f.lostCause == nil {
			f.lostCause = fmt.Errorf("more than %d MiB of records waited to be written", f.bound>>20)
		}
		b = b[:cut]
	}
	f.pending = append(f.pending, b...)
}

// failed reports the first write error at once: training goes on, and the
// user should know that its records are not reaching the disk.
func (w *recordWriter) failed(err error) {
	f := &w.fault
	f.cause = err
	if f.reported {
		return
	}
	f.reported = true
	fmt.Fprintf(f.stderr, "flor: error: %v; the records not yet written are kept in memory (up to %d MiB) and retried every second\n",
		pathError(w.path, err), f.bound>>20)
}

// worked notes a write that went through, and says so once if it follows
// a reported fault.
func (w *recordWriter) worked() {
	f := &w.fault
	if f.cause == nil {
		return
	}
	f.cause = nil
	if !f.recovered {
		f.recovered = true
		if f.dropped == 0 {
			fmt.Fprintf(f.stderr, "flor: writing %s works again; no records were lost\n", w.path)
		} else {
			fmt.Fprintf(f.stderr, "flor: writing %s works again; %d records were lost\n", w.path, f.dropped)
		}
	}
}

// checkPath reports a run file that was removed or replaced (a removed
// flor home, say): the open file still takes writes, but nobody will read
// them. Called with wmu held.
func (w *recordWriter) checkPath() {
	f := &w.fault
	if f.removed || w.file == nil {
		return
	}
	open, err := w.file.Stat()
	if err != nil {
		return
	}
	if now, err := os.Stat(w.path); err == nil && os.SameFile(open, now) {
		return
	}
	f.removed = true
	// What went to the removed file is gone with it.
	f.dropped += f.inFile + bytes.Count(f.pending, newline)
	f.inFile, f.pending = 0, f.pending[:0]
	f.cause, f.lostCause = errRemoved, errRemoved
	f.reported = true
	fmt.Fprintf(f.stderr, "flor: error: %s: %v; the records of this run are lost\n", w.path, errRemoved)
}

// lostErr is Commit's error when records did not reach the file.
// Called with wmu held, after the last flush.
func (w *recordWriter) lostErr() error {
	f := &w.fault
	lost := f.dropped + bytes.Count(f.pending, newline)
	if len(f.pending) > 0 && f.pending[len(f.pending)-1] != '\n' {
		lost++ // cannot happen today: every record ends in a newline
	}
	if lost == 0 {
		return nil
	}
	cause := f.cause
	if cause == nil {
		cause = f.lostCause
	}
	return fmt.Errorf("%w: %d %s not written to %s: %w", ErrLost, lost, plural(lost, "record was", "records were"), w.path, cause)
}

// pathError names the path in err unless it does already.
func pathError(path string, err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return err
	}
	return fmt.Errorf("writing %s: %w", path, err)
}
