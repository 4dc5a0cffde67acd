package propagate

import (
	"bytes"
	"cmp"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"go/types"
	"slices"
	"strconv"
	"strings"

	"github.com/flordb/flor/rewrite"
)

// editedFile is an old file with statements inserted.
type editedFile struct {
	file   *srcFile
	src    []byte
	ast    *ast.File
	ranges map[*carry][2]int // the statement itself, in src
	chunks map[*carry][2]int // all its inserted text but the leading newline
	// importLen holds, for each import edit, its offset in src and the
	// length it adds.
	importLen [][2]int
	out       []byte // src, formatted
}

// apply inserts the planned statements, checks the result and drops the
// statements that do not resolve in the old code, until all that remain do.
func (p *propagation) apply() error {
	// Each round that does not pass fails a statement or adds "_ = x"
	// lines, which the next round accepts; the bound is a safeguard.
	for round := 0; ; round++ {
		edited, err := p.edit()
		if err != nil {
			return err
		}
		if !p.verify(edited) {
			if round > 2*len(p.carries)+2 {
				return fmt.Errorf("%w: the inserted statements do not settle", ErrOutput)
			}
			continue
		}
		for _, e := range edited {
			if e.ast == nil {
				continue
			}
			e.out = e.src
			if clean, err := format.Source(e.file.src); err == nil && bytes.Equal(clean, e.file.src) {
				out, err := format.Source(e.src)
				if err != nil {
					return fmt.Errorf("%s: %w: %w", p.ov.position(e.file.ast.Pos()).Filename, ErrOutput, err)
				}
				e.out = out
			}
			tf := p.ov.fset.File(e.ast.Pos())
			for c, r := range e.ranges {
				pos := tf.Position(tf.Pos(r[0]))
				line := pos.Line
				if len(e.out) != len(e.src) {
					first, _, _ := strings.Cut(string(e.src[r[0]:r[1]]), "\n")
					line = relocate(e.out, line, first)
				}
				c.old = token.Position{Filename: p.ov.position(e.file.ast.Pos()).Filename, Line: line, Column: pos.Column}
				c.span = span{file: e.file.name, first: line, last: line + strings.Count(string(e.src[r[0]:r[1]]), "\n")}
			}
		}
		p.edited = edited
		return nil
	}
}

// relocate finds the line of formatted text that holds what line held
// before formatting: the line, from the predicted one outwards, whose
// content is first once trimmed. gofmt rarely moves lines; it can when it
// reflows the code around an insertion.
func relocate(text []byte, predicted int, first string) int {
	ls := lines(text)
	want := strings.TrimSpace(first)
	for d := 0; d < len(ls); d++ {
		for _, l := range []int{predicted - d, predicted + d} {
			if l >= 1 && l <= len(ls) && strings.TrimSpace(ls[l-1]) == want {
				return l
			}
		}
	}
	return predicted
}

// active returns the statements still to insert, by old file.
func (p *propagation) active() map[*srcFile][]*carry {
	out := make(map[*srcFile][]*carry)
	for _, c := range p.carries {
		if c.status == Inserted && c.outer == nil {
			out[c.at.file] = append(out[c.at.file], c)
		}
	}
	return out
}

// edit applies the insertions and imports to each old file that gets some,
// and parses the result.
func (p *propagation) edit() ([]*editedFile, error) {
	var out []*editedFile
	byFile := p.active()
	for _, f := range p.ov.files {
		cs := byFile[f]
		if len(cs) == 0 {
			continue
		}
		p.sortedByNew(cs)
		var edits []rewrite.Edit
		var imports []importSpec
		for _, c := range cs {
			for _, imp := range c.imports {
				if !slices.Contains(imports, imp) {
					imports = append(imports, imp)
				}
			}
		}
		edits = append(edits, importEdits(p.ov, f, imports)...)
		owner := make(map[int]*carry) // edit index → its statement
		for _, c := range cs {
			owner[len(edits)] = c
			edits = append(edits, rewrite.Edit{Start: c.at.offset, End: c.at.offset, New: "\n" + c.text + c.tail})
		}
		// Where each edit lands: rewrite.Apply orders edits by (Start, End),
		// keeping the given order among equals.
		idx := make([]int, len(edits))
		for i := range idx {
			idx[i] = i
		}
		slices.SortStableFunc(idx, func(a, b int) int {
			if c := cmp.Compare(edits[a].Start, edits[b].Start); c != 0 {
				return c
			}
			return cmp.Compare(edits[a].End, edits[b].End)
		})
		e := &editedFile{file: f, ranges: make(map[*carry][2]int), chunks: make(map[*carry][2]int)}
		shift := 0
		for _, i := range idx {
			at := edits[i].Start + shift
			if c, ok := owner[i]; ok {
				e.ranges[c] = [2]int{at + 1 + c.stmtOff, at + len(edits[i].New) - len(c.tail)}
				e.chunks[c] = [2]int{at + 1, at + len(edits[i].New)}
			} else {
				e.importLen = append(e.importLen, [2]int{at, len(edits[i].New) - (edits[i].End - edits[i].Start)})
			}
			shift += len(edits[i].New) - (edits[i].End - edits[i].Start)
		}
		src, err := rewrite.Apply(f.src, edits)
		if err != nil {
			return nil, fmt.Errorf("%s: %w: %w", p.ov.position(f.ast.Pos()).Filename, ErrOutput, err)
		}
		e.src = src
		name := p.ov.position(f.ast.Pos()).Filename
		e.ast, err = parser.ParseFile(p.ov.fset, name, src, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			for _, c := range cs {
				p.fail(c, fmt.Errorf("%s: %w: %w", p.describe(c.orig), ErrOutput, err))
			}
			e.ast = nil
		}
		out = append(out, e)
	}
	return out, nil
}

// importEdits adds imports to an old file: into its first parenthesised
// import declaration, each after the last import of its kind (standard
// library or not) so that it joins that group, or as a new declaration.
func importEdits(v *version, f *srcFile, imports []importSpec) []rewrite.Edit {
	if len(imports) == 0 {
		return nil
	}
	slices.SortFunc(imports, func(a, b importSpec) int { return cmp.Compare(a.path, b.path) })
	specs := make([]string, len(imports))
	for i, imp := range imports {
		specs[i] = strconv.Quote(imp.path)
		if imp.name != "" {
			specs[i] = imp.name + " " + specs[i]
		}
	}
	for _, d := range f.ast.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.IMPORT || !g.Lparen.IsValid() {
			continue
		}
		var edits []rewrite.Edit
		for i, imp := range imports {
			var last *ast.ImportSpec
			for _, sp := range g.Specs {
				is := sp.(*ast.ImportSpec)
				p, _ := strconv.Unquote(is.Path.Value)
				if isStd(p) == isStd(imp.path) {
					last = is
				}
			}
			if last != nil {
				at := lineEnd(f.src, v.offset(last.End()))
				edits = append(edits, rewrite.Edit{Start: at, End: at, New: "\n\t" + specs[i]})
				continue
			}
			at := v.offset(g.Rparen)
			if isStd(imp.path) && len(g.Specs) > 0 {
				at = v.offset(g.Specs[0].Pos()) // before the first group
				edits = append(edits, rewrite.Edit{Start: at, End: at, New: specs[i] + "\n\n\t"})
				continue
			}
			edits = append(edits, rewrite.Edit{Start: at, End: at, New: "\n\t" + specs[i] + "\n"})
		}
		return edits
	}
	for _, d := range f.ast.Decls {
		if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.IMPORT {
			at := lineEnd(f.src, v.offset(g.End()))
			return []rewrite.Edit{{Start: at, End: at, New: "\n" + importDecl(specs)}}
		}
	}
	at := lineEnd(f.src, v.offset(f.ast.Name.End()))
	return []rewrite.Edit{{Start: at, End: at, New: "\n\n" + importDecl(specs)}}
}

// isStd reports an import path of the standard library: no dot in its
// first element.
func isStd(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

func importDecl(specs []string) string {
	if len(specs) == 1 {
		return "import " + specs[0]
	}
	return "import (\n\t" + strings.Join(specs, "\n\t") + "\n)"
}

// verify type-checks the old package with the edited files and fails every
// inserted statement with an identifier that does not resolve. It reports
// whether all statements passed.
func (p *propagation) verify(edited []*editedFile) bool {
	ok := true
	byFile := make(map[*srcFile]*editedFile)
	for _, e := range edited {
		if e.ast == nil {
			ok = false // its statements failed already
			continue
		}
		byFile[e.file] = e
	}
	files := make([]*ast.File, len(p.ov.files))
	for i, f := range p.ov.files {
		files[i] = f.ast
		if e := byFile[f]; e != nil {
			files[i] = e.ast
		}
	}
	_, info, errs := typecheck(p.ov.fset, files)
	used := make(map[types.Object]bool)
	for _, obj := range info.Uses {
		used[obj] = true
	}
	for _, e := range edited {
		if e.ast == nil {
			continue
		}
		tf := p.ov.fset.File(e.ast.Pos())
		for c, r := range e.ranges {
			var ids []*ast.Ident
			var bad []int
			stmts := stmtsIn(e.ast, tf, r[0], r[1])
			if redecl := redeclared(errs, tf, r); redecl != "" {
				p.fail(c, fmt.Errorf("%s: %w: after %s:%d, %s", p.describe(c.orig), ErrConflict,
					p.ov.position(c.at.file.ast.Pos()).Filename, c.at.line, redecl))
				ok = false
				continue
			}
			if id := capturedBy(info, tf, e.chunks[c], e.chunks); id != nil {
				p.fail(c, fmt.Errorf("%s: %w: it declares %s, which the old code at %s declares or uses too",
					p.describe(c.orig), ErrConflict, id.Name, oldPosition(p.ov, e, id.Pos())))
				ok = false
				continue
			}
			if unused := unusedDefs(stmts, info, used); len(unused) > 0 {
				// A variable the statement declares for code of the new
				// version that the old does not have: mark it used.
				for _, name := range unused {
					c.tail += "\n" + c.at.indent + "_ = " + name
				}
				ok = false
				continue
			}
			for _, st := range stmts {
				walkIdents(st, func(id *ast.Ident, needs bool) {
					_, declared := info.Defs[id]
					if needs && !declared && info.Uses[id] == nil {
						bad = append(bad, len(ids))
					}
					ids = append(ids, id)
				})
			}
			switch {
			case len(ids) != len(c.idents):
				p.fail(c, fmt.Errorf("%s: %w: the inserted text at %s does not read as the statement",
					p.describe(c.orig), ErrOutput, tf.Position(tf.Pos(r[0]))))
				ok = false
			case len(bad) > 0:
				var msgs []string
				for _, k := range bad {
					msgs = append(msgs, p.whyUnresolved(c, c.idents[k], ids[k].Name))
				}
				p.fail(c, fmt.Errorf("%s: %w: %s", p.describe(c.orig), ErrNoCounterpart, strings.Join(msgs, "; ")))
				ok = false
			}
		}
	}
	return ok
}

// capturedBy returns an identifier of the old code (outside every inserted
// chunk) that resolves to a variable declared in chunk: the inserted
// statement would change what old code refers to.
func capturedBy(info *types.Info, tf *token.File, chunk [2]int, all map[*carry][2]int) *ast.Ident {
	in := func(pos token.Pos, r [2]int) bool {
		if pos < token.Pos(tf.Base()) || int(pos) > tf.Base()+tf.Size() {
			return false
		}
		off := tf.Offset(pos)
		return off >= r[0] && off < r[1]
	}
	var found *ast.Ident
	for id, obj := range info.Uses {
		if !in(obj.Pos(), chunk) || in(id.Pos(), chunk) {
			continue
		}
		inserted := false
		for _, r := range all {
			inserted = inserted || in(id.Pos(), r)
		}
		if !inserted && (found == nil || id.Pos() < found.Pos()) {
			found = id
		}
	}
	return found
}

// oldPosition is the position in the old file of a position in its edited
// form, by the edits before it.
func oldPosition(v *version, e *editedFile, pos token.Pos) token.Position {
	tf := v.fset.File(e.ast.Pos())
	off := tf.Offset(pos)
	shift := 0
	for _, r := range e.chunks {
		if r[1] <= off {
			shift += r[1] - r[0] + 1 // the chunk and its leading newline
		}
	}
	for _, im := range e.importLen {
		if im[0] <= off {
			shift += im[1]
		}
	}
	old := v.fset.File(e.file.ast.Pos())
	return old.Position(old.Pos(off - shift))
}

// redeclared returns the message of a "no new variables" error within r:
// the statement declares only names the old code already has there.
func redeclared(errs []types.Error, tf *token.File, r [2]int) string {
	for _, e := range errs {
		if e.Fset.File(e.Pos) != tf {
			continue
		}
		if off := tf.Offset(e.Pos); off >= r[0] && off < r[1] && strings.Contains(e.Msg, "no new variables") {
			return e.Msg
		}
	}
	return ""
}

// unusedDefs returns the variables that the statements declare at their
// top level and nothing uses.
func unusedDefs(stmts []ast.Stmt, info *types.Info, used map[types.Object]bool) []string {
	var out []string
	check := func(id *ast.Ident) {
		if obj, ok := info.Defs[id].(*types.Var); ok && id.Name != "_" && !used[obj] {
			out = append(out, id.Name)
		}
	}
	for _, st := range stmts {
		switch st := st.(type) {
		case *ast.AssignStmt:
			if st.Tok == token.DEFINE {
				for _, l := range st.Lhs {
					if id, ok := l.(*ast.Ident); ok {
						check(id)
					}
				}
			}
		case *ast.DeclStmt:
			if g, ok := st.Decl.(*ast.GenDecl); ok && g.Tok == token.VAR {
				for _, sp := range g.Specs {
					for _, id := range sp.(*ast.ValueSpec).Names {
						check(id)
					}
				}
			}
		}
	}
	return out
}

func (p *propagation) whyUnresolved(c *carry, id *ast.Ident, oldName string) string {
	where := fmt.Sprintf("%s:%d", p.ov.position(c.at.file.ast.Pos()).Filename, c.at.line)
	obj := p.nv.info.Uses[id]
	decl := ""
	if obj != nil && obj.Pos().IsValid() {
		if _, isPkg := obj.(*types.PkgName); !isPkg {
			decl = fmt.Sprintf(" (declared at %s)", p.nv.position(obj.Pos()))
		}
	}
	if oldName != id.Name {
		return fmt.Sprintf("%s%s maps to %s, which is not defined after %s", id.Name, decl, oldName, where)
	}
	return fmt.Sprintf("%s%s is not defined after %s", id.Name, decl, where)
}

// stmtsIn returns the outermost statements of f within [start, end).
func stmtsIn(f *ast.File, tf *token.File, start, end int) []ast.Stmt {
	var out []ast.Stmt
	ast.Inspect(f, func(n ast.Node) bool {
		if n == nil {
			return false
		}
		s, e := tf.Offset(n.Pos()), tf.Offset(n.End())
		if e <= start || s >= end {
			return false
		}
		if st, ok := n.(ast.Stmt); ok && s >= start && e <= end {
			out = append(out, st)
			return false
		}
		return true
	})
	return out
}

// walkIdents calls fn on each identifier under n in source order, saying
// whether it must resolve to an object: not blank, not declared there, not
// a selected member (unknown when its package is not loaded) nor a
// composite literal's key; whether it is declared there is the caller's to
// tell.
func walkIdents(n ast.Node, fn func(id *ast.Ident, needs bool)) {
	var stack []ast.Node
	ast.Inspect(n, func(x ast.Node) bool {
		if x == nil {
			stack = stack[:len(stack)-1]
			return false
		}
		if id, ok := x.(*ast.Ident); ok {
			needs := id.Name != "_"
			if len(stack) > 0 {
				switch par := stack[len(stack)-1].(type) {
				case *ast.SelectorExpr:
					needs = needs && par.Sel != id
				case *ast.KeyValueExpr:
					if len(stack) > 1 {
						if _, lit := stack[len(stack)-2].(*ast.CompositeLit); lit && par.Key == id {
							needs = false
						}
					}
				}
			}
			fn(id, needs)
		}
		stack = append(stack, x)
		return true
	})
}

// result assembles the outcomes and the changed files.
func (p *propagation) result(oldSrc map[string][]byte) *Result {
	r := &Result{Files: make(map[string][]byte), old: oldSrc}
	for _, e := range p.edited {
		if e.ast != nil && len(e.ranges) > 0 {
			r.Files[e.file.name] = e.out
		}
	}
	for _, o := range p.outcomes {
		c := o.carry
		for c.outer != nil {
			c = c.outer
		}
		out := Outcome{Target: o.target, New: p.nv.position(o.carry.orig.Pos()), Status: c.status, Err: c.err}
		if c.status != Failed {
			out.Old = c.old
		}
		if c.status == Inserted {
			out.Anchor, out.Relied, out.Renames = c.anchorWhy, c.relied, c.renames
		}
		r.Outcomes = append(r.Outcomes, out)
		r.spans = append(r.spans, c.span)
	}
	return r
}
