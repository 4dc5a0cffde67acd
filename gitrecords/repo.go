package gitrecords

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage"
)

// Repo is a git repository and the flor home whose records it carries.
type Repo struct {
	git    *git.Repository
	home   string
	gitDir string // the directory holding refs (a linked worktree's common dir)
}

// Options tune Push, Pull, Unpack and Record.
type Options struct {
	// NoCheckpoints leaves checkpoint blobs out of what is recorded and
	// unpacked: runs stay readable, and replay runs what it cannot restore.
	NoCheckpoints bool
	// Progress receives progress lines (nil: none).
	Progress io.Writer
	// Terminal: Progress is a terminal, so one counter is rewritten in
	// place rather than a line printed every ProgressEvery files.
	Terminal bool
}

// ProgressEvery is how many files go by between progress lines when
// Progress is not a terminal.
const ProgressEvery = 500

// Open finds the git repository holding dir and pairs it with the flor
// home. It fails with ErrNotGit outside a repository.
func Open(dir, home string) (*Repo, error) {
	g, err := git.PlainOpenWithOptions(dir, &git.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
	if errors.Is(err, git.ErrRepositoryNotExists) {
		return nil, fmt.Errorf("%w: %s", ErrNotGit, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("opening the git repository of %s: %w", dir, err)
	}
	gitDir, err := commonDir(dir)
	if err != nil {
		return nil, err
	}
	return &Repo{git: g, home: home, gitDir: gitDir}, nil
}

// commonDir finds the git directory that holds the refs: .git, or for a
// linked worktree the directory its commondir file names.
func commonDir(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := abs; ; d = filepath.Dir(d) {
		g := filepath.Join(d, ".git")
		if st, err := os.Stat(g); err == nil {
			if !st.IsDir() {
				data, err := os.ReadFile(g)
				if err != nil {
					return "", err
				}
				line, _ := strings.CutPrefix(strings.TrimSpace(string(data)), "gitdir:")
				g = strings.TrimSpace(line)
				if !filepath.IsAbs(g) {
					g = filepath.Join(d, g)
				}
			}
			if data, err := os.ReadFile(filepath.Join(g, "commondir")); err == nil {
				c := strings.TrimSpace(string(data))
				if !filepath.IsAbs(c) {
					c = filepath.Join(g, c)
				}
				g = c
			}
			return g, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("%w: %s", ErrNotGit, dir)
		}
	}
}

// Home is the flor home the records come from and go to.
func (r *Repo) Home() string { return r.home }

// tip is the hash a ref points at, ZeroHash when it does not exist.
func (r *Repo) tip(name plumbing.ReferenceName) (plumbing.Hash, error) {
	ref, err := r.git.Storer.Reference(name)
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return plumbing.ZeroHash, nil
	}
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("reading %s: %w", name, err)
	}
	return ref.Hash(), nil
}

// setRef moves name from old to h, failing if another process moved it.
func (r *Repo) setRef(name plumbing.ReferenceName, h, old plumbing.Hash) error {
	var oldRef *plumbing.Reference
	if !old.IsZero() {
		oldRef = plumbing.NewHashReference(name, old)
	}
	err := r.git.Storer.CheckAndSetReference(plumbing.NewHashReference(name, h), oldRef)
	if errors.Is(err, storage.ErrReferenceHasChanged) {
		return fmt.Errorf("%w: %s changed while flor was updating it", ErrBusy, name)
	}
	if err != nil {
		return fmt.Errorf("updating %s: %w", name, err)
	}
	return nil
}

// commit stores a commit of tree with parents. The signature is explicit:
// go-git would otherwise read ~/.gitconfig, which CI machines lack.
func (r *Repo) commit(tree plumbing.Hash, parents []plumbing.Hash, msg string) (plumbing.Hash, error) {
	sig := object.Signature{Name: "flor", Email: "flor@localhost", When: time.Now()}
	c := &object.Commit{Author: sig, Committer: sig, Message: msg, TreeHash: tree, ParentHashes: parents}
	obj := r.git.Storer.NewEncodedObject()
	if err := c.Encode(obj); err != nil {
		return plumbing.ZeroHash, err
	}
	return r.git.Storer.SetEncodedObject(obj)
}

// isAncestor reports whether commit a is b or one of b's ancestors; false
// when either is not in the repository.
func (r *Repo) isAncestor(a, b plumbing.Hash) bool {
	if a == b {
		return true
	}
	ca, err := object.GetCommit(r.git.Storer, a)
	if err != nil {
		return false
	}
	cb, err := object.GetCommit(r.git.Storer, b)
	if err != nil {
		return false
	}
	ok, err := ca.IsAncestor(cb)
	return err == nil && ok
}

// lock takes a lock file in the git directory. A lock whose owner process
// is gone (say, a push killed with -9) is taken over.
func (r *Repo) lock(name string, wait time.Duration) (func(), error) {
	path := filepath.Join(r.gitDir, name)
	deadline := time.Now().Add(wait)
	for {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err == nil {
			fmt.Fprintf(f, "%d\n", os.Getpid())
			f.Close()
			return func() { os.Remove(path) }, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("locking %s: %w", path, err)
		}
		if stale(path) {
			os.Remove(path)
			continue
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%w: %s is held by another flor process (remove it if none runs)", ErrBusy, path)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stale: the lock names a process that no longer exists, or (the
// runtime's shadow lock, which names none) is older than 30 seconds.
func stale(path string) bool {
	data, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		st, err := os.Stat(path)
		return err == nil && time.Since(st.ModTime()) > 30*time.Second
	}
	return syscall.Kill(pid, 0) == syscall.ESRCH
}

// recordsLock serialises flor's own record operations on a repository;
// shadowLock is the runtime's lock on flor.shadow (runtime/snapshot.go).
const (
	recordsLock = "flor-records.lock"
	shadowLock  = "flor-shadow.lock"
)

// excludeHome keeps a flor home inside the working tree out of git
// through .git/info/exclude, as the runtime does (runtime/identity.go):
// a clone that has recorded nothing has no such line yet, and unpacking
// must not leave untracked files in git status.
func (r *Repo) excludeHome() error {
	wt, err := r.git.Worktree()
	if err != nil {
		return nil // a bare repository has no working tree to keep clean
	}
	rel, err := filepath.Rel(wt.Filesystem.Root(), r.home)
	if err != nil || rel == "." || strings.HasPrefix(rel, "..") {
		return nil
	}
	line := "/" + filepath.ToSlash(rel) + "/"
	path := filepath.Join(r.gitDir, "info", "exclude")
	data, _ := os.ReadFile(path)
	for _, l := range strings.Split(string(data), "\n") {
		if l = strings.TrimSpace(l); l == line || l == strings.TrimSuffix(line, "/") || "/"+l == line {
			return nil
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("excluding %s from git: %w", r.home, err)
	}
	prefix := ""
	if len(data) > 0 && data[len(data)-1] != '\n' {
		prefix = "\n"
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("excluding %s from git: %w", r.home, err)
	}
	defer f.Close()
	_, err = fmt.Fprintf(f, "%s%s\n", prefix, line)
	return err
}
