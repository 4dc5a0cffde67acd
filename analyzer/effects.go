package analyzer

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"slices"
	"strings"

	"golang.org/x/tools/go/types/typeutil"
)

// rawEffect is an effect found in code, before coverage is decided.
type rawEffect struct {
	kind EffectKind
	l    *loc // nil when the state is unknown or not a variable
	pos  token.Pos
	desc string
	// iter is set on a call that moves the data iterator at l (an
	// externalEffects entry with advances or resets).
	iter iterOp
}

// iterOp is what a call does to a data iterator's position.
type iterOp uint8

const (
	iterNone iterOp = iota
	iterAdvance
	iterReset
)

// effWalker finds the effects a piece of code has on variables declared
// outside it.
type effWalker struct {
	s      *state
	inner  []posRange // declarations in these ranges are local
	out    []rawEffect
	inLits map[*ast.FuncLit]bool
	// site is the call, in the code walked, of the bound func literal
	// being walked: its effects are reported there.
	site *ast.CallExpr
	// sums are the summaries calls to the package's functions are judged
	// by; nil means s.summaries.
	sums map[*ast.FuncDecl]*summary
	// skip lists code left out of the walk (the blocks of the main loop,
	// when its own effects are wanted).
	skip []posRange
	// skipFlorLoops leaves out every loop ranging over a flor.Loop: in
	// code run from the main loop's body they are blocks, whose effects
	// are reported with the blocks.
	skipFlorLoops bool
}

func (w *effWalker) summaryOf(decl *ast.FuncDecl) *summary {
	if w.sums != nil {
		return w.sums[decl]
	}
	return w.s.summaries[decl]
}

func (w *effWalker) isInner(v *types.Var) bool {
	if isPackageLevel(v) || v.Pkg() != w.s.pkg.Types {
		return false
	}
	for _, r := range w.inner {
		if r.has(v.Pos()) {
			return true
		}
	}
	return false
}

func (w *effWalker) emit(kind EffectKind, l *loc, pos token.Pos, format string, args ...any) {
	if l != nil && l.root != nil && w.isInner(l.root) {
		return
	}
	desc := fmt.Sprintf(format, args...)
	if w.site != nil {
		pos, desc = w.site.Pos(), fmt.Sprintf("calls %s: %s", w.s.text(w.site.Fun), desc)
	}
	w.out = append(w.out, rawEffect{kind: kind, l: l, pos: pos, desc: desc})
}

func (w *effWalker) walk(n ast.Node) {
	if n == nil {
		return
	}
	s := w.s
	ast.Inspect(n, func(n ast.Node) bool {
		if n == nil {
			return true
		}
		for _, r := range w.skip {
			if r.from <= n.Pos() && n.End() <= r.to {
				return false
			}
		}
		switch n := n.(type) {
		case *ast.FuncLit:
			if s.boundLit[n] {
				return false // its effects count where it is called
			}
			w.walkLit(n)
			return false
		case *ast.AssignStmt:
			for _, lhs := range n.Lhs {
				if id, ok := lhs.(*ast.Ident); ok && n.Tok == token.DEFINE && s.info.Defs[id] != nil {
					continue
				}
				w.write(lhs, n.Tok.String())
			}
		case *ast.IncDecStmt:
			w.write(n.X, n.Tok.String())
		case *ast.RangeStmt:
			if w.skipFlorLoops && s.rangeLoopCall(n) != nil {
				return false
			}
			if n.Tok == token.ASSIGN {
				for _, e := range []ast.Expr{n.Key, n.Value} {
					if e != nil {
						w.write(e, "= (range)")
					}
				}
			}
			if _, ok := under(s.info.TypeOf(n.X)).(*types.Chan); ok {
				w.chanOp(n.X, n.Pos(), "receives from")
			}
		case *ast.SendStmt:
			w.chanOp(n.Chan, n.Pos(), "sends on")
		case *ast.UnaryExpr:
			if n.Op == token.ARROW {
				w.chanOp(n.X, n.Pos(), "receives from")
			}
		case *ast.GoStmt:
			w.emit(EffectGoroutine, nil, n.Pos(), "starts a goroutine")
		case *ast.CallExpr:
			w.call(n)
		}
		return true
	})
}

func (w *effWalker) walkLit(lit *ast.FuncLit) {
	if w.inLits == nil {
		w.inLits = map[*ast.FuncLit]bool{}
	}
	if w.inLits[lit] {
		return
	}
	w.inLits[lit] = true
	w.inner = append(w.inner, posRange{lit.Pos(), lit.End()})
	w.walk(lit.Body)
	w.inner = w.inner[:len(w.inner)-1]
}

func (w *effWalker) write(lhs ast.Expr, op string) {
	s := w.s
	if id, ok := ast.Unparen(lhs).(*ast.Ident); ok && id.Name == "_" {
		return
	}
	desc := s.text(lhs) + " " + op
	if op != "++" && op != "--" {
		desc += " ..."
	}
	l := s.canon(s.exprLoc(lhs))
	if l == nil {
		w.emit(EffectUnknown, nil, lhs.Pos(), "writes through %s", s.text(lhs))
		return
	}
	w.emit(EffectAssign, l, lhs.Pos(), "%s", desc)
}

func (w *effWalker) chanOp(ch ast.Expr, pos token.Pos, what string) {
	l := w.s.canon(w.s.exprLoc(ch))
	if l != nil && l.root != nil && w.isInner(l.root) {
		return
	}
	w.emit(EffectChan, l, pos, "%s channel %s", what, w.s.text(ch))
}

func (w *effWalker) call(call *ast.CallExpr) {
	s := w.s
	if tv, ok := s.info.Types[call.Fun]; ok && tv.IsType() {
		return // a conversion
	}
	if id := calleeIdent(call.Fun); id != nil {
		if b, ok := s.info.Uses[id].(*types.Builtin); ok {
			w.builtin(b.Name(), call)
			return
		}
	}
	if florFunc(s.info, call) != "" {
		return
	}
	if _, ok := ast.Unparen(call.Fun).(*ast.FuncLit); ok {
		return // walked in place
	}
	if v := s.identVar(call.Fun); v != nil {
		if lit := s.litVar[v]; lit != nil {
			if w.site == nil {
				w.site = call
				defer func() { w.site = nil }()
			}
			w.walkLit(lit)
			return
		}
	}
	obj := typeutil.Callee(s.info, call)
	fn, ok := obj.(*types.Func)
	if !ok {
		if v, ok := obj.(*types.Var); ok && w.isInner(v) {
			return // a func value made inside: its body is walked here
		}
		w.emit(EffectUnknown, nil, call.Pos(), "calls the function value %s", s.text(call.Fun))
		return
	}
	if decl := s.decls[fn.Origin()]; decl != nil && decl.Body != nil {
		w.applySummary(call, fn, w.summaryOf(decl))
		return
	}
	w.external(call, fn)
}

func (w *effWalker) builtin(name string, call *ast.CallExpr) {
	s := w.s
	switch name {
	case "copy", "clear", "delete":
		if len(call.Args) > 0 {
			if l := s.referent(call.Args[0]); l != nil {
				w.emit(EffectCall, l, call.Pos(), "%s(%s, ...)", name, s.text(call.Args[0]))
			} else if s.exprLoc(call.Args[0]) == nil {
				w.emit(EffectUnknown, nil, call.Pos(), "%s(%s, ...)", name, s.text(call.Args[0]))
			}
		}
	case "close":
		if len(call.Args) == 1 {
			w.chanOp(call.Args[0], call.Pos(), "closes")
		}
	case "print", "println":
		w.emit(EffectIO, nil, call.Pos(), "calls %s", name)
	}
}

// argument binds the argument expressions of a call to the callee's
// parameter i (-1: the receiver); addr means the parameter holds the
// argument's address (a pointer receiver called on a variable).
func (s *state) argument(call *ast.CallExpr, fn *types.Func, i int) (args []ast.Expr, addr bool) {
	sig, _ := fn.Type().(*types.Signature)
	if sig == nil {
		return nil, false
	}
	if i < 0 {
		sel, ok := ast.Unparen(call.Fun).(*ast.SelectorExpr)
		if !ok || sig.Recv() == nil {
			return nil, false
		}
		_, recvPtr := under(sig.Recv().Type()).(*types.Pointer)
		_, argPtr := under(s.info.TypeOf(sel.X)).(*types.Pointer)
		return []ast.Expr{sel.X}, recvPtr && !argPtr
	}
	n := sig.Params().Len()
	switch {
	case sig.Variadic() && i == n-1 && !call.Ellipsis.IsValid():
		if i < len(call.Args) {
			return call.Args[i:], false
		}
		return nil, false
	case i < len(call.Args):
		return call.Args[i : i+1], false
	}
	return nil, false
}

// bind maps a path from a parameter to the memory of the argument.
func (s *state) bind(arg ast.Expr, addr bool, steps []step) *loc {
	arg = ast.Unparen(arg)
	if u, ok := arg.(*ast.UnaryExpr); ok && u.Op == token.AND {
		arg, addr = u.X, true
	}
	if addr {
		if len(steps) == 0 || steps[0].kind != stepDeref {
			return nil
		}
		return s.canon(s.exprLoc(arg).add(steps[1:]...))
	}
	return s.canon(s.exprLoc(arg).add(steps...))
}

func (w *effWalker) applySummary(call *ast.CallExpr, fn *types.Func, sum *summary) {
	if sum == nil {
		return
	}
	s := w.s
	name := funcName(fn)
	for _, pw := range sum.params {
		args, addr := s.argument(call, fn, pw.param)
		for _, arg := range args {
			l := s.bind(arg, addr, pw.steps)
			if l == nil {
				continue // memory reached from a call result: not followed
			}
			w.emit(EffectCall, l, call.Pos(), "calls %s, which changes %s", name, pw.what)
		}
	}
	for _, g := range sum.globals {
		w.emit(EffectCall, g, call.Pos(), "calls %s, which changes %s", name, g)
	}
	for _, k := range sum.kinds {
		w.emit(k.kind, nil, call.Pos(), "calls %s, which %s", name, k.desc)
	}
}

func funcName(fn *types.Func) string {
	sig, _ := fn.Type().(*types.Signature)
	if sig != nil && sig.Recv() != nil {
		t := sig.Recv().Type()
		star := ""
		if p, ok := t.(*types.Pointer); ok {
			t, star = p.Elem(), "*"
		}
		tn := t.String()
		if n, ok := t.(*types.Named); ok {
			tn = n.Obj().Name()
		}
		return fmt.Sprintf("(%s%s).%s", star, tn, fn.Name())
	}
	if fn.Pkg() != nil {
		return fn.Pkg().Name() + "." + fn.Name()
	}
	return fn.Name()
}

// Packages whose functions and methods do input or output.
var ioPkgs = map[string]bool{
	"os": true, "os/exec": true, "os/signal": true, "net": true, "net/http": true, "net/rpc": true,
	"net/smtp": true, "io": true, "io/ioutil": true, "io/fs": true, "bufio": true,
	"log": true, "log/slog": true, "syscall": true, "database/sql": true,
}

// Functions of other packages that only read what they are given.
var readOnly = map[string]bool{
	"fmt.Sprint": true, "fmt.Sprintf": true, "fmt.Sprintln": true, "fmt.Errorf": true, "fmt.Append": true,
	"fmt.Appendf": true, "fmt.Appendln": true, "encoding/json.Marshal": true, "encoding/json.MarshalIndent": true,
	"errors.Is": true, "errors.New": true, "errors.Join": true, "errors.Unwrap": true, "reflect.DeepEqual": true,
	"reflect.TypeOf": true, "reflect.ValueOf": true,
}

// Functions of other packages that change the slice or map they are given
// first.
var mutators = map[string]bool{
	"sort.Ints": true, "sort.Float64s": true, "sort.Strings": true, "sort.Sort": true, "sort.Stable": true,
	"sort.Slice": true, "sort.SliceStable": true, "slices.Sort": true, "slices.SortFunc": true,
	"slices.SortStableFunc": true, "slices.Reverse": true, "maps.Copy": true, "maps.DeleteFunc": true,
}

func (w *effWalker) external(call *ast.CallExpr, fn *types.Func) {
	s := w.s
	pkg := ""
	if fn.Pkg() != nil {
		pkg = fn.Pkg().Path()
	}
	sig, _ := fn.Type().(*types.Signature)
	isMethod := sig != nil && sig.Recv() != nil
	full := pkg + "." + fn.Name()
	name := funcName(fn)
	if e, ok := externalEffect(fn); ok {
		w.applyExternal(call, fn, e)
		return
	}
	if ioPkgs[pkg] || pkg == "fmt" && (strings.HasPrefix(fn.Name(), "Print") || strings.HasPrefix(fn.Name(), "Fprint") || strings.Contains(fn.Name(), "scan")) {
		w.emit(EffectIO, nil, call.Pos(), "calls %s", name)
		return
	}
	if (pkg == "math/rand" || pkg == "math/rand/v2") && !isMethod && !strings.HasPrefix(fn.Name(), "New") {
		w.emit(EffectRand, nil, call.Pos(), "calls %s", name)
		return
	}
	if mutators[full] && len(call.Args) > 0 {
		if l := s.referent(call.Args[0]); l != nil {
			w.emit(EffectCall, l, call.Pos(), "calls %s", name)
		}
		return
	}
	if pkg == "sync" && isMethod && syncPrimitive(sig.Recv().Type()) {
		return // synchronisation, not state
	}
	if readOnly[full] || !isMethod && (pkg == "strings" || pkg == "strconv" || pkg == "math" || pkg == "unicode/utf8") {
		return
	}
	// A callee of local source tells which parameters it writes through;
	// asked only when a pointer is at stake.
	var writes map[int]bool
	asked, known := false, false
	may := func(param int) bool {
		if !asked {
			asked = true
			writes, known = s.foreignWrites(fn)
		}
		return !known || writes[param]
	}
	if sum := s.foreignSummary(fn); sum != nil && sum.rand {
		w.emit(EffectRand, nil, call.Pos(), "calls %s, which draws from math/rand's global generator", name)
	}
	if isMethod {
		sel, ok := ast.Unparen(call.Fun).(*ast.SelectorExpr)
		if ok {
			recv := sig.Recv().Type()
			if _, ok := under(recv).(*types.Interface); ok {
				if l := s.referent(sel.X); l != nil {
					w.emit(EffectCall, l, call.Pos(), "calls %s.%s on an interface value, which may change it", s.text(sel.X), fn.Name())
				}
			} else if _, ok := under(recv).(*types.Pointer); ok {
				args, addr := s.argument(call, fn, -1)
				for _, a := range args {
					if l := s.bind(a, addr, []step{{kind: stepDeref}}); l != nil && may(-1) {
						w.emit(EffectCall, l, call.Pos(), "calls %s", name)
					}
				}
			}
		}
	}
	for i, arg := range call.Args {
		if sig != nil && sig.Variadic() && i >= sig.Params().Len()-1 {
			i = sig.Params().Len() - 1
		}
		a := ast.Unparen(arg)
		if u, ok := a.(*ast.UnaryExpr); ok && u.Op == token.AND {
			if l := s.canon(s.exprLoc(u.X)); l != nil && may(i) {
				w.emit(EffectCall, l, arg.Pos(), "passes &%s to %s", s.text(u.X), name)
			}
			continue
		}
		if _, ok := under(s.info.TypeOf(a)).(*types.Pointer); ok {
			if l := s.referent(a); l != nil && may(i) {
				w.emit(EffectCall, l, arg.Pos(), "passes %s (a pointer) to %s", s.text(a), name)
			}
		}
	}
}

// applyExternal judges a call by its externalEffects entry.
func (w *effWalker) applyExternal(call *ast.CallExpr, fn *types.Func, e extEffect) {
	s := w.s
	name := funcName(fn)
	if e.rand {
		when := ""
		if e.randWhen != "" {
			when = " " + e.randWhen
		}
		w.emit(EffectRand, nil, call.Pos(), "calls %s, which draws from math/rand's global generator%s", name, when)
	}
	op := iterNone
	switch {
	case e.advances:
		op = iterAdvance
	case e.resets:
		op = iterReset
	}
	if e.changes(-1) {
		if sel, ok := ast.Unparen(call.Fun).(*ast.SelectorExpr); ok {
			var l *loc
			if types.IsInterface(s.info.TypeOf(sel.X)) {
				l = s.referent(sel.X)
			} else if args, addr := s.argument(call, fn, -1); len(args) == 1 {
				l = s.bind(args[0], addr, []step{{kind: stepDeref}})
			}
			if l != nil {
				w.emit(EffectCall, l, call.Pos(), "calls %s", name)
				if op != iterNone && len(w.out) > 0 && w.out[len(w.out)-1].l == l {
					w.out[len(w.out)-1].iter = op
				}
			}
		}
	}
	for i, arg := range call.Args {
		if !e.changes(i) {
			continue
		}
		if l := s.referent(arg); l != nil {
			w.emit(EffectCall, l, arg.Pos(), "passes %s to %s", s.text(arg), name)
		}
	}
}

// summary is what a function of the package does to the state it is
// given: which parameters it writes through, which package variables it
// changes or reads, and the effects it has that no variable holds.
type summary struct {
	params  []paramWrite
	globals []*loc
	kinds   []kindEffect
	reads   map[*types.Var]bool // package-level variables it reads
	rand    bool                // draws from math/rand's global source
}

type paramWrite struct {
	param int // -1 for the receiver
	steps []step
	what  string
}

type kindEffect struct {
	kind EffectKind
	desc string
}

func (sm *summary) key() string {
	var b strings.Builder
	for _, p := range sm.params {
		fmt.Fprintf(&b, "p%d:%v;", p.param, p.steps)
	}
	for _, g := range sm.globals {
		fmt.Fprintf(&b, "g%p:%v;", g.root, g.steps)
	}
	for _, k := range sm.kinds {
		fmt.Fprintf(&b, "k%s;", k.kind)
	}
	fmt.Fprintf(&b, "r%d%v", len(sm.reads), sm.rand)
	return b.String()
}

// computeSummaries summarises every function of the package, repeating
// until calls between them settle. skipFlorLoops leaves the loops ranging
// over a flor.Loop out of the effects (not out of the reads): what a
// function does outside the blocks it holds when called from the main
// loop.
func (s *state) computeSummaries(skipFlorLoops bool) map[*ast.FuncDecl]*summary {
	sums := map[*ast.FuncDecl]*summary{}
	var decls []*ast.FuncDecl
	for _, f := range s.files {
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Body != nil {
				decls = append(decls, fd)
				sums[fd] = &summary{reads: map[*types.Var]bool{}}
			}
		}
	}
	for range 10 {
		changed := false
		for _, fd := range decls {
			sum := s.summarize(fd, sums, skipFlorLoops)
			if sum.key() != sums[fd].key() {
				changed = true
			}
			sums[fd] = sum
		}
		if !changed {
			break
		}
	}
	return sums
}

func (s *state) summarize(fd *ast.FuncDecl, sums map[*ast.FuncDecl]*summary, skipFlorLoops bool) *summary {
	w := &effWalker{s: s, inner: []posRange{{fd.Body.Lbrace, fd.Body.Rbrace}}, sums: sums, skipFlorLoops: skipFlorLoops}
	w.walk(fd.Body)
	sum := &summary{reads: map[*types.Var]bool{}}
	seen := map[string]bool{}
	for _, e := range w.out {
		switch {
		case e.l != nil && e.l.root != nil:
			if idx, ok := s.paramIndex[e.l.root]; ok && e.l.visible() {
				k := fmt.Sprintf("p%d%v", idx, e.l.steps)
				if !seen[k] {
					seen[k] = true
					sum.params = append(sum.params, paramWrite{param: idx, steps: e.l.steps, what: e.l.String()})
				}
			} else if isPackageLevel(e.l.root) {
				k := fmt.Sprintf("g%p%v", e.l.root, e.l.steps)
				if !seen[k] {
					seen[k] = true
					sum.globals = append(sum.globals, e.l)
				}
			}
		case e.kind == EffectAssign || e.kind == EffectCall:
		default:
			if e.kind == EffectRand {
				sum.rand = true
			}
			if !seen[string(e.kind)] {
				seen[string(e.kind)] = true
				sum.kinds = append(sum.kinds, kindEffect{kind: e.kind, desc: e.desc})
			}
		}
	}
	// Package variables read, here or in the functions called.
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.Ident:
			if v, ok := s.info.Uses[n].(*types.Var); ok && isPackageLevel(v) && !s.pureWrite[n] {
				sum.reads[v] = true
			}
		case *ast.CallExpr:
			if c := s.callee(n); c != nil && c.decl != nil {
				if other := sums[c.decl]; other != nil {
					for v := range other.reads {
						sum.reads[v] = true
					}
					sum.rand = sum.rand || other.rand
				}
			}
		}
		return true
	})
	slices.SortStableFunc(sum.kinds, func(a, b kindEffect) int { return strings.Compare(string(a.kind), string(b.kind)) })
	return sum
}

// syncPrimitive reports the types of package sync whose methods only
// synchronise goroutines.
func syncPrimitive(t types.Type) bool {
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	n, ok := t.(*types.Named)
	if !ok {
		return false
	}
	switch n.Obj().Name() {
	case "Mutex", "RWMutex", "WaitGroup", "Once", "Cond":
		return true
	}
	return false
}
