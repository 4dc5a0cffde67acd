package analyzer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
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
