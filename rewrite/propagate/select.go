package propagate

import (
	"fmt"
	"go/ast"
	"go/constant"
	"go/token"
	"go/types"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/flordb/flor/analyzer"
	"github.com/flordb/flor/rewrite/gumtree"
)

// logSite is a flor.Log call with a constant name, and the innermost
// statement of a block around it.
type logSite struct {
	name string
	call *ast.CallExpr
	stmt *gumtree.Node
}

// logSites finds the flor.Log calls of a version, by name, in source order.
func logSites(v *version) map[string][]logSite {
	out := make(map[string][]logSite)
	for _, f := range v.files {
		ast.Inspect(f.ast, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			name, ok := florLogName(v, call)
			if !ok {
				return true
			}
			if st := listStmt(v.tree, call); st != nil {
				out[name] = append(out[name], logSite{name: name, call: call, stmt: st})
			}
			return true
		})
	}
	return out
}

// florLogName returns the name a flor.Log call logs, when it is a constant.
func florLogName(v *version, call *ast.CallExpr) (string, bool) {
	fun := call.Fun
	switch f := fun.(type) {
	case *ast.IndexExpr: // flor.Log[T](...)
		fun = f.X
	case *ast.IndexListExpr:
		fun = f.X
	}
	sel, ok := fun.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != "Log" || len(call.Args) == 0 {
		return "", false
	}
	x, ok := sel.X.(*ast.Ident)
	if !ok {
		return "", false
	}
	pn, ok := v.info.Uses[x].(*types.PkgName)
	if !ok || pn.Imported().Path() != analyzer.FlorPath {
		return "", false
	}
	switch arg := ast.Unparen(call.Args[0]).(type) {
	case *ast.BasicLit:
		if arg.Kind == token.STRING {
			if s, err := strconv.Unquote(arg.Value); err == nil {
				return s, true
			}
		}
	case *ast.Ident: // a named constant
		if c, ok := v.info.Uses[arg].(*types.Const); ok && c.Val().Kind() == constant.String {
			return constant.StringVal(c.Val()), true
		}
	}
	return "", false
}

// stmtList returns the statements of a block, case or select clause.
func stmtList(n ast.Node) []ast.Stmt {
	switch n := n.(type) {
	case *ast.BlockStmt:
		return n.List
	case *ast.CaseClause:
		return n.Body
	case *ast.CommClause:
		return n.Body
	}
	return nil
}

// inList reports whether s is one of the statements of the block holder.
func inList(holder, s ast.Node) bool {
	for _, x := range stmtList(holder) {
		if ast.Node(x) == s {
			return true
		}
	}
	return false
}

// isListStmt reports whether a tree node is a statement of a block.
func isListStmt(n *gumtree.Node) bool {
	if n == nil || n.Parent == nil {
		return false
	}
	_, ok := n.AST.(ast.Stmt)
	return ok && inList(n.Parent.AST, n.AST)
}

// listStmt returns the innermost statement of a block that contains n.
func listStmt(t *gumtree.Tree, n ast.Node) *gumtree.Node {
	for x := t.Node(n); x != nil; x = x.Parent {
		if isListStmt(x) {
			return x
		}
	}
	return nil
}

// selectTargets finds the statements of each target, one carry per
// statement, outcomes in target order.
func (p *propagation) selectTargets(targets []Target) error {
	byStmt := make(map[*gumtree.Node]*carry)
	for _, t := range targets {
		var stmts []*gumtree.Node
		switch {
		case t.Name != "":
			for _, s := range p.newLogs[t.Name] {
				if !slices.Contains(stmts, s.stmt) {
					stmts = append(stmts, s.stmt)
				}
			}
			if len(stmts) == 0 {
				return fmt.Errorf("%q: %w: no flor.Log(%q, ...) call", t.Name, ErrNoStatement, t.Name)
			}
		default:
			st, err := p.stmtAt(t)
			if err != nil {
				return err
			}
			stmts = append(stmts, st)
		}
		for _, st := range stmts {
			c, ok := byStmt[st]
			if !ok {
				c = &carry{orig: st, node: st}
				byStmt[st] = c
				p.carries = append(p.carries, c)
			}
			p.outcomes = append(p.outcomes, outcomeRef{target: t, carry: c})
		}
	}
	p.climbAll()
	return nil
}

// stmtAt finds the innermost statement of a block spanning a target's line.
func (p *propagation) stmtAt(t Target) (*gumtree.Node, error) {
	var file *srcFile
	for _, f := range p.nv.files {
		if f.name == t.File || path.Base(f.name) == path.Base(t.File) && file == nil {
			file = f
		}
	}
	if file == nil {
		return nil, fmt.Errorf("%w: %s: the new version has no file %s", ErrNoStatement, t, t.File)
	}
	if t.Line < 1 || t.Line > file.tok.LineCount() {
		return nil, fmt.Errorf("%w: %s: %s has %d lines", ErrNoStatement, t, file.name, file.tok.LineCount())
	}
	var best *gumtree.Node
	ast.Inspect(file.ast, func(n ast.Node) bool {
		if n == nil {
			return false
		}
		start, end := p.nv.position(n.Pos()).Line, p.nv.position(n.End()).Line
		if t.Line < start || t.Line > end {
			return false
		}
		if tn := p.nv.tree.Node(n); tn != nil && isListStmt(tn) {
			best = tn
		}
		return true
	})
	if best == nil {
		return nil, fmt.Errorf("%w: %s: no statement of a block at line %d of %s", ErrNoStatement, t, t.Line, p.nv.position(file.ast.Pos()).Filename)
	}
	return best, nil
}

// describe names a statement of the new version in messages: its position
// and its first line.
func (p *propagation) describe(n *gumtree.Node) string {
	f := p.nv.file(n.Pos())
	text := string(f.src[p.nv.offset(n.Pos()):p.nv.offset(n.End())])
	if i := strings.IndexByte(text, '\n'); i >= 0 {
		text = strings.TrimRight(text[:i], " \t{") + " ..."
	}
	if len(text) > 72 {
		text = text[:69] + "..."
	}
	return fmt.Sprintf("%s: %s", p.nv.position(n.Pos()), text)
}
