package runtime

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestConcurrentUnits records units from many goroutines at once, with
// the process's run logging too: each unit's file is whole, and no
// other file is left in runs/.
func TestConcurrentUnits(t *testing.T) {
	base := newTestRun(t)
	base.SetEcho(false)
	var wg sync.WaitGroup
	for g := range 50 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			u, err := New(Options{Like: base, Unit: true})
			if err != nil {
				t.Error(err)
				return
			}
			end := IterationOf(u, "document", NoIndex, "doc")
			for i := range Loop(u, "page", Range(3)) {
				Log(u, "label", g*10+i)
			}
			end()
			if err := u.Commit(); err != nil {
				t.Error(err)
			}
		}()
		go func() {
			defer wg.Done()
			Log(base, "x", g)
		}()
	}
	wg.Wait()
	if err := base.Commit(); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(filepath.Join(base.Home, "runs"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 51 {
		t.Fatalf("%d entries in runs/, want 50 units and the process's run", len(entries))
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".jsonl") {
			t.Errorf("%s left in runs/", e.Name())
			continue
		}
		data, err := os.ReadFile(filepath.Join(base.Home, "runs", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
		if !strings.HasPrefix(lines[0], `{"k":"run"`) || !strings.HasPrefix(lines[len(lines)-1], `{"k":"end"`) {
			t.Errorf("%s is not whole: %q ... %q", e.Name(), lines[0], lines[len(lines)-1])
		}
	}
}
