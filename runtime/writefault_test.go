package runtime

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// lockedBuffer collects what the writer's goroutine and the test write.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func appendRecords(w *recordWriter, n int) {
	w.mu.Lock()
	for i := range n {
		w.buf = fmt.Appendf(w.buf, `{"k":"log","c":0,"n":"x","t":"int","v":%d}`+"\n", i)
	}
	w.mu.Unlock()
}

func TestFullDiskIsReportedOnceAndCounted(t *testing.T) {
	f, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skip("no /dev/full:", err)
	}
	var stderr lockedBuffer
	w := newRecordWriter(&stderr)
	w.start(f)
	appendRecords(w, 3)
	w.flush()
	appendRecords(w, 2)
	w.flush() // retried, fails again: not reported again
	want := "flor: error: write /dev/full: no space left on device; the records not yet written are kept in memory (up to 64 MiB) and retried every second\n"
	if got := stderr.String(); got != want {
		t.Errorf("stderr %q, want %q", got, want)
	}
	err = w.close()
	if !errors.Is(err, ErrLost) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("close: %v, want ErrLost and ENOSPC", err)
	}
	if want := "records lost: 5 records were not written to /dev/full: write /dev/full: no space left on device"; err.Error() != want {
		t.Errorf("close: %q, want %q", err, want)
	}
}

func TestPendingRecordsAreBounded(t *testing.T) {
	f, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skip("no /dev/full:", err)
	}
	w := newRecordWriter(&lockedBuffer{})
	w.fault.bound = 200
	w.start(f)
	for range 10 {
		appendRecords(w, 10)
		w.flush()
		if n := len(w.fault.pending); n > 200 || (n > 0 && w.fault.pending[n-1] != '\n') {
			t.Fatalf("pending %d bytes, want whole records within 200", n)
		}
	}
	if err := w.close(); !errors.Is(err, ErrLost) || !strings.Contains(err.Error(), "100 records were not written") {
		t.Errorf("close: %v, want 100 records lost", err)
	}
}

func TestRemovedRunFileIsReported(t *testing.T) {
	for _, replace := range []bool{false, true} {
		var stderr lockedBuffer
		r, err := New(Options{Dir: gitInit(t), Stdout: discard{}, Stderr: &stderr, Env: testEnv(nil)})
		if err != nil {
			t.Fatal(err)
		}
		Log(r, "before", 1)
		r.sync()
		if err := os.RemoveAll(r.Home); err != nil {
			t.Fatal(err)
		}
		if replace { // the path names something else now
			if err := os.MkdirAll(r.File, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		Log(r, "after", 2)
		err = r.Commit()
		if !errors.Is(err, ErrLost) || !errors.Is(err, errRemoved) {
			t.Fatalf("Commit: %v, want ErrLost for the removed file", err)
		}
		want := "flor: error: " + r.File + ": the run file was removed or replaced while recording; the records of this run are lost\n"
		if got := stderr.String(); got != want {
			t.Errorf("stderr %q, want %q", got, want)
		}
	}
}
