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

// command is what the table below holds of each spec: one bound to an env.
type command interface {
	Bind(e *env) *cli.Command
}

// commands is the dispatch table, in the order "florc help" lists them.
var commands = []command{
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
	m := &cli.Main{
		Name:   "florc",
		Intro:  "florc analyses and instruments Go training programs that use flor.",
		Stdout: stdout,
		Stderr: stderr,
	}
	for _, c := range commands {
		m.Commands = append(m.Commands, c.Bind(e))
	}
	return m
}
