package analyze_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flordb/flor/analyzer"
	"github.com/flordb/flor/analyzer/analyzertest"
)

var update = flag.Bool("update", false, "rewrite the analysis sections of the golden files")

// sentinels names the errors a failing case may declare in its "error"
// file.
var sentinels = map[string]error{
	"ErrLoad": analyzer.ErrLoad, "ErrCompile": analyzer.ErrCompile, "ErrNotMain": analyzer.ErrNotMain,
	"ErrNoMainLoop": analyzer.ErrNoMainLoop, "ErrNameNotConstant": analyzer.ErrNameNotConstant,
	"ErrUnsupported": analyzer.ErrUnsupported,
}

func TestGolden(t *testing.T) {
	cases := analyzertest.ReadCases(t, "testdata")
	m := analyzertest.NewModule(t)
	var patterns []string
	for _, c := range cases {
		m.Write(t, c.Name, c.In)
		patterns = append(patterns, "./"+c.Name)
	}
	pkgs, src, err := analyzer.Load(context.Background(), m.Dir, patterns...)
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) != len(cases) {
		t.Fatalf("loaded %d packages for %d cases", len(pkgs), len(cases))
	}
	for _, pkg := range pkgs {
		name := filepath.Base(pkg.PkgPath)
		if name == "." || pkg.PkgPath == "" {
			name = filepath.Base(pkg.ID)
		}
		var c *analyzertest.Case
		for _, x := range cases {
			if x.Name == name {
				c = x
			}
		}
		if c == nil {
			t.Fatalf("no case for package %s", pkg.ID)
		}
		t.Run(c.Name, func(t *testing.T) {
			a, err := analyzer.AnalyzePackage(pkg, src)
			got := analysisText(t, a, err)
			// A case that must fail names the error it fails with.
			want, mustFail := c.Section("error")
			switch {
			case mustFail && err == nil:
				t.Errorf("the case must fail with %s, but the analysis has no error", strings.TrimSpace(want))
			case !mustFail && err != nil:
				t.Errorf("unexpected error: %v", err)
			case mustFail:
				s, ok := sentinels[strings.TrimSpace(want)]
				if !ok {
					t.Fatalf("error file: %q is not one of the analyzer's Err values", strings.TrimSpace(want))
				}
				if !errors.Is(err, s) {
					t.Errorf("error %v does not wrap %s", err, strings.TrimSpace(want))
				}
			}
			if *update {
				c.Set("analysis", []byte(got))
				c.Save(t)
				return
			}
			if d := cmp.Diff(mustSection(t, c, "analysis"), got); d != "" {
				t.Errorf("analysis differs (-want +got):\n%s", d)
			}
		})
	}
}

// analysisText is what the golden file holds of an analysis: its text, or
// the error when there is none.
func analysisText(t *testing.T, a *analyzer.Analysis, err error) string {
	t.Helper()
	var text bytes.Buffer
	if a == nil {
		fmt.Fprintf(&text, "error: %v\n", err)
		return text.String()
	}
	if werr := a.WriteText(&text); werr != nil {
		t.Fatal(werr)
	}
	return text.String()
}

func mustSection(t *testing.T, c *analyzertest.Case, name string) string {
	t.Helper()
	s, ok := c.Section(name)
	if !ok {
		t.Fatalf("%s: no %q file (run go test -update)", c.Path, name)
	}
	return s
}

// TestGoldenOneDirectory analyses each case as flor does a program (one
// directory, loaded without compiling it, its local imports alongside):
// the analysis must be the one the golden file holds.
func TestGoldenOneDirectory(t *testing.T) {
	if *update {
		t.Skip("-update rewrites from TestGolden")
	}
	cases := analyzertest.ReadCases(t, "testdata")
	m := analyzertest.NewModule(t)
	for _, c := range cases {
		m.Write(t, c.Name, c.In)
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			a, err := analyzer.Analyze(context.Background(), filepath.Join(m.Dir, c.Name))
			got := analysisText(t, a, err)
			if d := cmp.Diff(mustSection(t, c, "analysis"), got); d != "" {
				t.Errorf("analysis differs (-want +got):\n%s", d)
			}
		})
	}
}
