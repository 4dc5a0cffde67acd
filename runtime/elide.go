package runtime

import (
	"fmt"
	"slices"
	"time"
)

// A replay build guards each flor.Log statement whose argument the
// analysis proved it may skip (package analyzer, elide.go) with Wanted:
//
//	if flor.Wanted("val_acc", "model") {
//		flor.Log("val_acc", mlp.Evaluate(model, test))
//	}
//
// The self-check still sees every such statement once per worker: in the
// worker's first iteration a name the run recorded is evaluated and
// compared; later iterations skip it unless the replay writes the name.

// elision is what Wanted skipped.
type elision struct {
	iter    int64    // the main iteration restore belongs to
	restore []string // registrations to restore at its end
}

// Wanted reports whether the replay needs the guarded statement logging
// name evaluated. restores are the registrations its argument changes:
// when Wanted says no, they are restored from the run's capture at the
// end of the main-loop iteration, so that what runs after sees the state
// an evaluation would have left. It says yes when recording, for a name
// the replay writes, with Plan.FullCheck, in the worker's first iteration
// for a name the self-check compares, outside the main loop, and when the
// run has no capture of restores at the end of this iteration.
func (r *Run) Wanted(name string, restores ...string) bool {
	rs := r.replay
	if rs == nil || rs.plan.FullCheck || rs.plan.Mode != ModeLoop || rs.names[name] {
		return true
	}
	r.w.mu.Lock()
	e := int64(-1)
	if r.main != nil {
		e = r.main.iter
	}
	registered := make(map[string]bool, len(r.ckpts))
	for _, c := range r.ckpts {
		registered[c.name] = true
	}
	r.w.mu.Unlock()
	if e < 0 || e == rs.plan.Start && rs.checks(name) {
		return true
	}
	if len(restores) > 0 {
		c, ok := rs.ckpts[ckptKey{e, "", 0}]
		if !ok {
			return true
		}
		for _, n := range restores {
			h, ok := c.Objs[n]
			if !ok || !registered[n] || !blobPresent(rs.plan.Home, h) {
				return true
			}
		}
		if rs.elided.iter != e {
			rs.elided.iter, rs.elided.restore = e, rs.elided.restore[:0]
		}
		for _, n := range restores {
			if !slices.Contains(rs.elided.restore, n) {
				rs.elided.restore = append(rs.elided.restore, n)
			}
		}
	}
	return false
}

// restoreElided restores, at the end of main iteration e, what the
// statements Wanted skipped in it would have changed; last says the
// worker stops after e, so nothing reads it.
func (r *Run) restoreElided(e int64, last bool) {
	rs := r.replay
	if rs == nil || rs.elided.iter != e || len(rs.elided.restore) == 0 {
		return
	}
	names := rs.elided.restore
	rs.elided.restore = rs.elided.restore[:0]
	if last {
		return
	}
	defer rs.timeRestore(time.Now())
	c := rs.ckpts[ckptKey{e, "", 0}]
	r.w.mu.Lock()
	regs := slices.Clone(r.ckpts)
	r.w.mu.Unlock()
	for _, reg := range regs {
		if !slices.Contains(names, reg.name) {
			continue
		}
		if err := r.restoreBlob(reg.ptr, c.Objs[reg.name]); err != nil {
			r.fatal(fmt.Errorf("replay: run %s: restoring %q after iteration %d's skipped statements: %w", rs.plan.Tstamp, reg.name, e, err))
		}
	}
}
