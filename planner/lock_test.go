package planner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flordb/flor/internal/lockfile"
)

// waitFor returns once buf holds text, polling: the test's only clock is
// the go test timeout.
func waitFor(buf *syncBuffer, text string) {
	for !strings.Contains(buf.String(), text) {
		time.Sleep(5 * time.Millisecond)
	}
}

func TestLockTakenFromDeadHolder(t *testing.T) {
	home := t.TempDir()
	me := self()
	dead := deadPid(t)
	path := filepath.Join(home, LockName)
	if err := os.WriteFile(path, fmt.Appendf(nil, "%d %s 00\n", dead, me.host), 0o644); err != nil {
		t.Fatal(err)
	}
	var say syncBuffer
	l, err := lockReplay(context.Background(), home, &say)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("flor: the replay of pid %d on host %s that held %s is no longer running: taking its lock\n", dead, me.host, path)
	if say.String() != want {
		t.Errorf("said %q, want %q", say.String(), want)
	}
	held, _ := os.ReadFile(path)
	if h := lockfile.Parse(held); h.PID != me.pid || h.Host != me.host {
		t.Errorf("lock file holds %q, want this process", held)
	}
	l.unlock()
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("unlock left the file: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(home, "*")); len(left) != 0 {
		t.Errorf("files left in the home: %v", left)
	}
}

// A holder on another host may be running: the lock is waited for, and the
// message says which host and what to do if nothing runs there.
func TestLockOfAnotherHostIsWaitedFor(t *testing.T) {
	home := t.TempDir()
	path := filepath.Join(home, LockName)
	other := self().host + "-elsewhere"
	if err := os.WriteFile(path, fmt.Appendf(nil, "%d %s 00\n", deadPid(t), other), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var say syncBuffer
	done := make(chan error)
	go func() {
		_, err := lockReplay(ctx, home, &say)
		done <- err
	}()
	waitFor(&say, "waiting for")
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want the context's", err)
	}
	for _, want := range []string{"on host " + other, "(it holds " + path + ")", "this host cannot check that process: if no replay runs there, remove the file"} {
		if !strings.Contains(say.String(), want) {
			t.Errorf("message lacks %q:\n%s", want, say.String())
		}
	}
}

// Two holders in one process: the second waits for the first, and the
// first's unlock does not release the second's lock.
func TestLockInOneProcess(t *testing.T) {
	home := t.TempDir()
	ctx := context.Background()
	a, err := lockReplay(ctx, home, &syncBuffer{})
	if err != nil {
		t.Fatal(err)
	}
	var say syncBuffer
	var b *replayLock
	var wg sync.WaitGroup
	wg.Go(func() { b, err = lockReplay(ctx, home, &say) })
	waitFor(&say, fmt.Sprintf("waiting for the replay of pid %d", os.Getpid()))
	a.unlock()
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	a.unlock() // a no longer holds it: b's lock stays
	if _, err := os.Stat(filepath.Join(home, LockName)); err != nil {
		t.Errorf("a's second unlock released b's lock: %v", err)
	}
	b.unlock()
	if _, err := os.Stat(filepath.Join(home, LockName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("b's unlock left the file: %v", err)
	}
}

// Two replays of the same name at once: one replays, the other waits for
// it, then finds nothing left to do; the logs view holds each value once.
func TestConcurrentReplays(t *testing.T) {
	p := newProject(t, []string{"lr=0.5"}, []string{"lr=0.25"})
	p.edit("\t\tflor.Log(\"w\", m.W)\n", "\t\tflor.Log(\"w\", m.W)\n\t\tflor.Log(\"w2\", m.W*2)\n")
	ctx := context.Background()
	// Both schedules are made before either replays: each sees every run
	// lacking w2.
	var scheds []*Schedule
	for range 2 {
		s, err := p.plan(ctx, p.options("w2"))
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Rows) != 2 {
			t.Fatalf("%d rows scheduled, want 2", len(s.Rows))
		}
		scheds = append(scheds, s)
	}
	// Holding the lock here makes both wait, so that they overlap.
	held, err := lockReplay(ctx, p.home, &syncBuffer{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	outs := make([][]*Outcome, 2)
	progress := []*syncBuffer{{}, {}}
	for i, s := range scheds {
		opt := p.options("w2")
		opt.Progress = progress[i]
		wg.Go(func() { outs[i] = Execute(ctx, s, opt) })
	}
	for _, b := range progress {
		waitFor(b, "flor: waiting for the replay of pid")
	}
	held.unlock()
	wg.Wait()
	var replayed, settled int
	for i, res := range outs {
		for _, o := range res {
			switch {
			case o.Err != nil:
				t.Errorf("replay %d, run %s: %v\n%s", i, o.Row.Run.Tstamp, o.Err, progress[i])
			case o.Settled:
				settled++
			default:
				replayed++
			}
		}
	}
	for i, b := range progress {
		t.Logf("replay %d's progress:\n%s", i, b)
	}
	if replayed != 2 || settled != 2 {
		t.Errorf("%d runs replayed and %d settled, want 2 and 2", replayed, settled)
	}
	if n := p.count(`SELECT count(*) FROM logs WHERE value_name = 'w2'`); n != 6 {
		t.Errorf("%d w2 rows in the logs view, want 6 (2 runs × 3 epochs)", n)
	}
	if n := p.count(`SELECT count(*) FROM (SELECT DISTINCT tstamp, value FROM logs WHERE value_name = 'w2')`); n != 6 {
		t.Errorf("%d distinct (run, value) of w2, want 6", n)
	}
	// One published replay directory per run, all of one replay.
	if n := p.count(`SELECT count(DISTINCT regexp_replace(src, '/[^/]*$', '')) FROM logs WHERE value_name = 'w2'`); n != 2 {
		t.Errorf("w2 comes from %d replay directories, want 2 (one per run)", n)
	}
}
