package analyzer

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/tools/go/packages"

	"github.com/flordb/flor/internal/pkgload"
)

// Mode is the go/packages load mode AnalyzePackage needs.
const Mode = packages.NeedName | packages.NeedFiles | packages.NeedSyntax |
	packages.NeedTypes | packages.NeedTypesInfo | packages.NeedImports | packages.NeedModule

// Sources keeps the bytes of every file a load parsed, so that edits are
// computed against exactly what was analysed.
type Sources struct {
	mu    sync.Mutex
	files map[string][]byte
	// prefetch holds the loads of the package's imports of local source
	// that its load started.
	prefetch *prefetch
}

// ParseFile is a packages.Config.ParseFile that records each file's bytes.
func (s *Sources) ParseFile(fset *token.FileSet, filename string, src []byte) (*ast.File, error) {
	s.mu.Lock()
	if s.files == nil {
		s.files = map[string][]byte{}
	}
	s.files[filename] = src
	s.mu.Unlock()
	return parser.ParseFile(fset, filename, src, parser.AllErrors|parser.ParseComments|parser.SkipObjectResolution)
}

func (s *Sources) get(filename string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.files[filename]
}

// Load loads the packages matching patterns with the mode the analyzer
// needs. dir is the directory the patterns are relative to ("" = the
// current one). A pattern naming an existing directory is loaded from that
// directory, so a program in another module can be named by its path. The
// returned Sources must be passed to AnalyzePackage.
func Load(ctx context.Context, dir string, patterns ...string) ([]*packages.Package, *Sources, error) {
	return load(ctx, dir, nil, patterns)
}

// Option adjusts how Analyze loads the package.
type Option func(*options)

type options struct {
	buildFlags []string
}

// WithBuildFlags loads the package with these go build flags (such as
// "-tags=special"), as the program is built: the files a build constraint
// excludes under the flags are not analysed, and those it includes are.
func WithBuildFlags(flags ...string) Option {
	return func(o *options) { o.buildFlags = append(o.buildFlags, flags...) }
}

func load(ctx context.Context, dir string, buildFlags []string, patterns []string) ([]*packages.Package, *Sources, error) {
	if len(patterns) == 1 {
		p := patterns[0]
		if dir != "" && !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		st, err := os.Stat(p)
		switch {
		case err == nil && st.IsDir():
			dir, patterns = p, []string{"."}
		case build.IsLocalImport(patterns[0]) || filepath.IsAbs(patterns[0]):
			if !strings.Contains(patterns[0], "...") {
				return nil, nil, fmt.Errorf("%s: %w: no such directory", patterns[0], ErrLoad)
			}
		}
	}
	src := &Sources{}
	cfg := &packages.Config{Context: ctx, Mode: Mode, Dir: dir, BuildFlags: buildFlags, ParseFile: src.ParseFile}
	var pkgs []*packages.Package
	var err error
	if len(patterns) == 1 && patterns[0] == "." {
		// One directory: a program just edited is not compiled to be
		// analysed, and the packages it imports whose functions the
		// analysis summarises load alongside.
		pre := newPrefetch(ctx, dir)
		started := false
		pkgs, err = pkgload.Load(cfg, pkgload.OnImports(func(paths []string) {
			started = true
			pre.start(paths)
		}))
		if started {
			src.prefetch = pre
		}
	} else {
		pkgs, err = packages.Load(cfg, patterns...)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w: %w", strings.Join(patterns, " "), ErrLoad, err)
	}
	if len(pkgs) == 0 {
		return nil, nil, fmt.Errorf("%s: %w: no package matches", strings.Join(patterns, " "), ErrLoad)
	}
	return pkgs, src, nil
}

// Analyze loads the main package named by pattern (a directory or a
// package pattern, relative to the current directory) and analyses it.
// It returns an error when the package cannot be loaded or does not
// compile. When the analysis finds errors (no main loop, a log name that
// is not constant, an unsupported construct), it returns the analysis
// together with a.Err(). Options (WithBuildFlags) say how the program is
// built.
func Analyze(ctx context.Context, pattern string, opts ...Option) (*Analysis, error) {
	var o options
	for _, f := range opts {
		f(&o)
	}
	pkgs, src, err := load(ctx, "", o.buildFlags, []string{pattern})
	if err != nil {
		return nil, err
	}
	if len(pkgs) > 1 {
		var names []string
		for _, p := range pkgs[:min(len(pkgs), 3)] {
			names = append(names, p.PkgPath)
		}
		if len(pkgs) > 3 {
			names = append(names, "...")
		}
		return nil, fmt.Errorf("%s: %w: matches %d packages (%s); name one main package", pattern, ErrLoad, len(pkgs), strings.Join(names, ", "))
	}
	return AnalyzePackage(pkgs[0], src)
}

// PackageErrors returns the load, parse and type errors of pkg, wrapping
// ErrLoad or ErrCompile, with positions relative to the package
// directory; nil when there are none. Parse errors after the first and
// the go command's copies of the type checker's errors are left out.
func PackageErrors(pkg *packages.Package) error {
	var parse, typ, list []packages.Error
	for _, e := range pkg.Errors {
		switch e.Kind {
		case packages.ParseError:
			parse = append(parse, e)
		case packages.TypeError:
			typ = append(typ, e)
		default:
			list = append(list, e)
		}
	}
	kind, chosen := ErrCompile, typ
	switch {
	case len(parse) > 0:
		chosen = parse[:1]
	case len(typ) == 0:
		kind, chosen = ErrLoad, list
		for _, e := range list {
			if e.Pos != "" && e.Pos != "-" {
				kind = ErrCompile // a build error the go command reported
			}
		}
	}
	var errs []error
	dir := pkgDir(pkg)
	for i, e := range chosen {
		if i == 10 {
			errs = append(errs, fmt.Errorf("%s: too many errors: %w", pkg.PkgPath, kind))
			break
		}
		pos := relPos(dir, e.Pos)
		if pos == "" || pos == "-" {
			pos = pkg.PkgPath
			if pos == "" {
				pos = pkg.ID
			}
		}
		errs = append(errs, fmt.Errorf("%s: %s: %w", pos, strings.TrimSpace(e.Msg), kind))
	}
	return errors.Join(errs...)
}

// relPos shortens the file of a "file:line:col" position to its path
// relative to dir.
func relPos(dir, pos string) string {
	if dir == "" || !filepath.IsAbs(pos) {
		return pos
	}
	if rel, err := filepath.Rel(dir, pos); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return pos
}

func pkgDir(pkg *packages.Package) string {
	for _, f := range pkg.GoFiles {
		return filepath.Dir(f)
	}
	for _, f := range pkg.CompiledGoFiles {
		return filepath.Dir(f)
	}
	return pkg.Dir
}

// sourceOf returns the bytes of file as parsed: from src when given, else
// read from disk and checked against the parsed file's size.
func sourceOf(fset *token.FileSet, f *ast.File, src *Sources) ([]byte, error) {
	name := fset.File(f.Pos()).Name()
	if src != nil {
		if b := src.get(name); b != nil {
			return b, nil
		}
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", name, ErrLoad, err)
	}
	if len(b) != fset.File(f.Pos()).Size() {
		return nil, fmt.Errorf("%s: %w: the file changed after it was loaded", name, ErrLoad)
	}
	return b, nil
}
