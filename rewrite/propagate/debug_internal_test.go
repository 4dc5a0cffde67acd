package propagate

import (
	"fmt"
	"go/ast"
	"go/token"
	"os"
	"testing"
)

func TestDebugMap(t *testing.T) {
	dir := os.Getenv("GC")
	if dir == "" {
		t.Skip()
	}
	read := func(n string) []byte { b, _ := os.ReadFile(dir + "/" + n); return b }
	newSrc := map[string][]byte{"main.go": read("new.go"), "model.go": read("model.go")}
	oldSrc := map[string][]byte{"main.go": read("old.go"), "model.go": read("model.go")}
	nv, _ := load(token.NewFileSet(), "new", "new", newSrc)
	ov, _ := load(nv.fset, "old", "old", oldSrc)
	p := newPropagation(nv, ov)
	for _, f := range nv.files {
		ast.Inspect(f.ast, func(n ast.Node) bool {
			if st, ok := n.(ast.Stmt); ok {
				if _, blk := st.(*ast.BlockStmt); blk {
					return true
				}
				gn := nv.tree.Node(st)
				o := p.m.Dst(gn)
				os := "-"
				if o != nil {
					os = fmt.Sprintf("%d dice=%.2f", ov.position(o.Pos()).Line, p.m.Dice(gn, o))
				}
				fmt.Printf("%d -> %s\n", nv.position(st.Pos()).Line, os)
			}
			return true
		})
	}
}
