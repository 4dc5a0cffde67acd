package planner

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/flordb/flor/internal/record"
)

// errBlobAbsent stops reading a run file at its first capture whose blob
// is not in the home.
var errBlobAbsent = errors.New("checkpoint blob absent")

// absentBlobs reports whether some capture of the run refers to a blob the
// home does not hold: a run pulled from a push with --no-checkpoints, or a
// home whose objects/ was cleaned. Such a run cannot start from a capture.
func absentBlobs(home string, r *Run) bool {
	seen := map[string]bool{}
	absent := func(h string) bool {
		if len(h) < 3 || seen[h] {
			return false
		}
		seen[h] = true
		_, err := os.Stat(filepath.Join(home, "objects", h[:2], h[2:]))
		return errors.Is(err, os.ErrNotExist)
	}
	err := record.ReadFile(r.File, func(l record.Line) error {
		if l.Kind != record.KindCkpt {
			return nil
		}
		c, err := l.Ckpt()
		if err != nil {
			return nil
		}
		for _, h := range c.Objs {
			if absent(h) {
				return errBlobAbsent
			}
		}
		for _, h := range c.X {
			if absent(h) {
				return errBlobAbsent
			}
		}
		return nil
	})
	return errors.Is(err, errBlobAbsent)
}

// withoutAbsentBlobs makes runs whose blobs are absent replay from the
// start on one worker, as a run without captures does (the runtime runs
// every block it cannot restore), and says so in the schedule.
func withoutAbsentBlobs(s *Schedule, home string, runs []*Run) {
	for _, r := range runs {
		if r.Captured == 0 && len(r.Iterations) == 0 || !absentBlobs(home, r) {
			continue
		}
		r.Captured = 0
		s.Notes = append(s.Notes, fmt.Sprintf("run %s: some of its checkpoint blobs are not in %s (pushed with --no-checkpoints?): "+
			"it replays from the start on one worker, running the blocks it cannot restore", r.Tstamp, filepath.Join(home, "objects")))
	}
}
