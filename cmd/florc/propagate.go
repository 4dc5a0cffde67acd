package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/flordb/flor/internal/cli"
	"github.com/flordb/flor/rewrite/propagate"
)

// propagateOptions is what florc propagate was asked for.
type propagateOptions struct {
	newDir, oldDir string
	inPlace        bool   // -w
	outDir         string // -o
	verbose        bool
	targets        []propagate.Target
}

var propagateCmd = &spec[propagateOptions]{
	Name:    "propagate",
	Summary: "carry new log statements into older versions of a program",
	Usage:   propagateUsage,
	Flags: func(fs *flag.FlagSet, o *propagateOptions) {
		fs.StringVar(&o.newDir, "new", "", "`DIR` holding the newest version of the package")
		fs.StringVar(&o.oldDir, "old", "", "`DIR` holding the older version to carry the statements into")
		fs.BoolVar(&o.inPlace, "w", false, "write the changed files over the old version's")
		fs.StringVar(&o.outDir, "o", "", "write the old version's files, changed, into `DIR`")
		fs.BoolVar(&o.verbose, "v", false, "for each statement, print its anchor, the mappings it relied on and their similarity, and its renames")
	},
	Args: func(o *propagateOptions, pos []string) error {
		switch {
		case o.newDir == "" || o.oldDir == "":
			return cli.Usagef("--new and --old are required")
		case len(pos) == 0:
			return cli.Usagef("name at least one log name or FILE.go:LINE")
		case o.inPlace && o.outDir != "":
			return cli.Usagef("-w and -o exclude each other")
		}
		for _, p := range pos {
			o.targets = append(o.targets, propagate.ParseTarget(p))
		}
		return nil
	},
	Run: runPropagate,
}

const propagateUsage = `Usage: florc propagate --new DIR --old DIR [-w | -o DIR] [-v] NAME...

Carries statements from the newest version of a package (--new) into an
older version of it (--old), as replay does before running a past version.
Each NAME is a log name, meaning every statement of the new version that
calls flor.Log with that name, or FILE.go:LINE, meaning the statement at
that line of the new version.

A statement goes after the nearest preceding statement that the old version
also has (found by GumTree matching, so renamed variables, reordered or
moved code and code moved into helpers are followed), with its identifiers
renamed to the old version's names and any import it needs added. A
statement the old version already has is left alone. A statement that
cannot be placed, uses something the old version lacks, or does not compile
there (the old version is type-checked in its module, with its
dependencies) is reported and the others still go in. -v tells, for each
statement, its anchor, the mappings it relied on with their similarity,
and the renames it took.

Without -w or -o, a unified diff of the changes is written to standard
output. What happened to each statement is written to standard error.
Files are replaced through a temporary file and a rename. When the versions
cannot be read or parsed, or a NAME matches no statement, nothing is
written. The exit code is 1 when any statement failed.

Examples:
  florc propagate --new . --old /tmp/v3 grad_norm           # show the diff
  florc propagate --new . --old /tmp/v3 -w grad_norm loss   # edit /tmp/v3
  florc propagate --new . --old /tmp/v3 -o /tmp/v3+ train.go:42

Flags:
`

func runPropagate(ctx context.Context, e *env, o *propagateOptions) error {
	res, err := propagate.Package(o.newDir, o.oldDir, o.targets)
	if err != nil {
		return err
	}
	// What happened to each statement; the failures are the command's
	// error, printed last.
	for _, out := range res.Outcomes {
		switch {
		case o.verbose:
			fmt.Fprintln(e.stderr, out.Explain())
		case out.Status != propagate.Failed:
			fmt.Fprintln(e.stderr, out)
		}
	}
	switch {
	case o.inPlace:
		err = res.Write(o.oldDir)
	case o.outDir != "":
		err = copyPackage(o.oldDir, o.outDir)
		if err == nil {
			err = res.Write(o.outDir)
		}
	default:
		_, err = e.stdout.Write(res.Diff())
	}
	if err != nil {
		return err
	}
	return res.Err()
}

// copyPackage copies the regular files of dir into out, which it creates.
func copyPackage(dir, out string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return err
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(out, e.Name()), data, info.Mode().Perm()); err != nil {
			return err
		}
	}
	return nil
}
