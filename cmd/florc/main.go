package main

import (
	"context"
	"io"
	"os"

	"github.com/flordb/flor/internal/cli"
)

func main() { os.Exit(newMain(os.Stdout, os.Stderr).Run(context.Background(), os.Args[1:])) }

// spec is a florc subcommand: its flags fill an options struct O, and it
// runs with O in an env. Each lives in its own file.
type spec[O any] = cli.Spec[*env, O]

// commands is the dispatch table, in the order "florc help" lists them.
var commands = []cli.Binder[*env]{
	analyzeCmd,
	instrumentCmd,
	propagateCmd,
}

// env is what a command may touch of the outside world, so tests can run
// commands in-process.
type env struct {
	stdout, stderr io.Writer
}

// newMain is florc writing to the given streams.
func newMain(stdout, stderr io.Writer) *cli.Main {
	e := &env{stdout: stdout, stderr: stderr}
	return &cli.Main{
		Name:     "florc",
		Intro:    "florc analyses and instruments Go training programs that use flor.",
		Commands: cli.Bind(e, commands...),
		Stdout:   stdout,
		Stderr:   stderr,
	}
}

// onePackage is the package named by a command that takes one.
func onePackage(pos []string) (string, error) {
	if len(pos) != 1 {
		return "", cli.Usagef("want one package, got %d arguments", len(pos))
	}
	return pos[0], nil
}
