package runtime

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/flordb/flor/internal/gitdir"
	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
	"github.com/go-git/go-git/v5/plumbing/format/index"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"github.com/go-git/go-git/v5/storage/filesystem/dotgit"
)

// ShadowBranch holds one commit per distinct working tree a run started
// from; the user's branches, HEAD, index and files are never touched.
const ShadowBranch = "flor.shadow"

// ErrSnapshot: the working tree could not be stored in git.
var ErrSnapshot = errors.New("snapshot")

// snapshot stores the working tree (tracked files, and untracked files
// that are not ignored) as a commit on flor.shadow and returns its hash.
// A run whose tree equals the branch tip's shares that commit.
// Waiting for another process's lock is said on stderr.
func snapshot(root, home, tstamp string, stderr io.Writer) (string, time.Time, error) {
	repo, err := openStorage(root)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("%w: opening %s: %w", ErrSnapshot, root, err)
	}
	tree, newest, err := buildTree(repo, root, home)
	if err != nil {
		return "", newest, err
	}
	// A process that records several runs (Commit, then more calls)
	// reuses its last snapshot while the tree is unchanged, even when
	// another program moved the branch tip since.
	lastSnap.Lock()
	defer lastSnap.Unlock()
	if lastSnap.root == root && lastSnap.tree == tree && lastSnap.commit != "" {
		return lastSnap.commit, newest, nil
	}
	h, err := commitTree(repo, root, tree, tstamp, stderr)
	if err == nil {
		lastSnap.root, lastSnap.tree, lastSnap.commit, lastSnap.newest = root, tree, h, newest
	}
	return h, newest, err
}

// lastSnap is this process's newest snapshot.
var lastSnap struct {
	sync.Mutex
	root   string
	tree   plumbing.Hash
	commit string
	newest time.Time
}

// processSnapshot returns this process's newest snapshot of root, taking
// one only when the process has none: a unit (Begin) records the code the
// process runs, which does not change while it runs, and must not pay for
// hashing the tree on every request.
func processSnapshot(root, home, tstamp string, stderr io.Writer) (string, time.Time, error) {
	lastSnap.Lock()
	if lastSnap.root == root && lastSnap.commit != "" {
		h, newest := lastSnap.commit, lastSnap.newest
		lastSnap.Unlock()
		return h, newest, nil
	}
	lastSnap.Unlock()
	unitSnapMu.Lock() // concurrent first units take one snapshot, not one each
	defer unitSnapMu.Unlock()
	lastSnap.Lock()
	if lastSnap.root == root && lastSnap.commit != "" {
		h, newest := lastSnap.commit, lastSnap.newest
		lastSnap.Unlock()
		return h, newest, nil
	}
	lastSnap.Unlock()
	return snapshot(root, home, tstamp, stderr)
}

var unitSnapMu sync.Mutex

// openStorage opens the object and reference store of the repository at
// root through go-git's storage layer only: the top-level go-git package
// brings transports (ssh, http) that every program linking the runtime
// would pay for in size and link time. A .git file (a linked worktree or
// a submodule) names the git directory, and a commondir file in it the
// directory shared with the main worktree (see internal/gitdir).
func openStorage(root string) (*filesystem.Storage, error) {
	repo, err := gitdir.Find(root)
	if err != nil {
		return nil, err
	}
	fs := osfs.New(repo.GitDir)
	if repo.Linked() {
		fs = dotgit.NewRepositoryFilesystem(osfs.New(repo.GitDir), osfs.New(repo.CommonDir))
	}
	return filesystem.NewStorage(fs, cache.NewObjectLRUDefault()), nil
}

// commitTree makes tree the tip of the shadow branch, or finds it there.
func commitTree(repo *filesystem.Storage, root string, tree plumbing.Hash, tstamp string, stderr io.Writer) (string, error) {
	unlock, err := lockShadow(root, stderr)
	if err != nil {
		return "", err
	}
	defer unlock()
	name := plumbing.NewBranchReferenceName(ShadowBranch)
	for range 20 {
		old, err := repo.Reference(name)
		if err != nil && !errors.Is(err, plumbing.ErrReferenceNotFound) {
			return "", fmt.Errorf("%w: reading %s: %w", ErrSnapshot, name, err)
		}
		var parents []plumbing.Hash
		if old != nil {
			if c, err := object.GetCommit(repo, old.Hash()); err == nil {
				if c.TreeHash == tree {
					return c.Hash.String(), nil
				}
				parents = []plumbing.Hash{c.Hash}
			}
		}
		sig := object.Signature{Name: "flor", Email: "flor@localhost", When: time.Now()}
		c := &object.Commit{Author: sig, Committer: sig, Message: "FLOR::Auto-commit::" + tstamp,
			TreeHash: tree, ParentHashes: parents}
		obj := repo.NewEncodedObject()
		if err := c.Encode(obj); err != nil {
			return "", fmt.Errorf("%w: %w", ErrSnapshot, err)
		}
		h, err := repo.SetEncodedObject(obj)
		if err != nil {
			return "", fmt.Errorf("%w: storing commit: %w", ErrSnapshot, err)
		}
		err = repo.CheckAndSetReference(plumbing.NewHashReference(name, h), old)
		if errors.Is(err, storage.ErrReferenceHasChanged) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("%w: updating %s: %w", ErrSnapshot, name, err)
		}
		return h.String(), nil
	}
	return "", fmt.Errorf("%w: %s keeps changing", ErrSnapshot, name)
}

type treeNode struct {
	entries []object.TreeEntry
}

// buildTree writes blobs and trees for the working tree and returns the
// root tree's hash and the newest modification time of its Go sources.
// Tracked files whose size and mtime match the index reuse the index's
// hash, as git does, so unchanged files are not read.
func buildTree(repo *filesystem.Storage, root, home string) (plumbing.Hash, time.Time, error) {
	var newest time.Time
	tracked := map[string]*index.Entry{}
	trackedDirs := map[string]bool{}
	if idx, err := repo.Index(); err == nil {
		for _, e := range idx.Entries {
			// Stage 0 is a merged entry (go-git's index.Merged constant
			// says 1); in a conflict, "ours" stands for the file.
			if e.Stage != 0 && e.Stage != index.OurMode {
				continue
			}
			tracked[e.Name] = e
			for d := pathDir(e.Name); d != ""; d = pathDir(d) {
				trackedDirs[d] = true
			}
		}
	}
	patterns, _ := gitignore.ReadPatterns(osfs.New(root), nil)
	patterns = append(patterns, globalExcludes()...)
	matcher := gitignore.NewMatcher(patterns)
	homeAbs, _ := filepath.Abs(home)

	dirs := map[string]*treeNode{"": {}}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == root {
				return err
			}
			return nil // unreadable entries are left out, as git would fail on them
		}
		if p == root {
			return nil
		}
		rel := filepath.ToSlash(p[len(root)+1:])
		if d.IsDir() {
			if d.Name() == ".git" || p == homeAbs {
				return filepath.SkipDir
			}
			if e, ok := tracked[rel]; ok && e.Mode == filemode.Submodule {
				addEntry(dirs, rel, object.TreeEntry{Name: d.Name(), Mode: filemode.Submodule, Hash: e.Hash})
				return filepath.SkipDir
			}
			if !trackedDirs[rel] {
				if matcher.Match(strings.Split(rel, "/"), true) {
					return filepath.SkipDir
				}
				if _, err := os.Stat(filepath.Join(p, ".git")); err == nil {
					return filepath.SkipDir // another repository
				}
			}
			return nil
		}
		e, isTracked := tracked[rel]
		if !isTracked && matcher.Match(strings.Split(rel, "/"), false) {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		if n := d.Name(); strings.HasSuffix(n, ".go") || n == "go.mod" || n == "go.sum" {
			newest = later(newest, info.ModTime())
		}
		mode := filemode.Regular
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			mode = filemode.Symlink
		case !info.Mode().IsRegular():
			return nil // sockets, devices, pipes
		case info.Mode()&0o111 != 0:
			mode = filemode.Executable
		}
		var h plumbing.Hash
		if isTracked && e.Mode == mode && int64(e.Size) == info.Size() && e.ModifiedAt.Equal(info.ModTime()) {
			h = e.Hash
		} else {
			var content []byte
			if mode == filemode.Symlink {
				target, err := os.Readlink(p)
				if err != nil {
					return nil
				}
				content = []byte(target)
			} else if content, err = os.ReadFile(p); err != nil {
				return nil
			}
			if h, err = storeObject(repo, plumbing.BlobObject, content); err != nil {
				return err
			}
		}
		addEntry(dirs, rel, object.TreeEntry{Name: d.Name(), Mode: mode, Hash: h})
		return nil
	})
	if err != nil {
		return plumbing.ZeroHash, newest, fmt.Errorf("%w: reading the working tree: %w", ErrSnapshot, err)
	}
	h, err := writeTrees(repo, dirs)
	return h, newest, err
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// globalExcludes are the user's own ignore patterns, which git applies to
// every repository: core.excludesFile, else $XDG_CONFIG_HOME/git/ignore
// (~/.config/git/ignore). Files ignored there (editor folders, .env) stay
// out of snapshots as they stay out of git.
func globalExcludes() []gitignore.Pattern {
	root := osfs.New("/")
	if ps, err := gitignore.LoadGlobalPatterns(root); err == nil && len(ps) > 0 {
		return ps
	}
	cfg := os.Getenv("XDG_CONFIG_HOME")
	if cfg == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return nil
		}
		cfg = filepath.Join(home, ".config")
	}
	data, err := os.ReadFile(filepath.Join(cfg, "git", "ignore"))
	if err != nil {
		return nil
	}
	var ps []gitignore.Pattern
	for _, line := range strings.Split(string(data), "\n") {
		if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "#") {
			ps = append(ps, gitignore.ParsePattern(l, nil))
		}
	}
	return ps
}

func pathDir(p string) string {
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return ""
	}
	return p[:i]
}

func addEntry(dirs map[string]*treeNode, rel string, e object.TreeEntry) {
	d := pathDir(rel)
	n := dirs[d]
	if n == nil {
		n = &treeNode{}
		dirs[d] = n
	}
	n.entries = append(n.entries, e)
}

// writeTrees stores the trees deepest first so each parent can name its
// children's hashes; directories without files are left out, as in git.
func writeTrees(repo *filesystem.Storage, dirs map[string]*treeNode) (plumbing.Hash, error) {
	for p := range dirs {
		for d := p; d != ""; {
			d = pathDir(d)
			if dirs[d] == nil {
				dirs[d] = &treeNode{}
			}
		}
	}
	paths := make([]string, 0, len(dirs))
	for p := range dirs {
		paths = append(paths, p)
	}
	sort.Slice(paths, func(i, j int) bool {
		return strings.Count(paths[i], "/")+boolInt(paths[i] != "") > strings.Count(paths[j], "/")+boolInt(paths[j] != "")
	})
	hashes := map[string]plumbing.Hash{}
	for _, p := range paths {
		n := dirs[p]
		if len(n.entries) == 0 && p != "" {
			continue
		}
		sort.Slice(n.entries, func(i, j int) bool { return gitName(n.entries[i]) < gitName(n.entries[j]) })
		t := &object.Tree{Entries: n.entries}
		obj := repo.NewEncodedObject()
		if err := t.Encode(obj); err != nil {
			return plumbing.ZeroHash, fmt.Errorf("%w: %w", ErrSnapshot, err)
		}
		h, err := repo.SetEncodedObject(obj)
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("%w: storing tree: %w", ErrSnapshot, err)
		}
		hashes[p] = h
		if p != "" {
			addEntry(dirs, p, object.TreeEntry{Name: p[strings.LastIndexByte(p, '/')+1:], Mode: filemode.Dir, Hash: h})
		}
	}
	return hashes[""], nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// gitName is the sort key git uses for tree entries: directories sort as
// if their names ended in '/'.
func gitName(e object.TreeEntry) string {
	if e.Mode == filemode.Dir {
		return e.Name + "/"
	}
	return e.Name
}

// storeObject writes an object unless the repository has it already.
func storeObject(repo *filesystem.Storage, t plumbing.ObjectType, content []byte) (plumbing.Hash, error) {
	h := plumbing.ComputeHash(t, content)
	if repo.HasEncodedObject(h) == nil {
		return h, nil
	}
	obj := repo.NewEncodedObject()
	obj.SetType(t)
	obj.SetSize(int64(len(content)))
	w, err := obj.Writer()
	if err != nil {
		return h, fmt.Errorf("%w: %w", ErrSnapshot, err)
	}
	if _, err := w.Write(content); err != nil {
		return h, fmt.Errorf("%w: %w", ErrSnapshot, err)
	}
	if err := w.Close(); err != nil {
		return h, fmt.Errorf("%w: %w", ErrSnapshot, err)
	}
	if _, err := repo.SetEncodedObject(obj); err != nil {
		return h, fmt.Errorf("%w: storing blob: %w", ErrSnapshot, err)
	}
	return h, nil
}
