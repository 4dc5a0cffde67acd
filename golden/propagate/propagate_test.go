// Package propagate_test holds the golden cases of statement propagation
// (package rewrite/propagate): one txtar archive per case in testdata/.
//
// An archive's comment names what to carry ("names: grad_norm loss", or
// "targets: train.go:12") and the versions that are broken on purpose
// ("broken: old"); its files are the new version (new/...), the old
// version (old/...), and what is expected: the changed old files (out/...)
// and one line per statement (outcomes), or the error that stops everything
// (error). Every version and every output is compiled and vetted against
// the flor module of this repository. `go test -update` rewrites the
// expectations from what propagate does.
package propagate_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/tools/txtar"

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
func (c *goldenCase) run() (string, map[string][]byte, bool) {
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
			got, files, isErr := c.run()
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
	// would link every program, seconds each); one output is built and
	// linked on its own. -trimpath keeps the build cache valid across
	// temporary directories.
	steps := [][]string{{"list", "-trimpath", "-export", "-f", "{{.ImportPath}}", "./..."}, {"vet", "./..."}}
	for _, c := range cases {
		if len(c.outSrc) > 0 {
			steps = append(steps, []string{"build", "-trimpath", "-o", filepath.Join(mod.dir, "prog"), "./cases/" + c.name + "/out"})
			break
		}
	}
	for _, step := range steps {
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
	n := 0
	for _, ok := range passed {
		if ok {
			n++
		}
	}
	fmt.Printf("golden/propagate: %d/%d cases pass (%.1f%%), outputs compiled with %s\n",
		n, len(cases), 100*float64(n)/float64(len(cases)), mod.against)
}

// module is a temporary Go module holding every case's versions as
// packages, built against this repository's flor module.
type module struct {
	t       *testing.T
	dir     string
	against string
}

func newModule(t *testing.T) *module {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	gomod := fmt.Sprintf("module flor.test/golden\n\ngo 1.26\n\nrequire github.com/flordb/flor v0.0.0\n\nreplace github.com/flordb/flor => %s\n", root)
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644); err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644); err != nil {
		t.Fatal(err)
	}
	return &module{t: t, dir: dir, against: "the compiler and go vet (one linked by go build), against " + root}
}

func (m *module) add(name, kind string, base, over map[string][]byte) {
	dir := filepath.Join(m.dir, "cases", name, kind)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		m.t.Fatal(err)
	}
	for _, files := range []map[string][]byte{base, over} {
		for f, data := range files {
			if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
				m.t.Fatal(err)
			}
		}
	}
}

func (m *module) goCmd(args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), args...)
	cmd.Dir = m.dir
	cmd.Env = append(slices.Clone(os.Environ()), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off")
	// Diagnostics come on stderr; stdout lists packages.
	var out bytes.Buffer
	cmd.Stderr = &out
	err := cmd.Run()
	return out.String(), err
}
