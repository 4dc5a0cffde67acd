package propagate_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/tools/txtar"

	"github.com/flordb/flor/analyzer/analyzertest"
	"github.com/flordb/flor/rewrite/propagate"
)

var update = flag.Bool("update", false, "rewrite the expected outputs of the golden cases")

type goldenCase struct {
	name    string
	path    string
	arc     *txtar.Archive
	targets []propagate.Target
	newSrc  map[string][]byte
	oldSrc  map[string][]byte
	outSrc  map[string][]byte // expected changed files
	want    string            // expected outcomes, or error
	wantErr bool
	broken  []string // versions that are not valid Go on purpose
	// run is "same" when the old and new versions compute the same values:
	// the output must then log, for the names carried, the records the new
	// version logs; "values" compares the values only, not their loop
	// context.
	run string
}

func readCase(t *testing.T, path string) *goldenCase {
	arc, err := txtar.ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c := &goldenCase{
		name:   strings.TrimSuffix(filepath.Base(path), ".txtar"),
		path:   path,
		arc:    arc,
		newSrc: map[string][]byte{},
		oldSrc: map[string][]byte{},
		outSrc: map[string][]byte{},
	}
	for _, line := range strings.Split(string(arc.Comment), "\n") {
		if rest, ok := strings.CutPrefix(line, "names:"); ok {
			c.targets = append(c.targets, propagate.Names(strings.Fields(rest)...)...)
		}
		if rest, ok := strings.CutPrefix(line, "run:"); ok {
			c.run = strings.TrimSpace(rest)
		}
		if rest, ok := strings.CutPrefix(line, "broken:"); ok {
			c.broken = strings.Fields(rest)
		}
		if rest, ok := strings.CutPrefix(line, "targets:"); ok {
			for _, f := range strings.Fields(rest) {
				c.targets = append(c.targets, propagate.ParseTarget(f))
			}
		}
	}
	for _, f := range arc.Files {
		switch {
		case strings.HasPrefix(f.Name, "new/"):
			c.newSrc[strings.TrimPrefix(f.Name, "new/")] = f.Data
		case strings.HasPrefix(f.Name, "old/"):
			c.oldSrc[strings.TrimPrefix(f.Name, "old/")] = f.Data
		case strings.HasPrefix(f.Name, "out/"):
			c.outSrc[strings.TrimPrefix(f.Name, "out/")] = f.Data
		case f.Name == "outcomes":
			c.want = string(f.Data)
		case f.Name == "error":
			c.want, c.wantErr = string(f.Data), true
		default:
			t.Fatalf("%s: unknown section %s", path, f.Name)
		}
	}
	if len(c.targets) == 0 {
		t.Fatalf("%s: no names: or targets: line in the comment", path)
	}
	return c
}

// run propagates and returns the outcome text, the changed files and
// whether propagation stopped with an error.
func (c *goldenCase) propagate() (string, map[string][]byte, bool) {
	res, err := propagate.Sources(c.newSrc, c.oldSrc, c.targets)
	if err != nil {
		return err.Error() + "\n", nil, true
	}
	var sb strings.Builder
	for _, o := range res.Outcomes {
		sb.WriteString(o.String() + "\n")
	}
	return sb.String(), res.Files, false
}

func (c *goldenCase) rewrite(got string, files map[string][]byte, isErr bool) error {
	var kept []txtar.File
	for _, f := range c.arc.Files {
		if strings.HasPrefix(f.Name, "new/") || strings.HasPrefix(f.Name, "old/") {
			kept = append(kept, f)
		}
	}
	if isErr {
		kept = append(kept, txtar.File{Name: "error", Data: []byte(got)})
	} else {
		kept = append(kept, txtar.File{Name: "outcomes", Data: []byte(got)})
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		kept = append(kept, txtar.File{Name: "out/" + n, Data: files[n]})
	}
	c.arc.Files = kept
	return os.WriteFile(c.path, txtar.Format(c.arc), 0o644)
}

func TestGolden(t *testing.T) {
	paths, err := filepath.Glob("testdata/*.txtar")
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("no golden cases")
	}
	mod := newModule(t)
	passed := map[string]bool{}
	var cases []*goldenCase
	for _, path := range paths {
		c := readCase(t, path)
		cases = append(cases, c)
		passed[c.name] = t.Run(c.name, func(t *testing.T) {
			got, files, isErr := c.propagate()
			if *update {
				if err := c.rewrite(got, files, isErr); err != nil {
					t.Fatal(err)
				}
				c.outSrc, c.want, c.wantErr = files, got, isErr
			}
			if isErr != c.wantErr {
				t.Errorf("stopped with an error: %v, want %v:\n%s", isErr, c.wantErr, got)
			}
			if d := cmp.Diff(c.want, got); d != "" {
				t.Errorf("outcomes (-want +got):\n%s", d)
			}
			for name, want := range c.outSrc {
				if d := cmp.Diff(string(want), string(files[name])); d != "" {
					t.Errorf("out/%s (-want +got):\n%s", name, d)
				}
			}
			for name := range files {
				if _, ok := c.outSrc[name]; !ok {
					t.Errorf("%s changed, but the case has no out/%s", name, name)
				}
			}
		})
		for _, v := range []string{"new", "old"} {
			if !slices.Contains(c.broken, v) {
				mod.add(c.name, v, map[string]map[string][]byte{"new": c.newSrc, "old": c.oldSrc}[v], nil)
			}
		}
		if len(c.outSrc) > 0 {
			mod.add(c.name, "out", c.oldSrc, c.outSrc)
		}
	}
	// Every version and every output must compile and pass vet. `go list
	// -export` runs the compiler on each package without linking (go build
	// would link every program, seconds each). -trimpath keeps the build
	// cache valid across temporary directories.
	for _, step := range [][]string{{"list", "-trimpath", "-export", "-f", "{{.ImportPath}}", "./..."}, {"vet", "./..."}} {
		out, err := mod.goCmd(step...)
		if err == nil {
			continue
		}
		t.Logf("go %s:\n%s", strings.Join(step, " "), out)
		for _, c := range cases {
			if strings.Contains(out, "cases/"+c.name+"/") {
				t.Errorf("%s: go %s fails", c.name, step[0])
				passed[c.name] = false
			}
		}
		if !t.Failed() {
			t.Errorf("go %s fails: %v", strings.Join(step, " "), err)
		}
	}
	// Some outputs run: the statements carried must log what they log in
	// the new version.
	runRecorded(t, mod, cases, passed)
	n := 0
	for _, ok := range passed {
		if ok {
			n++
		}
	}
	runs := 0
	for _, c := range cases {
		if c.run != "" {
			runs++
		}
	}
	fmt.Printf("golden/propagate: %d/%d cases pass (%.1f%%); every version and output compiled and vetted, %d outputs run, against %s\n",
		n, len(cases), 100*float64(n)/float64(len(cases)), runs, mod.Root)
}

// module is a temporary Go module holding every case's versions as
// packages cases/<case>/{new,old,out}, built against this repository's
// flor module.
type module struct {
	*analyzertest.Module
	t *testing.T
}

func newModule(t *testing.T) *module {
	return &module{Module: analyzertest.NewModule(t), t: t}
}

func (m *module) add(name, kind string, base, over map[string][]byte) {
	dir := path.Join("cases", name, kind)
	m.Write(m.t, dir, base)
	m.Write(m.t, dir, over)
}

func (m *module) goCmd(args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), args...)
	cmd.Dir = m.Dir
	cmd.Env = m.Env()
	// Diagnostics come on stderr; stdout lists packages.
	var out bytes.Buffer
	cmd.Stderr = &out
	err := cmd.Run()
	return out.String(), err
}

// runRecorded builds and runs the new version and the output of the cases
// marked "run:", and compares what they log for the names carried.
func runRecorded(t *testing.T, mod *module, cases []*goldenCase, passed map[string]bool) {
	// Binaries are named by their directory's base name: each program gets
	// a directory of its own name under run/.
	var dirs []string
	var runs []*goldenCase
	for _, c := range cases {
		if c.run != "" && len(c.outSrc) > 0 && passed[c.name] {
			runs = append(runs, c)
			mod.Write(t, path.Join("run", c.name+"-new"), c.newSrc)
			mod.Write(t, path.Join("run", c.name+"-out"), c.oldSrc)
			mod.Write(t, path.Join("run", c.name+"-out"), c.outSrc)
			dirs = append(dirs, path.Join("run", c.name+"-new"), path.Join("run", c.name+"-out"))
		}
	}
	if len(runs) == 0 {
		return
	}
	bins := mod.Build(t, dirs...)
	for _, c := range runs {
		var names []string
		for _, tg := range c.targets {
			names = append(names, tg.Name)
		}
		logs := func(kind string) []string {
			dir := path.Join("run", c.name+"-"+kind)
			_, run := mod.Run(t, bins[dir], dir, t.TempDir())
			lines := run.LogsNamed(names...)
			if c.run == "values" {
				for i, l := range lines {
					_, lines[i], _ = strings.Cut(l, " ") // drop the loop context
				}
			}
			return lines
		}
		want, got := logs("new"), logs("out")
		if len(want) == 0 {
			t.Errorf("%s: the new version logs nothing named %v", c.name, names)
			passed[c.name] = false
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%s: the output logs other records than the new version (-new +out):\n%s", c.name, d)
			passed[c.name] = false
		}
	}
}
