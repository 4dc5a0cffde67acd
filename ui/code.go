package ui

import (
	"errors"
	"fmt"
	"io"
	"slices"

	udiff "github.com/aymanbagabas/go-udiff"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// ErrNoRepo: the UI was started without a git repository, or the snapshot
// is not in it.
var ErrNoRepo = errors.New("no git repository for snapshots")

// maxDiffFile bounds the size of a file the code diff reads, so a
// committed data file does not stall the page.
const maxDiffFile = 1 << 20

// fileJSON is one file of a snapshot.
type fileJSON struct {
	Path string `json:"path"`
	Size int64  `json:"size"`
}

func (srv *Server) repo() (*git.Repository, error) {
	if srv.opts.Repo == "" {
		return nil, ErrNoRepo
	}
	r, err := git.PlainOpenWithOptions(srv.opts.Repo, &git.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrNoRepo, srv.opts.Repo, err)
	}
	return r, nil
}

func snapshotTree(repo *git.Repository, hash string) (*object.Tree, error) {
	if !plumbing.IsHash(hash) {
		return nil, fmt.Errorf("%w: snapshot %q is not a commit hash", ErrNoRepo, hash)
	}
	c, err := repo.CommitObject(plumbing.NewHash(hash))
	if err != nil {
		return nil, fmt.Errorf("%w: snapshot %s: %w", ErrNoRepo, hash, err)
	}
	return c.Tree()
}

// snapshotFiles lists the files of a snapshot commit.
func (srv *Server) snapshotFiles(hash string) ([]fileJSON, error) {
	repo, err := srv.repo()
	if err != nil {
		return nil, err
	}
	t, err := snapshotTree(repo, hash)
	if err != nil {
		return nil, err
	}
	var out []fileJSON
	err = t.Files().ForEach(func(f *object.File) error {
		out = append(out, fileJSON{Path: f.Name, Size: f.Size})
		return nil
	})
	return out, err
}

// codeDiff is the unified diff from snapshot a to snapshot b, file by
// file in path order.
func (srv *Server) codeDiff(a, b string) (string, error) {
	repo, err := srv.repo()
	if err != nil {
		return "", err
	}
	ta, err := snapshotTree(repo, a)
	if err != nil {
		return "", err
	}
	tb, err := snapshotTree(repo, b)
	if err != nil {
		return "", err
	}
	changes, err := object.DiffTree(ta, tb)
	if err != nil {
		return "", fmt.Errorf("diff %s %s: %w", a, b, err)
	}
	slices.SortFunc(changes, func(x, y *object.Change) int {
		return cmpStr(changeName(x), changeName(y))
	})
	var out []byte
	for _, ch := range changes {
		from, to, err := ch.Files()
		if err != nil {
			return "", err
		}
		old, err := fileText(from)
		oldName, newName := ch.From.Name, ch.To.Name
		if err != nil {
			return "", err
		}
		nw, err := fileText(to)
		if err != nil {
			return "", err
		}
		if oldName == "" {
			oldName = "/dev/null"
		} else {
			oldName = "a/" + oldName
		}
		if newName == "" {
			newName = "/dev/null"
		} else {
			newName = "b/" + newName
		}
		out = append(out, udiff.Unified(oldName, newName, old, nw)...)
	}
	return string(out), nil
}

func changeName(c *object.Change) string {
	if c.To.Name != "" {
		return c.To.Name
	}
	return c.From.Name
}

func cmpStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// fileText reads a file of a change side; binary and huge files are named
// rather than shown.
func fileText(f *object.File) (string, error) {
	if f == nil {
		return "", nil
	}
	if f.Size > maxDiffFile {
		return fmt.Sprintf("(%d bytes, not shown)\n", f.Size), nil
	}
	if bin, err := f.IsBinary(); err == nil && bin {
		return "(binary file)\n", nil
	}
	r, err := f.Reader()
	if err != nil {
		return "", err
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	return string(b), err
}
