package planner

import (
	"fmt"
	"io"
	"strings"

	"github.com/flordb/flor/internal/record"
)

// Replay checks itself (runtime/selfcheck.go): a worker writes a diverge
// record for each value it logged under a recorded name and context that
// differs from the record. A run with divergences is not published
// unless the user accepts them; accepted ones are ingested as warnings.

// divergencesShown is how many divergences an error names; the rest are
// counted (and all are in the log).
const divergencesShown = 3

// workerRecords reads a worker's output once: the status of its end
// record ("" without one) and its divergences.
func workerRecords(path string) (string, []record.Divergence, error) {
	status := ""
	var divs []record.Divergence
	err := record.ReadFile(path, func(l record.Line) error {
		switch l.Kind {
		case record.KindEnd:
			status = l.End().Status
		case record.KindDiverge:
			if d, err := l.Divergence(); err == nil {
				divs = append(divs, d)
			}
		}
		return nil
	})
	return status, divs, err
}

// checkDivergences logs out's divergences and refuses to publish them
// unless they are accepted, in which case they become a note.
func (p *replayer) checkDivergences(out *Outcome, log io.Writer) error {
	ds := out.Divergences
	if len(ds) == 0 {
		return nil
	}
	logMu.Lock()
	for _, d := range ds {
		fmt.Fprintf(log, "diverged: %s\n", d)
	}
	logMu.Unlock()
	summary := divergenceSummary(ds)
	if !p.opt.AcceptDivergence {
		return fmt.Errorf("%w: %s; not published (--accept-divergence publishes it, marking these values)", ErrDivergence, summary)
	}
	out.Notes = append(out.Notes, fmt.Sprintf("run %s: accepted divergence: %s", out.Row.Run.Tstamp, summary))
	return nil
}

// divergenceSummary counts ds and names the first of them.
func divergenceSummary(ds []record.Divergence) string {
	var b strings.Builder
	if len(ds) == 1 {
		b.WriteString("1 value differs from the record: ")
	} else {
		fmt.Fprintf(&b, "%d values differ from the record: ", len(ds))
	}
	for i, d := range ds[:min(len(ds), divergencesShown)] {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(d.String())
	}
	if n := len(ds) - divergencesShown; n > 0 {
		fmt.Fprintf(&b, "; and %d more", n)
	}
	return b.String()
}
