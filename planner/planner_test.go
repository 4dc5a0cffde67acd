package planner

import (
	"context"
	"go/parser"
	"go/token"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flordb/flor/analyzer"
	"github.com/flordb/flor/internal/scratch"
	"github.com/flordb/flor/runtime"
)

func TestSplit(t *testing.T) {
	for _, c := range []struct {
		n, w int
		want [][2]int64
	}{
		{5, 2, [][2]int64{{0, 3}, {3, -1}}},
		{4, 4, [][2]int64{{0, 1}, {1, 2}, {2, 3}, {3, -1}}},
		{2, 8, [][2]int64{{0, 1}, {1, -1}}},
		{7, 1, [][2]int64{{0, -1}}},
		{0, 4, [][2]int64{{0, -1}}},
	} {
		if got := split(c.n, c.w); !reflect.DeepEqual(got, c.want) {
			t.Errorf("split(%d, %d) = %v, want %v", c.n, c.w, got, c.want)
		}
	}
}

func TestEstimate(t *testing.T) {
	r := &Run{Filename: "prog", Prefix: 2 * time.Second, Suffix: time.Second,
		Iterations: []time.Duration{10 * time.Second, 10 * time.Second},
		Nested:     []time.Duration{9 * time.Second, 9 * time.Second},
		EndBytes:   []int64{4e6, 4e6}, BlockBytes: []int64{2e6, 2e6}}
	c := &costs{Programs: map[string]*programCosts{"prog": {Prepare: 3, Start: 0.5}}, Finish: 0.1, Rate: 1e6}
	prefix := Level{Mode: runtime.ModePrefix}
	outer := Level{Mode: runtime.ModeLoop}
	nested := Level{Mode: runtime.ModeLoop, Nested: true}
	whole := [2]int64{0, -1}
	s := time.Second
	for _, x := range []struct {
		what string
		got  time.Duration
		want time.Duration
	}{
		// A worker's start: the measured start and the recorded prefix.
		{"prefix unit", unitCost(r, prefix, whole, c), 2500 * time.Millisecond},
		// Outer level: each iteration's part outside the nested loop, and
		// its blocks' restore (2 MB at 1 MB/s).
		{"outer unit", unitCost(r, outer, whole, c), 2500*time.Millisecond + 2*(s+2*s)},
		{"outer with suffix", unitCost(r, Level{Mode: runtime.ModeLoop, Suffix: true}, whole, c), 2500*time.Millisecond + 6*s + s},
		// The second worker starts from the end of iteration 0 (4 MB).
		{"nested second worker", unitCost(r, nested, [2]int64{1, -1}, c), 2500*time.Millisecond + 4*s + 10*s},
		{"nested on 2 workers", estimate(r, nested, split(2, 2), c.prepare("prog"), c), 3*s + 16500*time.Millisecond + 100*time.Millisecond},
		// A version built before costs its copy out of the cache.
		{"cached", estimate(r, prefix, split(0, 1), c.cached(), c), defaultCached + 2500*time.Millisecond + 100*time.Millisecond},
	} {
		if x.got != x.want {
			t.Errorf("%s = %v, want %v", x.what, x.got, x.want)
		}
	}
	// Unmeasured programs take the others' preparation, then the default.
	if got := c.prepare("other"); got != 3*s {
		t.Errorf("prepare of an unmeasured program = %v, want the measured one's 3s", got)
	}
	if got := (&costs{}).prepare("x"); got != defaultPrepare {
		t.Errorf("prepare with nothing measured = %v, want %v", got, defaultPrepare)
	}
	if Bucket(5*time.Second) != "under 10 seconds" || Bucket(time.Minute) != "under 2 minutes" {
		t.Error("buckets")
	}
}

func TestRevise(t *testing.T) {
	r := &Run{Filename: "prog", Prefix: time.Second,
		Iterations: []time.Duration{4 * time.Second, 4 * time.Second, 4 * time.Second},
		Nested:     []time.Duration{3 * time.Second, 3 * time.Second, 3 * time.Second}}
	c := &costs{Programs: map[string]*programCosts{"prog": {Start: 0.5}}, Finish: 0.1}
	lv := Level{Mode: runtime.ModeLoop}
	began := time.Now()
	// The first iteration took 3 s where 1 s was expected: the new
	// statement's work, 2 s, is charged to the two iterations left.
	first := &runtime.Progress{Iter: 0, Began: began.Add(2 * time.Second), Ended: began.Add(5 * time.Second)}
	got := revise(r, lv, split(3, 1), c, began, []time.Time{began}, []*runtime.Progress{first})
	if want := 5*time.Second + 2*3*time.Second + 100*time.Millisecond; got != want {
		t.Errorf("revised = %v, want %v", got, want)
	}
}

// TestWarmup: a program whose first iteration pays a one-time cost (a
// framework compiling its graphs) pays it again in each worker's first
// iteration, and a revision does not charge it to the iterations left.
func TestWarmup(t *testing.T) {
	s := time.Second
	r := &Run{Filename: "prog", Prefix: s,
		Iterations: []time.Duration{9 * s, 4 * s, 4 * s, 5 * s},
		Nested:     []time.Duration{3 * s, 3 * s, 3 * s, 3 * s}}
	c := &costs{Programs: map[string]*programCosts{"prog": {Start: 0.5}}, Finish: 0.1, Rate: 1e9}
	nested := Level{Mode: runtime.ModeLoop, Nested: true}
	outer := Level{Mode: runtime.ModeLoop}
	if got := warmup(r, nested, c); got != 5*s {
		t.Errorf("nested warm-up = %v, want 9s less the others' median 4s", got)
	}
	if got := warmup(r, outer, c); got != 5*s {
		t.Errorf("outer warm-up = %v, want 6s less the others' median 1s", got)
	}
	if got := warmup(&Run{Iterations: r.Iterations[:2]}, nested, c); got != 0 {
		t.Errorf("warm-up of 2 iterations = %v, want 0", got)
	}
	// The second worker (iterations 2 and 3) starts from iteration 1's
	// end and pays the warm-up once.
	if got, want := unitCost(r, nested, [2]int64{2, -1}, c), 1500*time.Millisecond+5*s+9*s; got != want {
		t.Errorf("second worker = %v, want %v", got, want)
	}
	// Its first iteration (2) took its 4 s and the warm-up's 5 s: nothing
	// extra is charged to iteration 3.
	began := time.Now()
	first := &runtime.Progress{Iter: 2, Began: began.Add(2 * s), Ended: began.Add(11 * s)}
	got := revise(r, nested, [][2]int64{{2, -1}}, c, began, []time.Time{began}, []*runtime.Progress{first})
	if want := 11*s + 5*s + 100*time.Millisecond; got != want {
		t.Errorf("revised = %v, want %v", got, want)
	}
	// Timed on its second iteration (2, of iterations 1 to 3), which is
	// warm: its 1 s beyond the record is charged to iteration 3.
	second := &runtime.Progress{Iter: 2, Began: began.Add(10 * s), Ended: began.Add(15 * s)}
	got = revise(r, nested, [][2]int64{{1, -1}}, c, began, []time.Time{began}, []*runtime.Progress{second})
	if want := 15*s + 5*s + s + 100*time.Millisecond; got != want {
		t.Errorf("revised from the second iteration = %v, want %v", got, want)
	}
}

func TestWorkersFor(t *testing.T) {
	s := time.Second
	for _, c := range []struct {
		work  []time.Duration
		iters []int
		w     int
		want  []int
	}{
		{[]time.Duration{8 * s}, []int{8}, 4, []int{4}}, // one run: all the workers
		{[]time.Duration{8 * s}, []int{2}, 4, []int{2}}, // at most one per iteration
		{slices.Repeat([]time.Duration{s}, 16), slices.Repeat([]int{4}, 16), 2, slices.Repeat([]int{1}, 16)},
		{[]time.Duration{9 * s, s}, []int{8, 8}, 2, []int{2, 1}}, // the long run gets more
		{[]time.Duration{0, 0}, []int{0, 0}, 2, []int{1, 1}},     // prefix level
	} {
		if got := workersFor(c.work, c.iters, c.w); !slices.Equal(got, c.want) {
			t.Errorf("workersFor(%v, %v, %d) = %v, want %v", c.work, c.iters, c.w, got, c.want)
		}
	}
}

// TestWorkersForShortLoops: among many runs, one is not split into parts
// shorter than a worker's least start, whatever its share of the work.
func TestWorkersForShortLoops(t *testing.T) {
	us := time.Microsecond
	if got := workersFor([]time.Duration{200 * us, 15 * us, 59 * us}, []int{2, 2, 2}, 2); !slices.Equal(got, []int{1, 1, 1}) {
		t.Errorf("loops of microseconds: %v, want one worker each", got)
	}
	if got := workersFor([]time.Duration{30 * us}, []int{2}, 2); !slices.Equal(got, []int{2}) {
		t.Errorf("one run alone: %v, want it split across the workers", got)
	}
}

func TestSimulate(t *testing.T) {
	s := time.Second
	// Two versions prepared side by side (2 s), then four 3 s units on
	// two slots: 2 + 6.
	units := []simUnit{{0, 3 * s}, {0, 3 * s}, {1, 3 * s}, {1, 3 * s}}
	if got := simulate(2, []time.Duration{2 * s, 2 * s}, units); got != 8*s {
		t.Errorf("simulate = %v, want 8s", got)
	}
	// The longest unit first: 5 then 1+1+1+1+1 on the other slot.
	units = []simUnit{{0, s}, {0, s}, {0, 5 * s}, {0, s}, {0, s}, {0, s}}
	if got := simulate(2, []time.Duration{0}, units); got != 5*s {
		t.Errorf("simulate = %v, want 5s", got)
	}
}

func TestSlotsPriority(t *testing.T) {
	ctx := context.Background()
	s := newSlots(1)
	if err := s.acquire(ctx, 0); err != nil {
		t.Fatal(err)
	}
	order := make(chan time.Duration, 3)
	var wg sync.WaitGroup
	for _, prio := range []time.Duration{time.Second, prepPriority, 5 * time.Second} {
		wg.Go(func() {
			if err := s.acquire(ctx, prio); err != nil {
				t.Error(err)
				return
			}
			order <- prio
			s.release()
		})
	}
	// All three wait, then the slot is freed.
	for {
		s.mu.Lock()
		n := len(s.waiters)
		s.mu.Unlock()
		if n == 3 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	s.release()
	wg.Wait()
	close(order)
	var got []time.Duration
	for p := range order {
		got = append(got, p)
	}
	if want := []time.Duration{prepPriority, 5 * time.Second, time.Second}; !slices.Equal(got, want) {
		t.Errorf("slots granted in order %v, want %v (preparation, then the longest unit)", got, want)
	}
	// A waiter whose context ends leaves the queue.
	if err := s.acquire(ctx, 0); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if err := s.acquire(cctx, 0); err == nil {
		t.Error("acquire of a full pool succeeded after its context ended")
	}
	s.release()
	if err := s.acquire(ctx, 0); err != nil {
		t.Fatal(err)
	}
}

func TestLevelOf(t *testing.T) {
	a := &analyzer.Analysis{
		MainLoop: &analyzer.Loop{Name: "epoch"},
		Logs: []*analyzer.LogStmt{
			{Kind: analyzer.KindLog, Name: "p", Phase: analyzer.PhasePrefix},
			{Kind: analyzer.KindLog, Name: "top", Phase: analyzer.PhaseMain, Depth: 1, Loops: []string{"epoch"}},
			{Kind: analyzer.KindLog, Name: "in", Phase: analyzer.PhaseMain, Depth: 2, Loops: []string{"epoch", "step"}, Block: "step"},
			{Kind: analyzer.KindLog, Name: "end", Phase: analyzer.PhaseSuffix},
			{Kind: analyzer.KindArg, Name: "lr", Phase: analyzer.PhasePrefix},
		},
		Blocks: []*analyzer.Block{{ID: "step", Kind: analyzer.FlorLoop, Skippable: true},
			{ID: "eval", Kind: analyzer.FlorLoop, Skippable: false}},
	}
	for _, c := range []struct {
		names []string
		want  string
		exec  []string
	}{
		{[]string{"p"}, "prefix", nil},
		{[]string{"top"}, "outer loop without suffix", []string{"eval"}},
		{[]string{"in"}, "nested loop without suffix", []string{"eval", "step"}},
		{[]string{"end"}, "prefix and suffix (main loop restored)", []string{"eval"}},
		{[]string{"top", "end"}, "outer loop with suffix", []string{"eval"}},
	} {
		lv, err := levelOf(a, c.names)
		if err != nil {
			t.Fatal(err)
		}
		if lv.String() != c.want || !reflect.DeepEqual(lv.Execute, c.exec) {
			t.Errorf("%v: %s %v, want %s %v", c.names, lv, lv.Execute, c.want, c.exec)
		}
		if lv.Mode != runtime.ModePrefix && slices.Contains(lv.Execute, "step") == slices.Contains(lv.Skip, "step") {
			t.Errorf("%v: step must be either run (%v) or allowed to skip (%v)", c.names, lv.Execute, lv.Skip)
		}
		if slices.Contains(lv.Skip, "eval") {
			t.Errorf("%v: the unskippable eval block is in the allow-list %v", c.names, lv.Skip)
		}
	}
	if _, err := levelOf(a, []string{"lr"}); err == nil || !strings.Contains(err.Error(), `"lr"`) {
		t.Errorf("an Arg is not a new statement: %v", err)
	}
}

func TestFixReplaces(t *testing.T) {
	base := t.TempDir()
	tree := filepath.Join(base, "tree")
	mod := filepath.Join(tree, "app")
	if err := os.MkdirAll(mod, 0o755); err != nil {
		t.Fatal(err)
	}
	gomod := "module app\n\ngo 1.26\n\nreplace a => ../lib\n\nreplace b => ../../outside\n\nreplace c => example.com/c v1.0.0\n\nreplace d => ../ignored\n"
	// lib is in the snapshot; ignored (a submodule, an ignored directory) is not.
	if err := os.MkdirAll(filepath.Join(tree, "lib"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tree, "lib", "go.mod"), []byte("module a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mod, "go.mod"), []byte(gomod), 0o644); err != nil {
		t.Fatal(err)
	}
	orig := "/home/u/repo/app"
	if err := fixReplaces(mod, orig, tree, "/home/u/repo"); err != nil {
		t.Fatal(err)
	}
	out, _ := os.ReadFile(filepath.Join(mod, "go.mod"))
	for _, want := range []string{"a => ../lib", "b => /home/u/outside", "c => example.com/c v1.0.0", "d => /home/u/repo/ignored"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("go.mod lacks %q:\n%s", want, out)
		}
	}
}

func TestMaterialize(t *testing.T) {
	dir := t.TempDir()
	git := func(args ...string) string {
		cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@t"}, args...)...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q")
	os.MkdirAll(filepath.Join(dir, "sub"), 0o755)
	os.WriteFile(filepath.Join(dir, "a.go"), []byte("package a\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "sub", "run.sh"), []byte("#!/bin/sh\n"), 0o755)
	os.Symlink("a.go", filepath.Join(dir, "link"))
	git("add", "-A")
	git("commit", "-qm", "one")
	commit := git("rev-parse", "HEAD")
	os.WriteFile(filepath.Join(dir, "a.go"), []byte("package changed\n"), 0o644)
	before := git("status", "--porcelain")

	dst := t.TempDir()
	if err := Materialize(dir, commit, dst); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "a.go")); string(b) != "package a\n" {
		t.Errorf("a.go = %q", b)
	}
	if st, err := os.Stat(filepath.Join(dst, "sub", "run.sh")); err != nil || st.Mode()&0o100 == 0 {
		t.Errorf("run.sh not executable: %v %v", st, err)
	}
	if target, err := os.Readlink(filepath.Join(dst, "link")); err != nil || target != "a.go" {
		t.Errorf("link = %q, %v", target, err)
	}
	if after := git("status", "--porcelain"); after != before {
		t.Errorf("materialising changed the checkout: %q → %q", before, after)
	}
	if err := Materialize(dir, "0123456789012345678901234567890123456789", t.TempDir()); err == nil {
		t.Error("an unknown commit materialised")
	}
}

func TestEnsureCommit(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	main := write("main.go", "package main\n\nimport \"fmt\"\n\nfunc main() {\n\tfmt.Println(1)\n}\n")
	helper := write("h.go", "package main\n\nimport fl \"github.com/flordb/flor\"\n\nfunc h() { fl.Log(\"x\", 1) }\n")
	a := &analyzer.Analysis{Files: []string{main, helper}}
	if err := ensureCommit(a); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(main)
	for _, want := range []string{"import florreplay \"github.com/flordb/flor\"", "func main() {\n\tdefer florreplay.Commit()"} {
		if !strings.Contains(string(got), want) {
			t.Errorf("main.go lacks %q:\n%s", want, got)
		}
	}
	if _, err := parser.ParseFile(token.NewFileSet(), main, got, 0); err != nil {
		t.Errorf("main.go no longer parses: %v", err)
	}
	// A program that commits is left alone.
	before, _ := os.ReadFile(main)
	if err := ensureCommit(a); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.ReadFile(main); string(after) != string(before) {
		t.Errorf("a second pass changed main.go")
	}
}

func TestWorkerDir(t *testing.T) {
	root, tree := t.TempDir(), t.TempDir()
	for _, p := range []string{"sub/data/x.bin", "sub/main.go"} {
		os.MkdirAll(filepath.Dir(filepath.Join(root, p)), 0o755)
		os.WriteFile(filepath.Join(root, p), []byte("user's"), 0o644)
	}
	os.MkdirAll(filepath.Join(tree, "sub"), 0o755)
	os.WriteFile(filepath.Join(tree, "sub", "main.go"), []byte("snapshot's"), 0o644)
	v := &version{tree: tree, pkg: filepath.Join(tree, "sub")}
	dir := workerDir(root, filepath.Join(root, "sub"), v)
	if dir != filepath.Join(tree, "sub") {
		t.Fatalf("worker dir = %s", dir)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "main.go")); string(b) != "snapshot's" {
		t.Errorf("main.go = %q: the snapshot's file must win", b)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "data", "x.bin")); err != nil || string(b) != "user's" {
		t.Errorf("data the snapshot lacks is not reachable: %q %v", b, err)
	}
	// What the old program writes stays out of the checkout.
	os.WriteFile(filepath.Join(dir, "out.txt"), []byte("x"), 0o644)
	if _, err := os.Stat(filepath.Join(root, "sub", "out.txt")); err == nil {
		t.Error("a file written by the replayed program landed in the checkout")
	}
	if got := workerDir(root, "/elsewhere/not/there", v); got != v.pkg {
		t.Errorf("a missing outside directory gives %s", got)
	}
}

func TestProgramWithoutMainLoopIsAllPrefix(t *testing.T) {
	wd, _ := os.Getwd()
	root, err := scratch.Root(wd)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	main := "package main\n\nimport \"github.com/flordb/flor\"\n\nfunc main() {\n\tflor.Log(\"msg\", \"hi\")\n}\n"
	if _, err := scratch.New(dir, "example.com/hw", root, map[string][]byte{"main.go": []byte(main)}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOFLAGS", "-mod=mod")
	a, err := analyze(context.Background(), dir, nil)
	if err != nil {
		t.Fatalf("a program without a main loop must be replayable: %v", err)
	}
	lv, err := levelOf(a, []string{"msg"})
	if err != nil || lv.Mode != runtime.ModePrefix {
		t.Errorf("level %v, %v; want prefix", lv, err)
	}
	if err := instrument(context.Background(), a, io.Discard); err != nil {
		t.Errorf("instrument: %v", err)
	}
}
