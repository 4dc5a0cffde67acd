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
	runs, err := jsonlNames(filepath.Join(s.home, "runs"))
	if err != nil {
		return nil, err
	}
	out := make([]string, len(runs))
	for i, f := range runs {
		out[i] = "runs/" + f
	}
	dirs, err := os.ReadDir(filepath.Join(s.home, "replay"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("list replays: %w", err)
	}
	for _, d := range dirs { // ReadDir sorts by name
		if !d.IsDir() || strings.HasPrefix(d.Name(), "tmp-") {
			continue
		}
		files, err := jsonlNames(filepath.Join(s.home, "replay", d.Name()))
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			out = append(out, path.Join("replay", d.Name(), f))
		}
	}
	return out, nil
}

// jsonlNames lists the names ending in .jsonl in dir, sorted; none when
// dir does not exist. It is filepath.Glob(dir/*.jsonl) without matching a
// pattern against each of thousands of names.
func jsonlNames(dir string) ([]string, error) {
	d, err := os.Open(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer d.Close()
	if fi, err := d.Stat(); err == nil && !fi.IsDir() {
		return nil, nil // as Glob: a file is no directory of matches
	}
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	out := names[:0]
	for _, n := range names {
		if strings.HasSuffix(n, ".jsonl") {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out, nil
}
