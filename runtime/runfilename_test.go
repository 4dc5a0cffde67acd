package runtime

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/flordb/flor/internal/record"
)

// A run file is named <tstamp>-<suffix>.jsonl, and its tstamp moves on
// past a file of the older layout (<tstamp>.jsonl) of the same instant,
// also in a home whose path holds glob characters.
func TestRunFileNameAndOldLayout(t *testing.T) {
	dir := gitInit(t)
	home := filepath.Join(t.TempDir(), "h[1]*")
	r, err := New(Options{Dir: dir, Stdout: discard{}, Env: testEnv(map[string]string{"FLOR_HOME": home})})
	if err != nil {
		t.Fatal(err)
	}
	if r.Home != home {
		t.Fatalf("home %s, want %s", r.Home, home)
	}
	runs := filepath.Join(r.Home, "runs")
	if err := os.MkdirAll(runs, 0o755); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	if err := os.WriteFile(filepath.Join(runs, record.FileName(now)), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := r.createRunFile(now)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	ts, ok := record.ParseFileName(filepath.Base(r.File))
	if !ok || !ts.Equal(now.Add(time.Microsecond)) || r.Tstamp != record.FormatTime(ts) {
		t.Fatalf("run file %s, tstamp %s: want the next microsecond after %s", r.File, r.Tstamp, now)
	}
	if len(filepath.Base(r.File)) != len(record.FileLayout)+1+record.SuffixLen+len(".jsonl") {
		t.Errorf("run file %s is not <tstamp>-<suffix>.jsonl", r.File)
	}
}
