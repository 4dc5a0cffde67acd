package gitrecords

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
)

// Result is what an operation did, for its summary line.
type Result struct {
	Remote string // the remote pushed to or pulled from ("" for Record, Unpack)

	// The records ref after the operation.
	Commit                        plumbing.Hash
	Runs, ReplayFiles, Objects    int
	Recorded                      int // files of the home newly stored in the ref
	Fetched                       int // files the remote's records added to the ref
	Written, Extended             int // files unpacked into the home: new, or grown (a longer version)
	Pushed                        bool
	ShadowMerged, ShadowForwarded bool
	Conflicts                     []Conflict
	Skipped                       []string // paths left out: not of the records layout, or damaged
	Elapsed                       time.Duration
}

// Record stores the flor home's run files, finished replays and (unless
// NoCheckpoints) checkpoint blobs in the records ref. A home with nothing
// new leaves the ref as it is.
func (r *Repo) Record(ctx context.Context, opt Options) (*Result, error) {
	unlock, err := r.lock(r.recordsLock(), time.Minute)
	if err != nil {
		return nil, err
	}
	defer unlock()
	start := time.Now()
	res := &Result{}
	if err := r.record(ctx, opt, newProgress(opt), res); err != nil {
		return nil, err
	}
	res.Elapsed = time.Since(start)
	return res, nil
}

func (r *Repo) record(ctx context.Context, opt Options, prog *progress, res *Result) error {
	old, err := r.tip(RecordsRef)
	if err != nil {
		return err
	}
	inRef, err := readTree(r.git.Storer, old)
	if err != nil {
		return err
	}
	paths, err := r.homeFiles(opt, inRef)
	if err != nil {
		return err
	}
	local := files{}
	pk := newPacker(r.git.Storer)
	prog.start("recording", len(paths))
	for _, p := range paths {
		if err := ctx.Err(); err != nil {
			return err
		}
		data, err := os.ReadFile(filepath.Join(r.home, filepath.FromSlash(p)))
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue // removed since listed
			}
			return fmt.Errorf("recording %s: %w", p, err)
		}
		h, err := pk.blob(data)
		if err != nil {
			return fmt.Errorf("recording %s: %w", p, err)
		}
		local[p] = h
		prog.step()
	}
	if err := pk.flush(); err != nil {
		return err
	}
	prog.done()
	merged, conflicts, err := merge(r.git.Storer, local, inRef)
	if err != nil {
		return err
	}
	for _, c := range conflicts {
		// Ours is the home's file: the ref's other version is kept aside.
		prog.note("conflict: %s differs from the recorded file of that name; the recorded one is kept as %s", c.Path, c.Kept)
	}
	res.Conflicts = append(res.Conflicts, conflicts...)
	for p, h := range merged {
		if inRef[p] != h {
			res.Recorded++
		}
	}
	res.Commit = old
	if merged.sameAs(inRef) { // nothing new (or nothing at all: no empty commit)
		res.fill(merged)
		return nil
	}
	tree, err := writeTree(r.git.Storer, merged)
	if err != nil {
		return fmt.Errorf("storing the records tree: %w", err)
	}
	var parents []plumbing.Hash
	if !old.IsZero() {
		parents = []plumbing.Hash{old}
	}
	c := merged.counts()
	h, err := r.commit(tree, parents, fmt.Sprintf("flor records: %d runs, %d replay files, %d objects", c.Runs, c.ReplayFiles, c.Objects))
	if err != nil {
		return fmt.Errorf("storing the records commit: %w", err)
	}
	if err := r.setRef(RecordsRef, h, old); err != nil {
		return err
	}
	res.Commit = h
	res.fill(merged)
	return nil
}

func (res *Result) fill(fs files) {
	c := fs.counts()
	res.Runs, res.ReplayFiles, res.Objects = c.Runs, c.ReplayFiles, c.Objects
}

// homeFiles lists the records paths of the home. Checkpoint blobs already
// in the ref are not listed again: their names are their content's hash.
// Finished replay files are listed every time, as run files are, since
// they are small and reading them costs little next to a push.
func (r *Repo) homeFiles(opt Options, inRef files) ([]string, error) {
	var out []string
	add := func(pattern string, keep func(p string) bool) error {
		matches, err := filepath.Glob(filepath.Join(r.home, pattern))
		if err != nil {
			return err
		}
		for _, m := range matches {
			rel, err := filepath.Rel(r.home, m)
			if err != nil {
				continue
			}
			p := filepath.ToSlash(rel)
			if classify(p) == kindNone || (keep != nil && !keep(p)) {
				continue
			}
			if st, err := os.Lstat(m); err != nil || !st.Mode().IsRegular() {
				continue
			}
			out = append(out, p)
		}
		return nil
	}
	patterns := []string{
		path.Join(runsDir, "*"+jsonlExt),
		path.Join(replayDir, "*", "*"+jsonlExt),
		path.Join(conflictsDir, runsDir, "*"+jsonlExt),
		path.Join(conflictsDir, replayDir, "*", "*"+jsonlExt),
	}
	for _, pat := range patterns {
		if err := add(pat, nil); err != nil {
			return nil, err
		}
	}
	if !opt.NoCheckpoints {
		notInRef := func(p string) bool { _, ok := inRef[p]; return !ok }
		if err := add(path.Join(objectsDir, "*", "*"), notInRef); err != nil {
			return nil, err
		}
	}
	sort.Strings(out)
	return out, nil
}
