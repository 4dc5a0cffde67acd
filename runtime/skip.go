package runtime

// blockState is an open skip block written by florc instrument.
type blockState struct {
	id      string
	extras  []any
	occ     int
	e       int64
	active  bool // a block directly in the main loop (not nested in another)
	skipped bool
	rec     ckptRecord
}

// SkipStart opens the skip block id and reports whether its code must run.
// Recording, it always runs. In replay it is skipped when it holds no new
// statement and the run captured its end state for this iteration; SkipEnd
// then restores that state. extras are pointers to the variables the block
// changes that no Checkpoint registration covers.
func (r *Run) SkipStart(id string, extras ...any) bool {
	if r.off {
		return true
	}
	if err := r.ensureStarted(); err != nil {
		r.fatal(err)
	}
	r.w.mu.Lock()
	b := &blockState{id: id, extras: extras, e: -1}
	inMain := r.main != nil && r.innerLoopLocked() == r.main
	if inMain && len(r.blocks) == 0 {
		b.active = true
		b.e = r.main.iter
		b.occ = r.main.occs[id]
		r.main.occs[id]++
	}
	r.blocks = append(r.blocks, b)
	r.w.mu.Unlock()
	if b.active && r.replay != nil {
		if c, ok := r.replay.skippable(b.e, id, b.occ, len(extras), r.registeredNames()); ok {
			b.skipped = true
			b.rec = c
			if r.replay.check != nil {
				r.w.mu.Lock()
				r.replay.check.skippedIter = b.e
				r.w.mu.Unlock()
			}
			return false
		}
	}
	return true
}

// SkipEnd closes the skip block id: it captures the block's end state when
// recording, or restores it when SkipStart skipped the block.
func (r *Run) SkipEnd(id string) {
	if r.off {
		return
	}
	r.w.mu.Lock()
	var b *blockState
	for i := len(r.blocks) - 1; i >= 0; i-- {
		if r.blocks[i].id == id {
			b = r.blocks[i]
			// Blocks left open above it (a jump out of them) close too.
			r.blocks = r.blocks[:i]
			break
		}
	}
	r.w.mu.Unlock()
	if b == nil || !b.active {
		return
	}
	switch {
	case r.replay == nil:
		r.capture(b.e, id, b.occ, b.extras, true, false)
	case b.skipped:
		r.restore(b.rec, b.extras)
	}
}
