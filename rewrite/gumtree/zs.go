package gumtree

import "slices"

// zsBuffers holds the tables of the Zhang-Shasha tree edit distance, reused
// from one recovery to the next.
type zsBuffers struct {
	td, fd []int32
	l1, l2 []int
}

// Costs of the edit operations. Relabelling a node to another label is
// never worth it, so mapped nodes keep their label.
const (
	zsDelete   = 1
	zsInsert   = 1
	zsRename   = 1
	zsRelabel  = 1 << 20
	zsIdentity = 0
)

func zsCost(a, b *Node) int32 {
	switch {
	case a.Label != b.Label:
		return zsRelabel
	case a.Value != b.Value:
		return zsRename
	}
	return zsIdentity
}

// mapping returns the node pairs of an optimal edit mapping between the
// subtrees a (of src) and b (of dst), with unit costs for deleting,
// inserting and changing a value. Pairs of different labels are left out.
func (z *zsBuffers) mapping(src, dst *Tree, a, b *Node) []pair {
	n1, n2 := a.Size, b.Size
	base1, base2 := a.ID-a.Size, b.ID-b.Size
	node1 := func(i int) *Node { return src.Nodes[base1+i] }
	node2 := func(j int) *Node { return dst.Nodes[base2+j] }
	// l[i] is the local post-order index (from 1) of the leftmost leaf of
	// node i; a subtree's IDs are consecutive, so it is i - size + 1.
	z.l1 = resize(z.l1, n1+1)
	z.l2 = resize(z.l2, n2+1)
	l1, l2 := z.l1, z.l2
	for i := 1; i <= n1; i++ {
		l1[i] = i - node1(i).Size + 1
	}
	for j := 1; j <= n2; j++ {
		l2[j] = j - node2(j).Size + 1
	}
	w := n2 + 1
	z.td = resize(z.td, (n1+1)*w)
	z.fd = resize(z.fd, (n1+1)*w)
	td, fd := z.td, z.fd

	forest := func(i, j int) {
		li, lj := l1[i], l2[j]
		fd[(li-1)*w+lj-1] = 0
		for x := li; x <= i; x++ {
			fd[x*w+lj-1] = fd[(x-1)*w+lj-1] + zsDelete
		}
		for y := lj; y <= j; y++ {
			fd[(li-1)*w+y] = fd[(li-1)*w+y-1] + zsInsert
		}
		for x := li; x <= i; x++ {
			for y := lj; y <= j; y++ {
				del := fd[(x-1)*w+y] + zsDelete
				ins := fd[x*w+y-1] + zsInsert
				if l1[x] == li && l2[y] == lj {
					v := min(del, ins, fd[(x-1)*w+y-1]+zsCost(node1(x), node2(y)))
					fd[x*w+y] = v
					td[x*w+y] = v
				} else {
					fd[x*w+y] = min(del, ins, fd[(l1[x]-1)*w+l2[y]-1]+td[x*w+y])
				}
			}
		}
	}
	kr1, kr2 := keyroots(l1, n1), keyroots(l2, n2)
	for _, i := range kr1 {
		for _, j := range kr2 {
			forest(i, j)
		}
	}

	var out []pair
	stack := [][2]int{{n1, n2}}
	for len(stack) > 0 {
		i, j := stack[len(stack)-1][0], stack[len(stack)-1][1]
		stack = stack[:len(stack)-1]
		li, lj := l1[i], l2[j]
		forest(i, j)
		x, y := i, j
		for x >= li || y >= lj {
			switch {
			case x >= li && fd[(x-1)*w+y]+zsDelete == fd[x*w+y]:
				x--
			case y >= lj && fd[x*w+y-1]+zsInsert == fd[x*w+y]:
				y--
			case l1[x] == li && l2[y] == lj:
				if p, q := node1(x), node2(y); p.Label == q.Label {
					out = append(out, pair{p, q})
				}
				x--
				y--
			default:
				stack = append(stack, [2]int{x, y})
				x, y = l1[x]-1, l2[y]-1
			}
		}
	}
	return out
}

// keyroots are, for each distinct leftmost leaf, the highest node that has
// it, in increasing order.
func keyroots(l []int, n int) []int {
	seen := make(map[int]bool, n)
	var kr []int
	for i := n; i >= 1; i-- {
		if !seen[l[i]] {
			seen[l[i]] = true
			kr = append(kr, i)
		}
	}
	slices.Reverse(kr)
	return kr
}

func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}
