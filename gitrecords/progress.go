package gitrecords

import (
	"fmt"
	"io"
)

// progress reports a phase over many files: on a terminal one counter
// rewritten in place, elsewhere a line every ProgressEvery files. Phases
// of fewer files than that print nothing.
type progress struct {
	w     io.Writer
	term  bool
	phase string
	total int
	n     int
	shown bool
}

func newProgress(opt Options) *progress { return &progress{w: opt.Progress, term: opt.Terminal} }

func (p *progress) start(phase string, total int) {
	p.phase, p.total, p.n, p.shown = phase, total, 0, false
}

func (p *progress) step() {
	p.n++
	if p.w == nil || p.total < ProgressEvery {
		return
	}
	if p.term {
		if step := max(1, p.total/100); p.n%step == 0 || p.n == p.total {
			fmt.Fprintf(p.w, "\rflor: %s: %d/%d files", p.phase, p.n, p.total)
			p.shown = true
		}
		return
	}
	if p.n%ProgressEvery == 0 {
		fmt.Fprintf(p.w, "flor: %s: %d/%d files\n", p.phase, p.n, p.total)
	}
}

func (p *progress) done() {
	if p.shown && p.term {
		fmt.Fprintln(p.w)
	}
	p.shown = false
}

// note prints a line that is not progress (a conflict, a skipped file).
func (p *progress) note(format string, args ...any) {
	if p.w == nil {
		return
	}
	p.done()
	fmt.Fprintf(p.w, "flor: "+format+"\n", args...)
}
