package instrument_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flordb/flor/analyzer"
	"github.com/flordb/flor/analyzer/analyzertest"
	"github.com/flordb/flor/rewrite"
)

// TestMNIST instruments examples/mnist and checks the done criteria: the
// analysis lists its loops and effects with no warning (model, optimizer
// and RNG are checkpointed), the instrumented program records the same
// values bit for bit, and a replay that skips every block gets the
// evaluation values back.
func TestMNIST(t *testing.T) {
	m := analyzertest.NewModule(t)
	src := filepath.Join(m.Root, "examples", "mnist")
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatalf("examples/mnist: %v", err)
	}
	files := map[string][]byte{}
	for _, e := range entries {
		if n := e.Name(); e.Type().IsRegular() && strings.HasSuffix(n, ".go") && !strings.HasSuffix(n, "_test.go") {
			b, err := os.ReadFile(filepath.Join(src, n))
			if err != nil {
				t.Fatal(err)
			}
			files[n] = b
		}
	}
	m.Write(t, "in_mnist", files)
	pkgs, srcs, err := analyzer.Load(context.Background(), m.Dir, "./in_mnist")
	if err != nil {
		t.Fatal(err)
	}
	a, err := analyzer.AnalyzePackage(pkgs[0], srcs)
	if err != nil {
		t.Fatal(err)
	}
	if ws := a.Warnings(); len(ws) > 0 {
		t.Errorf("warnings: %v", ws)
	}
	if a.MainLoop == nil || a.MainLoop.Name != "epoch" {
		t.Fatalf("main loop = %+v, want epoch", a.MainLoop)
	}
	covered := map[string]bool{}
	for _, b := range a.Blocks {
		for _, e := range b.Effects {
			covered[e.Checkpoint] = true
		}
	}
	if !covered["model"] || !covered["optimizer"] {
		t.Errorf("the blocks' effects on the model and optimizer are not covered by their checkpoints: %v", covered)
	}
	changed, err := rewrite.Instrument(a)
	if err != nil {
		t.Fatal(err)
	}
	if len(changed) == 0 {
		t.Fatal("nothing instrumented")
	}
	out := map[string][]byte{}
	for n, b := range files {
		out[n] = b
		if c, ok := changed[filepath.Join(a.Dir, n)]; ok {
			out[n] = c
		}
	}
	m.Write(t, "out_mnist", out)
	bins := m.Build(t, "in_mnist", "out_mnist")
	args := []string{"--kwargs", "epochs=2", "train_size=1500", "print_every=10"}
	home := t.TempDir()
	inStdout, in := m.Run(t, bins["in_mnist"], "in_mnist", filepath.Join(home, "in"), args...)
	outStdout, rec := m.Run(t, bins["out_mnist"], "out_mnist", filepath.Join(home, "out"), args...)
	if len(in.LogsNamed("loss")) == 0 || len(in.LogsNamed("val_acc")) != 2 {
		t.Fatalf("the run did not train: %d loss, %d val_acc values", len(in.LogsNamed("loss")), len(in.LogsNamed("val_acc")))
	}
	if d := cmp.Diff(in.Logs, rec.Logs); d != "" {
		t.Errorf("log records differ (-in +out):\n%s", d)
	}
	if d := cmp.Diff(in.Ckpts, rec.Ckpts); d != "" {
		t.Errorf("checkpoints differ (-in +out):\n%s", d)
	}
	if inStdout != outStdout {
		t.Errorf("standard output differs:\n%s", cmp.Diff(inStdout, outStdout))
	}
	rep := m.Replay(t, bins["out_mnist"], "out_mnist", rec, []string{"val_acc", "accuracy", "loss"}, args...)
	if d := cmp.Diff(rec.LogsNamed("val_acc", "accuracy"), rep.LogsNamed("val_acc", "accuracy")); d != "" {
		t.Errorf("replay with the step blocks skipped gives other values (-recorded +replayed):\n%s", d)
	}
	if n := len(rep.LogsNamed("loss")); n != 0 {
		t.Errorf("replay ran the skipped step loop: %d loss values", n)
	}
}
