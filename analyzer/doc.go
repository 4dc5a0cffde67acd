// Package analyzer reads a Go training program that uses flor and reports
// what replay needs to know about it: its flor loops and the plain loops
// around flor calls, with their depths; every flor.Log and flor.Arg with its
// depth, loop chain and phase (prefix, main loop, suffix); the main loop;
// the flor.Checkpoint registrations; for each loop nested in the main loop
// (a skip block), the side effects it has on state declared outside it
// and whether a checkpoint, or the skip block itself, restores them; and
// the main loop's carried state: what its body changes outside the blocks
// in variables declared outside the main loop, whether a checkpoint
// restores it and whether a later iteration or the code after the main
// loop reads it again (replay with several workers, and of the code after
// the main loop alone, start from checkpoints).
//
// A registration covers what encoding/gob saves of the object: not its
// unexported, func or chan fields, unless a type on the way encodes
// itself (GobEncoder, encoding.BinaryMarshaler).
//
// Packages are loaded with golang.org/x/tools/go/packages, types included,
// so flor calls are found through go/types objects whatever name the flor
// package is imported under, and effects are matched to registrations by
// object identity and provable aliasing, not by spelling.
//
// The analysis follows static calls to functions of the main package: a
// flor call in a helper counts at the depth of the call site, and a helper
// that changes state through a pointer it is given makes an effect at the
// call site. Calls into other packages are judged by their signatures (a
// pointer receiver or a pointer argument may change what it points to; os,
// net, io and the fmt printers are input/output); for a package whose
// source is local (not the standard library nor the module cache), its
// functions are summarised too, to tell the pointers they only read.
//
// Functions of packages whose source is not read (GoMLX, the standard
// library's readers, flor's adapters) are judged by one table of effect
// summaries (external.go): which parameters they change, whether they draw
// from math/rand's global generator, whether they move a data iterator,
// and whether, registered with flor.Checkpoint, their result saves the
// state of their arguments (florgomlx.Context(ctx, trainer) covers ctx
// and trainer). Hazards are warned about at their call sites in the main
// loop: draws from the global generator, in the program or in the
// packages it calls, and data iterators whose position carries across
// epochs.
//
// For each flor.Log statement it also says whether a replay that keeps
// none of its values may skip evaluating it (LogStmt.Elide, elide.go):
// proved when its result is unused, it is in the main loop's own body,
// and its argument changes only checkpointed state that nothing reads
// before the iteration ends, and when every call the argument makes is
// one whose effects the analysis sees.
//
// What analyzer is not for: rewriting code (package rewrite uses its
// results), running programs, or proving the absence of every effect.
// Effects it cannot see, such as writes through memory reached only from
// the results of calls into other packages, are not reported.
package analyzer
