package gitrecords

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage"

	"github.com/flordb/flor/internal/gitdir"
	"github.com/flordb/flor/internal/lockfile"
)

// Repo is a git repository and the flor home whose records it carries.
type Repo struct {
	git  *git.Repository
	home string
	dir  gitdir.Repo // where its parts are: refs and locks in CommonDir
	cred *credential // from git credential fill, once an https remote asked
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
	found, err := gitdir.Find(dir)
	if errors.Is(err, gitdir.ErrNotRepo) {
		return nil, fmt.Errorf("%w: %s", ErrNotGit, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("finding the git repository of %s: %w", dir, err)
	}
	// go-git reads the objects and refs; where they are comes from gitdir.
	g, err := git.PlainOpenWithOptions(found.Top, &git.PlainOpenOptions{EnableDotGitCommonDir: true})
	if err != nil {
		return nil, fmt.Errorf("opening the git repository of %s: %w", dir, err)
	}
	return &Repo{git: g, home: home, dir: found}, nil
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

// lock takes a lock file in the common git directory, waiting up to
// wait. A lock whose owner process is gone (say, a push killed with -9)
// is taken over; one of another host, once it is as old as wait.
func (r *Repo) lock(path string, wait time.Duration) (func(), error) {
	release, err := lockfile.Acquire(context.Background(), path, lockfile.Options{Wait: wait, StaleAfter: wait})
	if errors.Is(err, lockfile.ErrHeld) {
		return nil, fmt.Errorf("%w: %s is held by another flor process (remove it if none runs)", ErrBusy, path)
	}
	return release, err
}

// recordsLock serialises flor's own record operations on a repository.
func (r *Repo) recordsLock() string { return filepath.Join(r.dir.CommonDir, "flor-records.lock") }

// excludeHome keeps a flor home inside the working tree out of git, as
// the runtime does: a clone that has recorded nothing has no such line
// yet, and unpacking must not leave untracked files in git status.
func (r *Repo) excludeHome() error { return r.dir.Exclude(r.home) }
