package gumtree

import (
	"cmp"
	"math"
	"slices"
)

// Options tunes Match. The zero value is not useful; start from
// DefaultOptions.
type Options struct {
	// MinHeight is the smallest height of a subtree the top-down phase
	// matches (a leaf has height 1).
	MinHeight int
	// MinDice is the Dice similarity two containers must exceed to be
	// matched in the bottom-up phase.
	MinDice float64
	// MaxSize bounds the optimal recovery: it runs after a bottom-up match
	// only when both subtrees have fewer nodes.
	MaxSize int
	// LinearRecovery runs GumTree 3's linear recovery on bottom-up matches
	// too large for the optimal one.
	LinearRecovery bool
	// Reassign lets the bottom-up phase take a container that a recovery
	// matched with a Dice similarity of at most MinDice, for a container
	// whose similarity with it exceeds MinDice.
	Reassign bool
}

// DefaultOptions are the paper's thresholds, with linear recovery and
// reassignment on.
var DefaultOptions = Options{MinHeight: 2, MinDice: 0.5, MaxSize: 100, LinearRecovery: true, Reassign: true}

// Mapping is a one-to-one partial map between the nodes of a source and a
// destination tree; mapped nodes always have the same label.
type Mapping struct {
	SrcTree, DstTree *Tree
	s2d, d2s         []int32
	n                int
}

func newMapping(src, dst *Tree) *Mapping {
	m := &Mapping{SrcTree: src, DstTree: dst, s2d: make([]int32, len(src.Nodes)), d2s: make([]int32, len(dst.Nodes))}
	for i := range m.s2d {
		m.s2d[i] = -1
	}
	for i := range m.d2s {
		m.d2s[i] = -1
	}
	return m
}

// Dst returns the destination node mapped to the source node n, or nil.
func (m *Mapping) Dst(n *Node) *Node {
	if d := m.s2d[n.ID]; d >= 0 {
		return m.DstTree.Nodes[d]
	}
	return nil
}

// Src returns the source node mapped to the destination node n, or nil.
func (m *Mapping) Src(n *Node) *Node {
	if s := m.d2s[n.ID]; s >= 0 {
		return m.SrcTree.Nodes[s]
	}
	return nil
}

// Len is the number of mapped pairs.
func (m *Mapping) Len() int { return m.n }

func (m *Mapping) srcMapped(n *Node) bool { return m.s2d[n.ID] >= 0 }
func (m *Mapping) dstMapped(n *Node) bool { return m.d2s[n.ID] >= 0 }

func (m *Mapping) add(a, b *Node) {
	m.s2d[a.ID] = int32(b.ID)
	m.d2s[b.ID] = int32(a.ID)
	m.n++
}

// allowed reports whether a and b may still be mapped to each other.
func (m *Mapping) allowed(a, b *Node) bool {
	return a.Label == b.Label && !m.srcMapped(a) && !m.dstMapped(b)
}

// addSubtrees maps two subtrees of the same shape node by node, leaving out
// pairs that are already taken.
func (m *Mapping) addSubtrees(a, b *Node) {
	for k := range a.Size {
		x, y := m.SrcTree.Nodes[a.ID-k], m.DstTree.Nodes[b.ID-k]
		if m.allowed(x, y) {
			m.add(x, y)
		}
	}
}

// Dice is the Dice similarity of two nodes under the mapping: twice the
// number of a's descendants mapped to descendants of b, over the number of
// descendants of both. a is a source node and b a destination node.
func (m *Mapping) Dice(a, b *Node) float64 {
	den := a.Size - 1 + b.Size - 1
	if den == 0 {
		return 0
	}
	common := 0
	lo, hi := int32(b.ID-b.Size), int32(b.ID)
	for id := a.ID - a.Size + 1; id < a.ID; id++ {
		if p := m.s2d[id]; p > lo && p < hi {
			common++
		}
	}
	return 2 * float64(common) / float64(den)
}

// Match maps src onto dst with DefaultOptions.
func Match(src, dst *Tree) *Mapping { return MatchWith(src, dst, DefaultOptions) }

// MatchWith maps src onto dst: top-down, then bottom-up with recovery.
func MatchWith(src, dst *Tree, o Options) *Mapping {
	m := &matcher{Mapping: newMapping(src, dst), o: o}
	m.topDown()
	m.bottomUp()
	return m.Mapping
}

type matcher struct {
	*Mapping
	o  Options
	zs zsBuffers
}

// heightList is the paper's priority list: nodes by height, popped highest
// first, all nodes of one height at once.
type heightList struct {
	buckets [][]*Node
	top     int
}

func newHeightList(root *Node) *heightList {
	l := &heightList{buckets: make([][]*Node, root.Height+1)}
	l.push(root)
	return l
}

func (l *heightList) push(n *Node) {
	l.buckets[n.Height] = append(l.buckets[n.Height], n)
	l.top = max(l.top, n.Height)
}

func (l *heightList) peekMax() int {
	for l.top > 0 && len(l.buckets[l.top]) == 0 {
		l.top--
	}
	return l.top
}

func (l *heightList) pop() []*Node {
	h := l.peekMax()
	b := l.buckets[h]
	l.buckets[h] = nil
	return b
}

func (l *heightList) open(n *Node) {
	for _, c := range n.Children {
		l.push(c)
	}
}

type pair struct{ a, b *Node }

func (m *matcher) topDown() {
	l1, l2 := newHeightList(m.SrcTree.Root), newHeightList(m.DstTree.Root)
	var ambiguous []pair
	for {
		h1, h2 := l1.peekMax(), l2.peekMax()
		if min(h1, h2) < m.o.MinHeight {
			break
		}
		if h1 != h2 {
			if h1 > h2 {
				for _, t := range l1.pop() {
					l1.open(t)
				}
			} else {
				for _, t := range l2.pop() {
					l2.open(t)
				}
			}
			continue
		}
		H1, H2 := l1.pop(), l2.pop()
		byHash := make(map[uint64][]*Node, len(H2))
		for _, t := range H2 {
			byHash[t.hash] = append(byHash[t.hash], t)
		}
		groups := make(map[uint64][]*Node, len(H1))
		var order []uint64
		for _, t := range H1 {
			if _, ok := byHash[t.hash]; !ok {
				continue
			}
			if _, seen := groups[t.hash]; !seen {
				order = append(order, t.hash)
			}
			groups[t.hash] = append(groups[t.hash], t)
		}
		taken1 := make(map[*Node]bool)
		taken2 := make(map[*Node]bool)
		for _, h := range order {
			rep := groups[h][0]
			// A hash collision is possible in theory; nodes that are not
			// really isomorphic to the group's first are opened instead.
			var as, bs []*Node
			for _, t := range groups[h] {
				if isomorphic(rep, t) {
					as = append(as, t)
				}
			}
			for _, t := range byHash[h] {
				if isomorphic(rep, t) {
					bs = append(bs, t)
				}
			}
			if len(bs) == 0 {
				continue
			}
			if len(as) == 1 && len(bs) == 1 {
				m.addSubtrees(as[0], bs[0])
			} else {
				for _, a := range as {
					for _, b := range bs {
						ambiguous = append(ambiguous, pair{a, b})
					}
				}
			}
			for _, a := range as {
				taken1[a] = true
			}
			for _, b := range bs {
				taken2[b] = true
			}
		}
		for _, t := range H1 {
			if !taken1[t] {
				l1.open(t)
			}
		}
		for _, t := range H2 {
			if !taken2[t] {
				l2.open(t)
			}
		}
	}
	m.resolve(ambiguous)
}

// resolve maps the subtrees that had several isomorphic partners, the pairs
// whose parents are most alike first (the paper's Dice similarity of the
// parents). Ties, common when the parents share nothing matched yet, go to
// the pair whose parents, then grandparents, have the most leaves (names,
// literals) in common, then to the pair at the closest relative positions
// in their trees, then to source order.
func (m *matcher) resolve(cands []pair) {
	if len(cands) == 0 {
		return
	}
	type scored struct {
		pair
		dice, lex1, lex2, dist float64
	}
	parentDice := func(a, b *Node) float64 {
		if a.Parent == nil || b.Parent == nil {
			return 0
		}
		return m.Dice(a.Parent, b.Parent)
	}
	lx := newLexicon(m.SrcTree, m.DstTree)
	n1, n2 := float64(len(m.SrcTree.Nodes)), float64(len(m.DstTree.Nodes))
	s := make([]scored, len(cands))
	for i, c := range cands {
		s[i] = scored{pair: c, dice: parentDice(c.a, c.b), dist: math.Abs(float64(c.a.ID)/n1 - float64(c.b.ID)/n2)}
		if pa, pb := c.a.Parent, c.b.Parent; pa != nil && pb != nil {
			s[i].lex1 = lx.similarity(pa, pb)
			if ga, gb := pa.Parent, pb.Parent; ga != nil && gb != nil {
				s[i].lex2 = lx.similarity(ga, gb)
			}
		}
	}
	// The order is total (IDs last), so an unstable sort is deterministic.
	slices.SortFunc(s, func(x, y scored) int {
		if c := cmp.Compare(y.dice, x.dice); c != 0 {
			return c
		}
		if c := cmp.Compare(y.lex1, x.lex1); c != 0 {
			return c
		}
		if c := cmp.Compare(y.lex2, x.lex2); c != 0 {
			return c
		}
		if c := cmp.Compare(x.dist, y.dist); c != 0 {
			return c
		}
		if c := cmp.Compare(x.a.ID, y.a.ID); c != 0 {
			return c
		}
		return cmp.Compare(x.b.ID, y.b.ID)
	})
	for _, c := range s {
		if !m.srcMapped(c.a) && !m.dstMapped(c.b) {
			m.addSubtrees(c.a, c.b)
		}
	}
}

// lexicon computes the leaves (label and value) of source and destination
// subtrees as sorted hashes, once per subtree.
type lexicon struct {
	src, dst [][]uint64 // by node ID
}

func newLexicon(src, dst *Tree) *lexicon {
	return &lexicon{src: make([][]uint64, len(src.Nodes)), dst: make([][]uint64, len(dst.Nodes))}
}

func leaves(memo [][]uint64, n *Node) []uint64 {
	if s := memo[n.ID]; s != nil {
		return s
	}
	s := []uint64{}
	var walk func(*Node)
	walk = func(x *Node) {
		if x.IsLeaf() {
			s = append(s, x.hash)
		}
		for _, c := range x.Children {
			walk(c)
		}
	}
	walk(n)
	slices.Sort(s)
	memo[n.ID] = s
	return s
}

// similarity is the Dice similarity of the leaf multisets of a (a source
// node) and b (a destination node).
func (l *lexicon) similarity(a, b *Node) float64 {
	x, y := leaves(l.src, a), leaves(l.dst, b)
	if len(x)+len(y) == 0 {
		return 0
	}
	common := 0
	for i, j := 0, 0; i < len(x) && j < len(y); {
		switch {
		case x[i] == y[j]:
			common++
			i++
			j++
		case x[i] < y[j]:
			i++
		default:
			j++
		}
	}
	return 2 * float64(common) / float64(len(x)+len(y))
}

func (m *matcher) bottomUp() {
	visited := make(map[*Node]bool)
	for _, t := range m.SrcTree.Nodes {
		if t == m.SrcTree.Root {
			if !m.srcMapped(t) && !m.dstMapped(m.DstTree.Root) {
				m.recover(t, m.DstTree.Root)
				if m.allowed(t, m.DstTree.Root) {
					m.add(t, m.DstTree.Root)
				}
			}
			break
		}
		if m.srcMapped(t) || t.IsLeaf() {
			continue
		}
		var best *Node
		bestDice := -1.0
		clear(visited)
		for id := t.ID - t.Size + 1; id < t.ID; id++ {
			p := m.s2d[id]
			if p < 0 {
				continue
			}
			// Every unmatched same-labelled ancestor of a partner of one of
			// t's descendants is a candidate.
			for c := m.DstTree.Nodes[p].Parent; c != nil && !visited[c]; c = c.Parent {
				visited[c] = true
				if c.Label != t.Label || c == m.DstTree.Root {
					continue
				}
				if m.dstMapped(c) && !m.reassignable(t, c) {
					continue
				}
				if d := m.Dice(t, c); d > bestDice {
					best, bestDice = c, d
				}
			}
		}
		if best != nil && bestDice > m.o.MinDice {
			if p := m.Src(best); p != nil {
				m.remove(p, best)
			}
			m.recover(t, best)
			if m.allowed(t, best) {
				m.add(t, best)
			}
		}
	}
}

// reassignable reports whether the mapped container c may be taken by t:
// when its partner is not inside t and shares too little with it for the
// bottom-up phase to have matched them (a recovery matched them, for want of
// anything better).
func (m *matcher) reassignable(t, c *Node) bool {
	if !m.o.Reassign {
		return false
	}
	p := m.Src(c)
	return !m.SrcTree.Contains(t, p) && m.Dice(p, c) <= m.o.MinDice
}

func (m *Mapping) remove(a, b *Node) {
	m.s2d[a.ID] = -1
	m.d2s[b.ID] = -1
	m.n--
}

// recover looks for more pairs inside two matched containers.
func (m *matcher) recover(a, b *Node) {
	if max(a.Size, b.Size) < m.o.MaxSize {
		for _, p := range m.zs.mapping(m.SrcTree, m.DstTree, a, b) {
			if m.allowed(p.a, p.b) {
				m.add(p.a, p.b)
			}
		}
		return
	}
	if m.o.LinearRecovery {
		m.linear(a, b)
	}
}

// linear is GumTree 3's recovery for large containers: align the unmatched
// children by longest common subsequence, first of isomorphic subtrees, then
// of same-shaped ones; then pair children whose label and value, then
// label, occurs once among the unmatched children on each side, and recover
// inside them.
func (m *matcher) linear(a, b *Node) {
	for _, p := range lcs(m.unmappedSrc(a), m.unmappedDst(b), isomorphic) {
		m.addSubtrees(p.a, p.b)
	}
	for _, p := range lcs(m.unmappedSrc(a), m.unmappedDst(b), sameShape) {
		m.addSubtrees(p.a, p.b)
	}
	// Unique by label and value first (a function by its name), then by
	// label alone.
	m.histogram(a, b, func(n *Node) string { return n.Label + "\x00" + n.Value })
	m.histogram(a, b, func(n *Node) string { return n.Label })
}

// histogram pairs the unmatched children of a and b whose key occurs once
// among them on each side, and recovers inside each pair.
func (m *matcher) histogram(a, b *Node, key func(*Node) string) {
	as, bs := m.unmappedSrc(a), m.unmappedDst(b)
	count := make(map[string][2]int)
	for _, c := range as {
		k := count[key(c)]
		k[0]++
		count[key(c)] = k
	}
	for _, c := range bs {
		k := count[key(c)]
		k[1]++
		count[key(c)] = k
	}
	for _, x := range as {
		if count[key(x)] != [2]int{1, 1} {
			continue
		}
		for _, y := range bs {
			if key(y) == key(x) && m.allowed(x, y) {
				m.add(x, y)
				m.linear(x, y)
			}
		}
	}
}

func (m *matcher) unmappedSrc(n *Node) []*Node {
	var out []*Node
	for _, c := range n.Children {
		if !m.srcMapped(c) {
			out = append(out, c)
		}
	}
	return out
}

func (m *matcher) unmappedDst(n *Node) []*Node {
	var out []*Node
	for _, c := range n.Children {
		if !m.dstMapped(c) {
			out = append(out, c)
		}
	}
	return out
}

// lcsLimit bounds the quadratic alignment of children; longer lists (a
// generated file's thousands of declarations) are not aligned.
const lcsLimit = 1 << 22

// lcs returns a longest common subsequence of xs and ys under eq, as pairs.
func lcs(xs, ys []*Node, eq func(a, b *Node) bool) []pair {
	n, k := len(xs), len(ys)
	if n == 0 || k == 0 || n*k > lcsLimit {
		return nil
	}
	// t[i][j] = LCS length of xs[i:], ys[j:].
	t := make([]int32, (n+1)*(k+1))
	at := func(i, j int) int32 { return t[i*(k+1)+j] }
	for i := n - 1; i >= 0; i-- {
		for j := k - 1; j >= 0; j-- {
			v := max(at(i+1, j), at(i, j+1))
			if eq(xs[i], ys[j]) {
				v = max(v, at(i+1, j+1)+1)
			}
			t[i*(k+1)+j] = v
		}
	}
	var out []pair
	for i, j := 0, 0; i < n && j < k; {
		switch {
		case eq(xs[i], ys[j]) && at(i, j) == at(i+1, j+1)+1:
			out = append(out, pair{xs[i], ys[j]})
			i++
			j++
		case at(i+1, j) >= at(i, j+1):
			i++
		default:
			j++
		}
	}
	return out
}
