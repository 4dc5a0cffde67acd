package propagate

import (
	"bytes"
	"cmp"
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/flordb/flor/rewrite"
	"github.com/flordb/flor/rewrite/gumtree"
)

// propagation is the work on one pair of versions.
type propagation struct {
	nv, ov  *version
	m       *gumtree.Mapping
	newLogs map[string][]logSite
	oldLogs map[string][]logSite

	carries  []*carry
	outcomes []outcomeRef

	// unresolved indexes the identifiers of the new version that resolve to
	// no object, by name ("." + name for selected members).
	unresolved map[string][]*ast.Ident

	edited []*editedFile
}

type outcomeRef struct {
	target Target
	carry  *carry
}

// carry is one statement of the new version to carry into the old.
type carry struct {
	orig  *gumtree.Node // the statement found for the target
	node  *gumtree.Node // the statement carried: orig, or a new statement around it
	outer *carry        // set when another carry's statement contains this one

	status Status
	err    error
	old    token.Position // Present: the old statement
	span   span           // Inserted: its lines in the output

	at      point
	text    string // renamed, indented, starting with its first line's indent
	stmtOff int    // offset in text of the statement itself (after a leading comment)
	tail    string // lines added after the statement: "_ = x" for unused variables
	imports []importSpec
	idents  []*ast.Ident // the statement's identifiers, in source order

	renames   []Rename // the renames its text relies on
	anchorWhy string   // why it goes where it goes, for reports
	relied    []Evidence
	renameErr error // a name with no sound counterpart
}

// point is where statements go in the old version.
type point struct {
	file   *srcFile
	offset int    // byte offset in the old file
	indent string // of the inserted lines
	line   int    // of the anchor statement or block, for messages
}

type importSpec struct {
	name, path string // name is empty when the import is not renamed
}

func newPropagation(nv, ov *version) *propagation {
	p := &propagation{nv: nv, ov: ov, m: gumtree.Match(nv.tree, ov.tree)}
	p.newLogs = logSites(nv)
	p.oldLogs = logSites(ov)
	p.unresolved = make(map[string][]*ast.Ident)
	for _, f := range nv.files {
		ast.Inspect(f.ast, p.indexUnresolved)
	}
	return p
}

// indexUnresolved adds the identifiers under n that resolve to nothing to
// p.unresolved.
func (p *propagation) indexUnresolved(n ast.Node) bool {
	if id, ok := n.(*ast.Ident); ok {
		_, used := p.nv.info.Uses[id]
		_, defd := p.nv.info.Defs[id]
		if !used && !defd {
			p.unresolved[id.Name] = append(p.unresolved[id.Name], id)
		}
	}
	if sel, ok := n.(*ast.SelectorExpr); ok {
		if _, ok := p.nv.info.Uses[sel.Sel]; !ok {
			p.unresolved["."+sel.Sel.Name] = append(p.unresolved["."+sel.Sel.Name], sel.Sel)
		}
		ast.Inspect(sel.X, p.indexUnresolved)
		return false
	}
	return true
}

func (p *propagation) fail(c *carry, err error) {
	c.status, c.err = Failed, err
}

// climbAll replaces each statement whose block is new code by the new
// statement around it, then merges statements that end up nested.
func (p *propagation) climbAll() {
	for _, c := range p.carries {
		if err := p.climb(c); err != nil {
			p.fail(c, err)
		}
	}
	for _, c := range p.carries {
		for _, d := range p.carries {
			if c != d && c.outer == nil && d.outer == nil && c.err == nil && d.err == nil &&
				p.nv.tree.Contains(d.node, c.node) {
				c.outer = d
			}
		}
	}
}

func (p *propagation) climb(c *carry) error {
	for {
		if p.hasContext(c.node) {
			return nil
		}
		holder := c.node.Parent
		var e *gumtree.Node
		var fn *ast.FuncDecl
		for x := holder; x != nil; x = x.Parent {
			if f, ok := x.AST.(*ast.FuncDecl); ok {
				fn = f
				break
			}
			if isListStmt(x) {
				e = x
				break
			}
		}
		switch {
		case e == nil && fn != nil && p.m.Dst(p.nv.tree.Node(fn)) == nil:
			return fmt.Errorf("%s: %w: function %s has no counterpart in the old version",
				p.describe(c.orig), ErrNoContext, fn.Name.Name)
		case e == nil:
			return fmt.Errorf("%s: %w: the block at %s has no counterpart in the old version",
				p.describe(c.orig), ErrNoContext, p.nv.position(holder.Pos()))
		case p.hasMapped(e):
			// The statement around is old code that GumTree could not
			// place: carrying it whole would duplicate it.
			return fmt.Errorf("%s: %w: the block at %s (in %s) has no counterpart in the old version",
				p.describe(c.orig), ErrNoContext, p.nv.position(holder.Pos()), p.describe(e))
		}
		c.node = e
	}
}

// hasContext reports whether a statement has a place in the old version: a
// preceding statement of its block, or its block, has a counterpart.
func (p *propagation) hasContext(n *gumtree.Node) bool {
	holder := n.Parent
	for _, s := range stmtList(holder.AST) {
		if ast.Node(s) == n.AST {
			break
		}
		if p.stmtCounterpart(p.nv.tree.Node(s)) != nil {
			return true
		}
	}
	oh := p.m.Dst(holder)
	return oh != nil && isHolder(oh.AST)
}

// hasMapped reports whether any node of the subtree of n has a counterpart.
func (p *propagation) hasMapped(n *gumtree.Node) bool {
	for id := n.ID - n.Size + 1; id <= n.ID; id++ {
		if p.m.Dst(p.nv.tree.Nodes[id]) != nil {
			return true
		}
	}
	return false
}

// inCarried reports whether pos lies in a statement being carried.
func (p *propagation) inCarried(pos token.Pos) bool {
	for _, c := range p.carries {
		if c.node.Pos() <= pos && pos < c.node.End() {
			return true
		}
	}
	return false
}

// plan decides, for each statement, whether it is present, and where the
// others go and what their text is.
func (p *propagation) plan() {
	var rest []*carry
	for _, c := range p.carries {
		if c.err == nil && c.outer == nil && !p.present(c) {
			rest = append(rest, c)
		}
	}
	for _, c := range rest {
		p.place(c)
	}
}

// carried returns the carry whose statement is n, if any.
func (p *propagation) carried(n *gumtree.Node) *carry {
	for _, c := range p.carries {
		if c.node == n {
			return c
		}
	}
	return nil
}

// stmtCounterpart returns the old statement mapped to the new statement n,
// as a place to insert after: nil when n is being carried itself (its mapping,
// if any, is to some other old statement) unless it is present.
func (p *propagation) stmtCounterpart(n *gumtree.Node) *gumtree.Node {
	if c := p.carried(n); c != nil && c.status != Present {
		return nil
	}
	if o := p.m.Dst(n); isListStmt(o) {
		return o
	}
	return nil
}

// present reports whether the old version has the statement already, and
// fails it when the old version logs its name with other code.
func (p *propagation) present(c *carry) bool {
	var names []string
	for name, sites := range p.newLogs {
		for _, s := range sites {
			if p.nv.tree.Contains(c.node, s.stmt) && !slices.Contains(names, name) {
				names = append(names, name)
			}
		}
	}
	slices.Sort(names)

	// Present where GumTree put it?
	if o := p.m.Dst(c.node); o != nil {
		if len(names) == 0 {
			c.status, c.old = Present, p.ov.position(o.Pos())
			return true
		}
		for _, name := range names {
			for _, s := range p.oldLogs[name] {
				if p.ov.tree.Contains(o, s.stmt) {
					c.status, c.old = Present, p.ov.position(s.stmt.Pos())
					return true
				}
			}
		}
	}
	// Present elsewhere with the same text once renamed?
	var conflict *logSite
	for _, name := range names {
		for i, s := range p.oldLogs[name] {
			f := p.ov.file(s.stmt.Pos())
			text, _, _ := p.render(c, f)
			oldText := string(f.src[p.ov.offset(s.stmt.Pos()):p.ov.offset(s.stmt.End())])
			if squeeze(text) == squeeze(oldText) {
				c.status, c.old = Present, p.ov.position(s.stmt.Pos())
				return true
			}
			if conflict == nil {
				conflict = &p.oldLogs[name][i]
			}
		}
	}
	if conflict != nil {
		p.fail(c, fmt.Errorf("%s: %w: %q is logged at %s with other code", p.describe(c.orig), ErrConflict,
			conflict.name, p.ov.position(conflict.stmt.Pos())))
		return true
	}
	return false
}

// place finds where the statement goes and renders it for that place.
func (p *propagation) place(c *carry) {
	at, err := p.anchor(c)
	if err != nil {
		p.fail(c, err)
		return
	}
	c.at = at
	text, stmtOff, imports := p.render(c, at.file)
	if c.renameErr != nil {
		p.fail(c, fmt.Errorf("%s: %w", p.describe(c.orig), c.renameErr))
		return
	}
	c.text = at.indent + reindent(text, p.indentOf(p.nv, c.node), at.indent, p.rawLines(c, stmtOff))
	// The statement starts its line, after the lines of a leading comment.
	c.stmtOff = len(at.indent)
	for range strings.Count(text[:stmtOff], "\n") {
		c.stmtOff += strings.IndexByte(c.text[c.stmtOff:], '\n') + 1
	}
	if stmtOff > 0 {
		c.stmtOff += len(at.indent)
	}
	c.imports = imports
	c.status = Inserted
}

// squeeze drops white space, to compare statements whatever their layout.
func squeeze(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}

// isHolder reports a block or clause: a node that holds statements.
func isHolder(n ast.Node) bool {
	switch n.(type) {
	case *ast.BlockStmt, *ast.CaseClause, *ast.CommClause:
		return true
	}
	return false
}

// lineEnd moves an offset just after a node over the rest of its line when
// that holds only spaces and comments, so that a trailing comment stays
// with its statement.
func lineEnd(src []byte, off int) int {
	i := off
	for i < len(src) {
		switch {
		case src[i] == ' ' || src[i] == '\t' || src[i] == '\r':
			i++
		case strings.HasPrefix(string(src[i:min(i+2, len(src))]), "//"):
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case strings.HasPrefix(string(src[i:min(i+2, len(src))]), "/*"):
			j := strings.Index(string(src[i+2:]), "*/")
			if j < 0 || strings.Contains(string(src[i+2:i+2+j]), "\n") {
				return off
			}
			i += j + 4
		case src[i] == '\n':
			if i > 0 && src[i-1] == '\r' {
				return i - 1
			}
			return i
		default:
			return off
		}
	}
	return i
}

// lineIndent is the white space that starts the line holding off.
func lineIndent(src []byte, off int) string {
	start := off
	for start > 0 && src[start-1] != '\n' {
		start--
	}
	end := start
	for end < len(src) && (src[end] == ' ' || src[end] == '\t') {
		end++
	}
	return string(src[start:end])
}

func (p *propagation) indentOf(v *version, n *gumtree.Node) string {
	f := v.file(n.Pos())
	return lineIndent(f.src, v.offset(n.Pos()))
}

// span is the source of a carried statement: with the comment lines right
// above it and a comment that ends its last line.
func (p *propagation) span(c *carry) (start, stmtStart, end int) {
	f := p.nv.file(c.node.Pos())
	stmtStart, end = p.nv.offset(c.node.Pos()), p.nv.offset(c.node.End())
	start = stmtStart
	line := p.nv.position(c.node.Pos()).Line
	endLine := p.nv.position(c.node.End()).Line
	for _, g := range f.ast.Comments {
		gs, ge := p.nv.position(g.Pos()), p.nv.position(g.End())
		if ge.Line == line-1 && strings.TrimSpace(string(f.src[gs.Offset-gs.Column+1:gs.Offset])) == "" {
			start = gs.Offset
		}
		if gs.Line == endLine && ge.Line == endLine && gs.Offset >= end {
			end = ge.Offset
		}
	}
	return start, stmtStart, end
}

// rawLines are the lines of the statement's text (0 = its first, which
// starts comment lines before the statement) that begin inside a raw string
// literal: re-indenting them would change the string.
func (p *propagation) rawLines(c *carry, comment int) map[int]bool {
	tf := p.nv.fset.File(c.node.Pos())
	first := tf.Line(tf.Pos(p.nv.offset(c.node.Pos()) - comment))
	out := make(map[int]bool)
	ast.Inspect(c.node.AST, func(n ast.Node) bool {
		if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING && strings.HasPrefix(lit.Value, "`") {
			a, b := p.nv.position(lit.Pos()).Line, p.nv.position(lit.End()).Line
			for l := a + 1; l <= b; l++ {
				out[l-first] = true
			}
		}
		return true
	})
	return out
}

// reindent moves the lines after the first from one indentation to another.
func reindent(text, from, to string, raw map[int]bool) string {
	ls := strings.SplitAfter(text, "\n")
	for i := 1; i < len(ls); i++ {
		if raw[i] || !strings.HasPrefix(ls[i], from) || strings.TrimSpace(ls[i]) == "" {
			continue
		}
		ls[i] = to + ls[i][len(from):]
	}
	return strings.Join(ls, "")
}

// render returns the statement's text with its identifiers renamed for the
// old file f, the offset of the statement after any leading comment, and
// the imports f lacks.
func (p *propagation) render(c *carry, f *srcFile) (string, int, []importSpec) {
	nf := p.nv.file(c.node.Pos())
	start, stmtStart, end := p.span(c)
	if first, _, _ := strings.Cut(string(nf.src[start:stmtStart]), "\n"); start < stmtStart && bytes.Contains(f.src, []byte(strings.TrimSpace(first))) {
		// The comment above is old code's: it stays with the statement
		// it was written for.
		start = stmtStart
	}
	var edits []rewrite.Edit
	var imports []importSpec
	c.idents = c.idents[:0]
	c.renames, c.renameErr = nil, nil
	ast.Inspect(c.node.AST, func(n ast.Node) bool {
		id, ok := n.(*ast.Ident)
		if !ok {
			return true
		}
		c.idents = append(c.idents, id)
		name, imp := p.oldName(c, id, f)
		if imp != nil && !slices.Contains(imports, *imp) {
			imports = append(imports, *imp)
		}
		if name != id.Name {
			off := p.nv.offset(id.Pos()) - start
			edits = append(edits, rewrite.Edit{Start: off, End: off + len(id.Name), New: name})
		}
		return true
	})
	out, err := rewrite.Apply(nf.src[start:end], edits)
	if err != nil {
		panic(err) // identifiers never overlap
	}
	return string(out), stmtStart - start, imports
}

// oldName is the name an identifier of the carried statement takes in the
// old file f, and the import f must gain for it, if any.
func (p *propagation) oldName(c *carry, id *ast.Ident, f *srcFile) (string, *importSpec) {
	info := p.nv.info
	if id.Name == "_" {
		return id.Name, nil
	}
	if _, ok := info.Defs[id]; ok {
		return id.Name, nil // declared by the statement itself
	}
	obj := info.Uses[id]
	if par := p.nv.tree.Node(id).Parent; par != nil {
		switch pa := par.AST.(type) {
		case *ast.SelectorExpr:
			if pa.Sel != id {
				break
			}
			if x, ok := pa.X.(*ast.Ident); ok {
				if _, ok := info.Uses[x].(*types.PkgName); ok {
					return id.Name, nil // a member of an imported package
				}
			}
			if obj != nil && obj.Pkg() == p.nv.pkg {
				if n := p.counterpart(c, obj); n != "" {
					return n, nil
				}
				return id.Name, nil
			}
			if n := p.mostOften(p.unresolved["."+id.Name], ""); n != "" {
				return n, nil
			}
			return id.Name, nil
		case *ast.KeyValueExpr:
			if _, lit := par.Parent.AST.(*ast.CompositeLit); lit && pa.Key == id {
				if obj != nil && obj.Pkg() == p.nv.pkg {
					if n := p.counterpart(c, obj); n != "" {
						return n, nil
					}
				}
				return id.Name, nil
			}
		}
	}
	switch o := obj.(type) {
	case nil:
		if n := p.mostOften(p.unresolved[id.Name], ""); n != "" {
			return n, nil
		}
		return id.Name, nil
	case *types.PkgName:
		return p.importName(o, id, f)
	}
	if obj.Parent() == types.Universe || obj.Pkg() != p.nv.pkg ||
		c.node.Pos() <= obj.Pos() && obj.Pos() < c.node.End() {
		return id.Name, nil
	}
	if n := p.counterpart(c, obj); n != "" {
		return n, nil
	}
	// No counterpart found: keep the name; the check after insertion tells
	// whether the old code has it in scope.
	return id.Name, nil
}

// mostOften is the old name the given identifiers (outside the statements
// being carried) are mapped to most often; ties go to prefer, then to the
// earliest.
func (p *propagation) mostOften(ids []*ast.Ident, prefer string) string {
	count := make(map[string]int)
	var order []string
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
		if count[o.Value] == 0 {
			order = append(order, o.Value)
		}
		count[o.Value]++
	}
	best := ""
	for _, n := range order {
		if best == "" || count[n] > count[best] || count[n] == count[best] && n == prefer {
			best = n
		}
	}
	return best
}

// importName is the name the old file f knows an imported package by, and
// the import to add when f does not import it.
func (p *propagation) importName(pn *types.PkgName, id *ast.Ident, f *srcFile) (string, *importSpec) {
	ipath := pn.Imported().Path()
	// Was the import renamed in the new version?
	explicit := false
	if nf := p.nv.file(pn.Pos()); nf != nil {
		for _, s := range nf.ast.Imports {
			if v, _ := strconv.Unquote(s.Path.Value); v == ipath && s.Name != nil && s.Name.Name == id.Name {
				explicit = true
			}
		}
	}
	real := id.Name
	if explicit {
		real = guessName(ipath)
	}
	for _, s := range f.ast.Imports {
		if v, _ := strconv.Unquote(s.Path.Value); v != ipath {
			continue
		}
		if s.Name == nil {
			return real, nil
		}
		if s.Name.Name != "_" && s.Name.Name != "." {
			return s.Name.Name, nil
		}
	}
	if explicit {
		return id.Name, &importSpec{name: id.Name, path: ipath}
	}
	return id.Name, &importSpec{path: ipath}
}

// sortedByNew orders carries as their statements appear in the new version.
func (p *propagation) sortedByNew(cs []*carry) {
	slices.SortStableFunc(cs, func(a, b *carry) int {
		pa, pb := p.nv.position(a.node.Pos()), p.nv.position(b.node.Pos())
		if c := cmp.Compare(pa.Filename, pb.Filename); c != 0 {
			return c
		}
		return cmp.Compare(pa.Offset, pb.Offset)
	})
}
