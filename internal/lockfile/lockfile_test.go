package lockfile

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// deadPID is the pid of a process that has exited and been waited for.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.ProcessState.Pid()
}

func hostname(t *testing.T) string {
	t.Helper()
	h, err := os.Hostname()
	if err != nil {
		t.Skip(err)
	}
	return h
}

// noFilesBut fails if dir holds anything but names.
func noFilesBut(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	if len(entries) != len(names) {
		t.Errorf("%s holds %v, want %v", dir, entries, names)
	}
}

func TestDeadOwnerIsTakenOver(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.lock")
	dead := deadPID(t)
	host := hostname(t)
	if err := os.WriteFile(path, fmt.Appendf(nil, "%d %s\n", dead, host), 0o644); err != nil {
		t.Fatal(err)
	}
	var took []Owner
	release, err := Acquire(context.Background(), path, Options{
		Waiting:  func(o Owner) { t.Errorf("waited for %v", o) },
		TookOver: func(o Owner) { took = append(took, o) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(took) != 1 || took[0].PID != dead || took[0].Host != host {
		t.Errorf("took over %v, want pid %d on %s", took, dead, host)
	}
	if got := Parse(must(os.ReadFile(path))); got.PID != os.Getpid() || got.Host != host {
		t.Errorf("lock holds %+v, want this process", got)
	}
	release()
	noFilesBut(t, dir)
}

func TestLiveOwnerIsWaitedForWithOneMessage(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.lock")
	host := hostname(t)
	// This process is a live owner of this host.
	if err := os.WriteFile(path, fmt.Appendf(nil, "%d %s\n", os.Getpid(), host), 0o644); err != nil {
		t.Fatal(err)
	}
	var waits atomic.Int32
	waiting := make(chan Owner, 8)
	done := make(chan error)
	go func() {
		release, err := Acquire(context.Background(), path, Options{
			StaleAfter: time.Nanosecond, // a checkable owner is never stale
			Waiting:    func(o Owner) { waits.Add(1); waiting <- o },
			TookOver:   func(o Owner) { t.Errorf("took over live %v", o) },
		})
		if err == nil {
			release()
		}
		done <- err
	}()
	o := <-waiting
	if o.PID != os.Getpid() || o.Host != host || !o.Checkable() || o.Gone() {
		t.Errorf("waiting for %+v, want this live process", o)
	}
	// Let it poll a few more times over the same owner.
	for range 3 {
		if err := os.Chtimes(path, time.Now(), time.Now().Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond) // lets polls happen; nothing is timed
	}
	os.Remove(path) // the owner finishes
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := waits.Load(); n != 1 {
		t.Errorf("said %d times that it waits, want once", n)
	}
	noFilesBut(t, dir)
}

func TestWaitBound(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	if err := os.WriteFile(path, []byte("4242 elsewhere\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Acquire(context.Background(), path, Options{Wait: time.Millisecond})
	var held *HeldError
	if !errors.Is(err, ErrHeld) || !errors.As(err, &held) || held.Owner.PID != 4242 || held.Owner.Host != "elsewhere" {
		t.Fatalf("err = %v, want a HeldError naming pid 4242 on elsewhere", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Acquire(ctx, path, Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want the context's", err)
	}
}

func TestAnotherHostsOwnerIsTakenAfterTheAgeBound(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.lock")
	other := hostname(t) + "-elsewhere"
	if err := os.WriteFile(path, fmt.Appendf(nil, "%d %s\n", os.Getpid(), other), 0o644); err != nil {
		t.Fatal(err)
	}
	// Young: waited for, not taken.
	var said []Owner
	_, err := Acquire(context.Background(), path, Options{Wait: time.Millisecond, StaleAfter: time.Hour,
		Waiting: func(o Owner) { said = append(said, o) }})
	if !errors.Is(err, ErrHeld) {
		t.Fatalf("young lock of another host: err = %v, want ErrHeld", err)
	}
	if len(said) != 1 || said[0].Checkable() || said[0].Host != other {
		t.Errorf("said %+v, want one uncheckable owner on %s", said, other)
	}
	// Older than the bound: taken.
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	var took []Owner
	release, err := Acquire(context.Background(), path, Options{StaleAfter: time.Hour,
		TookOver: func(o Owner) { took = append(took, o) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(took) != 1 || took[0].Host != other {
		t.Errorf("took over %+v, want the owner on %s", took, other)
	}
	release()
	// Without a bound, such a lock is never taken.
	if err := os.WriteFile(path, []byte("7 "+other+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(path, old, old)
	if _, err := Acquire(context.Background(), path, Options{Wait: time.Millisecond}); !errors.Is(err, ErrHeld) {
		t.Errorf("no StaleAfter: err = %v, want ErrHeld", err)
	}
}

// Acquirers at once hold the lock one at a time; a release once the lock
// is another's leaves it in place.
func TestConcurrentAcquirersAreExclusive(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.lock")
	var inside, most, total atomic.Int32
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for range 5 {
				release, err := Acquire(context.Background(), path, Options{})
				if err != nil {
					t.Error(err)
					return
				}
				n := inside.Add(1)
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
				goruntime.Gosched() // give an overlapping holder the chance to show
				total.Add(1)
				inside.Add(-1)
				release()
				release() // a second release must not free another holder's lock
			}
		})
	}
	wg.Wait()
	if most.Load() != 1 || total.Load() != 80 {
		t.Errorf("at most %d holders at once over %d acquisitions, want 1 over 80", most.Load(), total.Load())
	}
	noFilesBut(t, dir)
}

func TestParse(t *testing.T) {
	for in, want := range map[string]Owner{
		"12 h\n":     {PID: 12, Host: "h", Content: "12 h"},
		"12 h tok\n": {PID: 12, Host: "h", Content: "12 h tok"},
		"12\n":       {PID: 12, Content: "12"},
		"":           {},
		"x h":        {Content: "x h"},
		"-1 h":       {Content: "-1 h"},
	} {
		if got := Parse([]byte(in)); got != want {
			t.Errorf("Parse(%q) = %+v, want %+v", in, got, want)
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
