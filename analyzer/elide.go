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

// Elision: a replay that keeps no value of a flor.Log statement (its name
// is neither new nor compared by the self-check at that point) need not
// evaluate its argument, which Go evaluates before flor.Log can tell. The
// replay build guards such a statement:
//
//	if flor.Wanted("val_acc", "model") {
//		flor.Log("val_acc", mlp.Evaluate(model, test))
//	}
//
// That is right only when skipping the argument changes nothing that the
// rest of the replay reads. The rule proved here: the statement is a
// flor.Log call whose result is not used, directly in the main loop's
// body (in no nested loop, func literal or helper), its name logged by no
// other statement; its argument's effects are only on state that a
// flor.Checkpoint registration restores, and nothing in the rest of the
// iteration's body reads that state. The runtime then restores those
// registrations from the run's capture at the end of the iteration in
// which it skipped the statement (or evaluates it, when the run has no
// such capture), before anything else reads them. An argument with no
// effects at all may be skipped in nested loops too.

// Elision is what the analysis proved about skipping a log statement's
// argument in replay.
type Elision struct {
	// OK: replay may skip the statement when it keeps no value of it.
	OK bool `json:"ok"`
	// Why names the position and the callee or variable that decided.
	Why string `json:"why"`
	// Restores are the registrations that hold what the argument changes,
	// restored at the end of an iteration in which it was skipped.
	Restores []string `json:"restores,omitempty"`
	// Qualifier is the name the statement's file imports flor under (""
	// for a dot import), for the guard.
	Qualifier string `json:"qualifier,omitempty"`
}

// logCall is a log statement and its call.
type logCall struct {
	ls   *LogStmt
	call *ast.CallExpr
}

// WantedFunc is the runtime guard of a skipped statement: flor.Wanted.
const WantedFunc = "Wanted"

// analyzeElision fills LogStmt.Elide for every flor.Log.
func (s *state) analyzeElision() {
	count := map[string]int{}
	for _, lc := range s.logCalls {
		if lc.ls.Kind == KindLog && lc.ls.Phase == PhaseMain {
			count[lc.ls.Name]++
		}
	}
	for _, lc := range s.logCalls {
		if lc.ls.Kind != KindLog {
			continue
		}
		e := s.elision(lc, count[lc.ls.Name])
		if !e.OK {
			e.Restores, e.Qualifier = nil, ""
		}
		lc.ls.Elide = e
	}
}

func (s *state) elision(lc logCall, sameName int) *Elision {
	ls, call := lc.ls, lc.call
	no := func(format string, args ...any) *Elision {
		return &Elision{Why: fmt.Sprintf(format, args...)}
	}
	switch {
	case ls.Phase != PhaseMain:
		return no("runs %s: only main-loop statements are skipped", phaseWhere(ls.Phase))
	case ls.Name == "":
		return no("its name is not a constant")
	case len(ls.Via) > 0:
		return no("in a function called at %s: only the main loop's own statements are guarded", ls.Via[0].Short())
	case sameName > 1:
		return no("%q is logged by %d statements: the self-check pairs values with the record by their order", ls.Name, sameName)
	case len(call.Args) != 2 || call.Ellipsis.IsValid():
		return no("flor.Log is not called with a name and a value")
	}
	stmt, ok := s.parent[call].(*ast.ExprStmt)
	if !ok {
		return no("its value is used (%s): flor.Log returns it", s.pos(s.enclosingStmt(call).Pos()).Short())
	}
	nested, why := s.placeInMainLoop(stmt)
	if why != "" {
		return no("%s", why)
	}
	q, why := s.guardQualifier(call)
	if why != "" {
		return no("%s", why)
	}
	arg := call.Args[1]
	if s.containsFlor(arg) {
		return no("its argument calls flor: skipping it would skip what that call logs")
	}
	if why := s.opaqueCall(arg, map[*ast.BlockStmt]bool{}); why != "" {
		return no("%s", why)
	}
	w := &effWalker{s: s, inner: []posRange{{arg.Pos(), arg.End()}}}
	w.walk(arg)
	if len(w.out) == 0 {
		return &Elision{OK: true, Why: "its argument changes nothing outside itself", Qualifier: q}
	}
	body := loopBodyOf(s.mainStmt)
	if at := gotoIn(body); at.IsValid() {
		return no("%s (%s), and the main loop's body has a goto at %s, which may run code before the statement again within the iteration", w.out[0].desc, s.pos(w.out[0].pos), s.pos(at).Short())
	}
	rest := []region{{node: body, in: posRange{stmt.End(), body.End()}}}
	var restores, what []string
	for _, e := range w.out {
		at := s.pos(e.pos).String()
		switch {
		case e.kind != EffectAssign && e.kind != EffectCall:
			return no("%s (%s): %s is not restored by replay", e.desc, at, effectNoun(e.kind))
		case e.l == nil || e.l.root == nil:
			return no("%s (%s): the state it changes is not known", e.desc, at)
		}
		reg, unsaved := s.coverage(e.l)
		if reg == nil {
			if unsaved != "" {
				unsaved = " (" + unsaved + ")"
			}
			return no("%s (%s): no checkpoint restores %s%s", e.desc, at, e.l, unsaved)
		}
		if nested {
			return no("%s (%s): in a nested loop, which may read %s again before the iteration ends", e.desc, at, e.l)
		}
		targets := s.aliasesOf(e.l.root)
		if read := s.firstRead(targets, rest, token.NoPos, nil); read.IsValid() {
			return no("%s (%s): %s is read at %s before the iteration ends", e.desc, at, e.l, s.pos(read).Short())
		}
		if !slices.Contains(restores, reg.Name) {
			restores = append(restores, reg.Name)
		}
		what = append(what, fmt.Sprintf("%s (%s): checkpoint %q restores %s", e.desc, at, reg.Name, e.l))
	}
	return &Elision{OK: true, Restores: restores, Qualifier: q,
		Why: strings.Join(what, "; ") + " at the end of the iteration"}
}

// opaqueCall finds a call, in n or in the package's functions it calls,
// whose effects the analysis does not see: a function value, a method of
// an interface, or a function of another package that is neither known to
// only compute (math, strings, fmt.Sprintf, ...) nor of local source that
// the analysis summarised without effects it cannot restore.
func (s *state) opaqueCall(n ast.Node, seen map[*ast.BlockStmt]bool) string {
	why := ""
	ast.Inspect(n, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || why != "" {
			return why == ""
		}
		if tv, ok := s.info.Types[call.Fun]; ok && tv.IsType() {
			return true
		}
		if id := calleeIdent(call.Fun); id != nil {
			if _, ok := s.info.Uses[id].(*types.Builtin); ok {
				return true
			}
		}
		if _, ok := ast.Unparen(call.Fun).(*ast.FuncLit); ok {
			return true // its body is inspected in place
		}
		at := s.pos(call.Pos()).String()
		if c := s.callee(call); c != nil {
			if !seen[c.body] {
				seen[c.body] = true
				why = s.opaqueCall(c.body, seen)
			}
			return why == ""
		}
		fn, ok := typeutil.Callee(s.info, call).(*types.Func)
		if !ok {
			why = fmt.Sprintf("calls the function value %s (%s), whose effects are not known", s.text(call.Fun), at)
			return false
		}
		sig, _ := fn.Type().(*types.Signature)
		if sig != nil && sig.Recv() != nil && types.IsInterface(sig.Recv().Type()) {
			why = fmt.Sprintf("calls %s on an interface value (%s), whose effects are not known", funcName(fn), at)
			return false
		}
		if fn.Pkg() == nil || fn.Pkg() == s.pkg.Types || s.pureCall(call) {
			return true
		}
		if p := fn.Pkg().Path(); (p == "math/rand" || p == "math/rand/v2") && sig != nil && sig.Recv() == nil && !strings.HasPrefix(fn.Name(), "New") {
			why = fmt.Sprintf("calls %s (%s): a draw from math/rand's global generator is not restored by replay", funcName(fn), at)
			return false
		}
		if p := fn.Pkg().Path(); ioPkgs[p] || p == "fmt" && (strings.HasPrefix(fn.Name(), "Print") || strings.HasPrefix(fn.Name(), "Fprint")) {
			why = fmt.Sprintf("calls %s (%s): input/output is not restored by replay", funcName(fn), at)
			return false
		}
		if _, ok := externalEffect(fn); ok {
			return true // judged by the effects table
		}
		sum := s.foreignSummary(fn)
		switch {
		case sum == nil:
			why = fmt.Sprintf("calls %s (%s), whose source the analysis does not read", funcName(fn), at)
		case len(sum.kinds) > 0:
			why = fmt.Sprintf("calls %s (%s), which %s", funcName(fn), at, sum.kinds[0].desc)
		case len(sum.globals) > 0:
			why = fmt.Sprintf("calls %s (%s), which changes %s", funcName(fn), at, sum.globals[0])
		}
		return why == ""
	})
	return why
}

// placeInMainLoop says whether stmt is in a loop nested in the main loop,
// or why it is not a statement of the main loop's body at all.
func (s *state) placeInMainLoop(stmt ast.Stmt) (nested bool, why string) {
	body := loopBodyOf(s.mainStmt)
	if body == nil {
		return false, "no main loop"
	}
	switch s.parent[stmt].(type) {
	case *ast.BlockStmt, *ast.CaseClause, *ast.CommClause:
	default:
		return false, "it is a labelled statement, which a guard cannot wrap"
	}
	for n := s.parent[stmt]; n != nil; n = s.parent[n] {
		switch n := n.(type) {
		case *ast.FuncLit:
			return false, fmt.Sprintf("in a func literal at %s, which may run at any time", s.pos(n.Pos()).Short())
		case *ast.ForStmt, *ast.RangeStmt:
			nested = true
		case *ast.BlockStmt:
			if n == body {
				return nested, ""
			}
		}
	}
	return false, "not in the main loop's body"
}

// guardQualifier returns how the guard names flor at the call: the
// qualifier of the flor.Log call itself, or "" for a dot import when
// Wanted means flor's there.
func (s *state) guardQualifier(call *ast.CallExpr) (string, string) {
	var florPkg *types.Package
	for _, p := range s.pkg.Types.Imports() {
		if p.Path() == FlorPath {
			florPkg = p
		}
	}
	if florPkg == nil {
		return "", "the package does not import flor"
	}
	if _, ok := florPkg.Scope().Lookup(WantedFunc).(*types.Func); !ok {
		return "", "the flor this version builds with has no flor." + WantedFunc
	}
	switch fun := ast.Unparen(call.Fun).(type) {
	case *ast.SelectorExpr:
		if id, ok := fun.X.(*ast.Ident); ok {
			if _, ok := s.info.Uses[id].(*types.PkgName); ok {
				return id.Name, ""
			}
		}
	case *ast.Ident:
		if scope := s.pkg.Types.Scope().Innermost(call.Pos()); scope != nil {
			if _, obj := scope.LookupParent(WantedFunc, call.Pos()); obj != nil && obj.Pkg() == florPkg {
				return "", ""
			}
		}
		return "", "the name " + WantedFunc + " does not refer to flor's at the statement (dot import)"
	}
	return "", "flor.Log is not called by its name"
}

// gotoIn returns the first goto statement in n, or NoPos.
func gotoIn(n ast.Node) token.Pos {
	at := token.NoPos
	ast.Inspect(n, func(n ast.Node) bool {
		if br, ok := n.(*ast.BranchStmt); ok && br.Tok == token.GOTO && !at.IsValid() {
			at = br.Pos()
		}
		return !at.IsValid()
	})
	return at
}

func phaseWhere(p Phase) string {
	switch p {
	case PhasePrefix:
		return "before the main loop"
	case PhaseSuffix:
		return "after the main loop"
	}
	return "in a function main does not call"
}

func effectNoun(k EffectKind) string {
	switch k {
	case EffectIO:
		return "input/output"
	case EffectRand:
		return "a draw from math/rand's global generator"
	case EffectChan:
		return "a channel operation"
	case EffectGoroutine:
		return "a goroutine"
	}
	return "a change the analysis cannot follow"
}

func quoted(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

// Elidable returns the log statements a replay may skip when it keeps
// none of their values.
func (a *Analysis) Elidable() []*LogStmt {
	var out []*LogStmt
	for _, l := range a.Logs {
		if l.Elide != nil && l.Elide.OK {
			out = append(out, l)
		}
	}
	return out
}
