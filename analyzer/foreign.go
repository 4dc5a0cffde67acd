package analyzer

import (
	"context"
	"fmt"
	"go/ast"
	"go/build"
	"go/types"
	"path/filepath"
	"slices"
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
	l, ok := s.prefetch.get(path)
	if !ok || l.err != nil {
		l = loadForeign(context.Background(), s.a.Dir, path)
	}
	if l.err != nil {
		return nil
	}
	pkg := l.pkg
	a := &Analysis{Pkg: pkg.PkgPath, src: map[string][]byte{}}
	fs := newState(a, pkg)
	fs.noForeign = true
	for _, f := range pkg.Syntax {
		name := fs.fset.File(f.Pos()).Name()
		a.src[name] = l.src.get(name)
	}
	fs.index()
	fs.summaries = fs.computeSummaries(false)
	s.foreign[path] = fs
	return fs
}

// foreignLoad is the load of a package of local source.
type foreignLoad struct {
	done chan struct{} // closed when the fields are set
	pkg  *packages.Package
	src  *Sources
	err  error
}

func loadForeign(ctx context.Context, dir, path string) *foreignLoad {
	l := &foreignLoad{src: &Sources{}}
	cfg := &packages.Config{Context: ctx, Mode: foreignMode, Dir: dir, ParseFile: l.src.ParseFile}
	pkgs, err := packages.Load(cfg, path)
	switch {
	case err != nil:
		l.err = err
	case len(pkgs) != 1 || pkgs[0].Types == nil || pkgs[0].TypesInfo == nil:
		l.err = fmt.Errorf("%s: %w: not loaded", path, ErrLoad)
	default:
		l.err = PackageErrors(pkgs[0])
		l.pkg = pkgs[0]
	}
	return l
}

// A prefetch loads the packages of local source a main package imports
// while the main package itself loads: the analysis summarises those it
// calls into, and each load takes about as long as the main package's.
type prefetch struct {
	ctx    context.Context
	dir    string
	listed chan struct{}           // closed when loads is complete
	loads  map[string]*foreignLoad // by import path
}

func newPrefetch(ctx context.Context, dir string) *prefetch {
	return &prefetch{ctx: ctx, dir: dir, listed: make(chan struct{}), loads: map[string]*foreignLoad{}}
}

// start lists the imports outside the standard library and flor (whose
// calls the analysis knows) and starts loading those of local source. It
// returns at once.
func (p *prefetch) start(paths []string) {
	var candidates []string
	for _, path := range paths {
		if path == FlorPath || strings.HasPrefix(path, FlorPath+"/runtime") {
			continue
		}
		if first, _, _ := strings.Cut(path, "/"); strings.Contains(first, ".") {
			candidates = append(candidates, path)
		}
	}
	go func() {
		defer close(p.listed)
		if len(candidates) == 0 {
			return
		}
		cfg := &packages.Config{Context: p.ctx, Mode: packages.NeedName | packages.NeedFiles, Dir: p.dir}
		pkgs, err := packages.Load(cfg, candidates...)
		if err != nil {
			return
		}
		for _, pkg := range pkgs {
			if len(pkg.Errors) > 0 || len(pkg.GoFiles) == 0 || !localSource(pkg.GoFiles[0]) || !slices.Contains(candidates, pkg.PkgPath) {
				continue
			}
			l := &foreignLoad{done: make(chan struct{})}
			p.loads[pkg.PkgPath] = l
			go func() {
				defer close(l.done)
				r := loadForeign(p.ctx, p.dir, pkg.PkgPath)
				l.pkg, l.src, l.err = r.pkg, r.src, r.err
			}()
		}
	}()
}

// get waits for the prefetched load of path; ok is false when path was
// not prefetched.
func (p *prefetch) get(path string) (l *foreignLoad, ok bool) {
	if p == nil {
		return nil, false
	}
	<-p.listed
	if l = p.loads[path]; l == nil {
		return nil, false
	}
	<-l.done
	return l, true
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
