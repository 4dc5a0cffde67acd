package propagate

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"
	"go/types"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/tools/go/packages"

	"github.com/flordb/flor/internal/pkgload"
	"github.com/flordb/flor/rewrite/gumtree"
)

// version is one parsed and type-checked version of the package.
type version struct {
	fset  *token.FileSet
	files []*srcFile // sorted by name
	pkg   *types.Package
	info  *types.Info
	tree  *gumtree.Tree
	// imports holds the packages the version imports, loaded with it from
	// the build (nil when they were not): the output is checked against
	// them without running the go command again.
	imports map[string]*types.Package

	byAST map[*ast.File]*srcFile
	// idents lists, for each object of the package, the identifiers that
	// declare or use it, in source order.
	idents map[types.Object][]*ast.Ident
	// declOf finds the identifier declaring an object by its position.
	declOf map[token.Pos]*ast.Ident
}

type srcFile struct {
	name string // as given: a file name relative to the package directory
	src  []byte
	ast  *ast.File
	tok  *token.File
}

func (v *version) file(pos token.Pos) *srcFile {
	tf := v.fset.File(pos)
	for _, f := range v.files {
		if f.tok == tf {
			return f
		}
	}
	return nil
}

func (v *version) offset(pos token.Pos) int { return v.fset.Position(pos).Offset }

func (v *version) position(pos token.Pos) token.Position { return v.fset.Position(pos) }

// readDir reads the package's Go files of dir: no tests, build constraints
// of the current platform and of o's build flags honoured.
func readDir(dir string, o options) (map[string][]byte, error) {
	bctx := o.context()
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInput, err)
	}
	out := make(map[string][]byte)
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		if ok, err := bctx.MatchFile(dir, name); err != nil || !ok {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInput, err)
		}
		out[name] = b
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no Go files in %s", ErrInput, dir)
	}
	return out, nil
}

// load parses and type-checks one version. dir prefixes file names in
// positions (and so in messages). With pkgDir set (the version's directory
// on disk), imported packages are loaded too, so that the types of what
// they declare are known; when that fails, they are not.
func load(fset *token.FileSet, label, dir string, srcs map[string][]byte, pkgDir string, o options) (*version, error) {
	if len(srcs) == 0 {
		return nil, fmt.Errorf("%w: %s version has no Go files", ErrInput, label)
	}
	v := &version{fset: fset, byAST: make(map[*ast.File]*srcFile)}
	names := make([]string, 0, len(srcs))
	for name := range srcs {
		names = append(names, name)
	}
	slices.Sort(names)
	var asts []*ast.File
	for _, name := range names {
		src := srcs[name]
		f, err := parser.ParseFile(fset, path.Join(dir, filepath.ToSlash(name)), src, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return nil, fmt.Errorf("%w: %s version: %w", ErrParse, label, err)
		}
		if len(asts) > 0 && f.Name.Name != asts[0].Name.Name {
			return nil, fmt.Errorf("%w: %s version: %s is package %s, %s is package %s", ErrParse, label,
				fset.Position(f.Package), f.Name.Name, fset.Position(asts[0].Package), asts[0].Name.Name)
		}
		sf := &srcFile{name: name, src: src, ast: f, tok: fset.File(f.Pos())}
		v.files = append(v.files, sf)
		v.byAST[f] = sf
		asts = append(asts, f)
	}
	if pkgDir != "" {
		v.pkg, v.info, v.imports = typecheckDeps(fset, pkgDir, v.files, o)
	}
	if v.info == nil {
		v.pkg, v.info, _ = typecheck(fset, asts)
	}
	v.tree = gumtree.PackageTree(asts)
	v.idents = make(map[types.Object][]*ast.Ident)
	v.declOf = make(map[token.Pos]*ast.Ident)
	for id, obj := range v.info.Defs {
		v.declOf[id.Pos()] = id
		if obj != nil {
			v.idents[obj] = append(v.idents[obj], id)
		}
	}
	for id, obj := range v.info.Uses {
		v.idents[obj] = append(v.idents[obj], id)
	}
	for _, ids := range v.idents {
		slices.SortFunc(ids, func(a, b *ast.Ident) int { return int(a.Pos() - b.Pos()) })
	}
	return v, nil
}

// typecheck resolves the package's identifiers. Imported packages are not
// loaded: each import is an empty package, so members of imported packages
// and the types built from them stay unknown, and type errors are ignored;
// what matters here is which declaration each identifier refers to.
func typecheck(fset *token.FileSet, files []*ast.File) (*types.Package, *types.Info, []types.Error) {
	info := &types.Info{
		Defs: make(map[*ast.Ident]types.Object),
		Uses: make(map[*ast.Ident]types.Object),
	}
	var errs []types.Error
	conf := types.Config{
		Importer: emptyImporter{},
		Error: func(err error) {
			if te, ok := err.(types.Error); ok {
				errs = append(errs, te)
			}
		},
		FakeImportC: true,
	}
	pkg, _ := conf.Check(files[0].Name.Name, fset, files, info)
	return pkg, info, errs
}

type emptyImporter struct{}

func (emptyImporter) Import(p string) (*types.Package, error) {
	pkg := types.NewPackage(p, guessName(p))
	pkg.MarkComplete()
	return pkg, nil
}

var majorVersion = regexp.MustCompile(`^v[0-9]+$`)

// guessName is the usual package name of an import path: its last element,
// without a major-version element, a gopkg.in ".vN" suffix or a "go-"
// prefix.
func guessName(p string) string {
	elems := strings.Split(p, "/")
	name := elems[len(elems)-1]
	if majorVersion.MatchString(name) && len(elems) > 1 {
		name = elems[len(elems)-2]
	}
	if i := strings.Index(name, ".v"); i > 0 {
		if _, err := strconv.Atoi(name[i+2:]); err == nil {
			name = name[:i]
		}
	}
	name = strings.TrimPrefix(name, "go-")
	name = strings.NewReplacer("-", "_", ".", "_").Replace(name)
	return name
}

// typecheckDeps type-checks the parsed files of the package in dir with its
// imports loaded from the build (go/packages), or returns nil when the
// package cannot be loaded or its files are not exactly those given.
func typecheckDeps(fset *token.FileSet, dir string, files []*srcFile, o options) (*types.Package, *types.Info, map[string]*types.Package) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, nil, nil
	}
	byName := make(map[string]*ast.File, len(files))
	for _, f := range files {
		byName[filepath.Join(abs, filepath.FromSlash(f.name))] = f.ast
	}
	cfg := &packages.Config{
		Mode:       packages.NeedName | packages.NeedFiles | packages.NeedTypes | packages.NeedSyntax | packages.NeedTypesInfo,
		Dir:        abs,
		Env:        o.env(),
		BuildFlags: o.buildFlags,
		Fset:       fset,
		ParseFile: func(fset *token.FileSet, name string, src []byte) (*ast.File, error) {
			if f, ok := byName[name]; ok {
				return f, nil
			}
			return parser.ParseFile(fset, name, src, parser.SkipObjectResolution)
		},
	}
	pkgs, err := pkgload.Load(cfg)
	if err != nil || len(pkgs) != 1 || pkgs[0].Types == nil || pkgs[0].TypesInfo == nil {
		return nil, nil, nil
	}
	pkg := pkgs[0]
	if len(pkg.Syntax) != len(files) {
		return nil, nil, nil
	}
	for _, f := range pkg.Syntax {
		if !slices.ContainsFunc(files, func(sf *srcFile) bool { return sf.ast == f }) {
			return nil, nil, nil
		}
	}
	for _, e := range pkg.Errors {
		if e.Kind == packages.ListError {
			return nil, nil, nil // an import missing: the go command must say
		}
	}
	imports := make(map[string]*types.Package)
	for _, ip := range pkg.Types.Imports() {
		imports[ip.Path()] = ip
	}
	return pkg.Types, pkg.TypesInfo, imports
}

// checkWith type-checks the version with files (names relative to dir) in
// place of its own against the imports it was loaded with, as the
// compiler will, and returns the errors, in files named under dir. It is
// not ok when the files import a package the version did not: only the go
// command can load that one.
func (v *version) checkWith(dir string, files map[string][]byte) (errs []TypeError, ok bool) {
	abs, _ := filepath.Abs(dir)
	fset := token.NewFileSet()
	var asts []*ast.File
	var out []TypeError
	for _, f := range v.files {
		src, ok := files[f.name]
		if !ok {
			src = f.src
		}
		a, err := parser.ParseFile(fset, filepath.Join(abs, filepath.FromSlash(f.name)), src, parser.SkipObjectResolution)
		if err != nil {
			if el, ok := err.(scanner.ErrorList); ok {
				for _, e := range el {
					out = append(out, TypeError{Pos: e.Pos, Msg: e.Msg})
				}
			}
			continue
		}
		asts = append(asts, a)
	}
	if len(out) > 0 {
		return out, true
	}
	for _, a := range asts {
		for _, im := range a.Imports {
			if p, err := strconv.Unquote(im.Path.Value); err == nil && p != "C" && v.imports[p] == nil {
				return nil, false
			}
		}
	}
	conf := types.Config{
		Importer: importerFunc(func(path string) (*types.Package, error) {
			if p, ok := v.imports[path]; ok {
				return p, nil
			}
			return nil, fmt.Errorf("%s is not imported by the old version", path)
		}),
		Error: func(err error) {
			if te, ok := err.(types.Error); ok {
				out = append(out, TypeError{Pos: te.Fset.Position(te.Pos), Msg: te.Msg})
			}
		},
		FakeImportC: true,
	}
	conf.Check(v.pkg.Path(), fset, asts, nil)
	return out, true
}

type importerFunc func(path string) (*types.Package, error)

func (f importerFunc) Import(path string) (*types.Package, error) { return f(path) }
