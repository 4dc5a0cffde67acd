package gitrecords

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport/client"
	"github.com/go-git/go-git/v5/plumbing/transport/file"
)

// TestMain lets a test run this binary as a flor push that it kills.
func TestMain(m *testing.M) {
	if dir := os.Getenv("FLOR_TEST_PUSH_DIR"); dir != "" {
		// The wrapper passes part of the pack to git-receive-pack, then
		// stalls: the push is mid-way when the test kills it.
		client.InstallProtocol("file", file.NewClient("git-upload-pack", os.Getenv("FLOR_TEST_RECEIVE_PACK")))
		r, err := Open(dir, filepath.Join(dir, ".flor"))
		if err == nil {
			_, err = r.Push(context.Background(), "", Options{})
		}
		fmt.Fprintln(os.Stderr, "push returned:", err)
		os.Exit(3)
	}
	os.Exit(m.Run())
}

func TestInterruptedPush(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, 2)
	a, b := w.clones[0], w.clones[1]
	recordRun(t, a, 0.1, 2)
	unchanged(t, a, b)
	if _, err := open(t, a).Push(ctx, "", Options{}); err != nil {
		t.Fatal(err)
	}
	before := refHash(t, w.remote, string(RecordsRef))
	for i := range 5 {
		recordRun(t, a, 0.2+float64(i)/10, 2)
	}
	blob := make([]byte, 1<<20) // incompressible, so the pack is large
	rand.Read(blob)
	sum := sha256.Sum256(blob)
	name := hex.EncodeToString(sum[:])
	os.MkdirAll(filepath.Join(home(a), objectsDir, name[:2]), 0o755)
	os.WriteFile(filepath.Join(home(a), objectsDir, name[:2], name[2:]), blob, 0o644)

	dir := t.TempDir()
	mark := filepath.Join(dir, "mid-way")
	wrapper := filepath.Join(dir, "receive-pack")
	script := fmt.Sprintf("#!/bin/sh\n{ head -c 65536; : > %q; sleep 600; } | git receive-pack \"$@\"\n", mark)
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	exe, _ := os.Executable()
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), "FLOR_TEST_PUSH_DIR="+a, "FLOR_TEST_RECEIVE_PACK="+wrapper)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, _ := os.Create(filepath.Join(dir, "out"))
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
wait:
	for {
		select {
		case <-exited:
			break wait // the push ended on its own: reported below
		case <-time.After(10 * time.Millisecond):
			if _, err := os.Stat(mark); err == nil {
				syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
				<-exited
				break wait
			}
		}
	}
	if _, err := os.Stat(mark); err != nil {
		data, _ := os.ReadFile(filepath.Join(dir, "out"))
		t.Fatalf("the push never got mid-way:\n%s", data)
	}

	// The remote is as it was, and whole.
	if got := refHash(t, w.remote, string(RecordsRef)); got != before {
		t.Fatalf("remote records ref moved to %s during an interrupted push (was %s)", got, before)
	}
	runGit(t, w.remote, "fsck", "--no-dangling")
	// B pulls what the remote has: A's first run.
	if _, err := open(t, b).Pull(ctx, "", Options{}); err != nil {
		t.Fatal(err)
	}
	if got := storeRuns(t, b); len(got) != 1 || got["0.1"] != 2 {
		t.Fatalf("B after the interrupted push: %v", got)
	}
	// Pushing again (over the lock the killed push left) completes.
	res, err := open(t, a).Push(ctx, "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if refHash(t, w.remote, string(RecordsRef)) != res.Commit.String() || res.Runs != 6 {
		t.Fatalf("push after the interruption: %+v", res)
	}
	runGit(t, w.remote, "fsck", "--no-dangling")
	if _, err := open(t, b).Pull(ctx, "", Options{}); err != nil {
		t.Fatal(err)
	}
	if got := storeRuns(t, b); len(got) != 6 {
		t.Fatalf("B after the second push: %v", got)
	}
	if _, err := os.Stat(filepath.Join(home(b), objectsDir, name[:2], name[2:])); err != nil {
		t.Fatalf("the large blob did not arrive: %v", err)
	}
}
