package rewrite

import (
	"errors"
	"fmt"
	"slices"
)

// ErrOverlap reports two edits that touch the same bytes, or an edit whose
// range lies outside the source.
var ErrOverlap = errors.New("overlapping edits")

// Edit replaces the bytes src[Start:End] with New. An edit with Start == End
// inserts New before the byte at Start.
type Edit struct {
	Start, End int
	New        string
}

// String shows the edit for test failures and error messages.
func (e Edit) String() string {
	return fmt.Sprintf("[%d,%d)→%q", e.Start, e.End, e.New)
}

// Apply returns a copy of src with edits applied. Edits may be given in any
// order; they are applied as if all at once, by offsets into the original
// src. Insertions at the same offset keep their relative order and come
// before a replacement that starts there. Edits that overlap, or fall outside
// src, are rejected with an error wrapping ErrOverlap; src is never changed.
func Apply(src []byte, edits []Edit) ([]byte, error) {
	sorted := slices.Clone(edits)
	slices.SortStableFunc(sorted, func(a, b Edit) int {
		if a.Start != b.Start {
			return a.Start - b.Start
		}
		return a.End - b.End
	})
	size := len(src)
	last := 0
	for i, e := range sorted {
		if e.Start < 0 || e.End < e.Start || e.End > len(src) {
			return nil, fmt.Errorf("edit %v outside source of %d bytes: %w", e, len(src), ErrOverlap)
		}
		if e.Start < last {
			return nil, fmt.Errorf("edit %v overlaps %v: %w", e, sorted[i-1], ErrOverlap)
		}
		last = e.End
		size += len(e.New) - (e.End - e.Start)
	}
	out := make([]byte, 0, size)
	pos := 0
	for _, e := range sorted {
		out = append(out, src[pos:e.Start]...)
		out = append(out, e.New...)
		pos = e.End
	}
	return append(out, src[pos:]...), nil
}
