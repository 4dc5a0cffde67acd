package analyzer

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"strings"

	"golang.org/x/tools/go/types/typeutil"
)

// blockInfo is a Block with the syntax it came from.
type blockInfo struct {
	b              *Block
	stmt, full     ast.Stmt
	body           *ast.BlockStmt   // the function body holding the loop
	calls          []*ast.CallExpr  // call path from main
	bodies         []*ast.BlockStmt // function bodies along the call path
	instrumentable bool
	warned         map[*types.Var]bool
}

// region is code where a read of changed state matters: the nodes of
// node within in, outside out.
type region struct {
	node ast.Node
	in   posRange // zero: all of node
	out  posRange
}

func (r region) keeps(n ast.Node) bool {
	if r.in.to != 0 && (n.End() <= r.in.from || n.Pos() >= r.in.to) {
		return false
	}
	return !(r.out.from <= n.Pos() && n.End() <= r.out.to)
}

// analyzeBlock finds a block's effects, what restores them, and where
// replay may differ.
func (s *state) analyzeBlock(bi *blockInfo) {
	b := bi.b
	w := &effWalker{s: s, inner: []posRange{{bi.full.Pos(), bi.full.End()}}}
	w.walk(bi.stmt)
	regions := s.readRegions(bi)
	seen := map[string]bool{}
	for _, e := range w.out {
		l := e.l
		if !bi.instrumentable {
			l = s.translate(bi.calls, bi.bodies, l)
		}
		eff := &Effect{Kind: e.kind, Pos: s.pos(e.pos), Desc: e.desc, loc: l}
		if l != nil {
			eff.Var = l.String()
		}
		key := fmt.Sprintf("%s|%s|%d|%s", eff.Kind, eff.Var, e.pos, eff.Desc)
		if seen[key] {
			continue
		}
		seen[key] = true
		s.judge(bi, eff, e.pos, regions)
		b.Effects = append(b.Effects, eff)
	}
}

// translate maps an effect on a parameter of the function at the end of
// a call path (calls from main, bodies the function bodies along it,
// main's first) to the caller's arguments, up the call path.
func (s *state) translate(calls []*ast.CallExpr, bodies []*ast.BlockStmt, l *loc) *loc {
	for i := len(calls) - 1; i >= 0 && l != nil && l.root != nil && l.visible(); i-- {
		idx, ok := s.paramIndex[l.root]
		if !ok || !s.declaredIn(l.root, bodies[i+1]) {
			return l
		}
		call := calls[i]
		var args []ast.Expr
		addr := false
		if fn, ok := typeutil.Callee(s.info, call).(*types.Func); ok {
			args, addr = s.argument(call, fn, idx)
		} else if idx >= 0 && idx < len(call.Args) {
			args = call.Args[idx : idx+1]
		}
		if len(args) != 1 {
			return l
		}
		next := s.bind(args[0], addr, l.steps)
		if next == nil {
			return l
		}
		l = next
	}
	return l
}

// declaredIn reports whether v is a parameter of the function with body.
func (s *state) declaredIn(v *types.Var, body *ast.BlockStmt) bool {
	switch f := s.parent[body].(type) {
	case *ast.FuncDecl:
		return f.Pos() <= v.Pos() && v.Pos() < body.Pos()
	case *ast.FuncLit:
		return f.Pos() <= v.Pos() && v.Pos() < body.Pos()
	}
	return false
}

// readRegions returns the code that runs after a block and may read what
// it changed: the rest of the main loop's body (later in the iteration,
// or in later iterations) and the code after the main loop.
func (s *state) readRegions(bi *blockInfo) []region {
	var rs []region
	loopBody := loopBodyOf(s.mainStmt)
	if bi.instrumentable {
		rs = append(rs, region{node: loopBody, out: posRange{bi.full.Pos(), bi.full.End()}})
	} else {
		rs = append(rs, region{node: bi.body, out: posRange{bi.full.Pos(), bi.full.End()}})
		out := posRange{}
		for _, c := range bi.calls {
			if loopBody != nil && loopBody.Pos() <= c.Pos() && c.End() <= loopBody.End() {
				st := s.enclosingStmt(c)
				out = posRange{st.Pos(), st.End()}
				break
			}
		}
		if loopBody != nil {
			rs = append(rs, region{node: loopBody, out: out})
		}
	}
	for _, r := range s.suffix {
		rs = append(rs, region{node: s.fileOf(r.from), in: r})
	}
	return rs
}

func loopBodyOf(st ast.Stmt) *ast.BlockStmt {
	for {
		switch l := st.(type) {
		case *ast.LabeledStmt:
			st = l.Stmt
		case *ast.RangeStmt:
			return l.Body
		case *ast.ForStmt:
			return l.Body
		default:
			return nil
		}
	}
}

// aliasesOf returns root and the local variables provably referring to
// the same memory.
func (s *state) aliasesOf(root *types.Var) map[*types.Var]bool {
	set := map[*types.Var]bool{root: true}
	for v, vi := range s.vars {
		if vi.sets != 1 || v == root {
			continue
		}
		if st, ok := refStep(v.Type()); ok {
			if l := s.canon(&loc{root: v, steps: []step{st}}); l != nil && l.root == root {
				set[v] = true
			}
		}
	}
	return set
}

// readAfter returns the first read of root (or an alias) in regions. A
// variable declared in the main loop's body is new in each iteration, so
// only reads after the block count.
func (s *state) readAfter(root *types.Var, regions []region, bi *blockInfo) token.Pos {
	from := token.NoPos
	if body := loopBodyOf(s.mainStmt); body != nil && body.Pos() <= root.Pos() && root.Pos() < body.End() && bi.instrumentable {
		from = bi.full.End()
	}
	return s.firstRead(s.aliasesOf(root), regions, from, nil)
}

// firstRead returns the first read of a variable of targets in regions,
// at or after from. A package-level target counts as read by a call to a
// function of the package that reads it. ignore, when set, leaves out
// some reads.
func (s *state) firstRead(targets map[*types.Var]bool, regions []region, from token.Pos, ignore func(*ast.Ident) bool) token.Pos {
	return s.scan(regions, func(n ast.Node) bool {
		if n.Pos() < from {
			return false
		}
		switch n := n.(type) {
		case *ast.Ident:
			v, _ := s.info.Uses[n].(*types.Var)
			return v != nil && targets[v] && !s.pureWrite[n] && (ignore == nil || !ignore(n))
		case *ast.CallExpr:
			if c := s.callee(n); c != nil && c.decl != nil {
				for v := range s.summaries[c.decl].reads {
					if targets[v] {
						return true
					}
				}
			}
		}
		return false
	})
}

// randAfter returns the first draw from math/rand's global source in
// regions.
func (s *state) randAfter(regions []region) token.Pos {
	return s.scan(regions, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return false
		}
		if c := s.callee(call); c != nil && c.decl != nil {
			return s.summaries[c.decl].rand
		}
		fn, ok := typeutil.Callee(s.info, call).(*types.Func)
		if !ok || fn.Pkg() == nil {
			return false
		}
		p := fn.Pkg().Path()
		sig, _ := fn.Type().(*types.Signature)
		return (p == "math/rand" || p == "math/rand/v2") && sig != nil && sig.Recv() == nil && !strings.HasPrefix(fn.Name(), "New")
	})
}

// scan returns the position of the first node in regions that match
// accepts, looking into func literals the regions call.
func (s *state) scan(regions []region, match func(ast.Node) bool) token.Pos {
	found := token.NoPos
	lits := map[*ast.FuncLit]bool{}
	var visit func(n ast.Node, r region)
	visit = func(n ast.Node, r region) {
		ast.Inspect(n, func(n ast.Node) bool {
			if n == nil || found.IsValid() || !r.keeps(n) {
				return false
			}
			if call, ok := n.(*ast.CallExpr); ok {
				switch florFunc(s.info, call) {
				case "SkipStart", "SkipEnd":
					return false // capturing state is not reading it
				}
				if c := s.callee(call); c != nil && c.lit != nil && !lits[c.lit] {
					lits[c.lit] = true
					visit(c.lit.Body, region{node: c.lit.Body})
					if found.IsValid() {
						found = call.Pos()
						return false
					}
				}
			}
			if match(n) {
				found = n.Pos()
				return false
			}
			return true
		})
	}
	for _, r := range regions {
		if r.node == nil {
			continue
		}
		visit(r.node, r)
		if found.IsValid() {
			break
		}
	}
	return found
}

// judge decides how replay deals with an effect: restored by a
// checkpoint, passed to the skip block, harmless, or a warning.
func (s *state) judge(bi *blockInfo, eff *Effect, pos token.Pos, regions []region) {
	b := bi.b
	unsaved := ""
	if eff.loc != nil {
		var reg *Registration
		if reg, unsaved = s.coverage(eff.loc); reg != nil {
			eff.Checkpoint, eff.Restored = reg.Name, true
			return
		}
	}
	if unsaved != "" {
		// Registered, but not saved: say so whatever else is said.
		defer func() {
			if !eff.Restored {
				eff.Note = unsaved
			}
		}()
	}
	if !b.Skippable {
		return // the block always runs
	}
	where, site := fmt.Sprintf("loop %q", b.ID), eff.Pos.Short()
	if len(b.Via) > 0 {
		site += ", in a function called at " + b.Via[len(b.Via)-1].Short()
	}
	switch {
	case eff.Kind == EffectIO:
		eff.Note = "input/output is not redone when the block is skipped"
		return
	case eff.Kind == EffectRand:
		at := s.randAfter(regions)
		if !at.IsValid() {
			eff.Note = "nothing draws from the global source after the block"
			return
		}
		eff.ReadAt = s.pos(at)
		eff.Note = "math/rand's global source cannot be checkpointed"
		if s.randWarned == nil {
			s.randWarned = map[token.Pos]bool{}
		}
		s.randWarned[pos] = true
		s.warnf(pos, "replay may differ: %s draws from math/rand's global source (%s) and it is drawn from again at %s; draw from a rand.Rand whose source is registered with flor.Checkpoint", where, site, eff.ReadAt.Short())
		return
	case eff.Kind == EffectChan || eff.Kind == EffectGoroutine || eff.loc == nil || eff.loc.root == nil:
		eff.Note = "replay cannot restore this"
		s.warnf(pos, "replay may differ: %s %s (%s), which replay cannot restore", where, eff.Desc, site)
		return
	}
	if note := s.resetNote(eff.loc); note != "" {
		eff.Note = note
		return
	}
	at := s.readAfter(eff.loc.root, regions, bi)
	if !at.IsValid() {
		eff.Note = "not read after the block"
		return
	}
	eff.ReadAt = s.pos(at)
	why := "florc instruments only loops in the main loop's own body"
	if bi.instrumentable {
		var x string
		x, why = s.extraFor(bi, eff.loc)
		if x != "" {
			eff.Extra, eff.Restored = x, true
			for _, have := range b.Extras {
				if have == x {
					return
				}
			}
			b.Extras = append(b.Extras, x)
			return
		}
	}
	if hint := s.builtOnHint(eff.loc); hint != "" {
		why = hint
	}
	eff.Note = why
	if bi.warned[eff.loc.root] {
		return // one warning per variable and block
	}
	if bi.warned == nil {
		bi.warned = map[*types.Var]bool{}
	}
	bi.warned[eff.loc.root] = true
	s.warnf(pos, "replay may differ: %s is changed in %s (%s) and read at %s, but is not checkpointed (%s)", eff.Var, where, site, eff.ReadAt.Short(), why)
}

// extraFor returns the expression a skip block passes to flor.SkipStart
// to restore l, or why there is none.
func (s *state) extraFor(bi *blockInfo, l *loc) (expr, why string) {
	v := l.root
	if v.Pkg() != s.pkg.Types {
		return "", fmt.Sprintf("%s belongs to package %s", v.Name(), v.Pkg().Path())
	}
	at := bi.full.Pos()
	scope := s.pkg.Types.Scope().Innermost(at)
	if scope == nil {
		return "", "no scope"
	}
	if _, obj := scope.LookupParent(v.Name(), at); obj != v {
		return "", fmt.Sprintf("the name %s means something else at the loop", v.Name())
	}
	t, expr := v.Type(), "&"+v.Name()
	if len(l.steps) > 0 && l.steps[0].kind == stepDeref {
		p, ok := under(v.Type()).(*types.Pointer)
		if !ok {
			return "", fmt.Sprintf("%s is an interface value, which cannot be restored in place", v.Name())
		}
		t, expr = p.Elem(), v.Name()
	}
	if why := s.gobProblem(t, map[types.Type]bool{}); why != "" {
		return "", why
	}
	return expr, ""
}

// gobProblem says why encoding/gob cannot save and restore every part of
// a value of type t; "" when it can.
func (s *state) gobProblem(t types.Type, seen map[types.Type]bool) string {
	if seen[t] {
		return ""
	}
	seen[t] = true
	name := types.TypeString(t, types.RelativeTo(s.pkg.Types))
	if encodesItself(t) {
		return ""
	}
	switch u := t.Underlying().(type) {
	case *types.Basic:
		if u.Kind() == types.UnsafePointer || u.Info()&types.IsUntyped != 0 {
			return name + " cannot be encoded"
		}
	case *types.Pointer:
		return s.gobProblem(u.Elem(), seen)
	case *types.Slice:
		return s.gobProblem(u.Elem(), seen)
	case *types.Array:
		return s.gobProblem(u.Elem(), seen)
	case *types.Map:
		if p := s.gobProblem(u.Key(), seen); p != "" {
			return p
		}
		return s.gobProblem(u.Elem(), seen)
	case *types.Struct:
		if u.NumFields() == 0 {
			return name + " has no exported fields, which gob needs"
		}
		for f := range u.Fields() {
			if !f.Exported() {
				return fmt.Sprintf("%s has the unexported field %s, which gob does not save", name, f.Name())
			}
			switch under(f.Type()).(type) {
			case *types.Chan, *types.Signature:
				return fmt.Sprintf("%s's field %s is a %s, which gob does not save", name, f.Name(), types.TypeString(f.Type(), types.RelativeTo(s.pkg.Types)))
			}
			if p := s.gobProblem(f.Type(), seen); p != "" {
				return p
			}
		}
	case *types.Interface:
		return name + " is an interface, which gob cannot restore in place"
	case *types.Chan, *types.Signature:
		return name + " cannot be encoded by gob"
	case *types.TypeParam:
		return name + " is a type parameter"
	}
	return ""
}

// encodesItself reports whether gob saves and restores values of type t
// through methods of t (GobEncode and GobDecode, or MarshalBinary and
// UnmarshalBinary), so that gob's rules for fields do not apply to it.
func encodesItself(t types.Type) bool {
	ms := types.NewMethodSet(types.NewPointer(t))
	has := func(m string) bool { return ms.Lookup(nil, m) != nil }
	return has("MarshalBinary") && has("UnmarshalBinary") || has("GobEncode") && has("GobDecode")
}
