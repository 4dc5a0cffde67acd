package gitrecords

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// Recording writes new files as a pack (and their trees as another), not
// as one loose object each;
// the pack's blobs are read back like any other.
func TestRecordWritesAPack(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, 2)
	a, b := w.clones[0], w.clones[1]
	for i := range 20 {
		recordRun(t, a, float64(i)/100, 2)
	}
	unchanged(t, a, b)
	objects := filepath.Join(a, ".git", "objects")
	looseObjects := func() int {
		l, _ := filepath.Glob(filepath.Join(objects, "[0-9a-f][0-9a-f]", "*"))
		return len(l)
	}
	before := looseObjects()
	res, err := open(t, a).Record(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Runs != 20 || res.Objects == 0 {
		t.Fatalf("record: %+v", res)
	}
	packs, _ := filepath.Glob(filepath.Join(objects, "pack", "*.pack"))
	// One pack of the files, one of the trees; loose: the commit only.
	if added := looseObjects() - before; len(packs) != 2 || added != 1 {
		t.Fatalf("%d packs and %d new loose objects for %d files", len(packs), added, res.Runs+res.Objects)
	}
	if _, err := open(t, a).Push(ctx, "", Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := open(t, b).Pull(ctx, "", Options{}); err != nil {
		t.Fatal(err)
	}
	if got := storeRuns(t, b); len(got) != 20 {
		t.Fatalf("B reads %d runs, want 20", len(got))
	}
	if ents, _ := os.ReadDir(filepath.Join(home(b), objectsDir)); len(ents) == 0 {
		t.Fatal("B has no checkpoint blobs")
	}
}
