package storage

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// runFiles lists the files to ingest, relative to home: recordings first,
// then finished replays, each in name order, so later data comes later.
func (s *Store) runFiles() ([]string, error) {
	var out []string
	runs, err := filepath.Glob(filepath.Join(s.home, "runs", "*.jsonl"))
	if err != nil {
		return nil, err
	}
	sort.Strings(runs)
	for _, f := range runs {
		out = append(out, "runs/"+filepath.Base(f))
	}
	dirs, err := os.ReadDir(filepath.Join(s.home, "replay"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("list replays: %w", err)
	}
	for _, d := range dirs { // ReadDir sorts by name
		if !d.IsDir() || strings.HasPrefix(d.Name(), "tmp-") {
			continue
		}
		files, err := filepath.Glob(filepath.Join(s.home, "replay", d.Name(), "*.jsonl"))
		if err != nil {
			return nil, err
		}
		sort.Strings(files)
		for _, f := range files {
			out = append(out, path.Join("replay", d.Name(), filepath.Base(f)))
		}
	}
	return out, nil
}
