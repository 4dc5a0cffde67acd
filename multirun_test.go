package flor_test

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/flordb/flor/internal/scratch"
)

// multirunProgram records several runs in one process: sequential runs
// separated by Commit, concurrent units, and logging racing with Commit.
const multirunProgram = `package main

import (
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/flordb/flor"
)

func main() {
	switch os.Args[1] {
	case "seq":
		flor.Arg("lr", 0.5)
		for k := range 3 {
			for i := range flor.Loop("epoch", flor.Range(2)) {
				flor.Log("loss", float64(k*10+i))
			}
			if err := flor.Commit(); err != nil {
				panic(err)
			}
			if k == 1 {
				// The tree changes: the next run takes a new snapshot.
				if err := os.WriteFile("notes.txt", []byte("changed"), 0o644); err != nil {
					panic(err)
				}
			}
		}
		flor.Log("after", 7) // after Commit: starts a fourth run
		flor.Commit()
		flor.Commit() // nothing since the last Commit: no fifth run
	case "units":
		var wg sync.WaitGroup
		for g := range 100 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				u := flor.Begin()
				end := u.Iteration("document", flor.NoIndex, fmt.Sprintf("doc%d", g))
				for i := range u.Loop("page", 5) {
					u.Log("label", g*100+i)
				}
				end()
				if err := u.Commit(); err != nil {
					panic(err)
				}
			}()
		}
		wg.Wait()
	case "race":
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 20000 {
					flor.Log("x", g*100000+i)
				}
			}()
		}
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		for running := true; running; {
			select {
			case <-done:
				running = false
			default:
				flor.Commit()
				time.Sleep(200 * time.Microsecond)
			}
		}
		flor.Commit()
	}
}
`

// buildMultirun builds the program in a fresh repository and returns the
// repository and the binary.
func buildMultirun(t *testing.T) (repo, bin string) {
	t.Helper()
	wd, _ := os.Getwd()
	root, err := scratch.Root(wd)
	if err != nil {
		t.Fatal(err)
	}
	repo = t.TempDir()
	p, err := scratch.New(repo, "example.com/multirun", root, map[string][]byte{"main.go": []byte(multirunProgram)})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Commit("program"); err != nil {
		t.Fatal(err)
	}
	bin = filepath.Join(t.TempDir(), "multirun")
	// -race: the program records from many goroutines at once.
	cmd := exec.Command("go", "build", "-race", "-o", bin, ".")
	cmd.Dir, cmd.Env = repo, scratch.BuildEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return repo, bin
}

type line struct {
	K        string            `json:"k"`
	Tstamp   string            `json:"tstamp"`
	Snapshot string            `json:"snapshot"`
	Status   string            `json:"status"`
	C        int64             `json:"c"`
	P        int64             `json:"p"`
	N        string            `json:"n"`
	I        int64             `json:"i"`
	V        json.RawMessage   `json:"v"`
	Arg      bool              `json:"arg"`
	Int      bool              `json:"int"`
	Kwargs   map[string]string `json:"kwargs"`
}

// runFiles reads every run file of home, in tstamp order.
func runFiles(t *testing.T, home string) [][]line {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(home, "runs", "*.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(names)
	var out [][]line
	for _, n := range names {
		f, err := os.Open(n)
		if err != nil {
			t.Fatal(err)
		}
		var ls []line
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var l line
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				t.Fatalf("%s: %v: %s", n, err, sc.Text())
			}
			ls = append(ls, l)
		}
		f.Close()
		out = append(out, ls)
	}
	return out
}

func runMultirun(t *testing.T, repo, bin, mode string) string {
	t.Helper()
	home := filepath.Join(t.TempDir(), "flor")
	cmd := exec.Command(bin, mode)
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "FLOR_HOME="+home, "FLOR_PROGRESS=0", "FLOR_ECHO=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", bin, mode, err, out)
	}
	return home
}

func userLogs(ls []line, name string) []line {
	var out []line
	for _, l := range ls {
		if l.K == "log" && l.N == name && !l.Int {
			out = append(out, l)
		}
	}
	return out
}

func TestMultirun(t *testing.T) {
	repo, bin := buildMultirun(t)

	t.Run("commits", func(t *testing.T) {
		files := runFiles(t, runMultirun(t, repo, bin, "seq"))
		if len(files) != 4 {
			t.Fatalf("%d run files, want 4 (three Commits, then a value after the last)", len(files))
		}
		tstamps := map[string]bool{}
		var snaps []string
		for k, ls := range files {
			if ls[0].K != "run" || ls[len(ls)-1].K != "end" || ls[len(ls)-1].Status != "finished" {
				t.Fatalf("run %d: not a whole finished run: first %q, last %q", k, ls[0].K, ls[len(ls)-1].K)
			}
			tstamps[ls[0].Tstamp] = true
			snaps = append(snaps, ls[0].Snapshot)
			if lr := userLogs(ls, "lr"); len(lr) != 1 || !lr[0].Arg || string(lr[0].V) != "0.5" {
				t.Errorf("run %d: lr records %+v, want the arg once", k, lr)
			}
			if k < 3 {
				var got []string
				for _, l := range userLogs(ls, "loss") {
					got = append(got, string(l.V))
				}
				want := []string{jsonFloat(k * 10), jsonFloat(k*10 + 1)}
				if !slices.Equal(got, want) {
					t.Errorf("run %d: loss %v, want %v", k, got, want)
				}
			}
		}
		if len(tstamps) != 4 {
			t.Errorf("tstamps %v: want 4 distinct", tstamps)
		}
		if after := userLogs(files[3], "after"); len(after) != 1 || string(after[0].V) != "7" {
			t.Errorf("value logged after Commit: %+v, want it in the fourth run", after)
		}
		if snaps[0] == "" || snaps[0] != snaps[1] || snaps[2] != snaps[3] || snaps[1] == snaps[2] {
			t.Errorf("snapshots %v: want one for the first two runs, a new one after the tree changed", snaps)
		}
	})

	t.Run("units", func(t *testing.T) {
		files := runFiles(t, runMultirun(t, repo, bin, "units"))
		if len(files) != 100 {
			t.Fatalf("%d run files, want 100 (one per unit)", len(files))
		}
		seen := map[string]bool{}
		for _, ls := range files {
			if ls[0].K != "run" || ls[len(ls)-1].K != "end" {
				t.Fatalf("run %s is not whole", ls[0].Tstamp)
			}
			var doc line
			pages := map[int64]int64{} // page ctx id -> iteration
			var labels []int
			for _, l := range ls[1:] {
				switch {
				case l.K == "ctx" && l.N == "document":
					doc = l
				case l.K == "ctx" && l.N == "page":
					if l.P != doc.C || doc.C == 0 {
						t.Fatalf("run %s: page context %d not under its document", ls[0].Tstamp, l.C)
					}
					pages[l.C] = l.I
				case l.K == "log" && l.N == "label":
					var v int
					json.Unmarshal(l.V, &v)
					if pages[l.C] != int64(v%100) {
						t.Fatalf("run %s: label %d in page %d", ls[0].Tstamp, v, pages[l.C])
					}
					labels = append(labels, v)
				}
			}
			if doc.I != -1 {
				t.Errorf("document index %d, want -1 (NoIndex)", doc.I)
			}
			var name string
			json.Unmarshal(doc.V, &name)
			seen[name] = true
			if len(labels) != 5 {
				t.Fatalf("run %s: %d labels, want 5", ls[0].Tstamp, len(labels))
			}
			for i, v := range labels {
				if v/100 != labels[0]/100 || v%100 != i || name != "doc"+itoa(v/100) {
					t.Fatalf("run %s of %s: labels %v interleave with another unit's", ls[0].Tstamp, name, labels)
				}
			}
		}
		if len(seen) != 100 {
			t.Errorf("%d documents, want 100", len(seen))
		}
	})

	t.Run("race", func(t *testing.T) {
		files := runFiles(t, runMultirun(t, repo, bin, "race"))
		got := map[string]bool{}
		for _, ls := range files {
			if ls[len(ls)-1].K != "end" {
				t.Fatalf("run %s not finished", ls[0].Tstamp)
			}
			for _, l := range userLogs(ls, "x") {
				if got[string(l.V)] {
					t.Fatalf("value %s recorded twice", l.V)
				}
				got[string(l.V)] = true
			}
		}
		t.Logf("80000 values over %d runs", len(files))
		if len(got) != 80000 {
			t.Errorf("%d values recorded over %d runs, want 80000: none lost across Commits", len(got), len(files))
		}
	})
}

func jsonFloat(n int) string {
	b, _ := json.Marshal(float64(n))
	return string(b)
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
