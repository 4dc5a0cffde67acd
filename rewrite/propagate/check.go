package propagate

import (
	"errors"
	"fmt"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/tools/go/packages"
)

var (
	// ErrTypeCheck reports an inserted statement that does not compile in
	// the old version loaded with its real dependencies: the message names
	// the statement, its position in the output and the compiler's words.
	ErrTypeCheck = errors.New("does not type-check in the old version")
	// ErrUnchecked reports an old version that could not be loaded with its
	// dependencies (no module, a dependency missing), so that nothing
	// inserted into it can be known to compile.
	ErrUnchecked = errors.New("cannot type-check the old version")
)

// TypeError is one error the compiler's type checker reports.
type TypeError struct {
	Pos token.Position
	Msg string
}

func (e TypeError) Error() string { return e.Pos.String() + ": " + e.Msg }

// TypeErrors loads the package in dir with go/packages, in its module and
// with its real dependencies, with files (names relative to dir) in place
// of its own, and returns the errors of that package: parse and type
// errors. An error means the package could not be loaded at all; it wraps
// ErrUnchecked. Options (BuildFlags) say how the package is built.
func TypeErrors(dir string, files map[string][]byte, opts ...Option) ([]TypeError, error) {
	return typeErrors(dir, files, makeOptions(opts))
}

func typeErrors(dir string, files map[string][]byte, o options) ([]TypeError, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnchecked, err)
	}
	overlay := make(map[string][]byte, len(files))
	for name, src := range files {
		overlay[filepath.Join(abs, filepath.FromSlash(name))] = src
	}
	cfg := &packages.Config{
		Mode:       packages.NeedName | packages.NeedFiles | packages.NeedTypes | packages.NeedSyntax | packages.NeedTypesInfo,
		Dir:        abs,
		Overlay:    overlay,
		Env:        o.env(),
		BuildFlags: o.buildFlags,
	}
	pkgs, err := packages.Load(cfg, ".")
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrUnchecked, dir, err)
	}
	if len(pkgs) != 1 {
		return nil, fmt.Errorf("%w: %s: %d packages", ErrUnchecked, dir, len(pkgs))
	}
	pkg := pkgs[0]
	loaded := pkg.Types != nil && len(pkg.Syntax) > 0 && pkg.TypesInfo != nil
	var out []TypeError
	for _, e := range pkg.Errors {
		switch {
		case e.Kind == packages.TypeError || e.Kind == packages.ParseError:
			out = append(out, TypeError{Pos: parsePos(e.Pos), Msg: e.Msg})
		case !loaded:
			return nil, fmt.Errorf("%w: %s: %s", ErrUnchecked, dir, e.Msg)
		}
		// Otherwise the go command's own compile of the package, which
		// the type checker's errors repeat with the real file names.
	}
	if !loaded {
		return nil, fmt.Errorf("%w: %s: not loaded", ErrUnchecked, dir)
	}
	return out, nil
}

// parsePos reads go/packages' "file:line:col" (col optional).
func parsePos(s string) token.Position {
	var p token.Position
	rest := s
	for range 2 {
		i := strings.LastIndexByte(rest, ':')
		if i < 0 {
			break
		}
		n, err := strconv.Atoi(rest[i+1:])
		if err != nil {
			break
		}
		p.Column, p.Line = p.Line, n
		rest = rest[:i]
	}
	if p.Line == 0 {
		p.Line, p.Column = p.Column, 0
	}
	p.Filename = rest
	return p
}

// Check type-checks the package in dir (the old version) with the result's
// files in place, as the compiler will, and fails each inserted statement
// that an error falls in with ErrTypeCheck; errors of the old code itself
// are not the statements' and are left to the build. It returns the
// joined errors of the statements it failed, or an error wrapping
// ErrUnchecked when the package cannot be loaded. Package calls it; replay
// can call it again after its own edits. The package is loaded with the
// options Package was given.
func (r *Result) Check(dir string) error {
	errs, err := typeErrors(dir, r.Files, r.opt)
	if err != nil {
		return err
	}
	var failed []error
	for i := range r.Outcomes {
		if e := r.blame(i, dir, errs); e != nil {
			r.Outcomes[i].Status, r.Outcomes[i].Err = Failed, e
			failed = append(failed, e)
		}
	}
	return errors.Join(failed...)
}

// blame returns the ErrTypeCheck error of outcome i when a type error lies
// in the lines its statement was inserted at.
func (r *Result) blame(i int, dir string, errs []TypeError) error {
	o := r.Outcomes[i]
	if o.Status != Inserted || i >= len(r.spans) {
		return nil
	}
	return blameSpan(fmt.Sprintf("%s (%s)", o.Target, o.New), o.Old, r.spans[i], dir, errs)
}

func blameSpan(who string, oldPos token.Position, sp span, dir string, errs []TypeError) error {
	abs, _ := filepath.Abs(filepath.Join(dir, filepath.FromSlash(sp.file)))
	var msgs []string
	for _, e := range errs {
		if sameFile(e.Pos.Filename, abs) && e.Pos.Line >= sp.first && e.Pos.Line <= sp.last {
			msgs = append(msgs, fmt.Sprintf("%d:%d: %s", e.Pos.Line, e.Pos.Column, e.Msg))
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	slices.Sort(msgs)
	return fmt.Errorf("%s: %w: inserted at %s: %s", who, ErrTypeCheck, oldPos, strings.Join(msgs, "; "))
}

func sameFile(a, b string) bool {
	if a == b {
		return true
	}
	ra, err1 := filepath.EvalSymlinks(a)
	rb, err2 := filepath.EvalSymlinks(b)
	return err1 == nil && err2 == nil && ra == rb
}

// span is where an inserted statement is in an output file: its lines,
// first to last.
type span struct {
	file        string
	first, last int
}
