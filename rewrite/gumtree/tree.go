package gumtree

import (
	"fmt"
	"go/ast"
	"go/token"
	"reflect"
	"strings"
)

// Node is one node of a Tree.
type Node struct {
	// Label is the node's kind: the go/ast type name without "*ast."
	// ("Ident", "CallExpr"), or "Package" for the root of a PackageTree.
	Label string
	// Value is the identifier's name, the literal's text, the operator or
	// keyword that distinguishes nodes of one kind ("+", ":=", "break",
	// "var"), or the name a function ("Type.Method" for a method) or type
	// declares; empty for the other kinds.
	Value string
	// AST is the syntax node this node stands for; nil for a PackageTree's
	// root.
	AST ast.Node
	// Parent is nil for the root.
	Parent *Node
	// Children are in source order.
	Children []*Node
	// ID is the node's index in its Tree's post-order Nodes. A subtree's
	// nodes have consecutive IDs, ending with its root's.
	ID int
	// Height is 1 for a leaf, else one more than the highest child.
	Height int
	// Size is the number of nodes in the subtree, the node included.
	Size int

	hash  uint64 // of label, value and children's hashes: isomorphism
	shape uint64 // of label and children's shapes: same shape, values aside
}

// Pos is the position of the node's first character, or token.NoPos.
func (n *Node) Pos() token.Pos {
	if n.AST == nil {
		return token.NoPos
	}
	return n.AST.Pos()
}

// End is the position just after the node, or token.NoPos.
func (n *Node) End() token.Pos {
	if n.AST == nil {
		return token.NoPos
	}
	return n.AST.End()
}

// IsLeaf reports whether the node has no children.
func (n *Node) IsLeaf() bool { return len(n.Children) == 0 }

// String shows the node for tests and debugging: label, value and ID.
func (n *Node) String() string {
	if n.Value == "" {
		return fmt.Sprintf("%s#%d", n.Label, n.ID)
	}
	return fmt.Sprintf("%s(%s)#%d", n.Label, n.Value, n.ID)
}

// Tree is a syntax tree prepared for matching.
type Tree struct {
	Root *Node
	// Nodes holds every node in post-order: children before their parent,
	// siblings left to right; Nodes[i].ID == i.
	Nodes []*Node

	byAST map[ast.Node]*Node
}

// Node returns the tree node built for an ast.Node of the tree, or nil
// (comments, nodes of another tree).
func (t *Tree) Node(n ast.Node) *Node { return t.byAST[n] }

// Contains reports whether x lies in the subtree rooted at root (x == root
// included).
func (t *Tree) Contains(root, x *Node) bool {
	return x.ID > root.ID-root.Size && x.ID <= root.ID
}

// NewTree builds the tree of one syntax node (usually an *ast.File).
// Comments are left out: they are not code.
func NewTree(root ast.Node) *Tree {
	b := &builder{t: &Tree{byAST: make(map[ast.Node]*Node)}}
	b.t.Root = b.build(root)
	return b.t
}

// PackageTree builds one tree for the files of a package: a root labelled
// "Package" whose children are the files' trees in the order given, so that
// code moved between files of the package can still be matched.
func PackageTree(files []*ast.File) *Tree {
	b := &builder{t: &Tree{byAST: make(map[ast.Node]*Node)}}
	root := &Node{Label: "Package"}
	for _, f := range files {
		c := b.build(f)
		c.Parent = root
		root.Children = append(root.Children, c)
	}
	b.finish(root)
	b.t.Root = root
	return b.t
}

type builder struct {
	t *Tree
}

func (b *builder) build(root ast.Node) *Node {
	var stack []*Node
	var top *Node
	ast.Inspect(root, func(n ast.Node) bool {
		if n == nil {
			done := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			b.finish(done)
			return false
		}
		switch n.(type) {
		case *ast.Comment, *ast.CommentGroup:
			return false
		}
		label, value := labelValue(n)
		node := &Node{Label: label, Value: value, AST: n}
		if len(stack) > 0 {
			p := stack[len(stack)-1]
			node.Parent = p
			p.Children = append(p.Children, node)
		} else {
			top = node
		}
		b.t.byAST[n] = node
		stack = append(stack, node)
		return true
	})
	return top
}

// finish gives a node whose children are finished its ID and metrics.
func (b *builder) finish(n *Node) {
	n.ID = len(b.t.Nodes)
	b.t.Nodes = append(b.t.Nodes, n)
	n.Height, n.Size = 1, 1
	h := mixString(mixString(fnvOffset, n.Label), n.Value)
	s := mixString(fnvOffset, n.Label)
	for _, c := range n.Children {
		n.Height = max(n.Height, c.Height+1)
		n.Size += c.Size
		h = mixUint(h, c.hash)
		s = mixUint(s, c.shape)
	}
	n.hash = mixUint(h, uint64(len(n.Children)))
	n.shape = mixUint(s, uint64(len(n.Children)))
}

func labelValue(n ast.Node) (label, value string) {
	switch n := n.(type) {
	case *ast.Ident:
		return "Ident", n.Name
	case *ast.BasicLit:
		return "BasicLit", n.Value
	case *ast.BinaryExpr:
		return "BinaryExpr", n.Op.String()
	case *ast.UnaryExpr:
		return "UnaryExpr", n.Op.String()
	case *ast.AssignStmt:
		return "AssignStmt", n.Tok.String()
	case *ast.IncDecStmt:
		return "IncDecStmt", n.Tok.String()
	case *ast.BranchStmt:
		return "BranchStmt", n.Tok.String()
	case *ast.GenDecl:
		return "GenDecl", n.Tok.String()
	case *ast.RangeStmt:
		if n.Tok != token.ILLEGAL {
			return "RangeStmt", n.Tok.String()
		}
		return "RangeStmt", ""
	case *ast.FuncDecl:
		// The name (and receiver type) tells functions apart when their
		// bodies changed too much to match: see Match's linear recovery.
		if n.Recv != nil && len(n.Recv.List) > 0 {
			return "FuncDecl", recvName(n.Recv.List[0].Type) + "." + n.Name.Name
		}
		return "FuncDecl", n.Name.Name
	case *ast.TypeSpec:
		return "TypeSpec", n.Name.Name
	case *ast.ChanType:
		switch n.Dir {
		case ast.SEND:
			return "ChanType", "chan<-"
		case ast.RECV:
			return "ChanType", "<-chan"
		}
		return "ChanType", "chan"
	}
	return strings.TrimPrefix(reflect.TypeOf(n).String(), "*ast."), ""
}

// recvName is the type name of a method's receiver.
func recvName(t ast.Expr) string {
	for {
		switch x := t.(type) {
		case *ast.StarExpr:
			t = x.X
		case *ast.IndexExpr:
			t = x.X
		case *ast.IndexListExpr:
			t = x.X
		case *ast.ParenExpr:
			t = x.X
		case *ast.Ident:
			return x.Name
		default:
			return ""
		}
	}
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func mixString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	h ^= 0xff // separates "ab"+"c" from "a"+"bc"
	h *= fnvPrime
	return h
}

func mixUint(h, v uint64) uint64 {
	for range 8 {
		h ^= v & 0xff
		h *= fnvPrime
		v >>= 8
	}
	return h
}

// isomorphic reports whether two subtrees have the same labels, values and
// shape.
func isomorphic(a, b *Node) bool {
	if a.hash != b.hash || a.Size != b.Size || a.Label != b.Label || a.Value != b.Value ||
		len(a.Children) != len(b.Children) {
		return false
	}
	for i := range a.Children {
		if !isomorphic(a.Children[i], b.Children[i]) {
			return false
		}
	}
	return true
}

// sameShape reports whether two subtrees have the same labels and shape,
// values aside.
func sameShape(a, b *Node) bool {
	if a.shape != b.shape || a.Size != b.Size || a.Label != b.Label || len(a.Children) != len(b.Children) {
		return false
	}
	for i := range a.Children {
		if !sameShape(a.Children[i], b.Children[i]) {
			return false
		}
	}
	return true
}
