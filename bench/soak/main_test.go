package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestSoakSmall runs the soak on a few programs: every count must be
// exact, and the report must say so.
func TestSoakSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs recording programs and a replay")
	}
	var out, errs bytes.Buffer
	if err := run(context.Background(), []string{"-programs", "6", "-epochs", "2", "-steps", "5"}, &out, &errs); err != nil {
		t.Fatalf("soak: %v\n%s\n%s", err, out.String(), errs.String())
	}
	if !strings.Contains(out.String(), "every count exact; no lock error") {
		t.Fatalf("report:\n%s", out.String())
	}
}
