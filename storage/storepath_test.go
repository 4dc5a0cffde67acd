package storage

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

// A store kept apart from a shared, read-only home (WithPath): the home
// gets no DuckDB file, and two users' stores ingest the same run files,
// each whole.
func TestStoreApartFromHome(t *testing.T) {
	home := filepath.Join(t.TempDir(), "shared")
	os.MkdirAll(home, 0o755)
	r := newRunFile(t, home, t0, runOpts{})
	r.train(0.01, 3, 4)
	r.close()
	// The shared home cannot be written by its readers (unless root).
	if err := os.Chmod(home, 0o555); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(home, 0o755)
	ctx := context.Background()
	var seen []map[string]int64
	for _, user := range []string{"alice", "bob"} {
		path := filepath.Join(t.TempDir(), user, "flor.duckdb")
		s, err := Open(ctx, home, WithPath(path), WithMessages(&bytes.Buffer{}))
		if err != nil {
			t.Fatal(err)
		}
		if s.Path() != path || s.Memory() {
			t.Errorf("%s's store at %s (memory %v), want %s", user, s.Path(), s.Memory(), path)
		}
		seen = append(seen, counts(t, s))
		s.Close()
		if _, err := os.Stat(path); err != nil {
			t.Errorf("%s's store was not saved: %v", user, err)
		}
	}
	if _, err := os.Stat(filepath.Join(home, DBName)); err == nil {
		t.Errorf("the home got a store of its own")
	}
	if seen[0]["logs"] == 0 || !equalCounts(seen[0], seen[1]) {
		t.Errorf("the two stores hold %v and %v", seen[0], seen[1])
	}
}
