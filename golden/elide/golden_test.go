package elide_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"go/format"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flordb/flor/analyzer"
	"github.com/flordb/flor/analyzer/analyzertest"
	"github.com/flordb/flor/rewrite"
)

var update = flag.Bool("update", false, "rewrite the elide and out/ sections of the golden files")

func TestGolden(t *testing.T) {
	ctx := context.Background()
	cases := analyzertest.ReadCases(t, "testdata")
	m := analyzertest.NewModule(t)
	var patterns []string
	for _, c := range cases {
		m.Write(t, "in_"+c.Name, c.In)
		patterns = append(patterns, "./in_"+c.Name)
	}
	pkgs, src, err := analyzer.Load(ctx, m.Dir, patterns...)
	if err != nil {
		t.Fatal(err)
	}
	outs := map[string]map[string][]byte{}
	for _, c := range cases {
		t.Run(c.Name+"/instrument", func(t *testing.T) {
			var a *analyzer.Analysis
			for _, p := range pkgs {
				if filepath.Base(p.PkgPath) == "in_"+c.Name {
					if a, err = analyzer.AnalyzePackage(p, src); err != nil {
						t.Fatal(err)
					}
				}
			}
			if a == nil {
				t.Fatalf("package in_%s was not loaded", c.Name)
			}
			check(t, c, "elide", verdicts(a))
			changed, _, err := rewrite.InstrumentReplay(a)
			if err != nil {
				t.Fatal(err)
			}
			out := map[string][]byte{}
			for _, f := range a.Files {
				b := a.Source(f)
				if nb, ok := changed[f]; ok {
					b = nb
					if fb, err := format.Source(nb); err != nil || !bytes.Equal(fb, nb) {
						t.Errorf("out/%s is not gofmt-clean (%v):\n%s", filepath.Base(f), err, cmp.Diff(string(nb), string(fb)))
					}
				}
				out[filepath.Base(f)] = b
			}
			outs[c.Name] = out
			if *update {
				c.SetOut(out)
				return
			}
			if d := cmp.Diff(stringMap(c.Out), stringMap(out)); d != "" {
				t.Errorf("out/ differs (-want +got):\n%s", d)
			}
		})
	}

	// The replay build replays a recorded run: the names it keeps come
	// back as recorded, and what it evaluates matches the record.
	var dirs []string
	for _, c := range cases {
		if out := outs[c.Name]; out != nil {
			m.Write(t, "out_"+c.Name, out)
			dirs = append(dirs, "in_"+c.Name, "out_"+c.Name)
		}
	}
	if len(dirs) == 0 {
		return
	}
	bins := m.Build(t, dirs...)
	for _, c := range cases {
		spec, ok := c.Section("replay")
		if !ok || outs[c.Name] == nil {
			continue
		}
		t.Run(c.Name+"/replay", func(t *testing.T) {
			t.Parallel()
			var keep []string
			for _, line := range strings.Split(strings.TrimSpace(spec), "\n") {
				f := strings.Fields(line)
				if len(f) != 2 || f[0] != "keep" {
					t.Fatalf("replay file: bad line %q (want: keep NAME)", line)
				}
				keep = append(keep, f[1])
			}
			_, rec := m.Run(t, bins["in_"+c.Name], "in_"+c.Name, t.TempDir())
			rep := m.Replay(t, bins["out_"+c.Name], "out_"+c.Name, rec, keep)
			if want := rec.LogsNamed(keep...); len(want) == 0 {
				t.Errorf("the recording has no values named %v", keep)
			} else if d := cmp.Diff(want, rep.LogsNamed(keep...)); d != "" {
				t.Errorf("replayed values differ from the recording (-recorded +replayed):\n%s", d)
			}
			data, err := os.ReadFile(rep.Path)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(data, []byte(`"k":"diverge"`)) {
				t.Errorf("the replay diverged from the record:\n%s", data)
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

// verdicts is a line per flor.Log statement: its name, position,
// whether replay may skip it, and why.
func verdicts(a *analyzer.Analysis) string {
	var b strings.Builder
	for _, l := range a.Logs {
		if l.Elide == nil {
			continue
		}
		ok := "no"
		if l.Elide.OK {
			ok = "yes"
		}
		fmt.Fprintf(&b, "%s %s %s: %s\n", l.Name, l.Pos, ok, l.Elide.Why)
	}
	return b.String()
}

// check compares an archive file with got, or records got with -update.
func check(t *testing.T, c *analyzertest.Case, name, got string) {
	t.Helper()
	if *update {
		c.Set(name, []byte(got))
		return
	}
	want, _ := c.Section(name)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("%s differs (-want +got):\n%s", name, d)
	}
}

func stringMap(m map[string][]byte) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = string(v)
	}
	return out
}
