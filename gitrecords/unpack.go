package gitrecords

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Unpack writes the files of the records ref into the flor home, after a
// fresh clone and a fetch of the ref, say, as FlorDB's unpack does: run
// files, finished replays, checkpoint blobs (unless NoCheckpoints) and
// kept conflicts. It never removes or shortens a file of the home: a run
// file is replaced only by a longer version of itself. The store ingests
// what was written on its next read.
func (r *Repo) Unpack(ctx context.Context, opt Options) (*Result, error) {
	unlock, err := r.lock(r.recordsLock(), time.Minute)
	if err != nil {
		return nil, err
	}
	defer unlock()
	start := time.Now()
	tip, err := r.tip(RecordsRef)
	if err != nil {
		return nil, err
	}
	if tip.IsZero() {
		return nil, fmt.Errorf("%w: %s does not exist here (flor pull fetches it; or git fetch origin %s:%s)", ErrNoRecords, RecordsRef, RecordsRef, RecordsRef)
	}
	res := &Result{Commit: tip}
	if err := r.unpack(ctx, opt, newProgress(opt), res); err != nil {
		return nil, err
	}
	res.Elapsed = time.Since(start)
	return res, nil
}

func (r *Repo) unpack(ctx context.Context, opt Options, prog *progress, res *Result) error {
	tree, err := readTree(r.git.Storer, res.Commit)
	if err != nil {
		return err
	}
	res.fill(tree)
	if err := r.excludeHome(); err != nil {
		return err
	}
	paths := make([]string, 0, len(tree))
	for p := range tree {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	// Replays whose directory the home lacks are written whole into a
	// directory in progress and renamed into place, so the store never
	// reads half a replay.
	fresh := map[string]string{} // replay id -> directory in progress
	defer func() {
		for _, d := range fresh {
			os.RemoveAll(d)
		}
	}()
	prog.start("unpacking", len(paths))
	for _, p := range paths {
		if err := ctx.Err(); err != nil {
			return err
		}
		prog.step()
		k := classify(p)
		if k == kindNone {
			res.Skipped = append(res.Skipped, p)
			continue
		}
		if k == kindObject && opt.NoCheckpoints {
			continue
		}
		dst := filepath.Join(r.home, filepath.FromSlash(p))
		if k == kindReplay {
			id := strings.Split(p, "/")[1]
			final := filepath.Join(r.home, replayDir, id)
			if d, ok := fresh[id]; ok {
				dst = filepath.Join(d, filepath.Base(dst))
			} else if _, err := os.Stat(final); errors.Is(err, fs.ErrNotExist) {
				d, err := newReplayDir(r.home, id)
				if err != nil {
					return err
				}
				fresh[id] = d
				dst = filepath.Join(d, filepath.Base(dst))
			}
		}
		local, err := os.ReadFile(dst)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("unpacking %s: %w", p, err)
		}
		exists := err == nil
		if exists && k != kindRun && k != kindReplay {
			continue // named by content: the file is already this one
		}
		data, err := readBlob(r.git.Storer, tree[p])
		if err != nil {
			return err
		}
		switch {
		case exists && bytes.Equal(local, data), exists && bytes.HasPrefix(local, data):
			continue // the same, or the home's is further on
		case exists && !bytes.HasPrefix(data, local):
			// Record merged the home's file into the ref just before, so
			// this is a file changed meanwhile: leave it for the next push.
			prog.note("%s: the flor home's file differs from the recorded one; left as it is", p)
			res.Skipped = append(res.Skipped, p)
			continue
		}
		if k == kindObject && !blobNameMatches(p, data) {
			prog.note("%s: content does not match its name; not unpacked", p)
			res.Skipped = append(res.Skipped, p)
			continue
		}
		if err := writeAtomic(dst, data); err != nil {
			return fmt.Errorf("unpacking %s: %w", p, err)
		}
		if exists {
			res.Extended++
		} else {
			res.Written++
		}
	}
	prog.done()
	ids := make([]string, 0, len(fresh))
	for id := range fresh {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		d := fresh[id]
		os.Remove(filepath.Join(d, "owner"))
		if err := os.Rename(d, filepath.Join(r.home, replayDir, id)); err != nil {
			return fmt.Errorf("unpacking replay %s: %w", id, err)
		}
		delete(fresh, id)
	}
	return nil
}

// newReplayDir makes replay/tmp-unpack-<id>-<pid> with an owner file, the
// planner's convention for a replay in progress: the store skips it, and
// the planner removes it once its owner is gone.
func newReplayDir(home, id string) (string, error) {
	d := filepath.Join(home, replayDir, replayTmpPrefix+"unpack-"+id+"-"+strconv.Itoa(os.Getpid()))
	if err := os.RemoveAll(d); err != nil {
		return "", err
	}
	if err := os.MkdirAll(d, 0o755); err != nil {
		return "", fmt.Errorf("unpacking replay %s: %w", id, err)
	}
	if err := os.WriteFile(filepath.Join(d, "owner"), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("unpacking replay %s: %w", id, err)
	}
	return d, nil
}

// blobNameMatches: a checkpoint blob's path is the sha256 of its bytes.
func blobNameMatches(p string, data []byte) bool {
	sum := sha256.Sum256(data)
	parts := strings.Split(p, "/")
	return hex.EncodeToString(sum[:]) == parts[1]+parts[2]
}

// writeAtomic writes data to path through a temporary file in the same
// directory (named .tmp-*, which no reader of the home lists) and a
// rename, so a reader sees the old file or the new one, never a part.
func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(data)
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(tmp.Name(), 0o644)
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), path)
	}
	if werr != nil {
		os.Remove(tmp.Name())
	}
	return werr
}
