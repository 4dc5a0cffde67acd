package propagate

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"slices"
	"strings"

	"github.com/flordb/flor/rewrite/gumtree"
)

// anchor finds where the statement goes in the old version: after the
// nearest preceding statement of its block with a strong counterpart (see
// weak), preferring those in the old counterpart of its block, or, when the
// old version has them in another order, after the last of those
// counterparts; never before the definitions of what the statement reads
// (see afterDefs); with no such statement, first in the old counterpart of
// its block.
func (p *propagation) anchor(c *carry) (point, error) {
	holder := c.node.Parent
	list := stmtList(holder.AST)
	idx := slices.IndexFunc(list, func(s ast.Stmt) bool { return ast.Node(s) == c.node.AST })
	oh := p.m.Dst(holder)
	if oh != nil && !isHolder(oh.AST) {
		oh = nil
	}
	c.anchorWhy, c.relied = "", nil
	counterparts := func(strict bool) []*gumtree.Node {
		var out []*gumtree.Node
		for k := idx - 1; k >= 0; k-- {
			n := p.nv.tree.Node(list[k])
			o := p.stmtCounterpart(n)
			if o == nil || strict && (oh != nil && !p.ov.tree.Contains(oh, o) || p.weak(n, o)) {
				continue
			}
			out = append(out, o)
		}
		return out
	}
	cands := counterparts(true)
	if len(cands) == 0 && oh == nil {
		cands = counterparts(false)
	}
	var last *gumtree.Node
	if len(cands) > 0 {
		// After the last counterpart, in the old order, of the statements
		// before it, among those in the nearest one's block.
		last = cands[0]
		for _, o := range cands {
			if o.Parent == cands[0].Parent && o.Pos() > last.Pos() {
				last = o
			}
		}
		c.anchorWhy = "after " + p.brief(p.ov, last)
		c.relied = append(c.relied, p.evidence(p.m.Src(last), last))
	}
	parent := oh
	if last != nil {
		parent = last.Parent
	}
	if parent != nil {
		if d, why := p.afterDefs(c, list, idx, parent, last); d != nil {
			last, c.anchorWhy = d, why
			if n := p.m.Src(d); n != nil {
				c.relied = append(c.relied, p.evidence(n, d))
			}
		}
	}
	if last != nil {
		f := p.ov.file(last.Pos())
		return point{
			file:   f,
			offset: lineEnd(f.src, p.ov.offset(last.End())),
			indent: p.indentOf(p.ov, last),
			line:   p.ov.position(last.Pos()).Line,
		}, nil
	}
	if oh == nil {
		return point{}, fmt.Errorf("%s: %w: no statement before it in its block, nor the block at %s, has a counterpart in the old version",
			p.describe(c.orig), ErrNoContext, p.nv.position(holder.Pos()))
	}
	c.anchorWhy = "first in " + p.brief(p.ov, oh)
	c.relied = append(c.relied, p.evidence(holder, oh))
	f := p.ov.file(oh.Pos())
	var open token.Pos
	switch h := oh.AST.(type) {
	case *ast.BlockStmt:
		open = h.Lbrace + 1
	case *ast.CaseClause:
		open = h.Colon + 1
	case *ast.CommClause:
		open = h.Colon + 1
	}
	var indent string
	if l := stmtList(oh.AST); len(l) > 0 {
		indent = lineIndent(f.src, p.ov.offset(l[0].Pos()))
	} else {
		indent = lineIndent(f.src, p.ov.offset(oh.Pos())) + "\t"
	}
	return point{
		file:   f,
		offset: lineEnd(f.src, p.ov.offset(open)),
		indent: indent,
		line:   p.ov.position(oh.Pos()).Line,
	}, nil
}

// weak reports a mapping of statement n to o that is no evidence of place:
// a call statement (a print, an update) whose arguments are not the old
// call's, as when two fmt.Println calls about different things are
// matched.
func (p *propagation) weak(n, o *gumtree.Node) bool {
	nc, ok1 := callOf(n.AST)
	oc, ok2 := callOf(o.AST)
	if !ok1 || !ok2 {
		return false
	}
	if len(nc.Args) != len(oc.Args) {
		return true
	}
	same := 0
	for i, a := range nc.Args {
		an, ao := p.nv.tree.Node(a), p.ov.tree.Node(oc.Args[i])
		if an == nil || ao == nil || p.m.Dst(an) != ao {
			continue
		}
		// A leaf counts when it is the same (a renamed variable is mapped
		// by its uses elsewhere); two different literals do not.
		if an.Size == 1 && (an.Label != "BasicLit" || an.Value == ao.Value) || an.Size > 1 && p.m.Dice(an, ao) >= 0.5 {
			same++
		}
	}
	return 2*same < len(nc.Args)
}

func callOf(n ast.Node) (*ast.CallExpr, bool) {
	if es, ok := n.(*ast.ExprStmt); ok {
		c, ok := ast.Unparen(es.X).(*ast.CallExpr)
		return c, ok
	}
	return nil, false
}

// afterDefs returns the statement of the old block parent that the
// statement must follow because of what it reads, when that is later than
// the anchor chosen (nil: none), and why. When the new version has the
// statement right after the definition of a variable it reads, the answer
// is that definition's counterpart, wherever the anchor was; otherwise it
// is the last of the counterparts of the definitions of the variables it
// reads, when that is after the anchor.
func (p *propagation) afterDefs(c *carry, list []ast.Stmt, idx int, parent, anchor *gumtree.Node) (*gumtree.Node, string) {
	var prevDefs []types.Object
	if idx > 0 {
		prevDefs = definedBy(p.nv.info, list[idx-1])
	}
	var last *gumtree.Node
	lastWhy := ""
	for _, obj := range p.reads(c) {
		oo, _ := p.counterpartObj(c, obj)
		if oo == nil {
			continue
		}
		d := p.ov.declOf[oo.Pos()]
		if d == nil {
			continue
		}
		st := p.ov.tree.Node(d)
		for st != nil && st.Parent != parent {
			st = st.Parent
		}
		if st == nil || !isListStmt(st) {
			continue // declared outside the block: in scope all through it
		}
		why := fmt.Sprintf("after the definition of %s (%s), the counterpart of %s", oo.Name(), p.brief(p.ov, st), obj.Name())
		if slices.Contains(prevDefs, obj) {
			return st, why + ", which the new version has right before it"
		}
		if last == nil || st.Pos() > last.Pos() {
			last, lastWhy = st, why
		}
	}
	if last != nil && (anchor == nil || last.Pos() > anchor.Pos()) {
		return last, lastWhy
	}
	return nil, ""
}

// reads are the local variables of the new version the statement reads and
// does not declare itself.
func (p *propagation) reads(c *carry) []types.Object {
	var out []types.Object
	ast.Inspect(c.node.AST, func(n ast.Node) bool {
		id, ok := n.(*ast.Ident)
		if !ok {
			return true
		}
		v, ok := p.nv.info.Uses[id].(*types.Var)
		if !ok || v.IsField() || v.Pkg() != p.nv.pkg || v.Parent() == p.nv.pkg.Scope() ||
			c.node.Pos() <= v.Pos() && v.Pos() < c.node.End() || slices.Contains(out, types.Object(v)) {
			return true
		}
		out = append(out, v)
		return true
	})
	return out
}

// definedBy are the variables a statement declares at its top level.
func definedBy(info *types.Info, st ast.Stmt) []types.Object {
	var out []types.Object
	add := func(id *ast.Ident) {
		if o := info.Defs[id]; o != nil {
			out = append(out, o)
		}
	}
	switch st := st.(type) {
	case *ast.AssignStmt:
		for _, l := range st.Lhs {
			if id, ok := l.(*ast.Ident); ok {
				add(id)
			}
		}
	case *ast.DeclStmt:
		if g, ok := st.Decl.(*ast.GenDecl); ok {
			for _, sp := range g.Specs {
				if vs, ok := sp.(*ast.ValueSpec); ok {
					for _, id := range vs.Names {
						add(id)
					}
				}
			}
		}
	}
	return out
}

// evidence describes the mapping of new node n to old node o.
func (p *propagation) evidence(n, o *gumtree.Node) Evidence {
	e := Evidence{New: p.brief(p.nv, n), Old: p.brief(p.ov, o)}
	if n != nil && o != nil {
		e.Similarity = p.m.Dice(n, o)
	}
	return e
}

// brief is a node's position and first line, for -v reports.
func (p *propagation) brief(v *version, n *gumtree.Node) string {
	if n == nil {
		return "?"
	}
	if _, ok := n.AST.(*ast.BlockStmt); ok && n.Parent != nil && n.Parent.Parent != nil {
		n = n.Parent // the loop, if or function the block belongs to
	}
	f := v.file(n.Pos())
	text := string(f.src[v.offset(n.Pos()):v.offset(n.End())])
	if i := strings.IndexByte(text, '\n'); i >= 0 {
		text = strings.TrimRight(text[:i], " \t{") + " ..."
	}
	if len(text) > 60 {
		text = text[:57] + "..."
	}
	pos := v.position(n.Pos())
	return fmt.Sprintf("%s:%d %s", pos.Filename, pos.Line, text)
}
