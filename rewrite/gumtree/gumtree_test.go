package gumtree

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"strings"
	"testing"
)

func parse(t testing.TB, src string) (*token.FileSet, *ast.File, *Tree) {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "x.go", src, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	return fset, f, NewTree(f)
}

// checkInvariants verifies what every mapping must satisfy: one-to-one,
// both directions agree, same labels.
func checkInvariants(t *testing.T, m *Mapping) {
	t.Helper()
	n := 0
	for _, a := range m.SrcTree.Nodes {
		b := m.Dst(a)
		if b == nil {
			continue
		}
		n++
		if m.Src(b) != a {
			t.Errorf("%v → %v but %v ← %v", a, b, m.Src(b), b)
		}
		if a.Label != b.Label {
			t.Errorf("%v mapped to a node of another label %v", a, b)
		}
	}
	if n != m.Len() {
		t.Errorf("Len() = %d, counted %d pairs", m.Len(), n)
	}
}

// stmtOf returns the statement of the tree whose source text is s.
func stmtOf(t *testing.T, fset *token.FileSet, f *ast.File, tr *Tree, src, s string) *Node {
	t.Helper()
	var found *Node
	ast.Inspect(f, func(n ast.Node) bool {
		if st, ok := n.(ast.Stmt); ok && found == nil {
			off, end := fset.Position(st.Pos()).Offset, fset.Position(st.End()).Offset
			if src[off:end] == s {
				found = tr.Node(st)
			}
		}
		return found == nil
	})
	if found == nil {
		t.Fatalf("no statement %q", s)
	}
	return found
}

const train = `package main

import "fmt"

func step(w []float64, x float64) float64 {
	loss := 0.0
	for i := range w {
		w[i] -= 0.1 * x
		loss += w[i] * w[i]
	}
	return loss
}

func main() {
	w := make([]float64, 4)
	total := 0.0
	for epoch := 0; epoch < 3; epoch++ {
		for s := 0; s < 10; s++ {
			total += step(w, float64(s))
		}
		fmt.Println(epoch, total)
	}
}
`

func TestIdentical(t *testing.T) {
	_, _, a := parse(t, train)
	_, _, b := parse(t, train)
	m := Match(a, b)
	checkInvariants(t, m)
	if m.Len() != len(a.Nodes) {
		t.Fatalf("mapped %d of %d nodes", m.Len(), len(a.Nodes))
	}
	for _, n := range a.Nodes {
		if got := m.Dst(n); got.ID != n.ID {
			t.Errorf("%v mapped to %v, want the node of the same place", n, got)
		}
	}
}

func TestMovedSubtree(t *testing.T) {
	// step moves below main: both functions are matched whole.
	i := strings.Index(train, "func step")
	j := strings.Index(train, "func main")
	moved := train[:i] + train[j:] + "\n" + train[i:j]
	_, fa, a := parse(t, train)
	_, _, b := parse(t, moved)
	m := Match(a, b)
	checkInvariants(t, m)
	if m.Len() != len(a.Nodes) {
		t.Errorf("mapped %d of %d nodes", m.Len(), len(a.Nodes))
	}
	for _, d := range fa.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok {
			continue
		}
		got := m.Dst(a.Node(fd))
		if got == nil {
			t.Fatalf("%s not mapped", fd.Name.Name)
		}
		if name := got.AST.(*ast.FuncDecl).Name.Name; name != fd.Name.Name {
			t.Errorf("func %s mapped to func %s", fd.Name.Name, name)
		}
	}
}

func TestRenamedIdentifiers(t *testing.T) {
	renamed := strings.NewReplacer("total", "sum", "w ", "weights ", "w[", "weights[", "(w,", "(weights,").Replace(train)
	_, _, a := parse(t, train)
	_, _, b := parse(t, renamed)
	m := Match(a, b)
	checkInvariants(t, m)
	want := map[string]string{"total": "sum", "w": "weights", "epoch": "epoch", "step": "step", "loss": "loss"}
	for _, n := range a.Nodes {
		if n.Label != "Ident" {
			continue
		}
		to, ok := want[n.Value]
		if !ok {
			continue
		}
		got := m.Dst(n)
		if got == nil {
			t.Errorf("%v at %d not mapped", n, n.Pos())
			continue
		}
		if got.Value != to {
			t.Errorf("%v mapped to %v, want %s", n, got, to)
		}
	}
}

func TestInsertedAndDeletedStatement(t *testing.T) {
	const ins = "\t\tfmt.Println(\"norm\", w[0]*w[0])\n"
	at := strings.Index(train, "\t\tfmt.Println(epoch")
	inserted := train[:at] + ins + train[at:]
	fn, fa, a := parse(t, inserted)
	_, _, b := parse(t, train)
	st := stmtOf(t, fn, fa, a, inserted, strings.TrimSpace(ins))

	for _, dir := range []string{"inserted", "deleted"} {
		var m *Mapping
		var mine *Tree
		if dir == "inserted" {
			m, mine = Match(a, b), a
		} else {
			m, mine = Match(b, a), a
		}
		checkInvariants(t, m)
		for _, n := range mine.Nodes {
			var partner *Node
			if dir == "inserted" {
				partner = m.Dst(n)
			} else {
				partner = m.Src(n)
			}
			in := mine.Contains(st, n)
			if in && partner != nil {
				t.Errorf("%s: %v of the new statement mapped to %v", dir, n, partner)
			}
			if !in && partner == nil {
				t.Errorf("%s: %v outside the new statement not mapped", dir, n)
			}
		}
	}
}

func TestAmbiguousSubtreesFollowTheirParents(t *testing.T) {
	// The same statement sits in two loops; after the loops are swapped,
	// each copy must follow its own loop, not its position.
	src := `package p

func f(xs, ys []int) (t int) {
	for _, x := range xs {
		println(x)
		t += 1
	}
	for _, y := range ys {
		println(y, y)
		t += 1
	}
	return
}
`
	swapped := `package p

func f(xs, ys []int) (t int) {
	for _, y := range ys {
		println(y, y)
		t += 1
	}
	for _, x := range xs {
		println(x)
		t += 1
	}
	return
}
`
	fa, a1, a := parse(t, src)
	fb, b1, b := parse(t, swapped)
	m := Match(a, b)
	checkInvariants(t, m)
	first := stmtOf(t, fa, a1, a, src, "for _, x := range xs {\n\t\tprintln(x)\n\t\tt += 1\n\t}")
	want := stmtOf(t, fb, b1, b, swapped, "for _, x := range xs {\n\t\tprintln(x)\n\t\tt += 1\n\t}")
	for k := range first.Size {
		x := a.Nodes[first.ID-k]
		if got := m.Dst(x); got == nil || !b.Contains(want, got) {
			t.Errorf("%v mapped to %v, outside its loop", x, got)
		}
	}
}

func TestTopDownLeavesNeedRecovery(t *testing.T) {
	// Two trees that share only leaves: the top-down phase (min height 2)
	// matches nothing; only the root's recovery maps them.
	_, _, a := parse(t, "package p\nvar a = b + c\n")
	_, _, b := parse(t, "package p\nvar a = b * c\n")
	m := &matcher{Mapping: newMapping(a, b), o: DefaultOptions}
	m.topDown()
	for _, n := range a.Nodes {
		if p := m.Dst(n); p != nil && n.Height < 2 {
			t.Errorf("top-down mapped leaf %v to %v", n, p)
		}
	}
	full := Match(a, b)
	checkInvariants(t, full)
	if full.Len() != len(a.Nodes) {
		t.Errorf("with recovery: mapped %d of %d nodes", full.Len(), len(a.Nodes))
	}
}

func TestDiceThreshold(t *testing.T) {
	// One function keeps two of its six statements: too little in common to
	// match the bodies bottom-up without recovery from the file.
	src := "package p\nfunc f() {\n\ta()\n\tb()\n\tc()\n\td()\n\te()\n\tg()\n}\n"
	dst := "package p\nfunc h() {\n\ta()\n\tb()\n\tx(1, 2)\n\ty(3, 4)\n\tz(5, 6)\n\tw(7, 8)\n}\n"
	_, fa, a := parse(t, src)
	_, fb, b := parse(t, dst)
	o := DefaultOptions
	o.MaxSize = 0 // no recovery: bottom-up alone
	o.LinearRecovery = false
	m := MatchWith(a, b, o)
	checkInvariants(t, m)
	bodyA := a.Node(fa.Decls[0].(*ast.FuncDecl).Body)
	bodyB := b.Node(fb.Decls[0].(*ast.FuncDecl).Body)
	if d := m.Dice(bodyA, bodyB); d > 0.5 {
		t.Fatalf("dice %v, the test needs it under 0.5", d)
	}
	if got := m.Dst(bodyA); got != nil {
		t.Errorf("body mapped to %v with dice %v", got, m.Dice(bodyA, bodyB))
	}
	// With one more statement in common, the bodies match.
	dst2 := strings.Replace(dst, "x(1, 2)", "c()", 1)
	dst2 = strings.Replace(dst2, "y(3, 4)", "d()", 1)
	_, fc, c := parse(t, dst2)
	m2 := MatchWith(a, c, o)
	bodyC := c.Node(fc.Decls[0].(*ast.FuncDecl).Body)
	if got := m2.Dst(bodyA); got != bodyC {
		t.Errorf("body mapped to %v, want %v (dice %v)", got, bodyC, m2.Dice(bodyA, bodyC))
	}
}

// synth builds a tree from a compact notation for tests: "f(d(a c(b)) e)".
func synth(s string) *Tree {
	b := &builder{t: &Tree{byAST: map[ast.Node]*Node{}}}
	var parse func() *Node
	pos := 0
	parse = func() *Node {
		start := pos
		for pos < len(s) && s[pos] != '(' && s[pos] != ')' && s[pos] != ' ' {
			pos++
		}
		n := &Node{Label: "L", Value: s[start:pos]}
		if pos < len(s) && s[pos] == '(' {
			pos++
			for s[pos] != ')' {
				if s[pos] == ' ' {
					pos++
					continue
				}
				c := parse()
				c.Parent = n
				n.Children = append(n.Children, c)
			}
			pos++
		}
		b.finish(n)
		return n
	}
	b.t.Root = parse()
	return b.t
}

func TestZhangShasha(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"f(d(a c(b)) e)", "f(c(d(a b)) e)", 2}, // the paper's example
		{"a(b c)", "a(b c)", 0},
		{"a(b c)", "a(b x)", 1},
		{"a(b c d)", "a(b d)", 1},
		{"a", "b(a)", 1},
	} {
		a, b := synth(c.a), synth(c.b)
		if got := editDistance(a, b, a.Root, b.Root); got != c.want {
			t.Errorf("distance(%s, %s) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
	// The mapping found must cost what the distance says.
	a, b := synth("f(d(a c(b)) e)"), synth("f(c(d(a b)) e)")
	var z zsBuffers
	pairs := z.mapping(a, b, a.Root, b.Root)
	cost := 0
	for _, p := range pairs {
		cost += int(zsCost(p.a, p.b))
	}
	if del := len(a.Nodes) - len(pairs); cost+del+len(b.Nodes)-len(pairs) != 2 {
		t.Errorf("mapping %v costs %d renames + %d deletions + %d insertions, want 2 in all", pairs, cost, del, len(b.Nodes)-len(pairs))
	}
}

// genFile writes a Go file of about lines lines: helpers and a main loop.
func genFile(lines int) string {
	var sb strings.Builder
	sb.WriteString("package main\n\nimport \"fmt\"\n\n")
	n := 0
	for k := 0; sb.Len() < lines*28; k++ {
		fmt.Fprintf(&sb, `func helper%d(w []float64, x float64) float64 {
	loss := 0.0
	for i := range w {
		g := 2 * (w[i]*x - %d.0)
		w[i] -= 0.01 * g
		loss += g * g
	}
	if loss > %d {
		fmt.Println("big", loss)
	}
	return loss / float64(len(w))
}

`, k, k, k)
		n = k
	}
	sb.WriteString("func main() {\n\tw := make([]float64, 8)\n\tfor epoch := 0; epoch < 10; epoch++ {\n")
	for k := 0; k <= n; k++ {
		fmt.Fprintf(&sb, "\t\tl%d := helper%d(w, float64(epoch))\n\t\tfmt.Println(epoch, l%d)\n", k, k, k)
	}
	sb.WriteString("\t}\n}\n")
	return sb.String()
}

func TestLargeFile(t *testing.T) {
	src := genFile(1000)
	if n := strings.Count(src, "\n"); n < 1000 {
		t.Fatalf("generated %d lines", n)
	}
	_, _, a := parse(t, src)
	_, _, b := parse(t, src)
	m := Match(a, b)
	checkInvariants(t, m)
	if m.Len() != len(a.Nodes) {
		t.Errorf("identical: mapped %d of %d", m.Len(), len(a.Nodes))
	}

	// One statement added in the middle of the main loop, one helper's
	// variable renamed: everything else still maps to itself.
	at := strings.Index(src, "\t\tl20 :=")
	changed := src[:at] + "\t\tfmt.Println(\"w0\", w[0])\n" + src[at:]
	changed = strings.Replace(changed, "func helper7(w []float64, x float64) float64 {\n\tloss := 0.0", "func helper7(w []float64, x float64) float64 {\n\tacc := 0.0", 1)
	fc, cf, c := parse(t, changed)
	m = Match(c, a)
	checkInvariants(t, m)
	st := stmtOf(t, fc, cf, c, changed, "fmt.Println(\"w0\", w[0])")
	unmapped := 0
	for _, n := range c.Nodes {
		if m.Dst(n) == nil {
			unmapped++
			if !c.Contains(st, n) {
				t.Errorf("%v outside the new statement not mapped", n)
			}
		}
	}
	if unmapped != st.Size {
		t.Errorf("%d nodes unmapped, want the %d of the new statement", unmapped, st.Size)
	}
}

func BenchmarkMatch1000Lines(b *testing.B) {
	src := genFile(1000)
	at := strings.Index(src, "\t\tl20 :=")
	changed := src[:at] + "\t\tfmt.Println(\"w0\", w[0])\n" + src[at:]
	_, _, x := parse(b, changed)
	_, _, y := parse(b, src)
	b.ReportMetric(float64(len(x.Nodes)), "nodes")
	for b.Loop() {
		Match(x, y)
	}
}

// funcBody returns the tree node of the body of the named function.
func funcBody(t *testing.T, f *ast.File, tr *Tree, name string) *Node {
	t.Helper()
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Name.Name == name {
			return tr.Node(fd.Body)
		}
	}
	t.Fatalf("no func %s", name)
	return nil
}

func TestBodyMovedIntoHelper(t *testing.T) {
	old, moved := helperCase()
	_, fo, o := parse(t, old)
	_, fm, mv := parse(t, moved)
	var oldBody, newBody *Node // of the nested loop
	for f, tr := range map[*ast.File]*Tree{fo: o, fm: mv} {
		ast.Inspect(f, func(n ast.Node) bool {
			if l, ok := n.(*ast.ForStmt); ok && l.Init.(*ast.AssignStmt).Lhs[0].(*ast.Ident).Name == "s" {
				if tr == o {
					oldBody = o.Node(l.Body)
				} else {
					newBody = mv.Node(l.Body)
				}
			}
			return true
		})
	}
	helper := funcBody(t, fm, mv, "step")
	m := Match(mv, o)
	checkInvariants(t, m)
	if got := m.Dst(helper); got != oldBody {
		t.Errorf("helper body mapped to %v, want the old loop body %v", got, oldBody)
	}

	// When a recovery has given the old body to the nested loop's new
	// one-line body before the helper is reached (it depends on what
	// surrounds the loop), the helper's body must take it back: with
	// Reassign it does, without it does not.
	for _, reassign := range []bool{true, false} {
		o2 := DefaultOptions
		o2.Reassign = reassign
		m := &matcher{Mapping: newMapping(mv, o), o: o2}
		m.topDown()
		if m.dstMapped(oldBody) || m.srcMapped(newBody) {
			t.Fatal("the loop bodies are mapped top-down: the test needs them free")
		}
		m.add(newBody, oldBody)
		m.bottomUp()
		checkInvariants(t, m.Mapping)
		if got := m.Dst(helper) == oldBody; got != reassign {
			t.Errorf("Reassign %v: helper body mapped to %v", reassign, m.Dst(helper))
		}
	}
}

// helperCase returns a program training inline in a nested loop, and the
// same with the nested loop's body moved into a helper, where the model is
// called model.
func helperCase() (old, moved string) {
	const body = `		grad := make([]float64, len(net))
		scale := 2.0 / float64(len(net))
		total := 0.0
		for i := range grad {
			grad[i] = scale * net[i] * float64(s)
			total += grad[i] * grad[i]
		}
		for i := range grad {
			grad[i] /= 1 + total
		}
		for i := range net {
			net[i] -= 0.1 * grad[i]
		}
		println(s, total)
`
	const outer = `package p

func main() {
	net := []float64{1, 2, 3}
	for epoch := 0; epoch < 3; epoch++ {
		println("epoch", epoch)
		println("lr", 0.1)
		println("momentum", 0.9)
		println("decay", 0.01)
		println("batch", 32)
		println("seed", 7)
		for s := 0; s < 10; s++ {
BODY		}
		println("done", epoch)
	}
}
`
	old = strings.Replace(outer, "BODY", indent(body, "\t"), 1)
	moved = strings.Replace(outer, "BODY", "\t\t\tstep(net, s)\n", 1) +
		"\nfunc step(model []float64, s int) {\n" + strings.ReplaceAll(strings.ReplaceAll(body, "\t\t", "\t"), "net", "model") + "}\n"
	return old, moved
}

// indent adds prefix to every line of s.
func indent(s, prefix string) string {
	lines := strings.SplitAfter(s, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "")
}

func TestFunctionsPairedByName(t *testing.T) {
	// Both functions change almost every line (a parameter renamed) and
	// swap places, so no body matches bottom-up; the linear recovery of the
	// file pairs them by name.
	var train strings.Builder
	train.WriteString("func train(model []float64) {\n")
	for i := range 12 {
		fmt.Fprintf(&train, "\tmodel[%d] = model[%d] + model[%d]\n", i%3, (i+1)%3, (i+2)%3)
	}
	train.WriteString("}\n")
	const eval = "func eval(model []float64) float64 {\n\treturn model[0] - model[1]\n}\n"
	src := "package p\n\n" + train.String() + "\n" + eval
	dst := strings.ReplaceAll("package p\n\n"+eval+"\n"+train.String(), "model", "net")
	_, fa, a := parse(t, src)
	_, fb, b := parse(t, dst)
	if a.Root.Size < DefaultOptions.MaxSize {
		t.Fatalf("tree of %d nodes: too small for the test", a.Root.Size)
	}
	m := Match(a, b)
	checkInvariants(t, m)
	for _, name := range []string{"train", "eval"} {
		if got, want := m.Dst(funcBody(t, fa, a, name)), funcBody(t, fb, b, name); got != want {
			t.Errorf("body of %s mapped to %v, want %v", name, got, want)
		}
	}
	for _, n := range a.Nodes {
		if n.Label == "Ident" && n.Value == "model" {
			if got := m.Dst(n); got == nil || got.Value != "net" {
				t.Errorf("%v mapped to %v, want a net", n, got)
			}
		}
	}
}

func TestLinearRecoveryOfLongFunction(t *testing.T) {
	// A function of more than MaxSize nodes whose variable is renamed on
	// every line: only the linear recovery maps its statements.
	var sb strings.Builder
	sb.WriteString("package p\n\nfunc f(model []float64) {\n")
	for i := range 30 {
		fmt.Fprintf(&sb, "\tmodel[%d] = model[%d] * %d\n", i%3, (i+1)%3, i)
	}
	sb.WriteString("}\n")
	src := sb.String()
	dst := strings.ReplaceAll(src, "model", "net")
	_, fa, a := parse(t, src)
	_, fb, b := parse(t, dst)
	if a.Root.Size < DefaultOptions.MaxSize {
		t.Fatalf("tree of %d nodes: too small for the test", a.Root.Size)
	}
	mapped := func(o Options) int {
		m := MatchWith(a, b, o)
		checkInvariants(t, m)
		n := 0
		want := funcBody(t, fb, b, "f")
		for _, st := range funcBody(t, fa, a, "f").Children {
			if got := m.Dst(st); got != nil && got.Parent == want && got.ID-want.ID == st.ID-funcBody(t, fa, a, "f").ID {
				n++
			}
		}
		return n
	}
	if n := mapped(DefaultOptions); n != 30 {
		t.Errorf("linear recovery: %d of 30 statements mapped to their counterparts", n)
	}
	o := DefaultOptions
	o.LinearRecovery = false
	if n := mapped(o); n == 30 {
		t.Errorf("without linear recovery all statements still map: the test no longer shows the option's use")
	}
}

// BenchmarkMatch1000LinesRenamed renames a variable used on most lines, the
// case that leaves the most to the bottom-up phase and the recoveries.
func BenchmarkMatch1000LinesRenamed(b *testing.B) {
	src := genFile(1000)
	renamed := strings.NewReplacer("(w ", "(weights ", "w[", "weights[", "(w)", "(weights)", "(w,", "(weights,", "\tw :=", "\tweights :=").Replace(src)
	if renamed == src {
		b.Fatal("nothing renamed")
	}
	_, _, x := parse(b, renamed)
	_, _, y := parse(b, src)
	b.ReportMetric(float64(len(x.Nodes)), "nodes")
	for b.Loop() {
		Match(x, y)
	}
}

// editDistance is the Zhang-Shasha distance between two subtrees, used by the tests.
func editDistance(src, dst *Tree, a, b *Node) int {
	var z zsBuffers
	z.mapping(src, dst, a, b)
	return int(z.td[a.Size*(b.Size+1)+b.Size])
}
