package planner

import (
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/flordb/flor/rewrite/propagate"
)

// checkVersions propagates the new statements into each distinct version
// of the runs, in memory, so that the schedule says before anything runs
// which runs cannot be replayed and why (a statement that uses code the
// old version does not have, say). It returns the error per version key.
func checkVersions(root string, names []string, runs []*Run) map[string]error {
	out := map[string]error{}
	repo, err := git.PlainOpenWithOptions(root, &git.PlainOpenOptions{EnableDotGitCommonDir: true})
	if err != nil {
		return out // the replay itself will say what is wrong
	}
	newSrc := map[string]map[string][]byte{}
	for _, r := range runs {
		key := versionKey(r)
		if _, done := out[key]; done {
			continue
		}
		out[key] = nil
		if _, ok := newSrc[r.Filename]; !ok {
			newSrc[r.Filename] = readGoFiles(filepath.Join(root, filepath.FromSlash(r.Filename)))
		}
		oldSrc, err := snapshotGoFiles(repo, r.Snapshot, r.Filename)
		if err != nil {
			out[key] = err
			continue
		}
		res, err := propagate.Sources(newSrc[r.Filename], oldSrc, propagate.Names(names...))
		if err == nil {
			err = res.Err()
		}
		if err != nil {
			out[key] = fmt.Errorf("version %s: %w", short(r.Snapshot), err)
		}
	}
	return out
}

func versionKey(r *Run) string { return r.Snapshot + "\x00" + r.Filename }

// readGoFiles reads the Go files of a package directory.
func readGoFiles(dir string) map[string][]byte {
	files := map[string][]byte{}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.IsDir() || !isSource(e.Name()) {
			continue
		}
		if data, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil {
			files[e.Name()] = data
		}
	}
	return files
}

// snapshotGoFiles reads the Go files of directory dir of a commit.
func snapshotGoFiles(repo *git.Repository, commit, dir string) (map[string][]byte, error) {
	c, err := repo.CommitObject(plumbing.NewHash(commit))
	if err != nil {
		return nil, fmt.Errorf("%w: commit %s: %w", ErrSnapshot, short(commit), err)
	}
	tree, err := c.Tree()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSnapshot, err)
	}
	if dir != "." && dir != "" {
		if tree, err = tree.Tree(path.Clean(dir)); err != nil {
			return nil, fmt.Errorf("%w: %s is not in version %s: %w", ErrSnapshot, dir, short(commit), err)
		}
	}
	files := map[string][]byte{}
	for _, e := range tree.Entries {
		if !e.Mode.IsFile() || !isSource(e.Name) {
			continue
		}
		blob, err := repo.BlobObject(e.Hash)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrSnapshot, err)
		}
		text, err := blobText(blob)
		if err != nil {
			return nil, err
		}
		files[e.Name] = text
	}
	return files, nil
}

func blobText(b *object.Blob) ([]byte, error) {
	r, err := b.Reader()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// isSource reports the files of a program's package: Go files but tests.
func isSource(name string) bool {
	return strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go")
}
