package analyzer

import (
	"go/token"
	"go/types"
)

// Hazards: code run from the main loop that makes a replay differ from
// the run it replays whatever is checkpointed. Two are reported, each at
// its call site in the main loop (a call of a helper that does it, or the
// statement itself):
//
//   - a draw from math/rand's (or math/rand/v2's) global generator, in the
//     program or in a package it calls (InMemoryDataset.Shuffle): the
//     generator is seeded at random in every run and no checkpoint holds
//     it;
//   - a data iterator declared outside the main loop whose position moves
//     in it (an externalEffects entry with advances), is never reset in
//     it and is not checkpointed: its position carries from one epoch to
//     the next, so a replay worker that starts at a later epoch reads
//     other data.

// analyzeHazards warns about the hazards of the main loop.
func (s *state) analyzeHazards() {
	if s.mainStmt == nil {
		return
	}
	w := &effWalker{s: s, inner: []posRange{{s.mainStmt.Pos(), s.mainStmt.End()}}}
	w.walk(loopBodyOf(s.mainStmt))
	seen := map[token.Pos]bool{}
	warned := map[*types.Var]bool{}
	for _, e := range w.out {
		switch {
		case e.kind == EffectRand:
			if seen[e.pos] || s.randWarned[e.pos] {
				continue
			}
			seen[e.pos] = true
			s.warnf(e.pos, "not reproducible: the main loop %s (%s), and math/rand's global generator is seeded at random in every run and cannot be checkpointed; draw from a rand.Rand of your own whose source (rand.NewPCG(seed, ...)) is registered with flor.Checkpoint", e.desc, s.pos(e.pos).Short())
		case e.iter == iterAdvance && e.l != nil && e.l.root != nil:
			l := s.translate(s.mainCalls, s.mainBodies, e.l)
			if s.resetAt[e.l.root].IsValid() || warned[e.l.root] {
				continue
			}
			if reg, _ := s.coverage(l); reg != nil {
				continue
			}
			warned[e.l.root] = true
			s.warnf(e.pos, "replay may differ: the data iterator %s moves in the main loop (%s, %s) and is neither reset in it nor checkpointed, so its position carries across epochs and a replay that starts at a later epoch reads other data; reset it at the top of each epoch, or register it with flor.Checkpoint", l, e.desc, s.pos(e.pos).Short())
		}
	}
}

// findResets fills s.resetAt: the data iterators that the main loop's
// body, outside its blocks, moves back to their start in every iteration.
// Their position carries nothing from one iteration to the next, so what
// a block or the body does to it needs no checkpoint.
func (s *state) findResets() {
	s.resetAt = map[*types.Var]token.Pos{}
	body := loopBodyOf(s.mainStmt)
	if body == nil {
		return
	}
	w := &effWalker{s: s, inner: []posRange{{s.mainStmt.Pos(), s.mainStmt.End()}}, skipFlorLoops: true}
	for _, bi := range s.blocks {
		w.skip = append(w.skip, posRange{bi.full.Pos(), bi.full.End()})
	}
	w.walk(body)
	for _, e := range w.out {
		if e.iter == iterReset && e.l != nil && e.l.root != nil && !s.resetAt[e.l.root].IsValid() {
			s.resetAt[e.l.root] = e.pos
		}
	}
}

// resetNote says that l's iterator is reset in every iteration of the
// main loop, or is "".
func (s *state) resetNote(l *loc) string {
	if l == nil || l.root == nil || !s.resetAt[l.root].IsValid() {
		return ""
	}
	return "a data iterator reset in every iteration of the main loop (" + s.pos(s.resetAt[l.root]).Short() + ")"
}
