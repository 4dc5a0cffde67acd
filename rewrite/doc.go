// Package rewrite instruments Go training programs for flor's replay: it
// wraps each loop nested in the main loop in a skip block (flor.SkipStart /
// flor.SkipEnd) so that replay can skip the loop and restore its effects.
//
// Source is never re-printed. The syntax tree is walked only to find byte
// offsets, and a sorted list of text edits (Edit, Apply) is applied to the
// original bytes, so the user's comments and formatting survive exactly, as
// in Go's cmd/cover.
//
// What rewrite is not for: deciding which loops are blocks and what they
// change (package analyzer does that), and moving statements between code
// versions (package rewrite/propagate).
package rewrite
