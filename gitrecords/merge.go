package gitrecords

import (
	"bytes"
	"sort"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// Conflict is two different files for one run or replay path: neither is
// a prefix of the other, so they are not two moments of one append-only
// file. Ours stays at Path; theirs is kept at Kept.
type Conflict struct {
	Path string // the records path, e.g. runs/20261128T051852.123456Z.jsonl
	Kept string // where the other version is kept (see ConflictPath)
}

// merge is the union of two records trees. A path on both sides with
// different blobs keeps the longer when one is a prefix of the other, else
// ours, with theirs kept at its ConflictPath. Only conflicts new to ours
// are returned, sorted by path.
func merge(s storer.EncodedObjectStorer, ours, theirs files) (files, []Conflict, error) {
	out := make(files, len(ours)+len(theirs))
	for p, h := range theirs {
		out[p] = h
	}
	var conflicts []Conflict
	for p, h := range ours {
		th, ok := theirs[p]
		if !ok || th == h {
			out[p] = h
			continue
		}
		k := classify(p)
		if k != kindRun && k != kindReplay {
			// Objects are named by their content and conflict files by
			// their blob: a difference is damage, and ours is kept.
			out[p] = h
			continue
		}
		a, err := readBlob(s, h)
		if err != nil {
			return nil, nil, err
		}
		b, err := readBlob(s, th)
		if err != nil {
			return nil, nil, err
		}
		switch {
		case bytes.HasPrefix(a, b):
			out[p] = h
		case bytes.HasPrefix(b, a):
			out[p] = th
		default:
			out[p] = h
			cp := ConflictPath(p, th)
			if _, had := ours[cp]; !had {
				conflicts = append(conflicts, Conflict{Path: p, Kept: cp})
			}
			out[cp] = th
		}
	}
	// A conflict file that is the very file at its main path says nothing.
	for p, h := range out {
		if classify(p) == kindConflict && out[mainPath(p)] == h {
			delete(out, p)
		}
	}
	sort.Slice(conflicts, func(i, j int) bool { return conflicts[i].Path < conflicts[j].Path })
	return out, conflicts, nil
}

// counts tallies a records tree by kind.
type counts struct {
	Runs, ReplayFiles, Objects, Conflicts int
}

func (fs files) counts() counts {
	var c counts
	for p := range fs {
		switch classify(p) {
		case kindRun:
			c.Runs++
		case kindReplay:
			c.ReplayFiles++
		case kindObject:
			c.Objects++
		case kindConflict:
			c.Conflicts++
		}
	}
	return c
}

// sameAs reports whether two trees hold the same files.
func (fs files) sameAs(other files) bool {
	if len(fs) != len(other) {
		return false
	}
	for p, h := range fs {
		if other[p] != h {
			return false
		}
	}
	return true
}

// hashes is the set of blob hashes in fs.
func (fs files) hashes() map[plumbing.Hash]bool {
	out := make(map[plumbing.Hash]bool, len(fs))
	for _, h := range fs {
		out[h] = true
	}
	return out
}
