package gitrecords

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/flordb/flor/internal/record"
)

// Two hosts recording in the same microsecond: each run file has a name of
// its own (<tstamp>-<suffix>.jsonl), so a pull brings both without a
// conflict, and the store shows both runs, each with its own values.
func TestSameTstampTwoHosts(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, 2)
	a, b := w.clones[0], w.clones[1]
	aFile := recordRun(t, a, 0.1, 3)
	bFile := recordRun(t, b, 0.2, 2)
	unchanged(t, a, b)
	for _, f := range []string{aFile, bFile} {
		if _, ok := record.ParseFileName(filepath.Base(f)); !ok || !strings.Contains(filepath.Base(f), "-") {
			t.Fatalf("run file %s: not <tstamp>-<suffix>.jsonl", f)
		}
	}
	// Make B's run look recorded on another host in A's microsecond.
	aData, _ := os.ReadFile(aFile)
	bData, _ := os.ReadFile(bFile)
	tsRe := regexp.MustCompile(`"tstamp":"[^"]*"`)
	hostRe := regexp.MustCompile(`"host":"[^"]*"`)
	bData = tsRe.ReplaceAll(bData, tsRe.Find(aData))
	bData = hostRe.ReplaceAll(bData, []byte(`"host":"host-b"`))
	aName := filepath.Base(aFile)
	bName := strings.TrimSuffix(aName, ".jsonl")[:len(record.FileLayout)] + "-0123abcd.jsonl"
	if err := os.Remove(bFile); err != nil {
		t.Fatal(err)
	}
	writeRun(t, b, bName, bData)

	if _, err := open(t, a).Push(ctx, "", Options{}); err != nil {
		t.Fatal(err)
	}
	res, err := open(t, b).Pull(ctx, "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Conflicts) != 0 || res.Runs != 2 {
		t.Fatalf("pull: %+v", res)
	}
	if got := storeRuns(t, b); !equalMaps(got, map[string]int{"0.1": 3, "0.2": 2}) {
		t.Fatalf("B's store: loss values per lr = %v, want both runs", got)
	}
	ts1, _ := record.ParseFileName(aName)
	ts2, _ := record.ParseFileName(bName)
	if !ts1.Equal(ts2) || !bytes.Equal(tsRe.Find(aData), tsRe.Find(bData)) {
		t.Fatal("test setup: the two runs do not share a tstamp")
	}
	// And back: A sees both too.
	if _, err := open(t, b).Push(ctx, "", Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := open(t, a).Pull(ctx, "", Options{}); err != nil {
		t.Fatal(err)
	}
	if got := storeRuns(t, a); !equalMaps(got, map[string]int{"0.1": 3, "0.2": 2}) {
		t.Fatalf("A's store: %v", got)
	}
}
