package analyzer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/flordb/flor/analyzer"
	"github.com/flordb/flor/analyzer/analyzertest"
)

const program = `package main

import "github.com/flordb/flor"

func main() {
	defer flor.Commit()
	lr := flor.Arg("lr", 0.5)
	total := 0.0
	for epoch := range flor.Loop("epoch", flor.Range(2)) {
		for s := range flor.Loop("step", flor.Range(3)) {
			total += lr * float64(epoch+s)
			if s == 1 {
				flor.Log("loss", total)
			}
		}
		flor.Log("total", total)
	}
}
`

// The Go API gives the planner what it needs: statements with their
// byte ranges, depths, loop chains and phases; blocks with ids and
// extras.
func TestAnalyzeAPI(t *testing.T) {
	m := analyzertest.NewModule(t)
	m.Write(t, "prog", map[string][]byte{"main.go": []byte(program)})
	dir := filepath.Join(m.Dir, "prog")
	a, err := analyzer.Analyze(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join(dir, "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		stmt  string
		depth int
		loops string
		phase analyzer.Phase
		block string
	}
	wants := map[string]want{
		"lr":    {`lr := flor.Arg("lr", 0.5)`, 0, "", analyzer.PhasePrefix, ""},
		"loss":  {`flor.Log("loss", total)`, 2, "epoch/step", analyzer.PhaseMain, "step"},
		"total": {`flor.Log("total", total)`, 1, "epoch", analyzer.PhaseMain, ""},
	}
	if len(a.Logs) != len(wants) {
		t.Fatalf("%d log statements, want %d", len(a.Logs), len(wants))
	}
	for _, l := range a.Logs {
		w, ok := wants[l.Name]
		if !ok {
			t.Errorf("unexpected log statement %q", l.Name)
			continue
		}
		if got := string(src[l.Stmt.Start:l.Stmt.End]); got != w.stmt {
			t.Errorf("%s: statement bytes %q, want %q", l.Name, got, w.stmt)
		}
		if l.Depth != w.depth || strings.Join(l.Loops, "/") != w.loops || l.Phase != w.phase || l.Block != w.block {
			t.Errorf("%s: depth %d loops %v phase %s block %q; want %+v", l.Name, l.Depth, l.Loops, l.Phase, l.Block, w)
		}
		if l.Pos.File != filepath.Join(dir, "main.go") {
			t.Errorf("%s: file %s", l.Name, l.Pos.File)
		}
	}
	if a.MainLoop == nil || a.MainLoop.Name != "epoch" || a.MainLoop.Pos.Line != 9 {
		t.Errorf("main loop = %+v", a.MainLoop)
	}
	if len(a.Blocks) != 1 {
		t.Fatalf("%d blocks, want 1", len(a.Blocks))
	}
	b := a.Blocks[0]
	if b.ID != "step" || !b.Skippable || len(b.Extras) != 1 || b.Extras[0] != "&total" {
		t.Errorf("block = %+v", b)
	}
	if got := string(src[b.Stmt.Start:b.Stmt.End]); !strings.HasPrefix(got, "for s := range") || !strings.HasSuffix(got, "}") {
		t.Errorf("block statement bytes %q", got)
	}
	var buf bytes.Buffer
	if err := a.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var back analyzer.Analysis
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Logs) != 3 || back.Blocks[0].Effects[0].Extra != "&total" || back.MainLoop.Name != "epoch" {
		t.Errorf("JSON lost fields:\n%s", buf.String())
	}
}

func TestAnalyzeErrors(t *testing.T) {
	ctx := context.Background()
	m := analyzertest.NewModule(t)
	m.Write(t, "lib", map[string][]byte{"lib.go": []byte("package lib\n")})
	m.Write(t, "prog", map[string][]byte{"main.go": []byte(strings.Replace(program, `flor.Log("total", total)`, `flor.Log(string(rune(epoch)), total)`, 1))})
	tests := []struct {
		pattern string
		want    error
		text    string
	}{
		{filepath.Join(m.Dir, "nowhere"), analyzer.ErrLoad, "nowhere"},
		{"example.com/no/such/package", analyzer.ErrLoad, "example.com/no/such/package"},
		{filepath.Join(m.Dir, "lib"), analyzer.ErrNotMain, "package lib"},
		{filepath.Join(m.Dir, "prog"), analyzer.ErrNameNotConstant, "main.go:16:12: flor.Log name string(rune(epoch)) is not a constant string"},
	}
	for _, tt := range tests {
		_, err := analyzer.Analyze(ctx, tt.pattern)
		if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.text) {
			t.Errorf("Analyze(%s) = %v, want %v mentioning %q", tt.pattern, err, tt.want, tt.text)
		}
	}
	// Errors from the analysis come with what could be found.
	a, err := analyzer.Analyze(ctx, filepath.Join(m.Dir, "prog"))
	if a == nil || err == nil || len(a.Logs) != 3 {
		t.Errorf("Analyze returned %v, %v; want the analysis with its error", a, err)
	}
}

const carriedProgram = `package main

import "github.com/flordb/flor"

type model struct {
	W    []float64
	bias float64
}

func evaluate(m *model) float64 { return m.W[0] + m.bias }

func main() {
	defer flor.Commit()
	n := flor.Arg("epochs", 3)
	baseLR := 0.1
	m := &model{W: []float64{1}}
	flor.Checkpoint("model", m)
	scale := 1.0
	best := 0.0
	ticks := 0
	for e := range flor.Loop("epoch", flor.Range(n)) {
		for s := range flor.Loop("step", flor.Range(2)) {
			m.W[0] -= baseLR * scale * float64(e+s)
		}
		lr := baseLR * scale
		scale *= 0.5
		if acc := evaluate(m); acc > best {
			best = acc
		}
		m.W[0] += lr
		m.bias += lr
		ticks++
	}
	flor.Log("best", best)
}
`

// Carried state: what the main loop's body changes outside its blocks,
// whether a checkpoint restores it and where it is read again.
func TestCarried(t *testing.T) {
	m := analyzertest.NewModule(t)
	m.Write(t, "prog", map[string][]byte{"train.go": []byte(carriedProgram)})
	a, err := analyzer.Analyze(context.Background(), filepath.Join(m.Dir, "prog"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(carriedProgram, "\n")
	lineOf := func(text string) int {
		t.Helper()
		for i, l := range lines {
			if strings.Contains(l, text) {
				return i + 1
			}
		}
		t.Fatalf("no line holds %q", text)
		return 0
	}
	type want struct {
		line, read int // read 0: not read again
		ckpt       string
		note       string
	}
	wants := map[string]want{
		// The step block reads scale first; the next iteration's block
		// sees what this one left.
		"scale": {lineOf("scale *= 0.5"), lineOf("m.W[0] -= baseLR"), "", "not checkpointed"},
		"best":  {lineOf("best = acc"), lineOf("acc > best"), "", "not checkpointed"},
		// The block's m.W[0] -= ... only updates m: not a read.
		"m.W[_]": {lineOf("m.W[0] += lr"), lineOf("acc := evaluate(m)"), "model", ""},
		"m.bias": {lineOf("m.bias += lr"), lineOf("acc := evaluate(m)"), "", "unexported field: gob does not save it"},
		"ticks":  {lineOf("ticks++"), 0, "", "not read in a later iteration or after the main loop"},
	}
	got := map[string]*analyzer.Effect{}
	for _, e := range a.Carried {
		if got[e.Var] != nil {
			t.Errorf("%s reported twice", e.Var)
		}
		got[e.Var] = e
	}
	for v, w := range wants {
		e := got[v]
		if e == nil {
			t.Errorf("%s is not carried state; carried: %v", v, keys(got))
			continue
		}
		if e.Pos.Line != w.line || e.ReadAt.Line != w.read || e.Checkpoint != w.ckpt || e.Restored != (w.ckpt != "") || e.Note != w.note {
			t.Errorf("%s: line %d read at %d checkpoint %q restored %v note %q; want %+v", v, e.Pos.Line, e.ReadAt.Line, e.Checkpoint, e.Restored, e.Note, w)
		}
	}
	for v := range got {
		if _, ok := wants[v]; !ok {
			t.Errorf("%s is reported as carried state (lr is local to the body, the step block's changes are the block's)", v)
		}
	}

	var unc []string
	for _, e := range a.UncoveredCarried() {
		unc = append(unc, e.Var)
	}
	if strings.Join(unc, " ") != "scale best m.bias" {
		t.Errorf("UncoveredCarried = %v, want scale best m.bias", unc)
	}
	msg := fmt.Sprintf("replay may differ with several workers or after the main loop: scale is changed in the main loop (train.go:%d) and read at train.go:%d, but is not checkpointed", wants["scale"].line, wants["scale"].read)
	found := 0
	for _, w := range a.Warnings() {
		if strings.Contains(w.Msg, "in the main loop") {
			found++
		}
		if w.Msg == msg && w.Pos.Line != wants["scale"].line {
			t.Errorf("warning about scale at line %d", w.Pos.Line)
		}
	}
	if found != 3 || !slices.ContainsFunc(a.Warnings(), func(d analyzer.Diagnostic) bool { return d.Msg == msg }) {
		t.Errorf("%d warnings about carried state, want 3 with %q:\n%v", found, msg, a.Warnings())
	}

	var buf bytes.Buffer
	if err := a.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var back analyzer.Analysis
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Carried) != len(a.Carried) || len(back.UncoveredCarried()) != 3 {
		t.Errorf("JSON lost the carried state:\n%s", buf.String())
	}
}

func keys(m map[string]*analyzer.Effect) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
