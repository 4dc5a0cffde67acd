package planner

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// ErrSnapshot: a run's code snapshot cannot be read from git.
var ErrSnapshot = errors.New("snapshot")

// Materialize writes the files of commit (a run's snapshot) into dst from
// git's objects. The user's checkout, index and refs are not touched.
func Materialize(repoRoot, commit, dst string) error {
	repo, err := git.PlainOpenWithOptions(repoRoot, &git.PlainOpenOptions{EnableDotGitCommonDir: true})
	if err != nil {
		return fmt.Errorf("%w: opening %s: %w", ErrSnapshot, repoRoot, err)
	}
	c, err := repo.CommitObject(plumbing.NewHash(commit))
	if err != nil {
		return fmt.Errorf("%w: commit %s: %w", ErrSnapshot, short(commit), err)
	}
	tree, err := c.Tree()
	if err != nil {
		return fmt.Errorf("%w: tree of %s: %w", ErrSnapshot, short(commit), err)
	}
	walker := object.NewTreeWalker(tree, true, nil)
	defer walker.Close()
	for {
		name, entry, err := walker.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: walking %s: %w", ErrSnapshot, short(commit), err)
		}
		if strings.Contains(name, "..") && !filepath.IsLocal(name) {
			return fmt.Errorf("%w: unsafe path %q in %s", ErrSnapshot, name, short(commit))
		}
		path := filepath.Join(dst, filepath.FromSlash(name))
		switch entry.Mode {
		case filemode.Dir:
			if err := os.MkdirAll(path, 0o755); err != nil {
				return fmt.Errorf("%w: %w", ErrSnapshot, err)
			}
		case filemode.Submodule:
			// A submodule's code is not in this repository's objects.
			if err := os.MkdirAll(path, 0o755); err != nil {
				return fmt.Errorf("%w: %w", ErrSnapshot, err)
			}
		default:
			if err := writeBlob(repo, entry, path); err != nil {
				return fmt.Errorf("%w: %s: %w", ErrSnapshot, name, err)
			}
		}
	}
}

func writeBlob(repo *git.Repository, entry object.TreeEntry, path string) error {
	blob, err := repo.BlobObject(entry.Hash)
	if err != nil {
		return err
	}
	r, err := blob.Reader()
	if err != nil {
		return err
	}
	defer r.Close()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if entry.Mode == filemode.Symlink {
		target, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		return os.Symlink(string(target), path)
	}
	perm := os.FileMode(0o644)
	if entry.Mode == filemode.Executable {
		perm = 0o755
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func short(h string) string {
	if len(h) > 10 {
		return h[:10]
	}
	return h
}
