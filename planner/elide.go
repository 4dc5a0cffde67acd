package planner

import (
	"fmt"
	"slices"
	"strings"

	"github.com/flordb/flor/analyzer"
	"github.com/flordb/flor/runtime"
)

// skippedAfterFirst returns the statements of a's main loop that a replay
// of names at level lv evaluates only in each worker's first iteration:
// those the analysis proved it may skip, whose names it does not write,
// outside the blocks it skips.
func skippedAfterFirst(a *analyzer.Analysis, names []string, lv Level) []*analyzer.LogStmt {
	var out []*analyzer.LogStmt
	for _, l := range a.Elidable() {
		if !slices.Contains(names, l.Name) && (l.Block == "" || slices.Contains(lv.Execute, l.Block)) {
			out = append(out, l)
		}
	}
	return out
}

// selfCheckLine says what a replay at level lv checks: "self-check: first
// iteration of each worker; 1 statement skipped after it (val_acc at
// main.go:52:3)". "" when the main loop does not run.
func selfCheckLine(lv Level, skipped []*analyzer.LogStmt, full bool) string {
	if lv.Mode != runtime.ModeLoop {
		return ""
	}
	if full {
		return "self-check: every iteration (--full-check): no statement skipped"
	}
	if len(skipped) == 0 {
		return "self-check: every iteration: no statement can be skipped"
	}
	var at []string
	for _, l := range skipped {
		at = append(at, fmt.Sprintf("%s at %s", l.Name, l.Pos))
	}
	n := "1 statement"
	if len(skipped) > 1 {
		n = fmt.Sprintf("%d statements", len(skipped))
	}
	return fmt.Sprintf("self-check: first iteration of each worker; %s skipped after it (%s)", n, strings.Join(at, ", "))
}
