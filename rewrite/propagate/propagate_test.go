package propagate_test

import (
	"bytes"
	"errors"
	"fmt"
	"go/format"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flordb/flor/analyzer/analyzertest"
	"github.com/flordb/flor/rewrite/propagate"
)

const oldMain = `package main

import (
	"fmt"

	"github.com/flordb/flor"
)

func main() {
	defer flor.Commit()
	lr := flor.Arg("lr", 0.1)
	net := []float64{1, 2, 3}
	for epoch := range flor.Loop("epoch", flor.Range(3)) {
		for i := range net {
			net[i] -= lr * net[i]
		}
		fmt.Println(epoch, net[0])
	}
}
`

// newMain renames net to model and logs two values.
const newMain = `package main

import (
	"fmt"
	"math"

	"github.com/flordb/flor"
)

func main() {
	defer flor.Commit()
	lr := flor.Arg("lr", 0.1)
	model := []float64{1, 2, 3}
	for epoch := range flor.Loop("epoch", flor.Range(3)) {
		for i := range model {
			model[i] -= lr * model[i]
		}
		flor.Log("norm", math.Sqrt(model[0]*model[0]+model[1]*model[1]))
		fmt.Println(epoch, model[0])
		flor.Log("scale", unknown(model))
	}
}

func unknown(m []float64) float64 { return m[0] }
`

func TestSourcesOutcomes(t *testing.T) {
	res, err := propagate.Sources(map[string][]byte{"main.go": []byte(newMain)},
		map[string][]byte{"main.go": []byte(oldMain)}, propagate.Names("norm", "scale"))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Outcomes) != 2 {
		t.Fatalf("got %d outcomes, want 2: %v", len(res.Outcomes), res.Outcomes)
	}
	norm, scale := res.Outcomes[0], res.Outcomes[1]
	if norm.Status != propagate.Inserted || norm.Old.Line != 18 || norm.New.Line != 18 {
		t.Errorf("norm: %v, want inserted at old/main.go:18", norm)
	}
	if scale.Status != propagate.Failed || !errors.Is(scale.Err, propagate.ErrNoCounterpart) ||
		!strings.Contains(scale.Err.Error(), "unknown") || !strings.Contains(scale.Err.Error(), "new/main.go:20") {
		t.Errorf("scale: %v (%v), want a failure naming unknown and the statement's position", scale, scale.Err)
	}
	if !errors.Is(res.Err(), propagate.ErrNoCounterpart) {
		t.Errorf("Result.Err() = %v", res.Err())
	}
	out := string(res.Files["main.go"])
	for _, want := range []string{"\t\"math\"\n", "\t\tflor.Log(\"norm\", math.Sqrt(net[0]*net[0]+net[1]*net[1]))\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "scale") {
		t.Errorf("the failed statement was inserted:\n%s", out)
	}
	if lines := strings.Split(out, "\n"); norm.Old.Line < 1 || norm.Old.Line > len(lines) || !strings.Contains(lines[norm.Old.Line-1], `flor.Log("norm"`) {
		t.Errorf("line %d of the output is not the statement", norm.Old.Line)
	}
	if f, err := format.Source(res.Files["main.go"]); err != nil || !bytes.Equal(f, res.Files["main.go"]) {
		t.Errorf("output is not gofmt-clean (%v)", err)
	}
	d := string(res.Diff())
	for _, want := range []string{"--- a/main.go\n+++ b/main.go\n", "+\t\"math\"\n", "+\t\tflor.Log(\"norm\"", "@@ -2,6 +2,7 @@\n \n import (\n", "@@ -14,6 +15,7 @@\n"} {
		if !strings.Contains(d, want) {
			t.Errorf("diff lacks %q:\n%s", want, d)
		}
	}
}

func TestBadInput(t *testing.T) {
	good := map[string][]byte{"main.go": []byte(newMain)}
	for _, c := range []struct {
		name     string
		new, old map[string][]byte
		targets  []propagate.Target
		want     error
		mention  string
	}{
		{"unparsable new", map[string][]byte{"main.go": []byte("package main\nfunc main() {\n")}, good, propagate.Names("norm"), propagate.ErrParse, "new/main.go:2"},
		{"unparsable old", good, map[string][]byte{"a.go": []byte("package main\nvar = 1\n")}, propagate.Names("norm"), propagate.ErrParse, "old/a.go:2"},
		{"two packages", good, map[string][]byte{"a.go": []byte("package a\n"), "b.go": []byte("package b\n")}, propagate.Names("norm"), propagate.ErrParse, "old/b.go:1"},
		{"unknown name", good, map[string][]byte{"main.go": []byte(oldMain)}, propagate.Names("loss"), propagate.ErrNoStatement, `"loss"`},
		{"no targets", good, map[string][]byte{"main.go": []byte(oldMain)}, nil, propagate.ErrNoStatement, ""},
		{"line out of range", good, map[string][]byte{"main.go": []byte(oldMain)}, []propagate.Target{{File: "main.go", Line: 999}}, propagate.ErrNoStatement, "main.go:999"},
		{"no such file", good, map[string][]byte{"main.go": []byte(oldMain)}, []propagate.Target{{File: "x.go", Line: 1}}, propagate.ErrNoStatement, "x.go"},
		{"no Go files", good, map[string][]byte{}, propagate.Names("norm"), propagate.ErrInput, "old"},
	} {
		res, err := propagate.Sources(c.new, c.old, c.targets)
		if !errors.Is(err, c.want) || res != nil {
			t.Errorf("%s: got %v, %v; want an error wrapping %v and no result", c.name, res, err, c.want)
			continue
		}
		if !strings.Contains(err.Error(), c.mention) {
			t.Errorf("%s: %q does not mention %q", c.name, err, c.mention)
		}
	}
}

func TestParseTarget(t *testing.T) {
	for in, want := range map[string]propagate.Target{
		"grad_norm":        {Name: "grad_norm"},
		"train.go:42":      {File: "train.go", Line: 42},
		"sub/train.go:7":   {File: "sub/train.go", Line: 7},
		"train.go:0":       {Name: "train.go:0"},
		"loss:val":         {Name: "loss:val"},
		"a.go:12:3":        {Name: "a.go:12:3"},
		"metrics.go.count": {Name: "metrics.go.count"},
	} {
		if got := propagate.ParseTarget(in); got != want {
			t.Errorf("ParseTarget(%q) = %+v, want %+v", in, got, want)
		}
	}
}

func TestPackageAndWrite(t *testing.T) {
	dir := analyzertest.NewModule(t).Dir
	newDir, oldDir := filepath.Join(dir, "new"), filepath.Join(dir, "old")
	for d, files := range map[string]map[string]string{
		newDir: {"main.go": newMain, "main_test.go": "package main\nthis is not Go\n", "notes.txt": "x"},
		oldDir: {"main.go": oldMain, "ignored.go": "//go:build ignore\n\npackage other\n"},
	} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, data := range files {
			if err := os.WriteFile(filepath.Join(d, name), []byte(data), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	res, err := propagate.Package(newDir, oldDir, propagate.Names("norm"))
	if err != nil {
		t.Fatal(err)
	}
	if o := res.Outcomes[0]; o.Status != propagate.Inserted || o.Old.Filename != filepath.ToSlash(filepath.Join(oldDir, "main.go")) {
		t.Errorf("outcome %v, want inserted into %s", o, filepath.Join(oldDir, "main.go"))
	}
	before, _ := os.ReadFile(filepath.Join(oldDir, "main.go"))
	if string(before) != oldMain {
		t.Fatal("Package wrote to the old directory")
	}
	if err := res.Write(oldDir); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(filepath.Join(oldDir, "main.go"))
	if !bytes.Equal(after, res.Files["main.go"]) {
		t.Errorf("written file differs from Result.Files")
	}
	if fi, _ := os.Stat(filepath.Join(oldDir, "main.go")); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want the old file's 0600", fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(oldDir)
	if len(entries) != 2 {
		t.Errorf("old directory holds %d entries after Write, want 2 (no temporary files left)", len(entries))
	}
	// Propagating again finds the statement present.
	res, err = propagate.Package(newDir, oldDir, propagate.Names("norm"))
	if err != nil {
		t.Fatal(err)
	}
	if o := res.Outcomes[0]; o.Status != propagate.Present || len(res.Files) != 0 {
		t.Errorf("second run: %v, %d files; want already present, nothing to write", o, len(res.Files))
	}
	if _, err := propagate.Package(filepath.Join(dir, "missing"), oldDir, propagate.Names("norm")); !errors.Is(err, propagate.ErrInput) {
		t.Errorf("missing directory: %v, want ErrInput", err)
	}
}

// trainingFile writes a training program of about n lines: helper
// functions, then a main loop with a nested loop calling them.
func trainingFile(n int, extra string) string {
	var sb strings.Builder
	sb.WriteString("package main\n\nimport (\n\t\"fmt\"\n\n\t\"github.com/flordb/flor\"\n)\n\n")
	k := 0
	for ; strings.Count(sb.String(), "\n") < n-40; k++ {
		fmt.Fprintf(&sb, `// layer%d applies one layer to x.
func layer%d(w []float64, x []float64) []float64 {
	out := make([]float64, len(x))
	for i := range x {
		s := 0.0
		for j, v := range x {
			s += w[(i+j)%%len(w)] * v
		}
		if s < 0 {
			s *= 0.01
		}
		out[i] = s + %d.0/100
	}
	return out
}

`, k, k, k)
	}
	sb.WriteString("func main() {\n\tdefer flor.Commit()\n\tlr := flor.Arg(\"lr\", 0.01)\n\tw := make([]float64, 16)\n\tx := make([]float64, 16)\n")
	sb.WriteString("\tfor epoch := range flor.Loop(\"epoch\", flor.Range(3)) {\n\t\tfor s := range flor.Loop(\"step\", flor.Range(10)) {\n\t\t\th := x\n")
	for i := range k {
		fmt.Fprintf(&sb, "\t\t\th = layer%d(w, h)\n", i)
	}
	sb.WriteString("\t\t\tfor i := range w {\n\t\t\t\tw[i] -= lr * h[i%len(h)]\n\t\t\t}\n")
	sb.WriteString(extra)
	sb.WriteString("\t\t\tfmt.Println(epoch, s, h[0])\n\t\t}\n\t}\n}\n")
	return sb.String()
}

func TestLargeFile(t *testing.T) {
	old := trainingFile(1000, "")
	newSrc := trainingFile(1000, "\t\t\tflor.Log(\"h0\", h[0])\n")
	res, err := propagate.Sources(map[string][]byte{"main.go": []byte(newSrc)}, map[string][]byte{"main.go": []byte(old)}, propagate.Names("h0"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Err() != nil || string(res.Files["main.go"]) != newSrc {
		t.Errorf("propagating into an identical file must give the new file: %v\n%s", res.Err(), res.Diff())
	}
}

func BenchmarkPropagate1000Lines(b *testing.B) {
	old := trainingFile(1000, "")
	newSrc := trainingFile(1000, "\t\t\tflor.Log(\"h0\", h[0])\n")
	newFiles, oldFiles := map[string][]byte{"main.go": []byte(newSrc)}, map[string][]byte{"main.go": []byte(old)}
	b.ReportMetric(float64(strings.Count(old, "\n")), "lines")
	for b.Loop() {
		res, err := propagate.Sources(newFiles, oldFiles, propagate.Names("h0"))
		if err != nil || res.Outcomes[0].Status != propagate.Inserted {
			b.Fatal(err, res.Outcomes)
		}
	}
}

// optPkg is an imported package: only loading it tells what fields its
// types have.
var optPkg = map[string][]byte{"opt.go": []byte(`package opt

// AdamW is an optimiser with a decay rate.
type AdamW struct{ LR, Alpha float64 }

// SGD is a plain optimiser.
type SGD struct{ LR float64 }

// NewAdamW returns an AdamW.
func NewAdamW(lr float64) *AdamW { return &AdamW{LR: lr, Alpha: 0.9} }

// NewSGD returns an SGD.
func NewSGD(lr float64) *SGD { return &SGD{LR: lr} }

// Decay is the optimiser's decay rate.
func Decay(o *AdamW) float64 { return o.Alpha }

// LayerNorm normalises a layer.
type LayerNorm struct{ Dim int }

// NewLayerNorm returns a LayerNorm.
func NewLayerNorm(dim int) *LayerNorm { return &LayerNorm{Dim: dim} }
`)}

const optMain = `package main

import (
	"fmt"

	"flortest/opt"
	"github.com/flordb/flor"
)

func main() {
	defer flor.Commit()
	optimizer := opt.%s(0.1)
	for epoch := range flor.Loop("epoch", flor.Range(2)) {
		fmt.Println(epoch, optimizer.LR)
%s	}
}
`

// A statement that passes an old optimiser of another type to a function
// parses, resolves and is no evidence against the rename, but does not
// compile: Package must refuse it, naming the statement, where it went and
// the compiler's message, and write nothing of it.
func TestPackageTypeChecks(t *testing.T) {
	mod := analyzertest.NewModule(t)
	mod.Write(t, "opt", optPkg)
	mod.Write(t, "new", map[string][]byte{"main.go": fmt.Appendf(nil, optMain, "NewAdamW", "\t\tflor.Log(\"alpha\", opt.Decay(optimizer))\n\t\tflor.Log(\"lr\", optimizer.LR)\n")})
	mod.Write(t, "old", map[string][]byte{"main.go": fmt.Appendf(nil, optMain, "NewSGD", "")})
	newDir, oldDir := filepath.Join(mod.Dir, "new"), filepath.Join(mod.Dir, "old")
	res, err := propagate.Package(newDir, oldDir, propagate.Names("alpha", "lr"))
	if err != nil {
		t.Fatal(err)
	}
	alpha, lr := res.Outcomes[0], res.Outcomes[1]
	if alpha.Status != propagate.Failed || !errors.Is(alpha.Err, propagate.ErrTypeCheck) {
		t.Fatalf("alpha: %v, want a failure wrapping ErrTypeCheck", alpha)
	}
	for _, want := range []string{"new/main.go:15", "old/main.go:15", "cannot use optimizer"} {
		if !strings.Contains(alpha.Err.Error(), want) {
			t.Errorf("%q does not mention %q", alpha.Err, want)
		}
	}
	if lr.Status != propagate.Inserted {
		t.Errorf("lr: %v, want inserted: a statement that compiles still goes in", lr)
	}
	if out := string(res.Files["main.go"]); strings.Contains(out, "Decay") || !strings.Contains(out, `flor.Log("lr", optimizer.LR)`) {
		t.Errorf("output:\n%s", out)
	}
	if !errors.Is(res.Err(), propagate.ErrTypeCheck) {
		t.Errorf("Result.Err() = %v", res.Err())
	}
	// Sources cannot see the imported package: Check on the result finds
	// the error the same way.
	src := func(dir string) map[string][]byte {
		b, err := os.ReadFile(filepath.Join(dir, "main.go"))
		if err != nil {
			t.Fatal(err)
		}
		return map[string][]byte{"main.go": b}
	}
	res, err = propagate.Sources(src(newDir), src(oldDir), propagate.Names("alpha"))
	if err != nil || res.Outcomes[0].Status != propagate.Inserted {
		t.Fatalf("Sources: %v, %v", res, err)
	}
	if err := res.Check(oldDir); !errors.Is(err, propagate.ErrTypeCheck) || res.Outcomes[0].Status != propagate.Failed {
		t.Errorf("Check: %v, outcome %v; want ErrTypeCheck and the statement failed", err, res.Outcomes[0])
	}
	// A directory that is in no module cannot be checked: no success.
	bare := t.TempDir()
	if err := os.WriteFile(filepath.Join(bare, "main.go"), src(oldDir)["main.go"], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := propagate.Package(newDir, bare, propagate.Names("lr")); !errors.Is(err, propagate.ErrUnchecked) {
		t.Errorf("outside a module: %v, want ErrUnchecked", err)
	}
}

// The user's case: the new optimizer := opt.NewAdamW(lr) was a multi-line
// composite literal under another name, and GumTree maps the declaration
// to an unrelated norm := opt.NewLayerNorm(8). Only the imported package's
// types tell that norm has no Alpha: Package loads them and finds adamw;
// Sources, which cannot, must not claim success once checked.
func TestPackageRenameByImportedType(t *testing.T) {
	mod := analyzertest.NewModule(t)
	mod.Write(t, "opt", optPkg)
	mod.Write(t, "new", map[string][]byte{"main.go": []byte(`package main

import (
	"fmt"

	"flortest/opt"
	"github.com/flordb/flor"
)

func main() {
	defer flor.Commit()
	optimizer := opt.NewAdamW(0.1)
	fmt.Println("training")
	for epoch := range flor.Loop("epoch", flor.Range(2)) {
		flor.Log("alpha", optimizer.Alpha)
		fmt.Println(epoch)
	}
}
`)})
	mod.Write(t, "old", map[string][]byte{"main.go": []byte(`package main

import (
	"fmt"

	"flortest/opt"
	"github.com/flordb/flor"
)

func main() {
	defer flor.Commit()
	norm := opt.NewLayerNorm(8)
	adamw := &opt.AdamW{
		LR:    0.1,
		Alpha: 0.9,
	}
	fmt.Println("training", norm.Dim)
	for epoch := range flor.Loop("epoch", flor.Range(2)) {
		adamw.LR *= 0.5
		fmt.Println(epoch, norm.Dim)
	}
}
`)})
	newDir, oldDir := filepath.Join(mod.Dir, "new"), filepath.Join(mod.Dir, "old")
	res, err := propagate.Package(newDir, oldDir, propagate.Names("alpha"))
	if err != nil {
		t.Fatal(err)
	}
	if o := res.Outcomes[0]; o.Status != propagate.Inserted || !strings.Contains(string(res.Files["main.go"]), `flor.Log("alpha", adamw.Alpha)`) {
		t.Errorf("%v\n%s", o.Explain(), res.Files["main.go"])
	}
	src := func(dir string) map[string][]byte {
		b, err := os.ReadFile(filepath.Join(dir, "main.go"))
		if err != nil {
			t.Fatal(err)
		}
		return map[string][]byte{"main.go": b}
	}
	res, err = propagate.Sources(src(newDir), src(oldDir), propagate.Names("alpha"))
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Check(oldDir); res.Outcomes[0].Status == propagate.Inserted && !strings.Contains(string(res.Files["main.go"]), "adamw.Alpha") {
		t.Errorf("Sources wrote %s and Check passed it (%v)", res.Files["main.go"], err)
	}
}

// BenchmarkPropagate1000LinesChecked is BenchmarkPropagate1000Lines through
// Package: both versions loaded with their imports and the output
// type-checked in its module, as replay does.
func BenchmarkPropagate1000LinesChecked(b *testing.B) {
	mod := analyzertest.NewModule(b)
	mod.Write(b, "new", map[string][]byte{"main.go": []byte(trainingFile(1000, "\t\t\tflor.Log(\"h0\", h[0])\n"))})
	mod.Write(b, "old", map[string][]byte{"main.go": []byte(trainingFile(1000, ""))})
	newDir, oldDir := filepath.Join(mod.Dir, "new"), filepath.Join(mod.Dir, "old")
	for b.Loop() {
		res, err := propagate.Package(newDir, oldDir, propagate.Names("h0"))
		if err != nil || res.Outcomes[0].Status != propagate.Inserted {
			b.Fatal(err, res.Outcomes)
		}
	}
}
