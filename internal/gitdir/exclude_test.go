package gitdir

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Exclude writes the common directory's info/exclude, once, and git
// status of a linked worktree no longer shows the home.
func TestExclude(t *testing.T) {
	base, _ := filepath.EvalSymlinks(t.TempDir())
	main := filepath.Join(base, "main")
	git(t, base, "init", "-q", main)
	git(t, main, "commit", "-q", "--allow-empty", "-m", "x")
	linked := filepath.Join(base, "linked")
	git(t, main, "worktree", "add", "-q", linked)
	r, err := Find(linked)
	if err != nil {
		t.Fatal(err)
	}
	exclude := filepath.Join(main, ".git", "info", "exclude")
	// A line without a trailing newline is kept whole.
	if err := os.WriteFile(exclude, []byte("*.tmp"), 0o644); err != nil {
		t.Fatal(err)
	}
	home := filepath.Join(linked, "sub", ".flor")
	if err := os.MkdirAll(home, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(home, "x"), nil, 0o644)
	for range 2 {
		if err := r.Exclude(home); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := os.ReadFile(exclude); string(got) != "*.tmp\n/sub/.flor/\n" {
		t.Errorf("info/exclude = %q", got)
	}
	// A line written by hand, without slashes, counts.
	os.WriteFile(exclude, []byte(".flor\n"), 0o644)
	r2, _ := Find(main)
	if err := r2.Exclude(filepath.Join(main, ".flor")); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(exclude); string(got) != ".flor\n" {
		t.Errorf("info/exclude = %q, want the hand-written line alone", got)
	}
	// A home outside the worktree needs no line.
	if err := r.Exclude(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(exclude); string(got) != ".flor\n" {
		t.Errorf("info/exclude = %q after an outside home", got)
	}
	cmd := exec.Command("git", "status", "--porcelain")
	cmd.Dir = linked
	os.WriteFile(exclude, nil, 0o644)
	r.Exclude(home)
	if out, err := cmd.Output(); err != nil || strings.TrimSpace(string(out)) != "" {
		t.Errorf("git status in the linked worktree: %q, %v; want clean", out, err)
	}
}

func TestShadowLock(t *testing.T) {
	r := Repo{CommonDir: "/r/.git"}
	if got := r.ShadowLock(); got != filepath.Join("/r/.git", ShadowLockName) {
		t.Errorf("ShadowLock() = %s", got)
	}
}
