package storage

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// The test binary doubles as a helper process that opens a store, since
// DuckDB's lock is per process: FLOR_STORAGE_TEST_OPEN=<home> makes it open
// the store, print the number of loss rows, and close it.
func TestMain(m *testing.M) {
	if home := os.Getenv("FLOR_STORAGE_TEST_OPEN"); home != "" {
		os.Exit(helperOpen(home))
	}
	if home := os.Getenv("FLOR_STORAGE_TEST_READ"); home != "" {
		os.Exit(helperRead(home))
	}
	os.Exit(m.Run())
}

func helperOpen(home string) int {
	timeout, err := time.ParseDuration(os.Getenv("FLOR_STORAGE_TEST_TIMEOUT"))
	if err != nil {
		timeout = DefaultLockTimeout
	}
	ctx := context.Background()
	s, err := Open(ctx, home, WithLockTimeout(timeout), WithMessages(os.Stderr))
	if err != nil {
		fmt.Fprintf(os.Stderr, "open: %v\n", err)
		if errors.Is(err, ErrLocked) {
			return 3
		}
		return 1
	}
	defer s.Close()
	f, err := s.Dataframe(ctx, "loss")
	if err != nil {
		fmt.Fprintf(os.Stderr, "dataframe: %v\n", err)
		return 1
	}
	fmt.Printf("rows %d\n", f.Len())
	return 0
}

type helper struct {
	cmd     *exec.Cmd
	stdout  bytes.Buffer
	stderr  bytes.Buffer
	waiting chan struct{} // closed when the helper says it waits
	done    chan error
}

func startHelper(t *testing.T, home string, timeout time.Duration) *helper {
	t.Helper()
	h := &helper{waiting: make(chan struct{}), done: make(chan error, 1)}
	h.cmd = exec.Command(os.Args[0], "-test.run=^$")
	h.cmd.Env = append(os.Environ(), "FLOR_STORAGE_TEST_OPEN="+home, "FLOR_STORAGE_TEST_TIMEOUT="+timeout.String())
	h.cmd.Stdout = &h.stdout
	pr, pw := io.Pipe()
	h.cmd.Stderr = pw
	if err := h.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	copied := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pr)
		once := sync.Once{}
		for sc.Scan() {
			h.stderr.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), "waiting for another flor command") {
				once.Do(func() { close(h.waiting) })
			}
		}
		close(copied)
	}()
	go func() {
		err := h.cmd.Wait()
		pw.Close()
		<-copied
		h.done <- err
	}()
	t.Cleanup(func() { h.cmd.Process.Kill() })
	return h
}

func (h *helper) await(t *testing.T) error {
	t.Helper()
	select {
	case err := <-h.done:
		return err
	case <-time.After(60 * time.Second):
		t.Fatalf("helper did not finish; stderr:\n%s", h.stderr.String())
	}
	return nil
}

func homeWithRun(t *testing.T) string {
	home := t.TempDir()
	r := newRunFile(t, home, t0, runOpts{})
	r.train(0.01, 2, 5)
	r.close()
	return home
}

// TestConcurrentProcesses: processes that open a held store wait, say so
// once, and succeed when it is released.
func TestConcurrentProcesses(t *testing.T) {
	home := homeWithRun(t)
	held := openTest(t, home)
	var hs []*helper
	for range 3 {
		hs = append(hs, startHelper(t, home, 30*time.Second))
	}
	for i, h := range hs {
		select {
		case <-h.waiting:
		case err := <-h.done:
			t.Fatalf("helper %d ended (%v) before waiting; stderr:\n%s", i, err, h.stderr.String())
		case <-time.After(30 * time.Second):
			t.Fatalf("helper %d never said it waits; stderr:\n%s", i, h.stderr.String())
		}
	}
	held.Close()
	for i, h := range hs {
		if err := h.await(t); err != nil {
			t.Errorf("helper %d: %v; stderr:\n%s", i, err, h.stderr.String())
		}
		if got := h.stdout.String(); got != "rows 10\n" {
			t.Errorf("helper %d printed %q, want rows 10", i, got)
		}
		if n := strings.Count(h.stderr.String(), "flor: waiting for another flor command to release "+held.Path()); n != 1 {
			t.Errorf("helper %d printed the waiting notice %d times:\n%s", i, n, h.stderr.String())
		}
		if strings.Contains(h.stderr.String(), "Could not set lock") {
			t.Errorf("helper %d shows DuckDB's raw lock error:\n%s", i, h.stderr.String())
		}
	}
}

// TestLockTimeout: a store held for longer than the timeout gives
// ErrLocked, with a message of flor's own.
func TestLockTimeout(t *testing.T) {
	home := homeWithRun(t)
	held := openTest(t, home)
	h := startHelper(t, home, 300*time.Millisecond)
	err := h.await(t)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Fatalf("helper: %v, want exit 3 (ErrLocked); stderr:\n%s", err, h.stderr.String())
	}
	msg := h.stderr.String()
	if !strings.Contains(msg, "store is locked by another flor command") || strings.Contains(msg, "Could not set lock") {
		t.Errorf("stderr:\n%s", msg)
	}
	if !strings.Contains(msg, fmt.Sprintf("(pid %d)", os.Getpid())) {
		t.Errorf("the error does not name the holder (pid %d):\n%s", os.Getpid(), msg)
	}
	if !strings.Contains(msg, fmt.Sprintf("to release %s (held by ", held.Path())) {
		t.Errorf("the waiting notice does not name the holder:\n%s", msg)
	}
	held.Close()
}

// TestConcurrentGoroutines: Stores of one home in one process take turns.
func TestConcurrentGoroutines(t *testing.T) {
	home := homeWithRun(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	var msgs syncBuffer
	for range 4 {
		wg.Go(func() {
			s, err := Open(context.Background(), home, WithMessages(&msgs))
			if err != nil {
				errs <- err
				return
			}
			defer s.Close()
			f, err := s.Dataframe(context.Background(), "loss")
			if err != nil {
				errs <- err
				return
			}
			if f.Len() != 10 {
				errs <- fmt.Errorf("%d rows, want 10", f.Len())
			}
			time.Sleep(50 * time.Millisecond)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	// Held by this process: another Store times out with ErrLocked.
	held := openTest(t, home)
	_, err := Open(context.Background(), home, WithLockTimeout(100*time.Millisecond), WithMessages(nil))
	if !errors.Is(err, ErrLocked) {
		t.Errorf("open of a held store: %v, want ErrLocked", err)
	}
	held.Close()
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}
