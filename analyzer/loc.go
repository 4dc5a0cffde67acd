package analyzer

import (
	"go/ast"
	"go/token"
	"go/types"
	"strings"
)

// A loc is an abstract memory location: a variable and a path through it.
// Two locs with the same root are the same memory when their paths
// agree; a registration covers every loc its own loc is a prefix of.
type loc struct {
	root  *types.Var
	steps []step
}

type stepKind uint8

const (
	stepField stepKind = iota
	stepDeref          // through a pointer (or the value an interface holds)
	stepIndex          // an element of an array, slice or map
)

type step struct {
	kind stepKind
	name string // field name
	ref  bool   // stepIndex: through a slice or map, so shared with copies
}

const maxSteps = 8

func (l *loc) add(st ...step) *loc {
	if l == nil {
		return nil
	}
	steps := append(append([]step(nil), l.steps...), st...)
	if len(steps) > maxSteps {
		steps = steps[:maxSteps]
	}
	return &loc{root: l.root, steps: steps}
}

// visible reports whether a write to l through a copy of its root is seen
// by the root's owner: the path goes through a pointer, slice or map.
func (l *loc) visible() bool {
	for _, st := range l.steps {
		if st.kind == stepDeref || st.kind == stepIndex && st.ref {
			return true
		}
	}
	return false
}

// covers reports whether l is a prefix of m.
func (l *loc) covers(m *loc) bool {
	if l == nil || m == nil || l.root != m.root || len(l.steps) > len(m.steps) {
		return false
	}
	for i, st := range l.steps {
		o := m.steps[i]
		if st.kind != o.kind || st.name != o.name {
			return false
		}
	}
	return true
}

// String shows l as Go would write it: total, model.W, *p, counts[_].
func (l *loc) String() string {
	if l == nil || l.root == nil {
		return "?"
	}
	var b strings.Builder
	b.WriteString(l.root.Name())
	derefs := 0
	for i, st := range l.steps {
		switch st.kind {
		case stepDeref:
			if i+1 < len(l.steps) && l.steps[i+1].kind != stepDeref {
				continue // x.f and x[i] dereference implicitly
			}
			derefs++
		case stepField:
			b.WriteString("." + st.name)
		case stepIndex:
			b.WriteString("[_]")
		}
	}
	return strings.Repeat("*", derefs) + b.String()
}

func under(t types.Type) types.Type {
	if t == nil {
		return nil
	}
	return t.Underlying()
}

// refStep returns the step from a value of type t to what it refers to:
// deref for pointers and interfaces, index for slices and maps.
func refStep(t types.Type) (step, bool) {
	switch under(t).(type) {
	case *types.Pointer, *types.Interface:
		return step{kind: stepDeref}, true
	case *types.Slice, *types.Map:
		return step{kind: stepIndex, ref: true}, true
	}
	return step{}, false
}

// exprLoc returns the location an expression denotes, or nil when it is
// not a location rooted in a variable (a call result, a literal).
func (s *state) exprLoc(e ast.Expr) *loc {
	switch e := ast.Unparen(e).(type) {
	case *ast.Ident:
		if v, ok := s.info.Uses[e].(*types.Var); ok && !v.IsField() {
			return &loc{root: v}
		}
		if v, ok := s.info.Defs[e].(*types.Var); ok && v != nil && !v.IsField() {
			return &loc{root: v}
		}
	case *ast.SelectorExpr:
		sel, ok := s.info.Selections[e]
		if !ok {
			if v, ok := s.info.Uses[e.Sel].(*types.Var); ok { // pkg.Var
				return &loc{root: v}
			}
			return nil
		}
		if sel.Kind() != types.FieldVal {
			return nil
		}
		l := s.exprLoc(e.X)
		t := s.info.TypeOf(e.X)
		for _, idx := range sel.Index() {
			if p, ok := under(t).(*types.Pointer); ok {
				l = l.add(step{kind: stepDeref})
				t = p.Elem()
			}
			st, ok := under(t).(*types.Struct)
			if !ok || idx >= st.NumFields() {
				return nil
			}
			f := st.Field(idx)
			l = l.add(step{kind: stepField, name: f.Name()})
			t = f.Type()
		}
		return l
	case *ast.IndexExpr:
		t := s.info.TypeOf(e.X)
		switch u := under(t).(type) {
		case *types.Pointer:
			if _, ok := under(u.Elem()).(*types.Array); ok {
				return s.exprLoc(e.X).add(step{kind: stepDeref}, step{kind: stepIndex})
			}
		case *types.Array:
			return s.exprLoc(e.X).add(step{kind: stepIndex})
		case *types.Slice, *types.Map:
			return s.exprLoc(e.X).add(step{kind: stepIndex, ref: true})
		}
	case *ast.StarExpr:
		return s.exprLoc(e.X).add(step{kind: stepDeref})
	case *ast.SliceExpr:
		if p, ok := under(s.info.TypeOf(e.X)).(*types.Pointer); ok {
			if _, ok := under(p.Elem()).(*types.Array); ok {
				return s.exprLoc(e.X).add(step{kind: stepDeref})
			}
		}
		return s.exprLoc(e.X)
	case *ast.TypeAssertExpr:
		return s.exprLoc(e.X)
	}
	return nil
}

// referent returns what the value of e refers to: the pointee of a
// pointer, the elements of a slice or map; the operand of &x.
func (s *state) referent(e ast.Expr) *loc {
	e = ast.Unparen(e)
	if u, ok := e.(*ast.UnaryExpr); ok && u.Op == token.AND {
		return s.canon(s.exprLoc(u.X))
	}
	st, ok := refStep(s.info.TypeOf(e))
	if !ok {
		return nil
	}
	return s.canon(s.exprLoc(e).add(st))
}

// wraps reports calls whose result holds nothing but the referent of one
// argument: rand.New(src) draws only from src.
func (s *state) wraps(call *ast.CallExpr) ast.Expr {
	fn, ok := s.info.Uses[calleeIdent(call.Fun)].(*types.Func)
	if !ok || fn.Pkg() == nil || len(call.Args) != 1 {
		return nil
	}
	switch fn.Pkg().Path() + "." + fn.Name() {
	case "math/rand.New", "math/rand/v2.New":
		return call.Args[0]
	}
	return nil
}

func calleeIdent(e ast.Expr) *ast.Ident {
	switch e := ast.Unparen(e).(type) {
	case *ast.Ident:
		return e
	case *ast.SelectorExpr:
		return e.Sel
	case *ast.IndexExpr:
		return calleeIdent(e.X)
	case *ast.IndexListExpr:
		return calleeIdent(e.X)
	}
	return nil
}

// canon follows provable aliases: a local variable set once to &x, to
// another reference (p := q, w := m.W, s := x[a:b]), or ranging over a
// collection refers to what that expression refers to.
func (s *state) canon(l *loc) *loc {
	for range 16 {
		if l == nil || l.root == nil || len(l.steps) == 0 || isPackageLevel(l.root) {
			return l
		}
		first := l.steps[0]
		if first.kind != stepDeref && !(first.kind == stepIndex && first.ref) {
			return l
		}
		vi := s.vars[l.root]
		if vi == nil || vi.sets != 1 {
			return l
		}
		var next *loc
		switch {
		case vi.rangeOf != nil:
			switch under(s.info.TypeOf(vi.rangeOf)).(type) {
			case *types.Slice, *types.Array, *types.Map:
				next = s.exprLoc(vi.rangeOf).add(step{kind: stepIndex, ref: true})
				next = next.add(l.steps...)
			}
		case vi.def != nil:
			d := ast.Unparen(vi.def)
			if u, ok := d.(*ast.UnaryExpr); ok && u.Op == token.AND {
				if first.kind == stepDeref {
					next = s.exprLoc(u.X).add(l.steps[1:]...)
				}
			} else if call, ok := d.(*ast.CallExpr); ok {
				if arg := s.wraps(call); arg != nil && first.kind == stepDeref {
					next = s.referent(arg).add(l.steps[1:]...)
				}
			} else if _, ok := refStep(s.info.TypeOf(d)); ok {
				next = s.exprLoc(d).add(l.steps...)
			}
		}
		if next == nil || next.root == nil {
			return l
		}
		l = next
	}
	return l
}

// regLoc returns what flor.Checkpoint(name, e) saves and restores.
func (s *state) regLoc(e ast.Expr) *loc {
	return s.referent(e)
}
