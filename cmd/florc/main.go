package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
)

// commandFunc runs one subcommand with its arguments (the command name
// removed). It returns a usage error for bad flags or arguments and
// flag.ErrHelp after printing its help.
type commandFunc func(ctx context.Context, args []string, stdout, stderr io.Writer) error

// commands maps subcommand names to their functions. Files of this
// package may add to it from an init func.
var commands = map[string]commandFunc{
	"analyze":    runAnalyze,
	"instrument": runInstrument,
	// propagate: registered in propagate.go
}

// about holds the one-line descriptions shown by `florc --help`.
var about = map[string]string{
	"analyze":    "report loops, log statements, checkpoints and skip-block effects",
	"instrument": "wrap the loops nested in the main loop in skip blocks",
	"propagate":  "carry new log statements into older versions of a program",
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches to a subcommand and decides the exit code: 0, 1 for an
// error, 2 for a usage error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		w := stdout
		if len(args) == 0 {
			w = stderr
		}
		fmt.Fprint(w, mainUsage())
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "florc: unknown command %q\n%s", args[0], mainUsage())
		return 2
	}
	err := cmd(ctx, args[1:], stdout, stderr)
	var ue usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "florc %s: %v\nRun 'florc %s --help' for usage.\n", args[0], ue.error, args[0])
		return 2
	case errors.Is(err, errReported):
		return 1
	default:
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintf(stderr, "florc: %s\n", line)
		}
		return 1
	}
}

func mainUsage() string {
	var b strings.Builder
	b.WriteString("usage: florc COMMAND [flags] [arguments]\n\nflorc analyses and instruments Go training programs that use flor.\n\nCommands:\n")
	names := make([]string, 0, len(commands))
	for name := range commands {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		fmt.Fprintf(&b, "  %-11s %s\n", name, about[name])
	}
	b.WriteString("\nRun 'florc COMMAND --help' for a command's flags and examples.\n")
	return b.String()
}

// usageError is a bad flag or argument: exit code 2.
type usageError struct{ error }

// errReported: the command has printed its errors already; exit code 1.
var errReported = errors.New("errors reported")

// parseInterspersed parses flags that may come before or after the
// positional arguments, which it returns.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				if help, ok := helps.Load(fs); ok {
					help.(func())()
				}
				return nil, err
			}
			return nil, usageError{err}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// newFlagSet makes a flag set that prints usage (with examples) to
// stdout on --help and nothing on errors: run reports those.
//
// The flag package calls Usage on every parse error, not only for -h, so
// Usage does nothing; parseInterspersed prints the help kept in helps when
// the error is flag.ErrHelp, and a mistyped flag gets its error alone.
func newFlagSet(name, usage string, stdout io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	helps.Store(fs, func() {
		fmt.Fprint(stdout, usage)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	})
	return fs
}

// helps maps each flag set to the func printing its help.
var helps sync.Map
