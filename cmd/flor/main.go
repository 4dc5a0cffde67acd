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
	"path/filepath"

	"github.com/flordb/flor/internal/cli"
	"github.com/flordb/flor/internal/gitdir"
	"github.com/flordb/flor/storage"
)

func main() { os.Exit(newMain(os.Stdin, os.Stdout, os.Stderr).Run(context.Background(), os.Args[1:])) }

// spec is a flor subcommand: its flags fill an options struct O, and it
// runs with O in an env. Each lives in its own file.
type spec[O any] = cli.Spec[*env, O]

// commands is the dispatch table, in the order "flor help" lists them.
var commands = []cli.Binder[*env]{
	runsCmd,
	dataframeCmd,
	queryCmd,
	statCmd,
	exportCmd,
	checkpointCmd,
	lineageCmd,
	replayCmd,
	cacheCmd,
	pushCmd,
	pullCmd,
	unpackCmd,
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

// newMain is flor in the process's working directory and environment,
// with the given streams.
func newMain(stdin io.Reader, stdout, stderr io.Writer) *cli.Main {
	dir, err := os.Getwd()
	if err != nil {
		dir = "." // a removed working directory: home() says it is not in a repository
	}
	return (&env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv, dir: dir}).main()
}

// main is flor running its commands in e.
func (e *env) main() *cli.Main {
	return &cli.Main{
		Name:     "flor",
		Intro:    "flor reads what flor recorded: runs, logged values and checkpoints.",
		Outro:    "The flor home is $FLOR_HOME, else .flor at the top of the git repository\nthat holds the current directory.",
		Commands: cli.Bind(e, commands...),
		Stdout:   e.stdout,
		Stderr:   e.stderr,
	}
}

// run runs the flor command line args in e, in-process, and returns its
// exit code.
func (e *env) run(ctx context.Context, args ...string) int {
	return e.main().Run(ctx, args)
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
	repo, err := gitdir.Find(e.dir)
	if errors.Is(err, gitdir.ErrNotRepo) {
		return "", cli.WithHint(fmt.Errorf("%w: %s is not in a git repository and FLOR_HOME is not set", errNoHome, e.dir),
			"run flor in the git repository of your runs, or set FLOR_HOME to their flor home")
	}
	if err != nil {
		return "", fmt.Errorf("%w: %w", errNoHome, err)
	}
	return filepath.Join(repo.Top, ".flor"), nil
}

// open opens the store of the flor home. A home that does not exist is an
// error rather than created: reading must not leave files behind.
func (e *env) open(ctx context.Context, opts ...storage.Option) (*storage.Store, error) {
	h, err := e.home()
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(h); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("%w: %s does not exist (no run has been recorded here yet)", errNoHome, h)
	}
	base := []storage.Option{storage.WithMessages(e.stderr)}
	if p := e.getenv("FLOR_STORE"); p != "" {
		// The DuckDB file apart from the (shared) home: see storage.WithPath.
		base = append(base, storage.WithPath(p))
	}
	return storage.Open(ctx, h, append(base, opts...)...)
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
	return cli.Usagef("unknown format %q (want table, csv or json)", o.format)
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
