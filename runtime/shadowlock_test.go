package runtime

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// deadPID is the pid of a process that has exited and been waited for.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.ProcessState.Pid()
}

func TestShadowLockOfADeadRunIsTakenOver(t *testing.T) {
	dir := gitInit(t)
	host, _ := os.Hostname()
	lock := filepath.Join(dir, ".git", shadowLockName)
	if err := os.WriteFile(lock, []byte(strconv.Itoa(deadPID(t))+" "+host+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr lockedBuffer
	r, err := New(Options{Dir: dir, Stdout: discard{}, Stderr: &stderr, Env: testEnv(nil)})
	if err != nil {
		t.Fatal(err)
	}
	Log(r, "x", 1)
	if err := r.Commit(); err != nil {
		t.Fatal(err)
	}
	if r.Snapshot == "" || stderr.String() != "" {
		t.Errorf("snapshot %q, stderr %q: want a snapshot and no wait", r.Snapshot, stderr.String())
	}
	if _, err := os.Stat(lock); !os.IsNotExist(err) {
		t.Errorf("lock left behind: %v", err)
	}
}

func TestShadowLockWaitIsSaid(t *testing.T) {
	dir := gitInit(t)
	lock := filepath.Join(dir, ".git", shadowLockName)
	// An owner on another host cannot be checked: it is waited for.
	if err := os.WriteFile(lock, []byte("4242 elsewhere\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr lockedBuffer
	done := make(chan error)
	go func() {
		unlock, err := lockShadow(dir, &stderr)
		if err == nil {
			unlock()
		}
		done <- err
	}()
	want := "flor: waiting for the code snapshot lock " + lock + ", held by pid 4242 on elsewhere (up to 30s)\n"
	for !strings.Contains(stderr.String(), "waiting") {
		select {
		case err := <-done:
			t.Fatalf("lockShadow returned %v before waiting", err)
		default:
		}
		time.Sleep(time.Millisecond) // polling, not a timing assertion
	}
	os.Remove(lock) // the owner finishes
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := stderr.String(); got != want {
		t.Errorf("stderr %q, want %q", got, want)
	}
}
