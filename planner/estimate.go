package planner

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/flordb/flor/runtime"
)

// Costs the planner assumes for work no run records.
const (
	// buildCost: building one version with a warm Go build cache, until
	// a replay in this flor home has measured it.
	buildCost = 3 * time.Second
	// restoreCost: reading and decoding one checkpoint.
	restoreCost = 50 * time.Millisecond
)

// buildStats is where the last measured build time is kept.
func buildStats(home string) string { return filepath.Join(home, "logs", "build-seconds") }

// lastBuild is the last measured build time in home, else buildCost.
func lastBuild(home string) time.Duration {
	data, err := os.ReadFile(buildStats(home))
	if err != nil {
		return buildCost
	}
	s, err := strconv.ParseFloat(strings.TrimSpace(string(data)), 64)
	if err != nil || s <= 0 {
		return buildCost
	}
	return time.Duration(s * float64(time.Second))
}

// saveBuild keeps a measured build time for the next estimates.
func saveBuild(home string, d time.Duration) {
	_ = os.WriteFile(buildStats(home), []byte(strconv.FormatFloat(d.Seconds(), 'f', 2, 64)+"\n"), 0o644)
}

// Estimate is the expected wall time of replaying r at level lv with
// workers processes, building its version taking build. It improves on FlorDB's formulas by subtracting only
// the nested loops that are skipped, by charging a measured-size restore
// rather than a second per epoch, and by dividing the loop among workers.
func Estimate(r *Run, lv Level, workers int, build time.Duration) time.Duration {
	t := build + r.Prefix
	switch lv.Mode {
	case runtime.ModePrefix:
		return t
	case runtime.ModeSuffix:
		return t + restoreCost + r.Suffix
	}
	var loop time.Duration
	for i, it := range r.Iterations {
		if lv.Nested || i >= len(r.Nested) {
			loop += it
		} else {
			loop += max(it-r.Nested[i], 0) + restoreCost
		}
	}
	w := max(1, min(workers, len(r.Iterations)))
	t += loop/time.Duration(w) + restoreCost
	if lv.Suffix {
		t += r.Suffix
	}
	return t
}

// Bucket says a duration as FlorDB's prompt does.
func Bucket(d time.Duration) string {
	switch {
	case d < 10*time.Second:
		return "under 10 seconds"
	case d < 2*time.Minute:
		return "under 2 minutes"
	case d <= 15*time.Minute:
		return "up to 15 minutes"
	}
	return fmt.Sprintf("in about %s", d.Round(time.Minute))
}

// split divides iterations [0, n) into at most w contiguous ranges of
// near-equal size; the last range's stop is -1 (to the end).
func split(n, w int) [][2]int64 {
	if n <= 0 {
		return [][2]int64{{0, -1}}
	}
	w = max(1, min(w, n))
	out := make([][2]int64, 0, w)
	start := 0
	for i := range w {
		size := n / w
		if i < n%w {
			size++
		}
		out = append(out, [2]int64{int64(start), int64(start + size)})
		start += size
	}
	out[len(out)-1][1] = -1
	return out
}
