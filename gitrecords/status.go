package gitrecords

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/go-git/go-git/v5/plumbing"
)

// Status is what is local, what is recorded in the records ref and what
// a remote holds as of the last push or pull (no network is used).
type Status struct {
	Remote string // the remote Pushed refers to

	LocalRuns    int // run files in the home
	Unrecorded   int // of which not in the records ref as they are now
	RecordedRuns int // run files in the records ref
	ReplayFiles  int // finished replay files in the records ref
	Objects      int // checkpoint blobs in the records ref
	Conflicts    int // other versions kept under conflicts/

	RecordBytes int64 // run and replay files in the records ref
	BlobBytes   int64 // checkpoint blobs in the records ref

	Tracked bool // a push or pull to Remote has happened
	Pushed  int  // runs of the records ref the remote has, as they are
}

// Status reports on the home, the records ref and the remote (default
// origin), as last seen by a push or pull.
func (r *Repo) Status(remote string) (*Status, error) {
	if remote == "" {
		remote = DefaultRemote
	}
	st := &Status{Remote: remote}
	tip, err := r.tip(RecordsRef)
	if err != nil {
		return nil, err
	}
	inRef, err := readTree(r.git.Storer, tip)
	if err != nil {
		return nil, err
	}
	local, _ := filepath.Glob(filepath.Join(r.home, runsDir, "*"+jsonlExt))
	for _, f := range local {
		st.LocalRuns++
		h, ok := inRef[runsDir+"/"+filepath.Base(f)]
		data, err := os.ReadFile(f)
		if !ok || err != nil || plumbing.ComputeHash(plumbing.BlobObject, data) != h {
			st.Unrecorded++
		}
	}
	for p, h := range inRef {
		size, err := r.git.Storer.EncodedObjectSize(h)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrCorrupt, p, err)
		}
		switch classify(p) {
		case kindRun:
			st.RecordedRuns++
			st.RecordBytes += size
		case kindReplay:
			st.ReplayFiles++
			st.RecordBytes += size
		case kindObject:
			st.Objects++
			st.BlobBytes += size
		case kindConflict:
			st.Conflicts++
			st.RecordBytes += size
		}
	}
	theirs, err := r.tip(tracking(remote, "records"))
	if err != nil || theirs.IsZero() {
		return st, nil
	}
	st.Tracked = true
	tf, err := readTree(r.git.Storer, theirs)
	if err != nil {
		return st, nil
	}
	for p, h := range inRef {
		if classify(p) == kindRun && tf[p] == h {
			st.Pushed++
		}
	}
	return st, nil
}
