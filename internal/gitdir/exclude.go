package gitdir

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ShadowLockName is the runtime's lock on the shadow branch, in the
// common directory where the branches are: every worktree's runs, and
// flor's record operations that move the branch, share it.
const ShadowLockName = "flor-shadow.lock"

// ShadowLock is the path of the shadow branch's lock.
func (r Repo) ShadowLock() string { return filepath.Join(r.CommonDir, ShadowLockName) }

// Exclude keeps home out of git through info/exclude, which, unlike
// .gitignore, is not part of the user's tree. It is the common
// directory's: git reads no other, so a linked worktree shares its main
// one's. A home outside the worktree needs nothing; a line already there
// (with or without its slashes) is not written twice.
func (r Repo) Exclude(home string) error {
	rel, err := filepath.Rel(r.Top, resolved(home))
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return nil
	}
	rel = filepath.ToSlash(rel)
	path := filepath.Join(r.CommonDir, "info", "exclude")
	data, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("excluding %s from git: %w", home, err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if strings.Trim(strings.TrimSpace(l), "/") == rel {
			return nil
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("excluding %s from git: %w", home, err)
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("excluding %s from git: %w", home, err)
	}
	prefix := ""
	if len(data) > 0 && data[len(data)-1] != '\n' {
		prefix = "\n"
	}
	_, err = fmt.Fprintf(f, "%s/%s/\n", prefix, rel)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("excluding %s from git: %w", home, err)
	}
	return nil
}

// resolved is p absolute with symlinks resolved, as Find makes Top: of p
// itself, or of its parent when p does not exist yet.
func resolved(p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		return r
	}
	if r, err := filepath.EvalSymlinks(filepath.Dir(abs)); err == nil {
		return filepath.Join(r, filepath.Base(abs))
	}
	return abs
}
