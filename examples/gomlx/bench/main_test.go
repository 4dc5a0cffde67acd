package main

import (
	"os"
	"testing"
)

// The flor the tests run replays on a machine busy with them: no measure
// for the user's next estimates.
func init() { os.Setenv("FLOR_MACHINE_COSTS", "off") }

// TestMain lets the test binary be the plain side, as the command is.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "-plain" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestRun: the benchmark runs end to end on a small configuration, and
// its two sides train the same model (run fails when the accuracies
// differ).
func TestRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds flor and the example, trains and replays")
	}
	if err := run(params{epochs: 1, trainSize: 256, testSize: 100}, 1); err != nil {
		t.Fatal(err)
	}
}
