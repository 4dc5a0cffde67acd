package planner

import (
	"context"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
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
	r := &Run{Prefix: 2 * time.Second, Suffix: time.Second,
		Iterations: []time.Duration{10 * time.Second, 10 * time.Second},
		Nested:     []time.Duration{9 * time.Second, 9 * time.Second}}
	prefix := Estimate(r, Level{Mode: runtime.ModePrefix}, 1, buildCost)
	outer := Estimate(r, Level{Mode: runtime.ModeLoop}, 1, buildCost)
	nested1 := Estimate(r, Level{Mode: runtime.ModeLoop, Nested: true}, 1, buildCost)
	nested2 := Estimate(r, Level{Mode: runtime.ModeLoop, Nested: true}, 2, buildCost)
	if !(prefix < outer && outer < nested2 && nested2 < nested1) {
		t.Errorf("prefix %v, outer %v, nested/2 %v, nested/1 %v: not in increasing cost", prefix, outer, nested2, nested1)
	}
	// Outer level skips the nested loops: 2 × (10 - 9) s of loop.
	if want := buildCost + 2*time.Second + 2*time.Second + 3*restoreCost; outer != want {
		t.Errorf("outer = %v, want %v", outer, want)
	}
	if withSuffix := Estimate(r, Level{Mode: runtime.ModeLoop, Suffix: true}, 1, buildCost); withSuffix != outer+time.Second {
		t.Errorf("suffix adds %v, want 1s", withSuffix-outer)
	}
	if Bucket(5*time.Second) != "under 10 seconds" || Bucket(time.Minute) != "under 2 minutes" {
		t.Error("buckets")
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
	if err := instrument(context.Background(), a); err != nil {
		t.Errorf("instrument: %v", err)
	}
}
