package instrument_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"go/format"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/tools/go/packages"

	"github.com/flordb/flor/analyzer"
	"github.com/flordb/flor/analyzer/analyzertest"
	"github.com/flordb/flor/rewrite"
)

var update = flag.Bool("update", false, "rewrite the analysis, error and out/ sections of the golden files")

// result is what one case gave.
type result struct {
	c        *analyzertest.Case
	analysis *analyzer.Analysis
	out      map[string][]byte // all files of the instrumented package
	failed   bool              // analysis or instrumentation failed
}

func TestGolden(t *testing.T) {
	ctx := context.Background()
	cases := analyzertest.ReadCases(t, "testdata")
	m := analyzertest.NewModule(t)
	var patterns []string
	for _, c := range cases {
		m.Write(t, "in_"+c.Name, c.In)
		patterns = append(patterns, "./in_"+c.Name)
	}
	byCase := load(t, ctx, m, patterns)

	var results []*result
	for _, c := range cases {
		r := &result{c: c}
		results = append(results, r)
		t.Run(c.Name+"/instrument", func(t *testing.T) {
			pkg := byCase.get("in_" + c.Name)
			if pkg == nil {
				t.Fatalf("package in_%s was not loaded", c.Name)
			}
			a, src, err := analyse(pkg, byCase.src)
			r.analysis = a
			var text bytes.Buffer
			if a != nil {
				a.WriteText(&text)
			}
			var changed map[string][]byte
			if err == nil {
				changed, err = rewrite.Instrument(a)
			}
			if err != nil {
				r.failed = true
				fmt.Fprintf(&text, "instrument: %v\n", err)
			}
			check(t, c, "analysis", text.String())
			_, wantFail := c.Section("error")
			if r.failed != wantFail {
				t.Errorf("failed = %v, but the archive's error file says %v (%v)", r.failed, wantFail, err)
			}
			if r.failed {
				if len(c.Out) > 0 {
					t.Errorf("a failing case must have no out/ files")
				}
				check(t, c, "error", firstLine(err.Error())+"\n")
				return
			}
			r.out = map[string][]byte{}
			for name := range c.In {
				b := src[name]
				if nb, ok := changed[filepath.Join(a.Dir, name)]; ok {
					b = nb
					if fb, err := format.Source(nb); err != nil || !bytes.Equal(fb, nb) {
						t.Errorf("out/%s is not gofmt-clean (%v):\n%s", name, err, cmp.Diff(string(nb), string(fb)))
					}
				}
				r.out[name] = b
			}
			if *update {
				c.SetOut(r.out)
				return
			}
			if d := cmp.Diff(stringMap(c.Out), stringMap(r.out)); d != "" {
				t.Errorf("out/ differs (-want +got):\n%s", d)
			}
		})
	}

	// Instrumenting the instrumented code again changes nothing and finds
	// the same log statements and blocks.
	patterns = nil
	for _, r := range results {
		if r.out != nil {
			m.Write(t, "out_"+r.c.Name, r.out)
			patterns = append(patterns, "./out_"+r.c.Name)
		}
	}
	outs := load(t, ctx, m, patterns)
	for _, r := range results {
		if r.out == nil {
			continue
		}
		t.Run(r.c.Name+"/idempotent", func(t *testing.T) {
			a, _, err := analyse(outs.get("out_"+r.c.Name), outs.src)
			if err != nil {
				t.Fatalf("analysing the instrumented code: %v", err)
			}
			changed, err := rewrite.Instrument(a)
			if err != nil {
				t.Fatal(err)
			}
			for p, b := range changed {
				t.Errorf("instrumenting %s again changes it:\n%s", filepath.Base(p), cmp.Diff(string(a.Source(p)), string(b)))
			}
			if d := cmp.Diff(shape(r.analysis), shape(a)); d != "" {
				t.Errorf("the instrumented code analyses differently (-in +out):\n%s", d)
			}
		})
	}

	// Recording: the instrumented program records what the original does.
	var dirs []string
	for _, r := range results {
		if r.out != nil {
			dirs = append(dirs, "in_"+r.c.Name, "out_"+r.c.Name)
		}
	}
	bins := m.Build(t, dirs...)
	for _, r := range results {
		if r.out == nil {
			continue
		}
		t.Run(r.c.Name+"/run", func(t *testing.T) {
			t.Parallel()
			home := t.TempDir()
			inOut, in := m.Run(t, bins["in_"+r.c.Name], "in_"+r.c.Name, filepath.Join(home, "in"))
			outOut, out := m.Run(t, bins["out_"+r.c.Name], "out_"+r.c.Name, filepath.Join(home, "out"))
			if len(in.Logs) == 0 {
				t.Fatalf("the program logged nothing")
			}
			if d := cmp.Diff(in.Logs, out.Logs); d != "" {
				t.Errorf("log records differ (-in +out):\n%s", d)
			}
			if d := cmp.Diff(in.Ckpts, out.Ckpts); d != "" {
				t.Errorf("end-of-iteration checkpoints differ (-in +out):\n%s", d)
			}
			if inOut != outOut {
				t.Errorf("standard output differs (-in +out):\n%s", cmp.Diff(inOut, outOut))
			}
			spec, ok := r.c.Section("replay")
			if !ok {
				return
			}
			// Replay the instrumented program with every block skipped:
			// names marked "equal" must come back as recorded, names
			// marked "differ" must not (they show the blocks were skipped,
			// or that a warning was right).
			var equal, differ []string
			for _, line := range strings.Split(strings.TrimSpace(spec), "\n") {
				f := strings.Fields(line)
				if len(f) != 2 || f[0] != "equal" && f[0] != "differ" {
					t.Fatalf("replay file: bad line %q (want: equal NAME | differ NAME)", line)
				}
				if f[0] == "equal" {
					equal = append(equal, f[1])
				} else {
					differ = append(differ, f[1])
				}
			}
			rep := m.Replay(t, bins["out_"+r.c.Name], "out_"+r.c.Name, out, append(equal, differ...))
			if want := out.LogsNamed(equal...); len(want) == 0 && len(equal) > 0 {
				t.Errorf("the recording has no values named %v", equal)
			} else if d := cmp.Diff(want, rep.LogsNamed(equal...)); d != "" {
				t.Errorf("replayed values differ from the recording (-recorded +replayed):\n%s", d)
			}
			for _, name := range differ {
				if cmp.Equal(out.LogsNamed(name), rep.LogsNamed(name)) {
					t.Errorf("replayed %s equals the recording, but the case says it must differ:\n%s", name, strings.Join(rep.LogsNamed(name), "\n"))
				}
			}
		})
	}
	t.Cleanup(func() {
		if *update {
			for _, c := range cases {
				c.Save(t)
			}
		}
	})
}

func load(t *testing.T, ctx context.Context, m *analyzertest.Module, patterns []string) loadedMap {
	t.Helper()
	if len(patterns) == 0 {
		return loadedMap{pkgs: map[string]*packages.Package{}}
	}
	pkgs, src, err := analyzer.Load(ctx, m.Dir, patterns...)
	if err != nil {
		t.Fatal(err)
	}
	lm := loadedMap{pkgs: map[string]*packages.Package{}, src: src}
	for _, p := range pkgs {
		lm.pkgs[filepath.Base(p.PkgPath)] = p
	}
	return lm
}

// loadedMap holds the packages of one load, by directory base name.
type loadedMap struct {
	pkgs map[string]*packages.Package
	src  *analyzer.Sources
}

func (l loadedMap) get(name string) *packages.Package { return l.pkgs[name] }

// analyse analyses pkg and returns its files' contents by base name.
func analyse(pkg *packages.Package, src *analyzer.Sources) (*analyzer.Analysis, map[string][]byte, error) {
	a, err := analyzer.AnalyzePackage(pkg, src)
	if a == nil {
		return nil, nil, err
	}
	files := map[string][]byte{}
	for _, f := range a.Files {
		files[filepath.Base(f)] = a.Source(f)
	}
	return a, files, err
}

// check compares an archive file with got, or records got with -update.
func check(t *testing.T, c *analyzertest.Case, name, got string) {
	t.Helper()
	want, ok := c.Section(name)
	if *update {
		if got == "" || name == "error" && got == "\n" {
			c.Set(name, nil)
		} else {
			c.Set(name, []byte(got))
		}
		return
	}
	if !ok && got == "" {
		return
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("%s differs (-want +got):\n%s", name, d)
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func stringMap(m map[string][]byte) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = string(v)
	}
	return out
}

// shape is what must not change when code is instrumented: the log
// statements with their depths and loops, and the blocks with their ids,
// effects' coverage and extras.
func shape(a *analyzer.Analysis) []string {
	var out []string
	for _, l := range a.Logs {
		out = append(out, fmt.Sprintf("%s %s line %d depth %d loops %v %s block %q", l.Kind, l.Name, l.Pos.Line, l.Depth, l.Loops, l.Phase, l.Block))
	}
	for _, b := range a.Blocks {
		out = append(out, fmt.Sprintf("block %q line %d skippable %v extras %v", b.ID, b.Pos.Line, b.Skippable, b.Extras))
		for _, e := range b.Effects {
			out = append(out, fmt.Sprintf("  %s %s line %d %q ckpt %q extra %q", e.Kind, e.Var, e.Pos.Line, e.Desc, e.Checkpoint, e.Extra))
		}
	}
	for _, d := range a.Diagnostics {
		out = append(out, fmt.Sprintf("%s line %d: %s", d.Severity, d.Pos.Line, d.Msg))
	}
	sort.Strings(out)
	return out
}
