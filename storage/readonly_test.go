package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// snapshotTree lists every file under dir with its size and modification
// time, to show that nothing was written.
func snapshotTree(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %d %d\n", p, fi.Size(), fi.ModTime().UnixNano())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// readOnlyHome records a run, ingests it, then records a second one that
// a read-only open cannot ingest.
func readOnlyHome(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	r := newRunFile(t, home, t0, runOpts{})
	r.train(0.01, 2, 5)
	r.close()
	s := openTest(t, home)
	s.Close()
	r = newRunFile(t, home, t0.Add(time.Hour), runOpts{})
	r.train(0.02, 1, 5)
	r.close()
	return home
}

// readEverything runs each reading command's library call and reports
// the number of loss rows and runs.
func readEverything(s *Store) (string, error) {
	ctx := context.Background()
	f, err := s.Dataframe(ctx, "loss")
	if err != nil {
		return "", err
	}
	runs, err := s.Runs(ctx)
	if err != nil {
		return "", err
	}
	q, err := s.Query(ctx, "SELECT count(*) FROM logs")
	if err != nil {
		return "", err
	}
	if _, err := s.Stat(ctx); err != nil {
		return "", err
	}
	if _, err := s.RunsMissing(ctx, []string{"grad_norm"}, "lr > 0"); err != nil {
		return "", err
	}
	return fmt.Sprintf("loss rows %d, runs %d, logs %v", f.Len(), len(runs), q.Rows[0][0]), nil
}

// TestOpenReadOnly: WithReadOnly opens DuckDB read-only, skips ingest, says
// so once, serves every reading call and writes nothing.
func TestOpenReadOnly(t *testing.T) {
	home := readOnlyHome(t)
	before := snapshotTree(t, home)
	var msgs bytes.Buffer
	s, err := Open(context.Background(), home, WithReadOnly(), WithMessages(&msgs))
	if err != nil {
		t.Fatal(err)
	}
	got, err := readEverything(s)
	if err != nil {
		t.Fatal(err)
	}
	if want := "loss rows 10, runs 1, logs 20"; got != want {
		t.Errorf("read-only store: %s, want %s (the store as last ingested)", got, want)
	}
	if !s.ReadOnly() || s.Memory() {
		t.Errorf("ReadOnly %v, Memory %v", s.ReadOnly(), s.Memory())
	}
	// A query cannot write either; the database refuses it on its own.
	if _, err := s.DB().Exec(`DELETE FROM raw.logs`); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Errorf("a write on the read-only database: %v", err)
	}
	s.Close()
	want := fmt.Sprintf("flor: %s is read-only: showing the store as last ingested, without runs recorded since\n", filepath.Join(home, DBName))
	if msgs.String() != want {
		t.Errorf("messages:\n%s\nwant:\n%s", msgs.String(), want)
	}
	if after := snapshotTree(t, home); after != before {
		t.Errorf("a read-only open changed the home:\n%s\nwas:\n%s", after, before)
	}
}

// TestOpenReadOnlyWithoutStore: a read-only home without a database is
// read into memory; nothing is created.
func TestOpenReadOnlyWithoutStore(t *testing.T) {
	home := readOnlyHome(t)
	for _, n := range []string{DBName, DBName + ".wal"} {
		os.Remove(filepath.Join(home, n))
	}
	before := snapshotTree(t, home)
	var msgs bytes.Buffer
	s, err := Open(context.Background(), home, WithReadOnly(), WithMessages(&msgs))
	if err != nil {
		t.Fatal(err)
	}
	got, err := readEverything(s)
	if err != nil {
		t.Fatal(err)
	}
	if want := "loss rows 15, runs 2, logs 32"; got != want {
		t.Errorf("in-memory store: %s, want %s", got, want)
	}
	if !s.Memory() {
		t.Error("Memory() is false")
	}
	s.Close()
	if !strings.Contains(msgs.String(), "is read-only and it has no store yet: reading the run files into memory, nothing is saved") {
		t.Errorf("messages:\n%s", msgs.String())
	}
	if after := snapshotTree(t, home); after != before {
		t.Errorf("the open changed the home:\n%s\nwas:\n%s", after, before)
	}
}

// TestReadOnlyHomeByPermissions: a home its user cannot write is found
// read-only by Open itself. Root ignores permissions, so as root the check
// runs in a child process as nobody.
func TestReadOnlyHomeByPermissions(t *testing.T) {
	home := readOnlyHome(t)
	if err := os.Chmod(filepath.Join(home, DBName), 0o444); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{filepath.Join(home, "runs"), home} {
		if err := os.Chmod(d, 0o555); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		os.Chmod(home, 0o755)
		os.Chmod(filepath.Join(home, "runs"), 0o755)
	})
	before := snapshotTree(t, home)
	if os.Geteuid() != 0 {
		var msgs bytes.Buffer
		s, err := Open(context.Background(), home, WithMessages(&msgs))
		if err != nil {
			t.Fatal(err)
		}
		got, err := readEverything(s)
		s.Close()
		if err != nil || got != "loss rows 10, runs 1, logs 20" || !strings.Contains(msgs.String(), "is read-only: showing the store") {
			t.Errorf("read-only home: %q %v; messages:\n%s", got, err, msgs.String())
		}
	} else {
		out, err := runAsNobody(t, home)
		if err != nil {
			t.Fatalf("child as nobody: %v\n%s", err, out)
		}
		if !strings.Contains(out, "loss rows 10, runs 1, logs 20") || !strings.Contains(out, "is read-only: showing the store as last ingested") {
			t.Errorf("child as nobody:\n%s", out)
		}
		if strings.Contains(out, "IO Error") {
			t.Errorf("DuckDB's raw error shows:\n%s", out)
		}
	}
	if after := snapshotTree(t, home); after != before {
		t.Errorf("the open changed the home:\n%s\nwas:\n%s", after, before)
	}
}

// runAsNobody runs this test binary as user nobody, opening home (see
// TestMain), and returns what it printed.
func runAsNobody(t *testing.T, home string) (string, error) {
	t.Helper()
	// The binary and every directory above home must be reachable by nobody.
	bin := filepath.Join(t.TempDir(), "storage.test")
	data, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Dir(bin), home} {
		for d := filepath.Dir(p); d != filepath.Dir(d); d = filepath.Dir(d) {
			if fi, err := os.Stat(d); err == nil && fi.Mode().Perm()&0o005 != 0o005 {
				if err := os.Chmod(d, fi.Mode().Perm()|0o055); err != nil {
					t.Skipf("cannot open %s to nobody: %v", d, err)
				}
				t.Cleanup(func() { os.Chmod(d, fi.Mode().Perm()) })
			}
		}
	}
	cmd := exec.Command(bin, "-test.run=^$")
	cmd.Env = append(os.Environ(), "FLOR_STORAGE_TEST_READ="+home, "HOME=/nonexistent")
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Skipf("cannot run as nobody: %v", err)
	}
	return string(out), err
}

// helperRead is the child of runAsNobody: it opens home as a reading
// command would and prints what readEverything found.
func helperRead(home string) int {
	s, err := Open(context.Background(), home, WithLockTimeout(time.Second))
	if err != nil {
		fmt.Fprintf(os.Stderr, "open: %v\n", err)
		return 1
	}
	defer s.Close()
	got, err := readEverything(s)
	if err != nil {
		fmt.Fprintf(os.Stderr, "read: %v\n", err)
		return 1
	}
	fmt.Println(got)
	return 0
}

// TestBadHome: a file or the root directory as a home is refused, and
// nothing is created.
func TestBadHome(t *testing.T) {
	file := filepath.Join(t.TempDir(), "home")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Open(context.Background(), file, WithMessages(nil))
	if !errors.Is(err, ErrHome) || !strings.Contains(err.Error(), "is a file, not a directory") {
		t.Errorf("a file as home: %v", err)
	}
	_, err = Open(context.Background(), "/", WithMessages(nil))
	if !errors.Is(err, ErrHome) || !strings.Contains(err.Error(), "is the root directory") {
		t.Errorf("/ as home: %v", err)
	}
	if _, err := os.Stat("/" + DBName); err == nil {
		t.Errorf("/%s exists", DBName)
	}
}
