package storage

import (
	"os"
	"path/filepath"
)

// Every read calls Ingest, and flor ui reads on every request: over a home
// of thousands of run files, reading the ingest state back from DuckDB
// each time costs more than the read itself. So the store remembers the
// sizes its run files had when the last Ingest left each of them settled:
// stored up to its end, or ending in a torn line already reported. While
// the listing and every size are still the same, there is nothing to
// ingest. Run files are append-only, so a file whose size is unchanged has
// no new lines.

// statRunFiles returns the size of each of names (relative to the home);
// a file removed since it was listed is left out.
func (s *Store) statRunFiles(names []string) map[string]int64 {
	sizes := make(map[string]int64, len(names))
	for _, name := range names {
		fi, err := os.Stat(filepath.Join(s.home, filepath.FromSlash(name)))
		if err != nil {
			continue
		}
		sizes[name] = fi.Size()
	}
	return sizes
}

// upToDate reports whether the run files are those, of the same sizes,
// that the last Ingest left settled.
func (s *Store) upToDate(sizes map[string]int64) bool {
	if s.settled == nil || len(sizes) != len(s.settled) {
		return false
	}
	for name, size := range sizes {
		if old, ok := s.settled[name]; !ok || old != size {
			return false
		}
	}
	return true
}

// settle remembers sizes if an ingest left every file in files settled at
// its size in sizes (the size it had before it was read); otherwise the
// next Ingest reads the ingest state again.
func (s *Store) settle(sizes map[string]int64, files map[string]*fileRow) {
	s.settled = nil
	for name, size := range sizes {
		f := files[name]
		if f == nil || f.sid <= 0 || (f.off != size && f.torn != size) {
			return // not stored yet, unusable, shrunk or still growing
		}
	}
	s.settled = sizes
}
