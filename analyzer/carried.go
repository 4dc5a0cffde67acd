package analyzer

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"

	"golang.org/x/tools/go/types/typeutil"
)

// Carried state: what the main loop's body changes, outside its blocks,
// in variables that outlive one iteration. Replay starts a worker at an
// iteration by restoring checkpoints, and suffix-only replay restores the
// state after the last iteration without running the loop, so such state
// must be checkpointed wherever it is read again.

// analyzeCarried fills Analysis.Carried and warns about carried state that
// is read again but not checkpointed.
func (s *state) analyzeCarried() {
	body := loopBodyOf(s.mainStmt)
	if body == nil {
		return
	}
	w := &effWalker{
		s:     s,
		inner: []posRange{{s.mainStmt.Pos(), s.mainStmt.End()}},
		// Flor loops reached from the body, in func literals or helpers,
		// are blocks too (skipped by name), like the body's own loops.
		skipFlorLoops: true,
	}
	for _, bi := range s.blocks {
		if bi.instrumentable {
			w.skip = append(w.skip, posRange{bi.full.Pos(), bi.full.End()})
		} else if w.sums == nil {
			w.sums = s.computeSummaries(true)
		}
	}
	w.walk(body)
	inBody := len(w.out)
	// `for k, v = range flor.Loop(...)` sets k and v before each
	// iteration's body runs, so only reads after the loop see the value.
	if rs, ok := unlabel(s.mainStmt).(*ast.RangeStmt); ok && rs.Tok == token.ASSIGN {
		for _, e := range []ast.Expr{rs.Key, rs.Value} {
			if e != nil {
				w.write(e, "= (range)")
			}
		}
	}

	regions := []region{{node: body}}
	var suffix []region
	for _, r := range s.suffix {
		suffix = append(suffix, region{node: s.fileOf(r.from), in: r})
	}
	regions = append(regions, suffix...)

	seen := map[string]bool{}
	warned := map[*types.Var]bool{}
	for i, e := range w.out {
		if e.l == nil || e.l.root == nil || e.kind != EffectAssign && e.kind != EffectCall {
			continue // not state a checkpoint could hold
		}
		l := s.translate(s.mainCalls, s.mainBodies, e.l)
		eff := &Effect{Kind: e.kind, Var: l.String(), Pos: s.pos(e.pos), Desc: e.desc, loc: l}
		key := fmt.Sprintf("%s|%s|%d|%s", eff.Kind, eff.Var, e.pos, eff.Desc)
		if seen[key] {
			continue
		}
		seen[key] = true
		s.a.Carried = append(s.a.Carried, eff)

		targets := s.aliasesOf(e.l.root)
		for v := range s.aliasesOf(l.root) {
			targets[v] = true
		}
		rs := regions
		if i >= inBody {
			rs = suffix
		}
		if at := s.firstRead(targets, rs, token.NoPos, s.selfFeeding(targets)); at.IsValid() {
			eff.ReadAt = s.pos(at)
		}
		reg, unsaved := s.coverage(l)
		switch {
		case reg != nil:
			eff.Checkpoint, eff.Restored = reg.Name, true
			continue
		case s.resetNote(l) != "":
			eff.Note = s.resetNote(l)
			continue
		case eff.ReadAt.File == "":
			eff.Note = "not read in a later iteration or after the main loop"
			if unsaved != "" {
				eff.Note = unsaved + "; " + eff.Note
			}
			continue
		case unsaved != "":
			eff.Note = unsaved
		default:
			eff.Note = "not checkpointed"
		}
		if warned[l.root] {
			continue // one warning per variable
		}
		warned[l.root] = true
		why := ""
		if unsaved != "" {
			why = " (" + unsaved + ")"
		}
		if hint := s.builtOnHint(l); hint != "" {
			why = " (" + hint + ")"
		}
		s.warnf(e.pos, "replay may differ with several workers or after the main loop: %s is changed in the main loop (%s) and read at %s, but is not checkpointed%s", eff.Var, eff.Pos.Short(), eff.ReadAt.Short(), why)
	}
}

func unlabel(st ast.Stmt) ast.Stmt {
	for {
		l, ok := st.(*ast.LabeledStmt)
		if !ok {
			return st
		}
		st = l.Stmt
	}
}

// selfFeeding returns a filter of reads that only feed the variable's own
// update: x in `x++`, `x += 1`, `x.n = x.n + 1`, `x = append(x, v)`,
// `best = max(best, f(v))`, when every target of the statement is a
// variable of targets and the value read goes only through operators and
// calls that cannot pass it elsewhere. Such a read sees a stale value
// after a restore, but nothing else does.
func (s *state) selfFeeding(targets map[*types.Var]bool) func(*ast.Ident) bool {
	memo := map[ast.Stmt]bool{}
	return func(id *ast.Ident) bool {
		st := s.enclosingStmt(id)
		if st == nil {
			return false
		}
		updates, ok := memo[st]
		if !ok {
			var lhs []ast.Expr
			switch st := st.(type) {
			case *ast.IncDecStmt:
				lhs = []ast.Expr{st.X}
			case *ast.AssignStmt:
				if st.Tok != token.DEFINE {
					lhs = st.Lhs
				}
			}
			updates = len(lhs) > 0
			for _, e := range lhs {
				l := s.canon(s.exprLoc(e))
				if l == nil || l.root == nil || !targets[l.root] {
					updates = false
				}
			}
			memo[st] = updates
		}
		if !updates {
			return false
		}
		// The value must not reach a call that could keep or show it.
		var child ast.Node = id
		for n := s.parent[id]; n != nil && n != st; child, n = n, s.parent[n] {
			switch n := n.(type) {
			case *ast.FuncLit:
				return false
			case *ast.CallExpr:
				if child != n.Fun && !s.pureCall(n) {
					return false
				}
			}
		}
		return true
	}
}

// pureCall reports whether a call only computes a value from its
// arguments: a builtin other than print, a conversion, a function of the
// package with no effects, or a function of another package known to keep
// and show nothing.
func (s *state) pureCall(call *ast.CallExpr) bool {
	if tv, ok := s.info.Types[call.Fun]; ok && tv.IsType() {
		return true
	}
	if id := calleeIdent(call.Fun); id != nil {
		if b, ok := s.info.Uses[id].(*types.Builtin); ok {
			return b.Name() != "print" && b.Name() != "println"
		}
	}
	if c := s.callee(call); c != nil {
		sum := s.summaries[c.decl]
		return c.decl != nil && sum != nil && len(sum.params) == 0 && len(sum.globals) == 0 && len(sum.kinds) == 0
	}
	fn, ok := typeutil.Callee(s.info, call).(*types.Func)
	if !ok || fn.Pkg() == nil {
		return false
	}
	sig, _ := fn.Type().(*types.Signature)
	p := fn.Pkg().Path()
	return readOnly[p+"."+fn.Name()] || sig != nil && sig.Recv() == nil && (p == "math" || p == "strings" || p == "strconv" || p == "unicode/utf8")
}

// coverage returns the flor.Checkpoint registration (made before or in
// the main loop) that saves and restores l. When registrations hold l but
// encoding/gob leaves it out of what they save, reg is nil and unsaved
// says why.
func (s *state) coverage(l *loc) (reg *Registration, unsaved string) {
	for _, r := range s.a.Checkpoints {
		if r.Phase != PhasePrefix && r.Phase != PhaseMain {
			continue
		}
		for _, c := range r.covered {
			if c.covers(l) {
				return r, "" // the adapter saves it whole
			}
		}
		if !r.loc.covers(l) {
			continue
		}
		if why := gobSkips(r.loc, l); why != "" {
			if unsaved == "" {
				unsaved = why
			}
			continue
		}
		return r, ""
	}
	return nil, unsaved
}

// gobSkips says why encoding/gob, saving the registered object at reg,
// leaves out the part l of it that is changed: the path from reg to l
// goes through an unexported field, or a func or chan field, of a type
// that does not encode itself. "" when gob saves it, or when the types
// along the path are not known statically (interfaces).
func gobSkips(reg, l *loc) string {
	t := l.root.Type()
	for i, st := range l.steps {
		past := i >= len(reg.steps) // within the registered object
		if past && encodesItself(t) {
			return ""
		}
		switch st.kind {
		case stepDeref:
			p, ok := under(t).(*types.Pointer)
			if !ok {
				return "" // an interface: its dynamic type is not known
			}
			t = p.Elem()
		case stepField:
			str, ok := under(t).(*types.Struct)
			if !ok {
				return ""
			}
			var f *types.Var
			for x := range str.Fields() {
				if x.Name() == st.name {
					f = x
				}
			}
			if f == nil {
				return ""
			}
			if past {
				if !f.Exported() {
					return "unexported field: gob does not save it"
				}
				switch under(f.Type()).(type) {
				case *types.Signature:
					return "func field: gob does not save it"
				case *types.Chan:
					return "chan field: gob does not save it"
				}
			}
			t = f.Type()
		case stepIndex:
			switch u := under(t).(type) {
			case *types.Array:
				t = u.Elem()
			case *types.Slice:
				t = u.Elem()
			case *types.Map:
				t = u.Elem()
			default:
				return ""
			}
		}
	}
	return ""
}

// UncoveredCarried returns the carried state that replay does not restore
// and that is read again, in a later iteration or after the main loop:
// replay with several workers, or of the code after the main loop alone,
// may differ from the recorded run.
func (a *Analysis) UncoveredCarried() []*Effect {
	var out []*Effect
	for _, e := range a.Carried {
		if !e.Restored && e.ReadAt.File != "" {
			out = append(out, e)
		}
	}
	return out
}
