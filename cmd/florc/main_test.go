package main

import (
	"context"
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/flordb/flor/internal/clitest"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"florc": func() { os.Exit(newMain(os.Stdout, os.Stderr).Run(context.Background(), os.Args[1:])) },
	})
}

// TestScripts runs the command-line cases in testdata/script: each is a
// txtar archive holding a small program in a module built against this
// checkout, and the florc commands to run over it.
func TestScripts(t *testing.T) {
	clitest.Run(t, "testdata/script")
}
