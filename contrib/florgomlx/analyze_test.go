package florgomlx_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flordb/flor/analyzer"
)

func analyze(t *testing.T, dir string) *analyzer.Analysis {
	t.Helper()
	pkgs, src, err := analyzer.Load(context.Background(), dir, ".")
	if err != nil {
		t.Fatal(err)
	}
	a, err := analyzer.AnalyzePackage(pkgs[0], src)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestExampleAnalysesClean: the example checkpoints everything its loops
// change through florgomlx.Context(ctx, trainer), so the analysis has no
// warning and every block is skippable: replay skips and splits its
// epochs across workers.
func TestExampleAnalysesClean(t *testing.T) {
	a := analyze(t, filepath.Join("..", "..", "examples", "gomlx"))
	for _, w := range a.Warnings() {
		t.Errorf("warning: %v", w)
	}
	if len(a.UncoveredCarried()) > 0 {
		t.Errorf("carried state not restored: %v", a.UncoveredCarried())
	}
	for _, b := range a.Blocks {
		if !b.Skippable {
			t.Errorf("block %s is not skippable: %s", b.ID, b.Reason)
		}
		for _, e := range b.Effects {
			if e.Var == "*trainer" && e.Checkpoint != "model" {
				t.Errorf("block %s: %s %s is not restored by the model checkpoint", b.ID, e.Var, e.Desc)
			}
		}
	}
}

// TestHazards: what the analysis says of the program a GoMLX user met.
func TestHazards(t *testing.T) {
	a := analyze(t, filepath.Join("testdata", "shuffle"))
	var ws []string
	for _, w := range a.Warnings() {
		ws = append(ws, w.Error())
	}
	all := strings.Join(ws, "\n")
	for _, want := range []string{
		// InMemoryDataset.Shuffle draws from the global generator, at its call site.
		"main.go:40:3: not reproducible: the main loop calls (*InMemoryDataset).Shuffle, which draws from math/rand's global generator",
		// ds.Yield moves the iterator across epochs, never reset.
		"main.go:42:23: replay may differ: the data iterator *ds moves in the main loop",
		// The trainer is left out of florgomlx.Context(ctx).
		"main.go:46:14: replay may differ: *trainer is changed in loop \"step\"",
		`trainer is built on ctx, which checkpoint "model" covers: pass trainer to florgomlx.Context(ctx) too`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("no warning %q in:\n%s", want, all)
		}
	}
	// Read-only calls are not changes: the context's variables, the
	// validation set that Eval starts from its beginning.
	for _, not := range []string{"IterVariables", "valDS", "*ctx"} {
		if strings.Contains(all, not) {
			t.Errorf("a warning names %s:\n%s", not, all)
		}
	}
}
