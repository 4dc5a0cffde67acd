// Package cli is the command structure that flor and florc share: a Main
// that dispatches to subcommands and prints the help, a Spec per
// subcommand that parses its flags into an options struct and runs from
// it, and one place that prints errors and decides the exit code.
//
// A binary's main is one line:
//
//	func main() { os.Exit(newMain(os.Stdin, os.Stdout, os.Stderr).Run(context.Background(), os.Args[1:])) }
//
// It is not a general command-line library: no nested subcommands, no
// configuration files, only what the two binaries need.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
)

// Exit codes, decided in one place (Main.Run).
const (
	ExitOK      = 0 // the command did what was asked
	ExitFailure = 1 // it failed
	ExitUsage   = 2 // the command line is wrong: nothing was done
)

// ErrUsage is what every mistake in the command line wraps: a bad flag,
// argument or value. Main exits with ExitUsage for it.
var ErrUsage = errors.New("usage error")

// usageError is a mistake in the command line. Its message is the
// mistake's alone: "usage error" is not printed.
type usageError struct{ err error }

func (e *usageError) Error() string        { return e.err.Error() }
func (e *usageError) Unwrap() error        { return e.err }
func (e *usageError) Is(target error) bool { return target == ErrUsage }

// Usagef makes a usage error: errors.Is(err, ErrUsage) holds, and the
// arguments may wrap other errors with %w.
func Usagef(format string, a ...any) error {
	return &usageError{fmt.Errorf(format, a...)}
}

// hinted is an error with advice for the user, printed after it.
type hinted struct {
	err  error
	hint string
}

func (e *hinted) Error() string { return e.err.Error() }
func (e *hinted) Unwrap() error { return e.err }

// WithHint adds a hint to err, which Main prints on its own line after the
// error: what to do about it.
func WithHint(err error, hint string) error {
	if err == nil {
		return nil
	}
	return &hinted{err, hint}
}

// Main is a program of subcommands.
type Main struct {
	Name     string // the program's name: "flor"
	Intro    string // what the program is for, the help's first lines
	Outro    string // the help's last paragraph, before the pointer to command help
	Commands []*Command
	Stdout   io.Writer // help asked for
	Stderr   io.Writer // errors, and help after a mistake
}

// Run runs the command args name and returns the exit code. An interrupt
// cancels the command's context.
func (m *Main) Run(ctx context.Context, args []string) int {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	if len(args) == 0 {
		fmt.Fprint(m.Stderr, m.Help())
		return ExitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		if args[0] == "help" && len(args) > 1 {
			c, err := m.lookup(args[1])
			if err != nil {
				return m.fail("", err)
			}
			fmt.Fprint(m.Stdout, c.Help())
			return ExitOK
		}
		fmt.Fprint(m.Stdout, m.Help())
		return ExitOK
	}
	c, err := m.lookup(args[0])
	if err != nil {
		return m.fail("", err)
	}
	err = c.Run(ctx, args[1:])
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(m.Stdout, c.Help())
		return ExitOK
	}
	return m.fail(c.Name, err)
}

// fail prints err, if any, with its hints, and returns its exit code. cmd
// names the subcommand whose help a usage error points to ("": the
// program's).
func (m *Main) fail(cmd string, err error) int {
	if err == nil {
		return ExitOK
	}
	// Joined errors (several diagnostics) come one a line; each is named.
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintf(m.Stderr, "%s: error: %s\n", m.Name, line)
	}
	for e := err; e != nil; e = errors.Unwrap(e) {
		if h, ok := e.(*hinted); ok {
			fmt.Fprintln(m.Stderr, h.hint)
		}
	}
	if !errors.Is(err, ErrUsage) {
		return ExitFailure
	}
	if cmd == "" {
		fmt.Fprintf(m.Stderr, "run '%s help' for usage\n", m.Name)
	} else {
		fmt.Fprintf(m.Stderr, "run '%s %s --help' for usage\n", m.Name, cmd)
	}
	return ExitUsage
}

// lookup finds the command name, or makes the usage error that names it
// and the closest command.
func (m *Main) lookup(name string) (*Command, error) {
	names := make([]string, len(m.Commands))
	for i, c := range m.Commands {
		if c.Name == name {
			return c, nil
		}
		names[i] = c.Name
	}
	err := Usagef("unknown command %q", name)
	if near := Closest(name, names); near != "" {
		err = WithHint(err, fmt.Sprintf("did you mean '%s %s'?", m.Name, near))
	}
	return nil, err
}

// Help is the program's help: what it is for, its commands with their
// summaries, and where to find more.
func (m *Main) Help() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\nUsage:\n\n\t%s <command> [flags] [arguments]\n\nCommands:\n\n", strings.TrimSpace(m.Intro), m.Name)
	width := 0
	for _, c := range m.Commands {
		width = max(width, len(c.Name))
	}
	for _, c := range m.Commands {
		fmt.Fprintf(&b, "\t%-*s  %s\n", width, c.Name, c.Summary)
	}
	if m.Outro != "" {
		fmt.Fprintf(&b, "\n%s\n", strings.TrimSpace(m.Outro))
	}
	fmt.Fprintf(&b, "\nRun '%s <command> --help' for a command's flags and examples.\n", m.Name)
	return b.String()
}
