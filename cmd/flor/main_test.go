package main

import (
	"context"
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/flordb/flor/internal/clitest"
)

func TestMain(m *testing.M) {
	// The flor binaries the tests build replay on a machine busy with the
	// tests: no measure of the user's replays.
	os.Setenv("FLOR_MACHINE_COSTS", "off")
	testscript.Main(m, map[string]func(){
		"flor": func() { os.Exit(newMain(os.Stdin, os.Stdout, os.Stderr).Run(context.Background(), os.Args[1:])) },
	})
}

// TestScripts runs the command-line cases in testdata/script: each is a
// txtar archive holding run files written as docs/records.md defines them,
// or a program that records them, and the flor commands to run over them.
func TestScripts(t *testing.T) {
	clitest.Run(t, "testdata/script")
}
