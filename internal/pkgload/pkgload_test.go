package pkgload

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/tools/go/packages"
)

const mode = packages.NeedName | packages.NeedFiles | packages.NeedSyntax |
	packages.NeedTypes | packages.NeedTypesInfo | packages.NeedImports | packages.NeedModule

// writeModule writes a module "example.com/m" of files (name → contents)
// and returns its directory.
func writeModule(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	files["go.mod"] = "module example.com/m\n\ngo 1.24\n"
	for name, src := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// describe is what a tool reads of a load, as text: files, errors, and
// the object and type of every identifier and expression.
func describe(pkg *packages.Package) string {
	var b strings.Builder
	fmt.Fprintf(&b, "name %s path %s go %v\n", pkg.Name, pkg.PkgPath, pkg.Module != nil && pkg.Module.GoVersion != "")
	for _, f := range pkg.GoFiles {
		fmt.Fprintf(&b, "file %s\n", filepath.Base(f))
	}
	for _, e := range pkg.Errors {
		fmt.Fprintf(&b, "error %s %s %v\n", e.Pos, e.Msg, e.Kind)
	}
	if pkg.TypesInfo == nil {
		return b.String()
	}
	var lines []string
	pos := func(n ast.Node) string { return pkg.Fset.Position(n.Pos()).String() }
	for id, obj := range pkg.TypesInfo.Defs {
		lines = append(lines, fmt.Sprintf("def %s %s %v", pos(id), id.Name, obj))
	}
	for id, obj := range pkg.TypesInfo.Uses {
		lines = append(lines, fmt.Sprintf("use %s %s %v", pos(id), id.Name, obj))
	}
	for e, tv := range pkg.TypesInfo.Types {
		lines = append(lines, fmt.Sprintf("type %s %T %v", pos(e), e, tv.Type))
	}
	for sel, s := range pkg.TypesInfo.Selections {
		lines = append(lines, fmt.Sprintf("sel %s %v", pos(sel), s))
	}
	slices.Sort(lines)
	b.WriteString(strings.Join(lines, "\n"))
	fmt.Fprintf(&b, "\nimports %d", len(pkg.Types.Imports()))
	return b.String()
}

func loadBoth(t *testing.T, dir string, flags ...string) (fast, slow *packages.Package, fastErr error) {
	t.Helper()
	cfg := &packages.Config{Mode: mode, Dir: dir, BuildFlags: flags}
	fast, fastErr = load(cfg, options{})
	pkgs, err := packages.Load(&packages.Config{Mode: mode, Dir: dir, BuildFlags: flags}, ".")
	if err != nil || len(pkgs) != 1 {
		t.Fatalf("packages.Load: %v, %d packages", err, len(pkgs))
	}
	return fast, pkgs[0], fastErr
}

func TestLoadMatchesGoPackages(t *testing.T) {
	dir := writeModule(t, map[string]string{
		"main.go": `package main

import (
	"fmt"
	"strings"

	"example.com/m/lib"
)

type point struct{ x, y float64 }

func (p point) norm() float64 { return lib.Sq(p.x) + lib.Sq(p.y) }

func main() {
	p := point{3, 4}
	for i := range 2 {
		p.x += float64(i)
	}
	fmt.Println(strings.ToUpper("n"), p.norm(), lib.Max([]int{1, 2}))
}
`,
		"extra.go": "//go:build special\n\npackage main\n\nvar special = 1\n",
		"lib/lib.go": `package lib

func Sq(x float64) float64 { return x * x }

func Max[T int | float64](xs []T) T {
	m := xs[0]
	for _, x := range xs { m = max(m, x) }
	return m
}
`,
	})
	for _, flags := range [][]string{nil, {"-tags=special"}} {
		fast, slow, err := loadBoth(t, dir, flags...)
		if err != nil {
			t.Fatalf("tags %v: load: %v, want the package loaded without go/packages", flags, err)
		}
		if got, want := describe(fast), describe(slow); got != want {
			t.Errorf("tags %v: load differs from packages.Load:\n--- load\n%s\n--- packages.Load\n%s", flags, got, want)
		}
		if len(fast.Errors) > 0 {
			t.Errorf("tags %v: errors %v", flags, fast.Errors)
		}
		if got := len(fast.GoFiles); got != 1+len(flags) {
			t.Errorf("tags %v: %d files, want %d", flags, got, 1+len(flags))
		}
	}
}

func TestLoadTypeErrors(t *testing.T) {
	dir := writeModule(t, map[string]string{
		"main.go": "package main\n\nimport \"fmt\"\n\nfunc main() {\n\tvar n int = \"s\"\n\tfmt.Println(n, undefined)\n}\n",
	})
	fast, slow, err := loadBoth(t, dir)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	var got, want []string
	for _, e := range fast.Errors {
		got = append(got, e.Error())
	}
	for _, e := range slow.Errors {
		if e.Kind == packages.TypeError {
			want = append(want, e.Error())
		}
	}
	if len(got) != 2 || !slices.Equal(got, want) {
		t.Errorf("type errors:\n%q\nwant (go/packages):\n%q", got, want)
	}
	if !fast.IllTyped {
		t.Error("IllTyped is false")
	}
}

// Packages whose messages only the go command gives are loaded by
// go/packages.
func TestLoadFallsBack(t *testing.T) {
	for name, src := range map[string]string{
		"missing import": "package main\n\nimport \"example.com/nowhere\"\n\nfunc main() { nowhere.F() }\n",
		"syntax error":   "package main\n\nfunc main() {\n",
		"cgo":            "package main\n\n// int one(void) { return 1; }\nimport \"C\"\n\nfunc main() { _ = C.one() }\n",
		"no imports":     "package main\n\nfunc main() {}\n",
	} {
		t.Run(name, func(t *testing.T) {
			dir := writeModule(t, map[string]string{"main.go": src})
			cfg := &packages.Config{Mode: mode, Dir: dir}
			if _, err := load(cfg, options{}); !errors.Is(err, errFallback) {
				t.Fatalf("load: %v, want errFallback", err)
			}
			pkgs, err := Load(cfg)
			if err != nil || len(pkgs) != 1 {
				t.Fatalf("Load: %v, %d packages", err, len(pkgs))
			}
			_, slow, _ := loadBoth(t, dir)
			if got, want := describe(pkgs[0]), describe(slow); got != want {
				t.Errorf("Load differs from packages.Load:\n%s\n---\n%s", got, want)
			}
		})
	}
}

// The package's own files are parsed by the configuration's ParseFile,
// as go/packages does.
func TestLoadParseFile(t *testing.T) {
	dir := writeModule(t, map[string]string{"main.go": "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println() }\n"})
	var parsed []string
	cfg := &packages.Config{Mode: mode, Dir: dir}
	cfg.ParseFile = func(fset *token.FileSet, name string, src []byte) (*ast.File, error) {
		parsed = append(parsed, filepath.Base(name))
		return parser.ParseFile(fset, name, src, parser.ParseComments)
	}
	pkgs, err := Load(cfg)
	if err != nil || len(pkgs) != 1 || pkgs[0].Types == nil {
		t.Fatalf("Load: %v", err)
	}
	if !slices.Equal(parsed, []string{"main.go"}) {
		t.Errorf("ParseFile saw %v, want [main.go]", parsed)
	}
	if obj := pkgs[0].Types.Scope().Lookup("main"); obj == nil || obj.(*types.Func) == nil {
		t.Error("main not declared")
	}
}

// A module that vendors its dependencies loads them from vendor/, as the
// build does.
func TestLoadVendored(t *testing.T) {
	dir := writeModule(t, map[string]string{
		"main.go":       "package main\n\nimport \"example.com/dep\"\n\nfunc main() { println(dep.Two()) }\n",
		"depsrc/go.mod": "module example.com/dep\n\ngo 1.24\n",
		"depsrc/dep.go": "package dep\n\nfunc Two() int { return 2 }\n",
	})
	gomod := filepath.Join(dir, "go.mod")
	b, err := os.ReadFile(gomod)
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, "\nrequire example.com/dep v0.0.0\n\nreplace example.com/dep => ./depsrc\n"...)
	if err := os.WriteFile(gomod, b, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "mod", "vendor")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go mod vendor: %v\n%s", err, out)
	}
	// The vendored copy, not depsrc, is what the build uses.
	if err := os.RemoveAll(filepath.Join(dir, "depsrc")); err != nil {
		t.Fatal(err)
	}
	// As the go command does by default for a module with vendor/ (a
	// -mod flag in the environment, such as CI's, would override it).
	t.Setenv("GOFLAGS", "-mod=vendor")
	fast, slow, err := loadBoth(t, dir)
	if err != nil {
		t.Fatalf("load: %v, want the package loaded without go/packages", err)
	}
	if got, want := describe(fast), describe(slow); got != want {
		t.Errorf("load differs from packages.Load:\n--- load\n%s\n--- packages.Load\n%s", got, want)
	}
	if len(fast.Errors) > 0 {
		t.Errorf("errors: %v", fast.Errors)
	}
}
