package propagate_test

import (
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/mod/modfile"
	"golang.org/x/tools/txtar"

	"github.com/flordb/flor/analyzer/analyzertest"
	"github.com/flordb/flor/internal/scratch"
	"github.com/flordb/flor/rewrite/propagate"
)

// moduleCase is a case of testdata/module: each version is a whole module
// (new/..., old/...: a program with packages of its own, its go.mod's
// module line kept and its requirements replaced by this flor's), carried
// with propagate.Package, so the versions are loaded with their imports
// and the output type-checked as replay does. The comment names the
// package to carry into ("pkg: cmd/train", default the module's root) and
// what to carry ("names: ..."). Expected: outcomes (positions under new/
// and old/) and out/<file> for the package's changed files, relative to
// the package. Every output module is vetted.
type moduleCase struct {
	name, path string
	arc        *txtar.Archive
	pkg        string
	targets    []propagate.Target
	want       string
	out        map[string][]byte
}

func readModuleCase(t *testing.T, p string) *moduleCase {
	arc, err := txtar.ParseFile(p)
	if err != nil {
		t.Fatal(err)
	}
	c := &moduleCase{name: strings.TrimSuffix(filepath.Base(p), ".txtar"), path: p, arc: arc, pkg: ".", out: map[string][]byte{}}
	for _, line := range strings.Split(string(arc.Comment), "\n") {
		if rest, ok := strings.CutPrefix(line, "names:"); ok {
			c.targets = append(c.targets, propagate.Names(strings.Fields(rest)...)...)
		}
		if rest, ok := strings.CutPrefix(line, "pkg:"); ok {
			c.pkg = strings.TrimSpace(rest)
		}
	}
	for _, f := range arc.Files {
		switch {
		case f.Name == "outcomes":
			c.want = string(f.Data)
		case strings.HasPrefix(f.Name, "out/"):
			c.out[strings.TrimPrefix(f.Name, "out/")] = f.Data
		case strings.HasPrefix(f.Name, "new/"), strings.HasPrefix(f.Name, "old/"):
		default:
			t.Fatalf("%s: unknown section %s", p, f.Name)
		}
	}
	if len(c.targets) == 0 {
		t.Fatalf("%s: no names: line in the comment", p)
	}
	return c
}

// writeVersion writes the files of a version (prefix "new/" or "old/")
// under dir as a module built against this flor: the case's go.mod gives
// the module path, internal/scratch the rest of go.mod.
func (c *moduleCase) writeVersion(t *testing.T, dir, prefix, root string, sum []byte, over map[string][]byte) {
	modPath := "example.com/prog"
	for _, f := range c.arc.Files {
		name, ok := strings.CutPrefix(f.Name, prefix)
		if !ok {
			continue
		}
		if name == "go.mod" {
			if p := modfile.ModulePath(f.Data); p != "" {
				modPath = p
			}
			continue
		}
		writeFile(t, filepath.Join(dir, name), f.Data)
	}
	for name, data := range over {
		writeFile(t, filepath.Join(dir, c.pkg, name), data)
	}
	mf, err := scratch.GoMod(modPath, root)
	if err != nil {
		t.Fatal(err)
	}
	gomod, err := mf.Format()
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "go.mod"), gomod)
	writeFile(t, filepath.Join(dir, "go.sum"), sum)
}

func writeFile(t *testing.T, p string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestModules(t *testing.T) {
	paths, err := filepath.Glob("testdata/module/*.txtar")
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("no module cases")
	}
	tmpl := analyzertest.NewModule(t)
	sum, err := os.ReadFile(filepath.Join(tmpl.Dir, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		c := readModuleCase(t, p)
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			newDir, oldDir, outDir := filepath.Join(root, "new"), filepath.Join(root, "old"), filepath.Join(root, "out")
			c.writeVersion(t, newDir, "new/", tmpl.Root, sum, nil)
			c.writeVersion(t, oldDir, "old/", tmpl.Root, sum, nil)
			res, err := propagate.Package(filepath.Join(newDir, c.pkg), filepath.Join(oldDir, c.pkg), c.targets)
			if err != nil {
				t.Fatal(err)
			}
			var sb strings.Builder
			for _, o := range res.Outcomes {
				sb.WriteString(o.String() + "\n")
			}
			got := strings.ReplaceAll(sb.String(), filepath.ToSlash(root)+"/", "")
			if *update {
				c.rewrite(t, got, res.Files)
			}
			if d := cmp.Diff(c.want, got); d != "" {
				t.Errorf("outcomes (-want +got):\n%s", d)
			}
			for name, want := range c.out {
				if d := cmp.Diff(string(want), string(res.Files[name])); d != "" {
					t.Errorf("out/%s (-want +got):\n%s", name, d)
				}
			}
			for name := range res.Files {
				if _, ok := c.out[name]; !ok {
					t.Errorf("%s changed, but the case has no out/%s", name, name)
				}
			}
			// The output must build and pass vet in its module.
			c.writeVersion(t, outDir, "old/", tmpl.Root, sum, res.Files)
			for _, dir := range []string{newDir, outDir} {
				cmd := exec.Command("go", "vet", "./...")
				cmd.Dir = dir
				cmd.Env = tmpl.Env()
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Errorf("go vet in %s: %v\n%s", path.Base(dir), err, out)
				}
			}
		})
	}
}

func (c *moduleCase) rewrite(t *testing.T, got string, files map[string][]byte) {
	var kept []txtar.File
	for _, f := range c.arc.Files {
		if strings.HasPrefix(f.Name, "new/") || strings.HasPrefix(f.Name, "old/") {
			kept = append(kept, f)
		}
	}
	kept = append(kept, txtar.File{Name: "outcomes", Data: []byte(got)})
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		kept = append(kept, txtar.File{Name: "out/" + n, Data: files[n]})
	}
	c.arc.Files = kept
	if err := os.WriteFile(c.path, txtar.Format(c.arc), 0o644); err != nil {
		t.Fatal(err)
	}
	c.want, c.out = got, files
}
