package analyzer

import (
	"context"
	"go/ast"
	"go/build"
	"go/types"
	"path/filepath"
	"strings"

	"golang.org/x/tools/go/packages"
)

// Calls into other packages are judged by their signatures: a pointer
// argument may be written through. For a package whose source is local
// (the main module, a workspace module or a replace directory; not the
// standard library nor the module cache), the analysis loads it and
// summarises its functions, so that a pointer the callee only reads (an
// evaluation data set) is not taken for changed state. The effect is
// still reported on the whole referent, as for any call into another
// package.

// foreignMode is what a package of local source is loaded with.
const foreignMode = packages.NeedName | packages.NeedFiles | packages.NeedSyntax |
	packages.NeedTypes | packages.NeedTypesInfo | packages.NeedImports

// foreignWrites returns, for a function of another package, which of its
// parameters (-1: the receiver) it may write through; known is false when
// its source is not local or cannot be analysed.
func (s *state) foreignWrites(fn *types.Func) (writes map[int]bool, known bool) {
	sum := s.foreignSummary(fn)
	if sum == nil {
		return nil, false
	}
	writes = map[int]bool{}
	for _, p := range sum.params {
		writes[p.param] = true
	}
	return writes, true
}

// foreignSummary returns the summary of fn, a function of another package
// of local source; nil when its source is not local or cannot be
// analysed.
func (s *state) foreignSummary(fn *types.Func) *summary {
	if s.noForeign || fn.Pkg() == nil || fn.Pkg() == s.pkg.Types {
		return nil
	}
	file := s.fset.Position(fn.Pos()).Filename
	if !localSource(file) {
		return nil
	}
	fs := s.foreignState(fn.Pkg().Path())
	if fs == nil {
		return nil
	}
	decl := fs.declOf(fn)
	if decl == nil || decl.Body == nil {
		return nil
	}
	return fs.summaries[decl]
}

// localSource reports whether file is a package's source outside the
// Go root and the module cache.
func localSource(file string) bool {
	if !filepath.IsAbs(file) {
		return false // trimmed paths: where the source lives is unknown
	}
	if root := build.Default.GOROOT; root != "" && strings.HasPrefix(file, filepath.Clean(root)+string(filepath.Separator)) {
		return false
	}
	slash := filepath.ToSlash(file)
	if i := strings.Index(slash, "/pkg/mod/"); i >= 0 && strings.Contains(slash[i:], "@") {
		return false
	}
	return true
}

// foreignState loads and summarises the package path, once.
func (s *state) foreignState(path string) *state {
	if fs, ok := s.foreign[path]; ok {
		return fs
	}
	s.foreign[path] = nil
	src := &Sources{}
	cfg := &packages.Config{Context: context.Background(), Mode: foreignMode, Dir: s.a.Dir, ParseFile: src.ParseFile}
	pkgs, err := packages.Load(cfg, path)
	if err != nil || len(pkgs) != 1 || PackageErrors(pkgs[0]) != nil || pkgs[0].Types == nil || pkgs[0].TypesInfo == nil {
		return nil
	}
	pkg := pkgs[0]
	a := &Analysis{Pkg: pkg.PkgPath, src: map[string][]byte{}}
	fs := newState(a, pkg)
	fs.noForeign = true
	for _, f := range pkg.Syntax {
		name := fs.fset.File(f.Pos()).Name()
		a.src[name] = src.get(name)
	}
	fs.index()
	fs.summaries = fs.computeSummaries(false)
	s.foreign[path] = fs
	return fs
}

// declOf returns the declaration, in this package's own load, of fn (a
// function or method of the package as another package sees it).
func (s *state) declOf(fn *types.Func) *ast.FuncDecl {
	fn = fn.Origin()
	sig, _ := fn.Type().(*types.Signature)
	if sig == nil {
		return nil
	}
	scope := s.pkg.Types.Scope()
	if sig.Recv() == nil {
		f, _ := scope.Lookup(fn.Name()).(*types.Func)
		return s.decls[f]
	}
	t := sig.Recv().Type()
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	named, ok := t.(*types.Named)
	if !ok || types.IsInterface(named) {
		return nil
	}
	tn, _ := scope.Lookup(named.Obj().Name()).(*types.TypeName)
	if tn == nil {
		return nil
	}
	own, ok := tn.Type().(*types.Named)
	if !ok {
		return nil
	}
	for m := range own.Methods() {
		if m.Name() == fn.Name() {
			return s.decls[m]
		}
	}
	return nil
}
