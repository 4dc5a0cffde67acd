// Package pkgload loads one package with its syntax and types as
// go/packages does, without compiling it.
//
// go/packages, asked for the types of a package but not of its
// dependencies, has the go command produce export data for every package
// it lists, the package itself included: it compiles the package only to
// throw the result away, since it type-checks the package from source
// anyway. For a program that was just edited (the working tree after a
// new log statement, a version after propagation) that compile is most of
// the load. Load lists the package without export data, then loads the
// types of its imports alone (their export data is in the build cache
// when they have not changed), and type-checks the package's files
// against them.
package pkgload

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"slices"
	"strconv"
	"sync"

	"golang.org/x/tools/go/packages"
)

// Needed is the part of a load mode Load provides itself; a mode asking
// for more (the dependencies' syntax, test variants, export files) is
// loaded by go/packages.
const Needed = packages.NeedName | packages.NeedFiles | packages.NeedSyntax |
	packages.NeedTypes | packages.NeedTypesInfo | packages.NeedTypesSizes |
	packages.NeedImports | packages.NeedModule

// errFallback: the package is one Load leaves to go/packages (cgo, a list
// error, an import that did not load), whose messages are the canonical
// ones.
var errFallback = errors.New("load with go/packages")

// Load is packages.Load(cfg, ".") for the single package in cfg.Dir, with
// the same result where it matters to a type-checking tool: Name, PkgPath,
// GoFiles, CompiledGoFiles, Module, Syntax (parsed by cfg.ParseFile when
// set), Types, TypesInfo, TypesSizes, Imports and Errors (parse and type
// errors). A package Load cannot take this way (cgo, errors in listing it
// or its imports, a mode beyond Needed) is loaded by packages.Load, so the
// messages are the go command's.
func Load(cfg *packages.Config, opts ...Option) ([]*packages.Package, error) {
	if cfg.Mode&^Needed != 0 || cfg.Tests || cfg.Overlay != nil || cfg.Mode&packages.NeedTypes == 0 {
		return packages.Load(cfg, ".")
	}
	var o options
	for _, f := range opts {
		f(&o)
	}
	pkg, err := load(cfg, o)
	if errors.Is(err, errFallback) {
		return packages.Load(cfg, ".")
	}
	if err != nil {
		return nil, err
	}
	return []*packages.Package{pkg}, nil
}

// Option adjusts Load.
type Option func(*options)

type options struct {
	onImports func(paths []string)
}

// OnImports has Load call f with the package's import paths (without
// "unsafe") once its files are parsed and before the types of the imports
// are loaded: a caller that will load some of them itself can start doing
// so alongside. f must not block. A package loaded by go/packages instead
// does not call f.
func OnImports(f func(paths []string)) Option {
	return func(o *options) { o.onImports = f }
}

func load(cfg *packages.Config, o options) (*packages.Package, error) {
	ctx := cfg.Context
	if ctx == nil {
		ctx = context.Background()
	}
	fset := cfg.Fset
	if fset == nil {
		fset = token.NewFileSet()
	}
	// Listing the package alone, without its dependencies or export data,
	// is one quick go list.
	list := *cfg
	list.Context, list.Fset = ctx, fset
	list.Mode = packages.NeedName | packages.NeedFiles | packages.NeedModule
	list.ParseFile = nil
	roots, err := packages.Load(&list, ".")
	if err != nil {
		return nil, err
	}
	if len(roots) != 1 || len(roots[0].Errors) > 0 || len(roots[0].GoFiles) == 0 || len(roots[0].OtherFiles) > 0 {
		return nil, errFallback
	}
	root := roots[0]
	files, err := parseFiles(cfg, fset, root.GoFiles)
	if err != nil {
		return nil, err
	}
	var paths []string
	for _, f := range files {
		for _, spec := range f.Imports {
			p, err := strconv.Unquote(spec.Path.Value)
			if err != nil || p == "C" || patternWords[p] {
				return nil, errFallback
			}
			if p != "unsafe" && !slices.Contains(paths, p) {
				paths = append(paths, p)
			}
		}
	}
	if len(paths) == 0 {
		return nil, errFallback // nothing to gain, and no sizes to borrow
	}
	if o.onImports != nil {
		o.onImports(slices.Clone(paths))
	}
	deps := *cfg
	deps.Context, deps.Fset = ctx, fset
	deps.Mode = packages.NeedName | packages.NeedTypes | packages.NeedTypesSizes
	deps.ParseFile = nil
	loaded, err := packages.Load(&deps, paths...)
	if err != nil {
		return nil, err
	}
	imports := make(map[string]*packages.Package, len(paths))
	for _, d := range loaded {
		if len(d.Errors) > 0 || d.Types == nil || !d.Types.Complete() {
			return nil, errFallback
		}
		imports[d.PkgPath] = d
	}
	for _, p := range paths {
		if imports[p] == nil {
			return nil, errFallback // resolved to another path (GOPATH-mode vendor/)
		}
	}

	pkg := &packages.Package{
		ID:              root.ID,
		Name:            root.Name,
		PkgPath:         root.PkgPath,
		Dir:             root.Dir,
		GoFiles:         root.GoFiles,
		CompiledGoFiles: root.GoFiles,
		Module:          root.Module,
		Fset:            fset,
		Syntax:          files,
		Imports:         imports,
		TypesSizes:      loaded[0].TypesSizes,
		TypesInfo: &types.Info{
			Types:        make(map[ast.Expr]types.TypeAndValue),
			Defs:         make(map[*ast.Ident]types.Object),
			Uses:         make(map[*ast.Ident]types.Object),
			Implicits:    make(map[ast.Node]types.Object),
			Instances:    make(map[*ast.Ident]types.Instance),
			Scopes:       make(map[ast.Node]*types.Scope),
			Selections:   make(map[*ast.SelectorExpr]*types.Selection),
			FileVersions: make(map[*ast.File]string),
		},
	}
	tc := &types.Config{
		Importer: importerFunc(func(path string) (*types.Package, error) {
			if path == "unsafe" {
				return types.Unsafe, nil
			}
			if d := imports[path]; d != nil {
				return d.Types, nil
			}
			return nil, fmt.Errorf("no metadata for %s", path)
		}),
		Sizes: pkg.TypesSizes,
		Error: func(err error) {
			if te, ok := err.(types.Error); ok {
				pkg.TypeErrors = append(pkg.TypeErrors, te)
				pkg.Errors = append(pkg.Errors, packages.Error{Pos: te.Fset.Position(te.Pos).String(), Msg: te.Msg, Kind: packages.TypeError})
			}
		},
	}
	if root.Module != nil && root.Module.GoVersion != "" {
		tc.GoVersion = "go" + root.Module.GoVersion
	}
	pkg.Types = types.NewPackage(root.PkgPath, root.Name)
	_ = types.NewChecker(tc, fset, pkg.Types, pkg.TypesInfo).Files(files)
	pkg.IllTyped = len(pkg.Errors) > 0
	return pkg, nil
}

// parseFiles parses the package's files, concurrently, as go/packages
// would: with cfg.ParseFile when set. A file that does not parse leaves
// the package to go/packages, whose error positions and kinds callers
// know.
func parseFiles(cfg *packages.Config, fset *token.FileSet, names []string) ([]*ast.File, error) {
	parse := cfg.ParseFile
	if parse == nil {
		parse = func(fset *token.FileSet, name string, src []byte) (*ast.File, error) {
			return parser.ParseFile(fset, name, src, parser.AllErrors|parser.ParseComments|parser.SkipObjectResolution)
		}
	}
	files := make([]*ast.File, len(names))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() {
			src, err := os.ReadFile(name)
			if err != nil {
				errs[i] = err
				return
			}
			files[i], errs[i] = parse(fset, name, src)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil || files[i] == nil {
			return nil, errFallback
		}
	}
	return files, nil
}

// patternWords are import paths the go command reads as patterns.
var patternWords = map[string]bool{"all": true, "std": true, "cmd": true, "main": true, "tool": true, "work": true}

type importerFunc func(path string) (*types.Package, error)

func (f importerFunc) Import(path string) (*types.Package, error) { return f(path) }
