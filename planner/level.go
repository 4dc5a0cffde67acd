package planner

import (
	"fmt"
	"slices"
	"strings"

	"github.com/flordb/flor/analyzer"
	"github.com/flordb/flor/runtime"
)

// Level is how much of a version must run to log the new statements:
// FlorDB's levels (0 = prefix, 1 = outer loop, 2 = nested loop), with or
// without the code after the main loop.
type Level struct {
	Mode    string   // runtime.ModePrefix, ModeLoop or ModeSuffix
	Nested  bool     // a statement is inside a loop nested in the main loop
	Suffix  bool     // a statement is after the main loop
	Execute []string // block ids that must run
	Skip    []string // block ids that may be skipped (the analysis' skippable blocks)
}

// String says the level as FlorDB does: "outer loop without suffix".
func (l Level) String() string {
	var s string
	switch {
	case l.Mode == runtime.ModePrefix:
		return "prefix"
	case l.Mode == runtime.ModeSuffix:
		return "prefix and suffix (main loop restored)"
	case l.Nested:
		s = "nested loop"
	default:
		s = "outer loop"
	}
	if l.Suffix {
		return s + " with suffix"
	}
	return s + " without suffix"
}

// max combines the levels of two statements.
func (l Level) max(o Level) Level {
	rank := map[string]int{runtime.ModePrefix: 0, runtime.ModeSuffix: 1, runtime.ModeLoop: 2}
	out := l
	if rank[o.Mode] > rank[l.Mode] {
		out.Mode = o.Mode
	}
	out.Nested = l.Nested || o.Nested
	out.Suffix = l.Suffix || o.Suffix
	out.Execute = append(slices.Clone(l.Execute), o.Execute...)
	slices.Sort(out.Execute)
	out.Execute = slices.Compact(out.Execute)
	return out
}

// levelOf finds the level a version needs for the statements logging
// names, from its analysis.
func levelOf(a *analyzer.Analysis, names []string) (Level, error) {
	lv := Level{Mode: runtime.ModePrefix}
	found := map[string]bool{}
	for _, l := range a.Logs {
		if l.Kind != analyzer.KindLog || !slices.Contains(names, l.Name) {
			continue
		}
		found[l.Name] = true
		switch l.Phase {
		case analyzer.PhasePrefix:
			// The prefix always runs.
		case analyzer.PhaseSuffix:
			lv = lv.max(Level{Mode: runtime.ModeSuffix, Suffix: true})
		case analyzer.PhaseMain:
			s := Level{Mode: runtime.ModeLoop}
			if l.Depth >= 2 {
				s.Nested = true
				if l.Block != "" {
					s.Execute = append(s.Execute, l.Block)
				}
				if len(l.Loops) >= 2 {
					s.Execute = append(s.Execute, l.Loops[1])
				}
			}
			lv = lv.max(s)
		}
	}
	var missing []string
	for _, n := range names {
		if !found[n] {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return lv, fmt.Errorf("%w: no statement reached from main logs %s", ErrNoStatement, strings.Join(quoteAll(missing), ", "))
	}
	if lv.Mode == runtime.ModeLoop || lv.Mode == runtime.ModeSuffix {
		// Blocks the analysis cannot skip safely must run.
		for _, b := range a.Blocks {
			if !b.Skippable && b.Kind == analyzer.FlorLoop {
				lv.Execute = append(lv.Execute, b.ID)
			}
		}
		slices.Sort(lv.Execute)
		lv.Execute = slices.Compact(lv.Execute)
	}
	lv.Skip = []string{} // never null: the runtime then skips nothing else
	for _, b := range a.Blocks {
		if b.Skippable && !slices.Contains(lv.Execute, b.ID) && !slices.Contains(lv.Skip, b.ID) {
			lv.Skip = append(lv.Skip, b.ID)
		}
	}
	if lv.Mode == runtime.ModeSuffix && a.MainLoop == nil {
		lv.Mode = runtime.ModePrefix
	}
	return lv, nil
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}
