package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"
)

// TestBenchSmall runs the whole bench on tiny runs: every run must be
// replayed with values that pass the check, and the report must carry
// every figure.
func TestBenchSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("records four runs of two versions and replays them")
	}
	var out, progress bytes.Buffer
	err := run(context.Background(), []string{"-versions", "2", "-runs", "2", "-epochs", "2",
		"-train_size", "640", "-hidden", "8", "-print_every", "5"}, &out, &progress)
	if err != nil {
		t.Fatalf("run: %v\n%s\n%s", err, progress.String(), out.String())
	}
	s := out.String()
	num := `[0-9]+\.[0-9]+`
	for _, re := range []string{
		`(?m)^recorded: 4 runs \(2 versions × 2\), 2 epochs each, train_size 640, hidden 8, in ` + num + ` s$`,
		`(?m)^replay: flor\.Log\("loss_x", loss\*2\), level nested loop\b.*, W=2$`,
		`(?m)^  total ` + num + ` s \(the schedule estimated ` + num + ` s, [-+][0-9]+%\)$`,
		`(?m)^  preparation: 2 versions, ` + num + ` s`,
		`(?m)^  total / ideal = ` + num + ` / ` + num + ` = ` + num + `   target <= 1\.30: (PASS|MISS)$`,
		`(?m)^  values: 160 values; loss_x = 2·loss bit for bit at the 32 steps where loss was logged$`,
	} {
		if !regexp.MustCompile(re).MatchString(s) {
			t.Errorf("the report does not match %s:\n%s", re, s)
		}
	}
	if n := strings.Count(s, "Z  "); n < 4 {
		t.Errorf("the per-run table has %d rows, want 4:\n%s", n, s)
	}
}

// TestStatementsApply: each statement finds its place in the example
// once, so the bench measures what it says when the example changes.
func TestStatementsApply(t *testing.T) {
	for level, st := range statements {
		if n := strings.Count(source(0), st.anchor); n != 1 {
			t.Errorf("level %s: the example holds %d of %q, want 1", level, n, st.anchor)
		}
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-level", "inner"}, {"-runs", "0"}, {"-epochs", "-1"}, {"extra"}} {
		if _, err := parseFlags(args, io.Discard); !errors.Is(err, errUsage) {
			t.Errorf("%q: got %v, want a usage error", args, err)
		}
	}
}
