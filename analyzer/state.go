package analyzer

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/tools/go/packages"
	"golang.org/x/tools/go/types/typeutil"
)

// state is one analysis in progress.
type state struct {
	a     *Analysis
	pkg   *packages.Package
	fset  *token.FileSet
	info  *types.Info
	files []*ast.File

	decls      map[*types.Func]*ast.FuncDecl // functions and methods of the package
	parent     map[ast.Node]ast.Node
	vars       map[*types.Var]*varInfo
	litVar     map[*types.Var]*ast.FuncLit // locals bound once to a func literal
	boundLit   map[*ast.FuncLit]bool
	paramIndex map[*types.Var]int // parameters: index, -1 for a receiver
	pureWrite  map[*ast.Ident]bool
	ranged     map[*ast.CallExpr]bool // flor.Loop calls that a range statement ranges over
	florMemo   map[*ast.BlockStmt]bool
	florBusy   map[*ast.BlockStmt]bool
	summaries  map[*ast.FuncDecl]*summary
	reached    map[*ast.BlockStmt]bool
	reported   map[token.Pos]bool

	phase    Phase
	mainLoop *Loop
	mainStmt ast.Stmt       // the main loop's statement
	mainBody *ast.BlockStmt // the body of the function holding the main loop
	// The call path from main to the function holding the main loop, and
	// the function bodies along it (main's first).
	mainCalls  []*ast.CallExpr
	mainBodies []*ast.BlockStmt
	suffix     []posRange // code after the main loop, along its call path
	// foreign holds the analyses of packages of local source that the
	// package calls into, by import path (nil: not loadable); noForeign
	// is set in those analyses, which do not follow further packages.
	foreign   map[string]*state
	noForeign bool
	prefetch  *prefetch // the loads of foreign packages under way, if any

	// randWarned holds the draws from math/rand's global generator that
	// a block's warning names already.
	randWarned map[token.Pos]bool
	// resetAt holds the data iterators the main loop's body resets in
	// every iteration, and where.
	resetAt map[*types.Var]token.Pos

	blocks    []*blockInfo
	skippable int // skippable candidate loops so far, for loop#N ids
	// logCalls pairs each log statement with its call, for elision.
	logCalls []logCall
}

// varInfo is what the analysis knows about how a variable is set.
type varInfo struct {
	sets    int      // definitions and assignments
	def     ast.Expr // the single-valued initializer of its one definition
	rangeOf ast.Expr // for `for _, v := range X`: X
}

type posRange struct{ from, to token.Pos }

func (r posRange) has(p token.Pos) bool { return r.from <= p && p < r.to }

// AnalyzePackage analyses a main package loaded with at least Mode. src
// holds the files' bytes as parsed (from Load); when nil they are read
// from disk. See Analyze for the errors.
func AnalyzePackage(pkg *packages.Package, src *Sources) (*Analysis, error) {
	if err := PackageErrors(pkg); err != nil {
		return nil, err
	}
	if pkg.Types == nil || pkg.TypesInfo == nil || len(pkg.Syntax) == 0 {
		return nil, fmt.Errorf("%s: %w: loaded without syntax or types", pkg.PkgPath, ErrLoad)
	}
	a := &Analysis{
		Pkg: pkg.PkgPath, Dir: pkgDir(pkg), src: map[string][]byte{},
		// Empty, not null, in JSON.
		Prefix: []Span{}, Suffix: []Span{}, Loops: []*Loop{}, Logs: []*LogStmt{},
		Checkpoints: []*Registration{}, Blocks: []*Block{}, Carried: []*Effect{}, Diagnostics: []Diagnostic{},
	}
	s := newState(a, pkg)
	if src != nil {
		s.prefetch = src.prefetch
	}
	for _, f := range pkg.Syntax {
		name := s.fset.File(f.Pos()).Name()
		b, err := sourceOf(s.fset, f, src)
		if err != nil {
			return nil, err
		}
		a.Files = append(a.Files, name)
		a.src[name] = b
	}
	if pkg.Name != "main" {
		return nil, fmt.Errorf("%s (package %s): %w", pkg.PkgPath, pkg.Name, ErrNotMain)
	}
	mainFn, _ := pkg.Types.Scope().Lookup("main").(*types.Func)
	s.index()
	mainDecl := s.decls[mainFn]
	if mainDecl == nil || mainDecl.Body == nil {
		return nil, fmt.Errorf("%s: %w: it has no func main", pkg.PkgPath, ErrNotMain)
	}
	s.summaries = s.computeSummaries(false)
	s.walkProgram(mainDecl)
	if s.mainLoop == nil {
		s.errorf(mainDecl.Name.Pos(), ErrNoMainLoop, "no flor.Loop runs from main, so there is no main loop to checkpoint and replay; wrap the training loop: for epoch := range flor.Loop(\"epoch\", flor.Range(n))")
	}
	s.findResets()
	for _, b := range s.blocks {
		s.analyzeBlock(b)
	}
	s.analyzeCarried()
	s.analyzeHazards()
	s.analyzeElision()
	s.sortDiagnostics()
	return a, a.Err()
}

func newState(a *Analysis, pkg *packages.Package) *state {
	return &state{
		a: a, pkg: pkg, fset: pkg.Fset, info: pkg.TypesInfo, files: pkg.Syntax,
		decls: map[*types.Func]*ast.FuncDecl{}, parent: map[ast.Node]ast.Node{},
		vars: map[*types.Var]*varInfo{}, litVar: map[*types.Var]*ast.FuncLit{},
		boundLit: map[*ast.FuncLit]bool{}, paramIndex: map[*types.Var]int{},
		pureWrite: map[*ast.Ident]bool{}, ranged: map[*ast.CallExpr]bool{},
		florMemo: map[*ast.BlockStmt]bool{}, florBusy: map[*ast.BlockStmt]bool{},
		reached: map[*ast.BlockStmt]bool{}, reported: map[token.Pos]bool{},
		foreign: map[string]*state{},
	}
}

// index builds the maps the analysis looks things up in.
func (s *state) index() {
	for _, f := range s.files {
		var stack []ast.Node
		ast.Inspect(f, func(n ast.Node) bool {
			if n == nil {
				stack = stack[:len(stack)-1]
				return true
			}
			if len(stack) > 0 {
				s.parent[n] = stack[len(stack)-1]
			}
			stack = append(stack, n)
			switch n := n.(type) {
			case *ast.FuncDecl:
				if fn, ok := s.info.Defs[n.Name].(*types.Func); ok {
					s.decls[fn] = n
				}
				s.indexParams(n.Recv, n.Type)
			case *ast.FuncLit:
				s.indexParams(nil, n.Type)
			case *ast.AssignStmt:
				s.indexAssign(n)
			case *ast.ValueSpec:
				for i, id := range n.Names {
					if v, ok := s.info.Defs[id].(*types.Var); ok {
						vi := s.varInfo(v)
						vi.sets++
						if len(n.Values) == len(n.Names) {
							vi.def = n.Values[i]
						}
					}
				}
			case *ast.RangeStmt:
				for i, e := range []ast.Expr{n.Key, n.Value} {
					id, ok := e.(*ast.Ident)
					if !ok {
						continue
					}
					if v, ok := s.info.Defs[id].(*types.Var); ok {
						vi := s.varInfo(v)
						vi.sets++
						if i == 1 {
							vi.rangeOf = n.X
						}
					} else if v, ok := s.info.Uses[id].(*types.Var); ok {
						s.varInfo(v).sets++
					}
				}
				if call := s.rangeLoopCall(n); call != nil {
					s.ranged[call] = true
				}
			case *ast.IncDecStmt:
				if v := s.identVar(n.X); v != nil {
					s.varInfo(v).sets++
				}
			case *ast.UnaryExpr:
				if n.Op == token.AND {
					if l := s.exprLoc(n.X); l != nil && l.root != nil {
						s.varInfo(l.root).sets++ // its address escapes: no longer a known alias
					}
				}
			}
			return true
		})
	}
	for v, vi := range s.vars {
		if lit, ok := vi.def.(*ast.FuncLit); ok && vi.sets == 1 && !isPackageLevel(v) {
			s.litVar[v] = lit
			s.boundLit[lit] = true
		}
	}
}

func (s *state) indexParams(recv *ast.FieldList, ft *ast.FuncType) {
	if recv != nil {
		for _, f := range recv.List {
			for _, id := range f.Names {
				if v, ok := s.info.Defs[id].(*types.Var); ok {
					s.paramIndex[v] = -1
				}
			}
		}
	}
	i := 0
	for _, f := range ft.Params.List {
		if len(f.Names) == 0 {
			i++
			continue
		}
		for _, id := range f.Names {
			if v, ok := s.info.Defs[id].(*types.Var); ok {
				s.paramIndex[v] = i
			}
			i++
		}
	}
}

func (s *state) indexAssign(n *ast.AssignStmt) {
	for i, lhs := range n.Lhs {
		id, ok := ast.Unparen(lhs).(*ast.Ident)
		if !ok {
			continue
		}
		if n.Tok == token.ASSIGN || n.Tok == token.DEFINE {
			s.pureWrite[id] = true
		}
		v, isDef := s.info.Defs[id].(*types.Var)
		if !isDef {
			v, _ = s.info.Uses[id].(*types.Var)
		}
		if v == nil {
			continue
		}
		vi := s.varInfo(v)
		vi.sets++
		if isDef && len(n.Lhs) == len(n.Rhs) {
			vi.def = n.Rhs[i]
		}
	}
}

func (s *state) varInfo(v *types.Var) *varInfo {
	vi := s.vars[v]
	if vi == nil {
		vi = &varInfo{}
		s.vars[v] = vi
	}
	return vi
}

// identVar returns the variable e names, when e is an identifier.
func (s *state) identVar(e ast.Expr) *types.Var {
	id, ok := ast.Unparen(e).(*ast.Ident)
	if !ok {
		return nil
	}
	v, _ := s.info.Uses[id].(*types.Var)
	return v
}

func isPackageLevel(v *types.Var) bool {
	return v.Pkg() != nil && v.Parent() == v.Pkg().Scope()
}

// rangeLoopCall returns the flor.Loop call a range statement ranges over,
// directly or through a local variable set once.
func (s *state) rangeLoopCall(r *ast.RangeStmt) *ast.CallExpr {
	x := ast.Unparen(r.X)
	if v := s.identVar(x); v != nil {
		if vi := s.vars[v]; vi != nil && vi.sets == 1 && vi.def != nil {
			x = ast.Unparen(vi.def)
		}
	}
	call, ok := x.(*ast.CallExpr)
	if ok && florFunc(s.info, call) == "Loop" {
		return call
	}
	return nil
}

// callee is a function of the package a call runs: a declared function
// or method, or a func literal bound to a local variable.
type callee struct {
	decl *ast.FuncDecl
	lit  *ast.FuncLit
	fn   *types.Func
	body *ast.BlockStmt
}

func (s *state) callee(call *ast.CallExpr) *callee {
	if v := s.identVar(call.Fun); v != nil {
		if lit := s.litVar[v]; lit != nil {
			return &callee{lit: lit, body: lit.Body}
		}
		return nil
	}
	fn := typeutil.StaticCallee(s.info, call)
	if fn == nil {
		return nil
	}
	decl := s.decls[fn.Origin()]
	if decl == nil || decl.Body == nil {
		return nil
	}
	return &callee{decl: decl, fn: fn, body: decl.Body}
}

// funcHasFlor reports whether a function body calls flor, directly or
// through the package's functions it calls.
func (s *state) funcHasFlor(body *ast.BlockStmt) bool {
	if v, ok := s.florMemo[body]; ok {
		return v
	}
	if s.florBusy[body] {
		return false
	}
	s.florBusy[body] = true
	v := s.containsFlor(body)
	delete(s.florBusy, body)
	s.florMemo[body] = v
	return v
}

// containsFlor reports whether n calls flor, directly or through the
// package's functions it calls.
func (s *state) containsFlor(n ast.Node) bool {
	found := false
	ast.Inspect(n, func(n ast.Node) bool {
		if found {
			return false
		}
		if call, ok := n.(*ast.CallExpr); ok {
			if florFunc(s.info, call) != "" {
				found = true
			} else if c := s.callee(call); c != nil && s.funcHasFlor(c.body) {
				found = true
			}
		}
		return !found
	})
	return found
}

// diagnostics

func (s *state) pos(p token.Pos) Pos { return position(s.fset, p) }

func (s *state) errorf(p token.Pos, sentinel error, format string, args ...any) {
	if s.reported[p] {
		return
	}
	s.reported[p] = true
	s.a.Diagnostics = append(s.a.Diagnostics, Diagnostic{Pos: s.pos(p), Severity: SevError, Msg: fmt.Sprintf(format, args...), Err: sentinel})
}

func (s *state) warnf(p token.Pos, format string, args ...any) {
	s.a.Diagnostics = append(s.a.Diagnostics, Diagnostic{Pos: s.pos(p), Severity: SevWarning, Msg: fmt.Sprintf(format, args...)})
}

func (s *state) sortDiagnostics() {
	rank := map[Severity]int{SevError: 0, SevWarning: 1, SevNote: 2}
	slices.SortStableFunc(s.a.Diagnostics, func(x, y Diagnostic) int {
		if c := rank[x.Severity] - rank[y.Severity]; c != 0 {
			return c
		}
		if c := strings.Compare(filepath.Base(x.Pos.File), filepath.Base(y.Pos.File)); c != 0 {
			return c
		}
		return x.Pos.Offset - y.Pos.Offset
	})
	s.a.Diagnostics = slices.CompactFunc(s.a.Diagnostics, func(x, y Diagnostic) bool {
		return x.Severity == y.Severity && x.Pos == y.Pos && x.Msg == y.Msg
	})
}

// text returns the source text of n.
func (s *state) text(n ast.Node) string {
	tf := s.fset.File(n.Pos())
	src := s.a.src[tf.Name()]
	from, to := tf.Offset(n.Pos()), tf.Offset(n.End())
	if src == nil || to > len(src) || from > to {
		return "?"
	}
	return string(src[from:to])
}

// fileOf returns the file holding p.
func (s *state) fileOf(p token.Pos) *ast.File {
	for _, f := range s.files {
		if f.FileStart <= p && p <= f.FileEnd {
			return f
		}
	}
	return nil
}

// enclosingStmt returns the innermost statement holding n.
func (s *state) enclosingStmt(n ast.Node) ast.Stmt {
	for ; n != nil; n = s.parent[n] {
		if st, ok := n.(ast.Stmt); ok {
			return st
		}
	}
	return nil
}

// enclosingDecl returns the declaration holding n, or n.
func (s *state) enclosingDecl(n ast.Node) ast.Node {
	for p := n; p != nil; p = s.parent[p] {
		if d, ok := p.(ast.Decl); ok {
			return d
		}
	}
	return n
}

// labeled returns the labeled statement around st, or st.
func (s *state) labeled(st ast.Stmt) ast.Stmt {
	if l, ok := s.parent[st].(*ast.LabeledStmt); ok {
		return l
	}
	return st
}
