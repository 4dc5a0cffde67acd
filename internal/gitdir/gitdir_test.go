package gitdir

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func git(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

func TestFind(t *testing.T) {
	base, _ := filepath.EvalSymlinks(t.TempDir())
	main := filepath.Join(base, "main")
	git(t, base, "init", "-q", main)
	git(t, main, "commit", "-q", "--allow-empty", "-m", "x")
	linked := filepath.Join(base, "linked")
	git(t, main, "worktree", "add", "-q", linked)
	sub := filepath.Join(linked, "a", "b")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		dir  string
		want Repo
	}{
		{main, Repo{main, filepath.Join(main, ".git"), filepath.Join(main, ".git")}},
		{sub, Repo{linked, filepath.Join(main, ".git", "worktrees", "linked"), filepath.Join(main, ".git")}},
	} {
		got, err := Find(c.dir)
		if err != nil || got != c.want {
			t.Errorf("Find(%s) = %+v, %v; want %+v", c.dir, got, err, c.want)
		}
	}
	if r, _ := Find(linked); !r.Linked() {
		t.Error("linked worktree not Linked")
	}
	if _, err := Find(t.TempDir()); !errors.Is(err, ErrNotRepo) {
		t.Errorf("outside a repository: %v, want ErrNotRepo", err)
	}
}
