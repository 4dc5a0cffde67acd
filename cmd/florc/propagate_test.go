package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flordb/flor/analyzer/analyzertest"
)

const propOld = `package main

import "github.com/flordb/flor"

func main() {
	defer flor.Commit()
	net := []float64{1, 2}
	for range flor.Loop("epoch", flor.Range(2)) {
		net[0] *= 0.5
	}
}
`

const propNew = `package main

import "github.com/flordb/flor"

func main() {
	defer flor.Commit()
	model := []float64{1, 2}
	for range flor.Loop("epoch", flor.Range(2)) {
		model[0] *= 0.5
		flor.Log("w0", model[0])
		flor.Log("extra", extra)
	}
}

var extra = 1
`

// propDirs writes the two versions into new/ and old/ of a temp dir.
func propDirs(t *testing.T) (newDir, oldDir string) {
	t.Helper()
	// In a module: propagate type-checks the old version with its
	// dependencies.
	dir := analyzertest.NewModule(t).Dir
	newDir, oldDir = filepath.Join(dir, "new"), filepath.Join(dir, "old")
	for d, src := range map[string]string{newDir: propNew, oldDir: propOld} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "main.go"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(oldDir, "data.csv"), []byte("x\n1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return newDir, oldDir
}

func runFlorc(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = newMain(&out, &errb).Run(context.Background(), args)
	return code, out.String(), errb.String()
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestPropagateDiff(t *testing.T) {
	newDir, oldDir := propDirs(t)
	code, out, errs := runFlorc("propagate", "w0", "--new", newDir, "--old", oldDir)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errs)
	}
	if !strings.Contains(out, "+\t\tflor.Log(\"w0\", net[0])\n") || !strings.HasPrefix(out, "--- a/main.go\n+++ b/main.go\n") {
		t.Errorf("stdout is not the expected diff:\n%s", out)
	}
	if !strings.Contains(errs, `"w0"`) || !strings.Contains(errs, "inserted at "+filepath.ToSlash(filepath.Join(oldDir, "main.go"))+":10") {
		t.Errorf("stderr does not report the insertion:\n%s", errs)
	}
	if readFile(t, filepath.Join(oldDir, "main.go")) != propOld {
		t.Error("the old version was written without -w")
	}
}

func TestPropagateWriteAndFailures(t *testing.T) {
	newDir, oldDir := propDirs(t)
	// extra has no counterpart: reported, exit 1, w0 still written.
	code, out, errs := runFlorc("propagate", "--new", newDir, "--old", oldDir, "-w", "w0", "extra")
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if out != "" {
		t.Errorf("stdout with -w: %q", out)
	}
	if !strings.Contains(errs, "florc: "+filepath.ToSlash(filepath.Join(newDir, "main.go"))+":11:3") || !strings.Contains(errs, "extra") ||
		!strings.Contains(errs, "no counterpart") {
		t.Errorf("stderr does not name the failed statement and why:\n%s", errs)
	}
	got := readFile(t, filepath.Join(oldDir, "main.go"))
	if !strings.Contains(got, "\t\tflor.Log(\"w0\", net[0])\n") || strings.Contains(got, "extra") {
		t.Errorf("old version after -w:\n%s", got)
	}
}

func TestPropagateOutDir(t *testing.T) {
	newDir, oldDir := propDirs(t)
	outDir := filepath.Join(t.TempDir(), "out")
	code, _, errs := runFlorc("propagate", "--new", newDir, "--old", oldDir, "-o", outDir, "main.go:10")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, errs)
	}
	if got := readFile(t, filepath.Join(outDir, "main.go")); !strings.Contains(got, "flor.Log(\"w0\", net[0])") {
		t.Errorf("out/main.go:\n%s", got)
	}
	if readFile(t, filepath.Join(outDir, "data.csv")) != "x\n1\n" {
		t.Error("the package's other files were not copied")
	}
	if readFile(t, filepath.Join(oldDir, "main.go")) != propOld {
		t.Error("the old version changed with -o")
	}
}

func TestPropagateBadInput(t *testing.T) {
	newDir, oldDir := propDirs(t)
	bad := filepath.Join(t.TempDir(), "bad")
	if err := os.Mkdir(bad, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bad, "main.go"), []byte("package main\nfunc main() {\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args    []string
		code    int
		mention string
	}{
		{[]string{"--new", newDir, "--old", oldDir, "-w", "nosuchname"}, 1, `florc: "nosuchname": no such statement`},
		{[]string{"--new", newDir, "--old", bad, "-w", "w0"}, 1, "florc: cannot parse: old version: " + filepath.ToSlash(filepath.Join(bad, "main.go")) + ":2"},
		{[]string{"--new", bad, "--old", oldDir, "-w", "w0"}, 1, "cannot parse: new version"},
		{[]string{"--old", oldDir, "w0"}, 2, "--new and --old are required"},
		{[]string{"--new", newDir, "--old", oldDir}, 2, "name at least one"},
		{[]string{"--new", newDir, "--old", oldDir, "-w", "-o", bad, "w0"}, 2, "exclude each other"},
		{[]string{"--new", newDir, "--old", oldDir, "--bogus", "w0"}, 2, "bogus"},
	} {
		code, out, errs := runFlorc(append([]string{"propagate"}, c.args...)...)
		if code != c.code || !strings.Contains(errs, c.mention) {
			t.Errorf("florc propagate %v: exit %d, stderr %q; want exit %d mentioning %q", c.args, code, errs, c.code, c.mention)
		}
		if c.code == 1 && out != "" {
			t.Errorf("florc propagate %v: stdout %q", c.args, out)
		}
	}
	if readFile(t, filepath.Join(oldDir, "main.go")) != propOld {
		t.Error("a failed run wrote the old version")
	}
}

func TestPropagateHelp(t *testing.T) {
	code, out, _ := runFlorc("propagate", "--help")
	if code != 0 || !strings.Contains(out, "Examples:") || !strings.Contains(out, "-new DIR") {
		t.Errorf("exit %d, help:\n%s", code, out)
	}
}

// -v explains each statement: its anchor, the mappings it relied on and
// the renames.
func TestPropagateVerbose(t *testing.T) {
	newDir, oldDir := propDirs(t)
	code, _, errs := runFlorc("propagate", "-v", "--new", newDir, "--old", oldDir, "w0")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, errs)
	}
	for _, want := range []string{"inserted at", "\tanchor: after ", "\tmapping: ", "(similarity 1.00)", "\trename: model → net (mapping, "} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
}

// A statement that resolves but does not compile in the old version (its
// value is an int there) is refused with exit 1, naming the compiler's
// message, and nothing is written.
func TestPropagateTypeErrorExits1(t *testing.T) {
	dir := analyzertest.NewModule(t).Dir
	newDir, oldDir := filepath.Join(dir, "new"), filepath.Join(dir, "old")
	const prog = `package main

import (
	"math"

	"github.com/flordb/flor"
)

func main() {
	defer flor.Commit()
	n := %s
	for range flor.Loop("epoch", flor.Range(2)) {
		n++
%s	}
}

var _ = math.Pi
`
	for d, src := range map[string]string{
		newDir: fmt.Sprintf(prog, "1.5", "\t\tflor.Log(\"root\", math.Sqrt(n))\n"),
		oldDir: fmt.Sprintf(prog, "1", ""),
	} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "main.go"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	before := readFile(t, filepath.Join(oldDir, "main.go"))
	code, _, errs := runFlorc("propagate", "--new", newDir, "--old", oldDir, "-w", "root")
	if code != 1 || !strings.Contains(errs, "does not type-check") || !strings.Contains(errs, "cannot use n") {
		t.Errorf("exit %d, stderr:\n%s\nwant exit 1 and the compiler's message", code, errs)
	}
	if readFile(t, filepath.Join(oldDir, "main.go")) != before {
		t.Error("the refused statement was written")
	}
}
