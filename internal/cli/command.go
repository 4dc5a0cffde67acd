package cli

import (
	"context"
	"errors"
	"flag"
	"io"
	"strings"
)

// Command is a subcommand as Main runs it, made by Spec.Bind.
type Command struct {
	Name    string
	Summary string
	help    func() string
	run     func(ctx context.Context, args []string) error
}

// Help is the command's full help: synopsis, description, flags and
// examples.
func (c *Command) Help() string { return c.help() }

// Run parses args (the command's name removed) and does the work. It
// returns flag.ErrHelp when help was asked for, and an error wrapping
// ErrUsage for a mistake in args.
func (c *Command) Run(ctx context.Context, args []string) error { return c.run(ctx, args) }

// Binder is a subcommand not yet given its environment E: a *Spec.
type Binder[E any] interface {
	Bind(env E) *Command
}

// Bind binds each spec to env, for Main.Commands.
func Bind[E any](env E, specs ...Binder[E]) []*Command {
	cmds := make([]*Command, len(specs))
	for i, s := range specs {
		cmds[i] = s.Bind(env)
	}
	return cmds
}

// Spec describes a subcommand whose command line fills an options struct
// O and which runs with O in an environment E (its streams and whatever
// else the program's commands share). Flag parsing and the work are
// separate functions, so that each can be tested alone and one command
// can run another from options.
type Spec[E, O any] struct {
	Name    string // as typed: "dataframe"
	Summary string // one line for the program's help
	// Usage is the full help: synopsis, description, flags and examples.
	// A Usage that ends with a "Flags:" line is followed by the flags'
	// defaults as flag.PrintDefaults prints them.
	Usage string
	// Flags defines the command's flags on fs, each filling a field of o.
	// Nil: the command has none.
	Flags func(fs *flag.FlagSet, o *O)
	// Args takes the positional arguments into o and checks o, returning
	// usage errors (Usagef). Nil: the command takes no arguments.
	Args func(o *O, args []string) error
	// Run does the work.
	Run func(ctx context.Context, env E, o *O) error
}

// Bind makes the Command that parses its arguments into a new O and runs
// it in env.
func (s *Spec[E, O]) Bind(env E) *Command {
	return &Command{
		Name:    s.Name,
		Summary: s.Summary,
		help:    s.help,
		run: func(ctx context.Context, args []string) error {
			o, err := s.Parse(args)
			if err != nil {
				return err
			}
			return s.Run(ctx, env, o)
		},
	}
}

// Parse parses a command line (the command's name removed) into options:
// flags may come before and after the positional arguments, and "--" ends
// them. -h and --help give flag.ErrHelp; mistakes a usage error that names
// the flag or argument at fault.
func (s *Spec[E, O]) Parse(args []string) (*O, error) {
	o := new(O)
	fs := s.flagSet(o)
	pos, err := parse(fs, args)
	if err != nil {
		return nil, err
	}
	if s.Args == nil {
		if len(pos) > 0 {
			return nil, Usagef("%s takes no arguments", s.Name)
		}
		return o, nil
	}
	if err := s.Args(o, pos); err != nil {
		return nil, err
	}
	return o, nil
}

func (s *Spec[E, O]) flagSet(o *O) *flag.FlagSet {
	fs := flag.NewFlagSet(s.Name, flag.ContinueOnError)
	// Main reports mistakes and prints help; the flag package would print
	// both on every error.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	if s.Flags != nil {
		s.Flags(fs, o)
	}
	return fs
}

func (s *Spec[E, O]) help() string {
	if !strings.HasSuffix(s.Usage, "Flags:\n") {
		return s.Usage
	}
	var b strings.Builder
	b.WriteString(s.Usage)
	fs := s.flagSet(new(O))
	fs.SetOutput(&b)
	fs.PrintDefaults()
	return b.String()
}

// undefinedFlag starts the flag package's error for a flag no command
// defines; it has no error value of its own.
const undefinedFlag = "flag provided but not defined: -"

// parse parses args with fs, taking flags before and after the positional
// arguments, which it returns.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		if err != nil {
			return nil, flagError(fs, err)
		}
		rest := fs.Args()
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// flagError makes a flag mistake a usage error, hinting at the closest
// flag the command has when the flag is unknown.
func flagError(fs *flag.FlagSet, err error) error {
	uerr := Usagef("%w", err)
	name, ok := strings.CutPrefix(err.Error(), undefinedFlag)
	if !ok {
		return uerr
	}
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	if near := Closest(name, names); near != "" {
		return WithHint(uerr, "did you mean --"+near+"?")
	}
	return uerr
}
