// Package gumtree maps the nodes of one Go syntax tree onto another with the
// GumTree algorithm (Falleri et al., "Fine-grained and accurate source code
// differencing", ASE 2014).
//
// A Tree is built from go/ast: a node's label is its kind (Ident, CallExpr,
// AssignStmt, ...), its value the name of an identifier, the text of a
// literal or the operator or keyword token of an expression, statement or
// declaration; every node keeps the ast.Node it came from, hence its
// positions. Match runs the three phases of the paper:
//
//  1. top-down: isomorphic subtrees are matched by decreasing height, from
//     height MinHeight (2) up; a subtree isomorphic to several others is
//     matched last, preferring the pair whose parents are most alike;
//  2. bottom-up: a container (a node with matched descendants) is matched to
//     the same-labelled container that shares the most matched descendants,
//     when their Dice similarity exceeds MinDice (0.5);
//  3. recovery: after each bottom-up match of two subtrees both smaller than
//     MaxSize (100) nodes, an optimal tree edit mapping (Zhang-Shasha) of the
//     two subtrees adds the pairs it finds between unmatched nodes of the
//     same label.
//
// Beyond the paper, and only when Options.LinearRecovery is set (it is in
// DefaultOptions), containers of MaxSize nodes or more get GumTree 3's
// linear recovery: children are aligned by longest common subsequence of
// isomorphic and then of same-shaped subtrees, then children whose label
// and value, then whose label alone, is unique among the unmatched children
// on both sides are paired and recovered in turn. Without it, a variable
// renamed throughout a long function leaves most of the function's
// statements unmatched.
//
// Also beyond the paper, with Options.Reassign (on by default): a container
// that a recovery matched although it shares little with its partner (Dice
// at most MinDice) may be taken in the bottom-up phase by a container that
// shares more than MinDice with it. Without it, when a loop's body moves
// into a helper function, the loop's now tiny body keeps the old body and
// the helper's body, which holds the code, finds no partner.
//
// Ambiguous top-down matches are ordered as in the paper by the Dice
// similarity of their parents; ties, frequent when nothing around them is
// matched yet, are broken by the leaves (names, literals) the parents and
// then the grandparents share, then by relative position.
//
// Isomorphism is decided by a hash of label, value and children's hashes,
// checked node by node when two hashes agree, so the top-down phase is
// linear in the number of nodes of each height.
//
// What gumtree is not for: it computes a mapping, not an edit script, and
// knows nothing of Go semantics (scopes, types); package rewrite/propagate
// builds on it to carry statements from one version of a program to another.
package gumtree
