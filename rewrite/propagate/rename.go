package propagate

import (
	"cmp"
	"fmt"
	"go/ast"
	"go/constant"
	"go/token"
	"go/types"
	"slices"
	"strings"

	"github.com/flordb/flor/rewrite/gumtree"
)

// A rename new → old is accepted on evidence, not on one mapping: the
// object's identifiers vote for old objects through the GumTree mapping,
// and the winner must also fit what the carried statement does with the
// object (the fields and methods it selects, and the type, when both
// versions know it). A vote whose winner does not fit falls to the next
// candidate; when none fits, the old objects of the same kind in reach
// (package level, or in the counterpart of the object's function) are
// searched by type, members and name similarity. When nothing fits, the
// statement is refused rather than written with a wrong name.

// vote is an old object that identifiers of a new object are mapped to.
type vote struct {
	obj   types.Object
	name  string
	count int
	decl  bool // the new declaration itself is mapped to it
	sim   float64
}

// Evidence is one GumTree mapping a carried statement relies on: a
// statement or block of the new version, its old counterpart, and their
// Dice similarity under the mapping (1: all of the subtree maps into it).
type Evidence struct {
	New, Old   string
	Similarity float64
}

func (e Evidence) String() string {
	return fmt.Sprintf("%s ↔ %s (similarity %.2f)", e.New, e.Old, e.Similarity)
}

// Rename is one name of a carried statement that was resolved in the old
// version, and the evidence for it (florc propagate -v).
type Rename struct {
	New, Old string
	// Votes is how many of the new object's identifiers are mapped to
	// the old one, of Uses.
	Votes, Uses int
	// By says how the old object was found: "mapping", or "search" when the
	// mapping's candidates did not fit.
	By string
	// Rejected lists candidates of the mapping that did not fit, and why.
	Rejected []string
}

func (r Rename) String() string {
	s := fmt.Sprintf("%s → %s (%s, %d/%d identifiers mapped)", r.New, r.Old, r.By, r.Votes, r.Uses)
	if len(r.Rejected) > 0 {
		s += "; rejected " + strings.Join(r.Rejected, ", ")
	}
	return s
}

// counterpart is the old name of an object of the new version, as used by
// the carried statement c: see the comment at the top of this file. It is
// "" when the old version has no sound counterpart; c.renameErr then says
// why when candidates were rejected.
func (p *propagation) counterpart(c *carry, obj types.Object) string {
	_, name := p.counterpartObj(c, obj)
	return name
}

// counterpartObj is counterpart with the old object, when known.
func (p *propagation) counterpartObj(c *carry, obj types.Object) (types.Object, string) {
	votes := p.votes(obj)
	if v, ok := obj.(*types.Var); ok && v.IsField() {
		// A field is checked through the statement's selectors on the
		// variable that holds it.
		if len(votes) > 0 {
			return votes[0].obj, votes[0].name
		}
		return nil, ""
	}
	need := p.members(c, obj)
	uses := len(p.nv.idents[obj])
	var rejected []string
	for _, v := range votes {
		if why := p.misfit(obj, v.obj, need); why != "" {
			rejected = append(rejected, v.name+" ("+why+")")
			continue
		}
		if v.count == 1 && v.obj != nil && p.typeDiffers(obj, v.obj) {
			// One mapping, to a value of another type: an old object of
			// the very type that fits as well is the better counterpart.
			if alt := p.search(obj, need, votes); alt != nil && !p.typeDiffers(obj, alt) {
				rejected = append(rejected, v.name+" (of type "+types.TypeString(v.obj.Type(), types.RelativeTo(p.ov.pkg))+", one mapping)")
				c.noteRename(Rename{New: obj.Name(), Old: alt.Name(), Uses: uses, By: "search", Rejected: rejected})
				return alt, alt.Name()
			}
		}
		c.noteRename(Rename{New: obj.Name(), Old: v.name, Votes: v.count, Uses: uses, By: "mapping", Rejected: rejected})
		return v.obj, v.name
	}
	if len(rejected) == 0 {
		if obj.Parent() == p.nv.pkg.Scope() {
			// A package-level name whose declaration and uses GumTree
			// could not map (moved to another file, regrouped).
			if alt := p.searchPackage(obj, need); alt != nil {
				c.noteRename(Rename{New: obj.Name(), Old: alt.Name(), Uses: uses, By: "package search"})
				return alt, alt.Name()
			}
		}
		return nil, "" // no mapping at all: nothing to search from
	}
	if alt := p.search(obj, need, votes); alt != nil {
		c.noteRename(Rename{New: obj.Name(), Old: alt.Name(), Uses: uses, By: "search", Rejected: rejected})
		return alt, alt.Name()
	}
	if len(rejected) > 0 && c.renameErr == nil {
		c.renameErr = fmt.Errorf("%w: %s maps to %s, and no other old %s fits", ErrNoCounterpart,
			obj.Name(), strings.Join(rejected, ", "), kindOf(obj))
	}
	return nil, ""
}

func (c *carry) noteRename(r Rename) {
	for _, x := range c.renames {
		if x.New == r.New {
			return
		}
	}
	c.renames = append(c.renames, r)
}

// votes are the old objects the identifiers of obj (declaration and uses,
// outside the statements carried) are mapped to, most votes first, ties to
// the declaration's counterpart, then to the earliest.
func (p *propagation) votes(obj types.Object) []vote {
	ids := p.nv.idents[obj]
	d := p.nv.declOf[obj.Pos()]
	if d != nil && !slices.Contains(ids, d) {
		ids = append([]*ast.Ident{d}, ids...)
	}
	var out []vote
	for _, id := range ids {
		if p.inCarried(id.Pos()) {
			continue
		}
		n := p.nv.tree.Node(id)
		if n == nil {
			continue
		}
		o := p.m.Dst(n)
		if o == nil || o.Label != "Ident" {
			continue
		}
		oid, _ := o.AST.(*ast.Ident)
		oo := p.ov.info.Defs[oid]
		if oo == nil {
			oo = p.ov.info.Uses[oid]
		}
		k := slices.IndexFunc(out, func(v vote) bool { return v.name == o.Value && (v.obj == oo || v.obj == nil || oo == nil) })
		if k < 0 {
			out = append(out, vote{obj: oo, name: o.Value})
			k = len(out) - 1
		}
		out[k].count++
		out[k].decl = out[k].decl || id == d
	}
	slices.SortStableFunc(out, func(a, b vote) int {
		if c := cmp.Compare(b.count, a.count); c != 0 {
			return c
		}
		if a.decl != b.decl {
			if a.decl {
				return -1
			}
			return 1
		}
		return 0
	})
	return out
}

// members are the names the statement selects on obj: x.F, x.M().
func (p *propagation) members(c *carry, obj types.Object) []string {
	var out []string
	ast.Inspect(c.node.AST, func(n ast.Node) bool {
		sel, ok := n.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		if x, ok := ast.Unparen(sel.X).(*ast.Ident); ok && p.nv.info.Uses[x] == obj && !slices.Contains(out, sel.Sel.Name) {
			out = append(out, sel.Sel.Name)
		}
		return true
	})
	return out
}

// misfit says why the old object old cannot stand for the new object obj
// in the statement, or "" when nothing says it cannot.
func (p *propagation) misfit(obj, old types.Object, need []string) string {
	if old == nil {
		return "" // nothing known against it
	}
	if kindOf(old) != kindOf(obj) {
		return "a " + kindOf(old)
	}
	t := old.Type()
	if known(t) {
		for _, m := range need {
			if !p.hasMember(obj, t, m) {
				return fmt.Sprintf("%s has no field or method %s", types.TypeString(t, types.RelativeTo(p.ov.pkg)), m)
			}
		}
	}
	if nt := obj.Type(); known(t) && known(nt) && len(need) == 0 {
		// Nothing selected: the value itself is used, so its type must be
		// the old type's counterpart, when they differ in kind at least.
		if basicKind(nt) != basicKind(t) {
			return "of type " + types.TypeString(t, types.RelativeTo(p.ov.pkg))
		}
	}
	return ""
}

// hasMember reports whether type t of the old version has the member the
// new version's name m stands for: m itself, or the old name of m's field
// or method.
func (p *propagation) hasMember(obj types.Object, t types.Type, m string) bool {
	if o, _, _ := types.LookupFieldOrMethod(t, true, p.ov.pkg, m); o != nil {
		return true
	}
	if nt := obj.Type(); known(nt) {
		if no, _, _ := types.LookupFieldOrMethod(nt, true, p.nv.pkg, m); no != nil && no.Pkg() == p.nv.pkg {
			for _, v := range p.votes(no) {
				if o, _, _ := types.LookupFieldOrMethod(t, true, p.ov.pkg, v.name); o != nil {
					return true
				}
			}
		}
	}
	return false
}

// search looks for the old object that best stands for obj when the
// mapping's candidates do not: same kind, in reach, fitting the members
// the statement needs, then the same type, then the most similar name.
// Without a named type in common or members to check it needs a similar
// name.
func (p *propagation) search(obj types.Object, need []string, tried []vote) types.Object {
	lo, hi := p.reach(obj)
	nt := obj.Type()
	ts := func(t types.Type, pkg *types.Package) string { return types.TypeString(t, types.RelativeTo(pkg)) }
	var best types.Object
	bestScore := 0.0
	for oo := range p.ov.idents {
		if oo.Pkg() != p.ov.pkg || kindOf(oo) != kindOf(obj) || slices.ContainsFunc(tried, func(v vote) bool { return v.obj == oo }) {
			continue
		}
		if v, ok := oo.(*types.Var); ok && v.IsField() {
			continue
		}
		if oo.Parent() != p.ov.pkg.Scope() && (int(oo.Pos()) < lo || int(oo.Pos()) >= hi) {
			continue
		}
		if p.misfit(obj, oo, need) != "" {
			continue
		}
		score := similarity(obj.Name(), oo.Name())
		// A shared basic type (two float64s) says little; a shared named
		// type or a set of members says more.
		sameType := known(nt) && known(oo.Type()) && ts(nt, p.nv.pkg) == ts(oo.Type(), p.ov.pkg)
		_, basic := nt.Underlying().(*types.Basic)
		switch {
		case sameType && !basic:
			score += 2
		case len(need) > 0 && known(oo.Type()):
			score += 1 // it has every member the statement needs
		case score < 0.5:
			continue // a name alone must be close
		}
		if best == nil || score > bestScore || score == bestScore && oo.Pos() < best.Pos() {
			best, bestScore = oo, score
		}
	}
	return best
}

// typeDiffers reports two objects whose types are both known and differ,
// compared by name within their versions.
func (p *propagation) typeDiffers(obj, old types.Object) bool {
	nt, ot := obj.Type(), old.Type()
	return known(nt) && known(ot) && types.TypeString(nt, types.RelativeTo(p.nv.pkg)) != types.TypeString(ot, types.RelativeTo(p.ov.pkg))
}

// reach is the range of positions of the old version where a local
// counterpart of obj may be declared: the old counterpart of obj's
// function. Package-level objects reach everywhere.
func (p *propagation) reach(obj types.Object) (lo, hi int) {
	var fn *gumtree.Node
	for _, f := range p.nv.files {
		for _, d := range f.ast.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Pos() <= obj.Pos() && obj.Pos() < fd.End() {
				fn = p.nv.tree.Node(fd)
			}
		}
	}
	if fn == nil {
		return 0, 0
	}
	o := p.m.Dst(fn)
	if o == nil {
		return 0, 0
	}
	return int(o.Pos()), int(o.End())
}

func kindOf(o types.Object) string {
	switch o.(type) {
	case *types.Const:
		return "constant"
	case *types.TypeName:
		return "type"
	case *types.Func:
		return "function"
	case *types.PkgName:
		return "package"
	case *types.Var:
		return "variable"
	}
	return "name"
}

// known reports a type that was resolved: not invalid, and built from
// nothing invalid (a type of an import that was not loaded).
func known(t types.Type) bool {
	return t != nil && !strings.Contains(types.TypeString(t, nil), "invalid type")
}

// basicKind sorts types coarsely: numbers, strings, booleans, and the rest
// by their underlying kind.
func basicKind(t types.Type) string {
	switch u := t.Underlying().(type) {
	case *types.Basic:
		switch {
		case u.Info()&types.IsNumeric != 0:
			return "number"
		case u.Info()&types.IsString != 0:
			return "string"
		case u.Info()&types.IsBoolean != 0:
			return "bool"
		}
		return u.Name()
	case *types.Pointer:
		return "pointer"
	case *types.Slice, *types.Array:
		return "list"
	case *types.Map:
		return "map"
	case *types.Struct:
		return "struct"
	case *types.Signature:
		return "func"
	case *types.Chan:
		return "chan"
	case *types.Interface:
		return "interface"
	}
	return "other"
}

// similarity of two names, 0 to 1: one minus the edit distance over the
// longer length, compared without case.
func similarity(a, b string) float64 {
	a, b = strings.ToLower(a), strings.ToLower(b)
	if a == b {
		return 1
	}
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	d := prev[len(rb)]
	return 1 - float64(d)/float64(max(len(ra), len(rb)))
}

// searchPackage looks for the old package-level object that a new one,
// unmapped, was renamed from: of the same kind, with the same constant
// value or the same type, that the new version does not have under its old
// name and that no other new object is mapped to; the most similar name
// wins.
func (p *propagation) searchPackage(obj types.Object, need []string) types.Object {
	if p.ov.pkg.Scope().Lookup(obj.Name()) != nil {
		return nil // the old version has the name: nothing was renamed
	}
	ts := func(t types.Type, pkg *types.Package) string { return types.TypeString(t, types.RelativeTo(pkg)) }
	var best types.Object
	bestScore := 0.0
	scope := p.ov.pkg.Scope()
	for _, name := range scope.Names() {
		oo := scope.Lookup(name)
		if kindOf(oo) != kindOf(obj) || p.nv.pkg.Scope().Lookup(name) != nil || p.misfit(obj, oo, need) != "" {
			continue // another kind, or still there under that name
		}
		if d := p.ov.declOf[oo.Pos()]; d != nil {
			if n := p.m.Src(p.ov.tree.Node(d)); n != nil {
				continue // the counterpart of something else
			}
		}
		score := similarity(obj.Name(), oo.Name())
		alike := false
		switch o := obj.(type) {
		case *types.Const:
			alike = constant.Compare(o.Val(), token.EQL, oo.(*types.Const).Val()) && ts(o.Type(), p.nv.pkg) == ts(oo.Type(), p.ov.pkg)
		case *types.Func, *types.Var:
			alike = known(o.Type()) && ts(o.Type(), p.nv.pkg) == ts(oo.Type(), p.ov.pkg)
		case *types.TypeName:
			alike = known(o.Type()) && ts(o.Type().Underlying(), p.nv.pkg) == ts(oo.Type().Underlying(), p.ov.pkg)
		}
		// Alike, a name that shares a part is enough (numLayers,
		// layers); otherwise only a close name.
		if alike && score < 0.3 || !alike && score < 0.8 {
			continue
		}
		if alike {
			score++
		}
		if best == nil || score > bestScore {
			best, bestScore = oo, score
		}
	}
	return best
}
