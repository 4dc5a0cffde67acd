package analyzer_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/flordb/flor/analyzer"
	"github.com/flordb/flor/analyzer/analyzertest"
)

// A program whose loop uses a name declared only behind a tag compiles,
// and so is analysed, only when loaded with that tag.
func TestAnalyzeWithBuildFlags(t *testing.T) {
	m := analyzertest.NewModule(t)
	m.Write(t, "prog", map[string][]byte{
		"main.go": []byte(`package main

import "github.com/flordb/flor"

func main() {
	for e := range flor.Loop("epoch", flor.Range(2)) {
		flor.Log("b", float64(e)+bonus)
	}
}
`),
		"bonus_on.go": []byte("//go:build special\n\npackage main\n\nconst bonus = 0.5\n"),
	})
	dir := filepath.Join(m.Dir, "prog")
	if _, err := analyzer.Analyze(context.Background(), dir); !errors.Is(err, analyzer.ErrCompile) {
		t.Errorf("without the tag: %v, want ErrCompile", err)
	}
	a, err := analyzer.Analyze(context.Background(), dir, analyzer.WithBuildFlags("-tags=special"))
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Logs) != 1 || a.Logs[0].Name != "b" {
		t.Errorf("logs %+v, want b", a.Logs)
	}
}
