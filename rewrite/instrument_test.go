package rewrite_test

import (
	"bytes"
	"context"
	"errors"
	"go/format"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/flordb/flor/analyzer"
	"github.com/flordb/flor/analyzer/analyzertest"
	"github.com/flordb/flor/rewrite"
)

const program = `package main

import "github.com/flordb/flor"

func main() {
	defer flor.Commit()
	total := 0
	for epoch := range flor.Loop("epoch", flor.Range(2)) {
		for i := range 3 {
			total += epoch * i
		}
		flor.Log("total", total)
	}
}
`

func TestWriteFilesAllOrNothing(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.go")
	if err := os.WriteFile(a, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := rewrite.WriteFiles(map[string][]byte{
		a:                                []byte("new"),
		filepath.Join(dir, "no", "b.go"): []byte("x"),
	})
	if err == nil {
		t.Fatal("writing into a missing directory succeeded")
	}
	if b, _ := os.ReadFile(a); string(b) != "old" {
		t.Errorf("a.go = %q after a failed write, want it unchanged", b)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}

	if err := rewrite.WriteFiles(map[string][]byte{a: []byte("new")}); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(a)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(a); string(b) != "new" || st.Mode().Perm() != 0o600 {
		t.Errorf("a.go = %q, mode %v; want \"new\", 0600", b, st.Mode().Perm())
	}
}

func TestInstrumentDir(t *testing.T) {
	ctx := context.Background()
	m := analyzertest.NewModule(t)
	m.Write(t, "prog", map[string][]byte{"main.go": []byte(program), "notes.txt": []byte("kept")})
	dir := filepath.Join(m.Dir, "prog")
	out := filepath.Join(m.Dir, "inst")

	_, written, err := rewrite.InstrumentDir(ctx, dir, out)
	if err != nil {
		t.Fatal(err)
	}
	if len(written) != 2 {
		t.Errorf("written = %v, want main.go and notes.txt", written)
	}
	got, err := os.ReadFile(filepath.Join(out, "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(got, []byte(`if flor.SkipStart("loop#1", &total) {`)) || !bytes.Contains(got, []byte(`flor.SkipEnd("loop#1")`)) {
		t.Errorf("the loop is not wrapped:\n%s", got)
	}
	if f, err := format.Source(got); err != nil || !bytes.Equal(f, got) {
		t.Errorf("not gofmt-clean (%v):\n%s", err, got)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "notes.txt")); string(b) != "kept" {
		t.Errorf("notes.txt = %q in the output directory", b)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "main.go")); string(b) != program {
		t.Errorf("instrumenting into another directory changed the original")
	}

	// In place, then again: the second time changes nothing.
	if _, _, err := rewrite.InstrumentDir(ctx, dir, ""); err != nil {
		t.Fatal(err)
	}
	first, _ := os.ReadFile(filepath.Join(dir, "main.go"))
	if !bytes.Equal(first, got) {
		t.Errorf("in place and into a directory differ")
	}
	_, written, err = rewrite.InstrumentDir(ctx, dir, "")
	if err != nil {
		t.Fatal(err)
	}
	second, _ := os.ReadFile(filepath.Join(dir, "main.go"))
	if len(written) != 0 || !bytes.Equal(first, second) {
		t.Errorf("instrumenting twice wrote %v:\n%s", written, second)
	}
}

func TestInstrumentDirRefusesBadInput(t *testing.T) {
	ctx := context.Background()
	m := analyzertest.NewModule(t)
	bad := strings.Replace(program, `flor.Log("total", total)`, `name := "total"
		flor.Log(name, total)`, 1)
	m.Write(t, "bad", map[string][]byte{"main.go": []byte(bad)})
	out := filepath.Join(m.Dir, "inst")
	_, _, err := rewrite.InstrumentDir(ctx, filepath.Join(m.Dir, "bad"), out)
	if !errors.Is(err, analyzer.ErrNameNotConstant) || !strings.Contains(err.Error(), "main.go:13:12") {
		t.Errorf("err = %v, want ErrNameNotConstant at main.go:13:12", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("the output directory was created (%v)", err)
	}
	if b, _ := os.ReadFile(filepath.Join(m.Dir, "bad", "main.go")); string(b) != bad {
		t.Errorf("the input changed")
	}
	_, _, err = rewrite.InstrumentDir(ctx, filepath.Join(m.Dir, "missing"), "")
	if !errors.Is(err, analyzer.ErrLoad) {
		t.Errorf("unknown package: err = %v, want ErrLoad", err)
	}
}

// Compile errors in instrumented code name the user's lines: inside a
// skip block and after it.
func TestLineDirectives(t *testing.T) {
	ctx := context.Background()
	m := analyzertest.NewModule(t)
	m.Write(t, "prog", map[string][]byte{"main.go": []byte(program)})
	dir := filepath.Join(m.Dir, "prog")
	if _, _, err := rewrite.InstrumentDir(ctx, dir, ""); err != nil {
		t.Fatal(err)
	}
	inst, err := os.ReadFile(filepath.Join(dir, "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	// Break the code on the user's lines 10 (in the block) and 12 (after it).
	broken := strings.Replace(string(inst), "total += epoch * i", "total += epoch * missingInBlock", 1)
	broken = strings.Replace(broken, `flor.Log("total", total)`, `flor.Log("total", missingAfter)`, 1)
	m.Write(t, "prog", map[string][]byte{"main.go": []byte(broken)})
	cmd := exec.Command("go", "build", "-o", os.DevNull, "./prog")
	cmd.Dir = m.Dir
	cmd.Env = m.Env()
	outb, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatal("the broken program built")
	}
	for _, want := range []string{`main\.go:10(:\d+)?: undefined: missingInBlock`, `main\.go:12:\d+: undefined: missingAfter`} {
		if !regexp.MustCompile(want).Match(outb) {
			t.Errorf("go build output does not match %s:\n%s", want, outb)
		}
	}
}

// The replay build guards the statements replay may skip; one that shares
// its line with other code is left as it is, and positions after a guard
// still name the user's lines.
func TestInstrumentReplayGuards(t *testing.T) {
	ctx := context.Background()
	m := analyzertest.NewModule(t)
	src := strings.Replace(program, `flor.Log("total", total)`,
		`flor.Log("total", total)
		flor.Log("a", 1); flor.Log("b", 2)
		flor.Log("c", missing)`, 1)
	m.Write(t, "prog", map[string][]byte{"main.go": []byte(strings.Replace(src, "missing", "total", 1))})
	a, err := analyzer.Analyze(ctx, filepath.Join(m.Dir, "prog"))
	if err != nil {
		t.Fatal(err)
	}
	changed, guarded, err := rewrite.InstrumentReplay(a)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range guarded {
		names = append(names, l.Name)
	}
	if strings.Join(names, " ") != "total c" {
		t.Errorf("guarded %v, want total and c (a and b share a line)", names)
	}
	got := string(changed[filepath.Join(m.Dir, "prog", "main.go")])
	for _, want := range []string{"if flor.Wanted(\"total\") {\n//line main.go:12\n\t\t\tflor.Log(\"total\", total)\n\t\t}\n//line main.go:13:1\n",
		"\t\tflor.Log(\"a\", 1); flor.Log(\"b\", 2)\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("the replay build lacks %q:\n%s", want, got)
		}
	}
	// Break the code on the user's line 14, after two guards.
	m.Write(t, "prog", map[string][]byte{"main.go": []byte(strings.Replace(got, `flor.Log("c", total)`, `flor.Log("c", missing)`, 1))})
	cmd := exec.Command("go", "build", "-o", os.DevNull, "./prog")
	cmd.Dir = m.Dir
	cmd.Env = m.Env()
	outb, err := cmd.CombinedOutput()
	if err == nil || !regexp.MustCompile(`main\.go:14(:\d+)?: undefined: missing`).Match(outb) {
		t.Errorf("go build: %v\n%s", err, outb)
	}
}
