// Command flor reads what flor recorded: runs, dataframes and SQL over the
// store of a flor home. Run "flor help" for the commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/flordb/flor/storage"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// command is one flor subcommand. Each lives in its own file and adds
// itself to the table below.
type command struct {
	name    string
	summary string // one line for "flor help"
	usage   string // full help: synopsis, description, flags, examples
	run     func(ctx context.Context, e *env, args []string) error
}

// commands is the dispatch table, in the order "flor help" lists them.
var commands = []*command{
	runsCmd,
	dataframeCmd,
	queryCmd,
	statCmd,
	replayCmd,
	demoCmd,
	uiCmd,
	plotCmd,
}

// env is what a command may touch of the outside world, so tests can run
// commands in-process.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	dir            string // working directory
}

// usageError is a mistake in the command line: exit code 2.
type usageError struct {
	cmd string // "" for flor itself
	msg string
}

func (e *usageError) Error() string { return e.msg }

// run executes flor with args and returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	dir, err := os.Getwd()
	if err != nil {
		fmt.Fprintf(stderr, "flor: %v\n", err)
		return 1
	}
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv, dir: dir}
	return e.main(ctx, args)
}

func (e *env) main(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, mainUsage())
		return 2
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help", "help":
		if len(args) > 1 && name == "help" {
			if c := lookup(args[1]); c != nil {
				fmt.Fprint(e.stdout, c.usage)
				return 0
			}
			return e.fail(&usageError{msg: fmt.Sprintf("unknown command %q", args[1])})
		}
		fmt.Fprint(e.stdout, mainUsage())
		return 0
	}
	c := lookup(name)
	if c == nil {
		return e.fail(&usageError{msg: fmt.Sprintf("unknown command %q", name)})
	}
	err := c.run(ctx, e, args[1:])
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(e.stdout, c.usage)
		return 0
	}
	var ue *usageError
	if errors.As(err, &ue) && ue.cmd == "" {
		ue.cmd = c.name
	}
	return e.fail(err)
}

// fail prints an error and returns its exit code: 2 for usage errors, else 1.
func (e *env) fail(err error) int {
	if err == nil {
		return 0
	}
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(e.stderr, "flor: %s\n", ue.msg)
		if ue.cmd != "" {
			fmt.Fprintf(e.stderr, "run 'flor %s --help' for usage\n", ue.cmd)
		} else {
			fmt.Fprintf(e.stderr, "run 'flor help' for usage\n")
		}
		return 2
	}
	fmt.Fprintf(e.stderr, "flor: %v\n", err)
	return 1
}

func lookup(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

func mainUsage() string {
	var b strings.Builder
	b.WriteString(`flor reads what flor recorded: runs, logged values and checkpoints.

Usage:

	flor <command> [flags] [arguments]

Commands:

`)
	for _, c := range commands {
		fmt.Fprintf(&b, "\t%-10s %s\n", c.name, c.summary)
	}
	b.WriteString(`
The flor home is $FLOR_HOME, else .flor at the top of the git repository
that holds the current directory.

Run 'flor <command> --help' for a command's flags and examples.
`)
	return b.String()
}

// parseFlags parses args with fs, allowing flags before and after the
// positional arguments ("--" ends the flags), and returns the positional
// arguments. -h and --help give flag.ErrHelp; other mistakes a usageError.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	var pos []string
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		if err != nil {
			return nil, &usageError{msg: err.Error()}
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

// errNoHome: no flor home could be found.
var errNoHome = errors.New("no flor home")

// home finds the flor home as the runtime does: $FLOR_HOME, else .flor at
// the top of the git repository containing the working directory.
func (e *env) home() (string, error) {
	if h := e.getenv("FLOR_HOME"); h != "" {
		if !filepath.IsAbs(h) {
			h = filepath.Join(e.dir, h)
		}
		return h, nil
	}
	start := e.dir
	if p, err := filepath.EvalSymlinks(start); err == nil {
		start = p
	}
	for d := start; ; {
		if _, err := os.Stat(filepath.Join(d, ".git")); err == nil {
			return filepath.Join(d, ".flor"), nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("%w: %s is not in a git repository and FLOR_HOME is not set", errNoHome, e.dir)
		}
		d = parent
	}
}

// open opens the store of the flor home. A home that does not exist is an
// error rather than created: reading must not leave files behind.
func (e *env) open(ctx context.Context) (*storage.Store, error) {
	h, err := e.home()
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(h); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("%w: %s does not exist (no run has been recorded here yet)", errNoHome, h)
	}
	return storage.Open(ctx, h, storage.WithMessages(e.stderr))
}

// formatFlags adds the output flags shared by the reading commands.
type formatFlags struct {
	format  string
	maxRows int
	width   int
}

func (o *formatFlags) register(fs *flag.FlagSet, maxRows int) {
	fs.StringVar(&o.format, "format", "table", "output `format`: table, csv or json")
	fs.IntVar(&o.maxRows, "max-rows", maxRows, "table format: show at most `n` rows, head and tail (0: all)")
	fs.IntVar(&o.width, "width", 0, "table format: drop middle columns to fit `n` characters (0: $COLUMNS, else no limit)")
}

func (o *formatFlags) check() error {
	for _, f := range storage.Formats {
		if o.format == f {
			return nil
		}
	}
	return &usageError{msg: fmt.Sprintf("unknown format %q (want table, csv or json)", o.format)}
}

func (o *formatFlags) write(e *env, f *storage.Frame) error {
	width := o.width
	if width == 0 {
		fmt.Sscan(e.getenv("COLUMNS"), &width)
	}
	return f.Write(e.stdout, o.format, storage.TableOptions{MaxRows: o.maxRows, MaxWidth: width})
}

// notes prints a frame's notes on stderr.
func (e *env) notes(f *storage.Frame) {
	for _, n := range f.Notes {
		fmt.Fprintf(e.stderr, "flor: note: %s\n", n)
	}
}
