// Package gitdir finds the git repository holding a directory: its top
// directory, its git directory and the common directory shared by all of
// its worktrees. It reads the layout only (.git, gitdir:, commondir), as
// git does, and runs no git command.
//
// It is the one place flor looks for a repository, and names what flor
// keeps in it: the home's line in info/exclude and the shadow branch's
// lock. It is not a git library (the runtime stores snapshots with
// go-git's storage layer).
package gitdir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ErrNotRepo: no directory from the one given up to the file system's
// root holds a .git.
var ErrNotRepo = errors.New("not in a git repository")

// Repo is where a repository's parts are.
type Repo struct {
	// Top is the worktree's top directory: the one holding .git.
	Top string
	// GitDir is the worktree's git directory: Top/.git, or where a .git
	// file points (a linked worktree, a submodule). HEAD and the index
	// are here.
	GitDir string
	// CommonDir holds what all worktrees share: objects, refs, config and
	// info/exclude. It is GitDir except in a linked worktree, whose git
	// directory names it in its commondir file.
	CommonDir string
}

// Linked reports whether the worktree is a linked one (`git worktree add`).
func (r Repo) Linked() bool { return r.CommonDir != r.GitDir }

// Find walks up from dir (made absolute, symlinks resolved) to the first
// directory holding .git.
func Find(dir string) (Repo, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return Repo{}, err
	}
	if p, err := filepath.EvalSymlinks(abs); err == nil {
		abs = p
	}
	for d := abs; ; d = filepath.Dir(d) {
		dotgit := filepath.Join(d, ".git")
		if st, err := os.Stat(dotgit); err == nil {
			return open(d, dotgit, st.IsDir())
		}
		if filepath.Dir(d) == d {
			return Repo{}, fmt.Errorf("%s is %w", abs, ErrNotRepo)
		}
	}
}

func open(top, dotgit string, isDir bool) (Repo, error) {
	r := Repo{Top: top, GitDir: dotgit}
	if !isDir {
		data, err := os.ReadFile(dotgit)
		if err != nil {
			return Repo{}, err
		}
		p, ok := strings.CutPrefix(strings.TrimSpace(string(data)), "gitdir:")
		if !ok {
			return Repo{}, fmt.Errorf("%s: not a gitdir file", dotgit)
		}
		r.GitDir = resolve(top, strings.TrimSpace(p))
	}
	r.CommonDir = r.GitDir
	if data, err := os.ReadFile(filepath.Join(r.GitDir, "commondir")); err == nil {
		r.CommonDir = resolve(r.GitDir, strings.TrimSpace(string(data)))
	}
	return r, nil
}

// resolve makes p, relative to base as git writes it, absolute and clean.
func resolve(base, p string) string {
	if !filepath.IsAbs(p) {
		p = filepath.Join(base, p)
	}
	return filepath.Clean(p)
}
