package analyzer

import (
	"cmp"
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"slices"
)

// ctx is where the walk is: the loops around it, the call path from main
// and the skip block it is in.
type ctx struct {
	loops     []*loopFrame
	via       []Pos
	calls     []*ast.CallExpr
	bodies    []*ast.BlockStmt // function bodies along the call path
	inLit     int              // func literals walked in place
	block     *blockInfo
	unreached bool
}

type loopFrame struct {
	l    *Loop
	main bool
}

func (c *ctx) body() *ast.BlockStmt {
	if len(c.bodies) == 0 {
		return nil
	}
	return c.bodies[len(c.bodies)-1]
}

func (c *ctx) phase(s *state) Phase {
	if c.unreached {
		return PhaseUnreached
	}
	return s.phase
}

// florLoops returns the names of the flor loops around c, outermost first.
func (c *ctx) florLoops() []string {
	names := []string{}
	for _, f := range c.loops {
		if f.l.Kind == FlorLoop || f.l.Iteration {
			names = append(names, f.l.Name)
		}
	}
	return names
}

func (c *ctx) nearestFlor() *loopFrame {
	for i := len(c.loops) - 1; i >= 0; i-- {
		if c.loops[i].l.Kind == FlorLoop {
			return c.loops[i]
		}
	}
	return nil
}

// walkProgram walks the program in execution order: package initializers
// and init functions, then main following static calls, then the
// functions main does not reach.
func (s *state) walkProgram(mainDecl *ast.FuncDecl) {
	s.phase = PhasePrefix
	for _, f := range s.files {
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.GenDecl:
				if d.Tok == token.VAR {
					s.walkNode(d, &ctx{})
				}
			case *ast.FuncDecl:
				if d.Recv == nil && d.Name.Name == "init" && d.Body != nil {
					s.reached[d.Body] = true
					s.walkNode(d.Body, &ctx{bodies: []*ast.BlockStmt{d.Body}})
				}
			}
		}
	}
	s.reached[mainDecl.Body] = true
	s.walkNode(mainDecl.Body, &ctx{bodies: []*ast.BlockStmt{mainDecl.Body}})
	for _, f := range s.files {
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Body != nil && !s.reached[fd.Body] {
				s.reached[fd.Body] = true
				s.walkNode(fd.Body, &ctx{bodies: []*ast.BlockStmt{fd.Body}, unreached: true})
			}
		}
	}
	for _, f := range s.files {
		ast.Inspect(f, func(n ast.Node) bool {
			if lit, ok := n.(*ast.FuncLit); ok && s.boundLit[lit] && !s.reached[lit.Body] {
				s.reached[lit.Body] = true
				s.walkNode(lit.Body, &ctx{bodies: []*ast.BlockStmt{lit.Body}, unreached: true})
			}
			return true
		})
	}
}

func (s *state) walkNode(n ast.Node, c *ctx) {
	if n == nil {
		return
	}
	ast.Inspect(n, func(m ast.Node) bool {
		switch m := m.(type) {
		case *ast.FuncLit:
			if s.boundLit[m] {
				return false // walked where it is called
			}
			c2 := *c
			c2.inLit++
			s.walkNode(m.Body, &c2)
			return false
		case *ast.RangeStmt:
			s.walkLoop(m, m.Body, c)
			return false
		case *ast.ForStmt:
			s.walkLoop(m, m.Body, c)
			return false
		case *ast.CallExpr:
			// Arguments run before the call.
			s.walkNode(m.Fun, c)
			for _, arg := range m.Args {
				s.walkNode(arg, c)
			}
			s.walkCall(m, c)
			return false
		}
		return true
	})
}

func (s *state) walkLoop(st ast.Stmt, body *ast.BlockStmt, c *ctx) {
	var florCall *ast.CallExpr
	inside := []ast.Node{body}
	switch l := st.(type) {
	case *ast.RangeStmt:
		florCall = s.rangeLoopCall(l)
		s.walkNode(l.X, c) // evaluated once, before the loop
	case *ast.ForStmt:
		s.walkNode(l.Init, c)
		if l.Cond != nil {
			inside = append(inside, l.Cond)
		}
		if l.Post != nil {
			inside = append(inside, l.Post)
		}
	}
	full := s.labeled(st)
	counted := florCall != nil || slices.ContainsFunc(inside, s.containsFlor)
	florDepth := 0
	for _, f := range c.loops {
		if f.l.Kind == FlorLoop {
			florDepth++
		}
	}
	parent := ""
	if f := c.nearestFlor(); f != nil {
		parent = f.l.Name
	}

	name, isMain := "", false
	if florCall != nil {
		name = s.loopName(florCall)
		if florDepth == 0 && !c.unreached {
			switch {
			case s.mainLoop == nil:
				isMain = true
				if len(c.loops) > 0 {
					s.errorf(st.Pos(), ErrUnsupported, "the main loop %q is inside the loop at %s: flor needs the main loop to run once", name, c.loops[len(c.loops)-1].l.Pos.Short())
				}
			default:
				s.warnf(st.Pos(), "flor.Loop %q runs after the main loop %q (%s): it is recorded as code after the main loop, and replay never skips it", name, s.mainLoop.Name, s.mainLoop.Pos.Short())
			}
		}
	}

	// A block is a loop nested in the main loop and in no other block.
	var blk *blockInfo
	if top := len(c.loops) - 1; !c.unreached && c.block == nil && s.phase == PhaseMain && top >= 0 {
		switch {
		case c.loops[top].main && c.inLit == 0 && c.body() == s.mainBody:
			blk = s.newBlock(st, florCall, name, c, true)
		case florCall != nil && c.nearestFlor().main:
			blk = s.newBlock(st, florCall, name, c, false)
		}
	}

	var entry *Loop
	if counted {
		kind := PlainLoop
		if florCall != nil {
			kind = FlorLoop
		}
		entry = &Loop{
			Kind: kind, Name: name, Pos: s.pos(st.Pos()), Depth: len(c.loops) + 1,
			FlorDepth: florDepth, Parent: parent, Phase: c.phase(s), Main: isMain, Via: c.via,
		}
		if florCall != nil {
			entry.FlorDepth++
		}
		if florCall == nil {
			if it := s.iterationName(body); it != "" {
				entry.Name, entry.Iteration = it, true
			} else if blk != nil {
				entry.Name = blk.b.ID
			}
		}
		s.a.Loops = append(s.a.Loops, entry)
	}
	if isMain {
		s.mainLoop, s.a.MainLoop = entry, entry
		s.mainStmt, s.mainBody = full, c.body()
		s.mainCalls, s.mainBodies = c.calls, c.bodies
		s.phase = PhaseMain
		entry.Phase = PhaseMain
		s.a.Prefix, s.a.Suffix = []Span{}, []Span{}
		for i, b := range c.bodies {
			var at ast.Node = full
			if i < len(c.calls) {
				at = s.enclosingStmt(c.calls[i])
				if at == nil {
					continue
				}
			}
			s.a.Prefix = append(s.a.Prefix, span(s.fset, b.Lbrace+1, at.Pos()))
			s.a.Suffix = append([]Span{span(s.fset, at.End(), b.Rbrace)}, s.a.Suffix...)
			s.suffix = append(s.suffix, posRange{at.End(), b.Rbrace})
		}
	}

	c2 := *c
	if entry != nil {
		c2.loops = append(slices.Clip(c.loops), &loopFrame{l: entry, main: isMain})
	}
	if blk != nil {
		c2.block = blk
	}
	if f, ok := st.(*ast.ForStmt); ok {
		s.walkNode(f.Cond, &c2)
		s.walkNode(f.Post, &c2)
	}
	s.walkNode(body, &c2)
	if isMain {
		s.phase = PhaseSuffix
	}
}

// iterationName returns the name of the flor.Iteration a statement of a
// loop's body opens, or "".
func (s *state) iterationName(body *ast.BlockStmt) string {
	name := ""
	for _, st := range body.List {
		ast.Inspect(st, func(n ast.Node) bool {
			if _, ok := n.(*ast.FuncLit); ok || name != "" {
				return false
			}
			if call, ok := n.(*ast.CallExpr); ok && florFunc(s.info, call) == "Iteration" && len(call.Args) > 0 {
				name, _ = constString(s.info, call.Args[0])
			}
			return name == ""
		})
		if name != "" {
			break
		}
	}
	return name
}

// loopName returns a flor.Loop's name, reporting one that is not constant.
func (s *state) loopName(call *ast.CallExpr) string {
	if len(call.Args) == 0 {
		return ""
	}
	name, ok := constString(s.info, call.Args[0])
	if !ok {
		s.errorf(call.Args[0].Pos(), ErrNameNotConstant, "flor.Loop name %s is not a constant string: replay finds loops by name", s.text(call.Args[0]))
		return s.text(call.Args[0])
	}
	return name
}

func (s *state) walkCall(call *ast.CallExpr, c *ctx) {
	fn := florFunc(s.info, call)
	switch fn {
	case "Log", "Arg":
		if len(call.Args) < 1 {
			return
		}
		name, ok := constString(s.info, call.Args[0])
		if !ok {
			s.errorf(call.Args[0].Pos(), ErrNameNotConstant, "flor.%s name %s is not a constant string: did you give flor.%s a key?", fn, s.text(call.Args[0]), fn)
		}
		kind := KindLog
		if fn == "Arg" {
			kind = KindArg
		}
		var st ast.Node = s.enclosingStmt(call)
		if st == nil {
			st = s.enclosingDecl(call)
		}
		ls := &LogStmt{
			Kind: kind, Name: name, Pos: s.pos(call.Pos()), Stmt: span(s.fset, st.Pos(), st.End()),
			Depth: len(c.loops), Loops: c.florLoops(), Phase: c.phase(s), Via: c.via,
		}
		if c.block != nil {
			ls.Block = c.block.b.ID
		}
		s.a.Logs = append(s.a.Logs, ls)
		s.logCalls = append(s.logCalls, logCall{ls, call})
	case "Checkpoint":
		if len(call.Args) != 2 || c.unreached {
			return
		}
		for _, r := range s.a.Checkpoints {
			if r.Pos == s.pos(call.Pos()) {
				return
			}
		}
		name, ok := constString(s.info, call.Args[0])
		if !ok {
			name = s.text(call.Args[0])
		}
		s.a.Checkpoints = append(s.a.Checkpoints, &Registration{
			Name: name, Pos: s.pos(call.Pos()), Object: s.text(call.Args[1]), Phase: c.phase(s),
			loc: s.regLoc(call.Args[1]), covered: s.adapterCovers(call.Args[1]),
		})
	case "Loop":
		if !s.ranged[call] {
			s.errorf(call.Pos(), ErrUnsupported, "flor.Loop must be ranged over: for x := range %s { ... }", s.text(call))
		}
	case "Iteration":
		if len(call.Args) > 0 {
			if _, ok := constString(s.info, call.Args[0]); !ok {
				s.errorf(call.Args[0].Pos(), ErrNameNotConstant, "flor.Iteration name %s is not a constant string: replay finds contexts by name", s.text(call.Args[0]))
			}
		}
	case "":
		if c.unreached {
			return
		}
		cal := s.callee(call)
		if cal == nil || slices.Contains(c.bodies, cal.body) || !s.funcHasFlor(cal.body) {
			return
		}
		s.reached[cal.body] = true
		c2 := *c
		c2.via = append(slices.Clip(c.via), s.pos(call.Pos()))
		c2.calls = append(slices.Clip(c.calls), call)
		c2.bodies = append(slices.Clip(c.bodies), cal.body)
		c2.inLit = 0
		s.walkNode(cal.body, &c2)
	}
}

// newBlock makes the skip block for a loop nested in the main loop.
// instrumentable: the loop is in the main loop's own body, where florc
// can wrap it; otherwise it is a flor.Loop reached through a call, which
// the runtime skips by name.
func (s *state) newBlock(st ast.Stmt, florCall *ast.CallExpr, name string, c *ctx, instrumentable bool) *blockInfo {
	full := s.labeled(st)
	b := &Block{Kind: PlainLoop, Pos: s.pos(st.Pos()), Stmt: span(s.fset, full.Pos(), full.End()), Effects: []*Effect{}, Extras: []string{}}
	if florCall != nil {
		b.Kind = FlorLoop
		b.ID = name
	}
	if f := s.fileOf(st.Pos()); f != nil {
		b.Qualifier, _ = florQualifier(f)
	}
	b.Reason = s.jumpsOut(st, full, c.body())
	if b.Reason == "" && instrumentable && !s.florNameAt(b.Qualifier, full.Pos()) {
		b.Reason = fmt.Sprintf("the name %s does not refer to the flor package at the loop, so florc cannot call flor.SkipStart there", cmp.Or(b.Qualifier, "SkipStart"))
	}
	b.Skippable = b.Reason == ""
	if instrumentable && b.Skippable {
		s.skippable++
		if florCall == nil {
			b.ID = fmt.Sprintf("loop#%d", s.skippable)
		}
	}
	if !instrumentable {
		b.Via = c.via
	}
	bi := &blockInfo{b: b, stmt: st, full: full, body: c.body(), calls: c.calls, bodies: c.bodies, instrumentable: instrumentable}
	if instrumentable && b.ID != "" {
		if call := s.existingSkip(full, b.ID); call != nil {
			b.Instrumented = true
			b.StartCall = span(s.fset, call.Pos(), call.End())
		}
	}
	s.a.Blocks = append(s.a.Blocks, b)
	s.blocks = append(s.blocks, bi)
	return bi
}

// florNameAt reports whether qualifier (the flor import name, "" for a
// dot import) refers to the flor package at pos.
func (s *state) florNameAt(qualifier string, pos token.Pos) bool {
	scope := s.pkg.Types.Scope().Innermost(pos)
	if scope == nil {
		return false
	}
	if qualifier == "" {
		_, obj := scope.LookupParent("SkipStart", pos)
		return obj != nil && obj.Pkg() != nil && obj.Pkg().Path() == FlorPath
	}
	_, obj := scope.LookupParent(qualifier, pos)
	pn, ok := obj.(*types.PkgName)
	return ok && pn.Imported().Path() == FlorPath
}

// jumpsOut says why a loop may not be skipped: it returns, jumps out of
// itself, defers a call, or is the target of a goto from outside.
func (s *state) jumpsOut(st, full ast.Stmt, fnBody *ast.BlockStmt) string {
	reason := ""
	inside := func(p token.Pos) bool { return full.Pos() <= p && p < full.End() }
	ast.Inspect(st, func(n ast.Node) bool {
		if reason != "" {
			return false
		}
		switch n := n.(type) {
		case *ast.FuncLit:
			return false
		case *ast.ReturnStmt:
			reason = fmt.Sprintf("it returns at %s", s.pos(n.Pos()).Short())
		case *ast.DeferStmt:
			reason = fmt.Sprintf("it defers a call at %s until the function returns", s.pos(n.Pos()).Short())
		case *ast.BranchStmt:
			if n.Label != nil {
				if obj := s.info.Uses[n.Label]; obj != nil && !inside(obj.Pos()) {
					reason = fmt.Sprintf("%s %s at %s jumps out of it", n.Tok, n.Label.Name, s.pos(n.Pos()).Short())
				}
			}
		}
		return true
	})
	if lab, ok := full.(*ast.LabeledStmt); ok && reason == "" && fnBody != nil {
		obj := s.info.Defs[lab.Label]
		ast.Inspect(fnBody, func(n ast.Node) bool {
			if br, ok := n.(*ast.BranchStmt); ok && br.Tok == token.GOTO && br.Label != nil &&
				s.info.Uses[br.Label] == obj && !inside(br.Pos()) && reason == "" {
				reason = fmt.Sprintf("goto %s at %s jumps to it", br.Label.Name, s.pos(br.Pos()).Short())
			}
			return reason == ""
		})
	}
	return reason
}

// existingSkip returns the flor.SkipStart call of a loop that florc has
// already wrapped in a skip block with the given id.
func (s *state) existingSkip(full ast.Stmt, id string) *ast.CallExpr {
	blk, ok := s.parent[full].(*ast.BlockStmt)
	if !ok || len(blk.List) != 1 {
		return nil
	}
	ifs, ok := s.parent[blk].(*ast.IfStmt)
	if !ok || ifs.Body != blk || ifs.Init != nil || ifs.Else != nil {
		return nil
	}
	call, ok := ast.Unparen(ifs.Cond).(*ast.CallExpr)
	if !ok || florFunc(s.info, call) != "SkipStart" || len(call.Args) == 0 {
		return nil
	}
	if got, ok := constString(s.info, call.Args[0]); !ok || got != id {
		return nil
	}
	if next := s.nextStmt(ifs); next == nil || !s.isSkipEnd(next, id) {
		return nil
	}
	return call
}

// nextStmt returns the statement after st in its block or clause.
func (s *state) nextStmt(st ast.Stmt) ast.Stmt {
	var list []ast.Stmt
	switch p := s.parent[st].(type) {
	case *ast.BlockStmt:
		list = p.List
	case *ast.CaseClause:
		list = p.Body
	case *ast.CommClause:
		list = p.Body
	}
	for i, x := range list {
		if x == st && i+1 < len(list) {
			return list[i+1]
		}
	}
	return nil
}

func (s *state) isSkipEnd(st ast.Stmt, id string) bool {
	es, ok := st.(*ast.ExprStmt)
	if !ok {
		return false
	}
	call, ok := ast.Unparen(es.X).(*ast.CallExpr)
	if !ok || florFunc(s.info, call) != "SkipEnd" || len(call.Args) != 1 {
		return false
	}
	got, ok := constString(s.info, call.Args[0])
	return ok && got == id
}
