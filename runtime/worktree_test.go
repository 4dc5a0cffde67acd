package runtime

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func gitOut(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// A run in a linked worktree (git worktree add) keeps .flor out of git
// through the common directory's info/exclude, the only one git reads,
// and snapshots into the shared repository under the shared lock.
func TestLinkedWorktreeRun(t *testing.T) {
	main := gitInit(t)
	if err := os.WriteFile(filepath.Join(main, "main.go"), []byte("package main\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gitOut(t, main, "add", ".")
	gitOut(t, main, "commit", "-q", "-m", "x")
	linked := filepath.Join(t.TempDir(), "linked")
	gitOut(t, main, "worktree", "add", "-q", linked)

	var stderr lockedBuffer
	r, err := New(Options{Dir: linked, Stdout: discard{}, Stderr: &stderr, Env: testEnv(nil)})
	if err != nil {
		t.Fatal(err)
	}
	Log(r, "x", 1)
	if err := r.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(linked, ".flor", "runs")); err != nil {
		t.Fatalf("no .flor in the linked worktree: %v", err)
	}
	if st := gitOut(t, linked, "status", "--porcelain"); st != "" {
		t.Errorf("git status in the linked worktree: %q, want clean", st)
	}
	if ex, _ := os.ReadFile(filepath.Join(main, ".git", "info", "exclude")); !strings.Contains(string(ex), "/.flor/\n") {
		t.Errorf("common info/exclude %q lacks /.flor/", ex)
	}
	if r.Snapshot == "" || strings.Contains(stderr.String(), "snapshot failed") {
		t.Fatalf("snapshot %q, stderr %q", r.Snapshot, stderr.String())
	}
	if tip := strings.TrimSpace(gitOut(t, main, "rev-parse", ShadowBranch)); tip != r.Snapshot {
		t.Errorf("%s in the main worktree = %s, want %s", ShadowBranch, tip, r.Snapshot)
	}
	if _, err := os.Stat(filepath.Join(main, ".git", shadowLockName)); !os.IsNotExist(err) {
		t.Errorf("lock left behind: %v", err)
	}
}
