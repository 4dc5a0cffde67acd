package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/flordb/flor/rewrite/propagate"
)

func init() {
	commands["propagate"] = runPropagate
}

const propagateUsage = `usage: florc propagate --new DIR --old DIR [-w | -o DIR] [-v] NAME...

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

func runPropagate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("propagate", propagateUsage, stdout)
	newDir := fs.String("new", "", "`DIR` holding the newest version of the package")
	oldDir := fs.String("old", "", "`DIR` holding the older version to carry the statements into")
	inPlace := fs.Bool("w", false, "write the changed files over the old version's")
	outDir := fs.String("o", "", "write the old version's files, changed, into `DIR`")
	verbose := fs.Bool("v", false, "for each statement, print its anchor, the mappings it relied on and their similarity, and its renames")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	switch {
	case *newDir == "" || *oldDir == "":
		return usageError{errors.New("--new and --old are required")}
	case len(pos) == 0:
		return usageError{errors.New("name at least one log name or FILE.go:LINE")}
	case *inPlace && *outDir != "":
		return usageError{errors.New("-w and -o exclude each other")}
	}
	targets := make([]propagate.Target, len(pos))
	for i, p := range pos {
		targets[i] = propagate.ParseTarget(p)
	}
	res, err := propagate.Package(*newDir, *oldDir, targets)
	if err != nil {
		return err
	}
	for _, o := range res.Outcomes {
		if *verbose {
			fmt.Fprintln(stderr, o.Explain())
			continue
		}
		if o.Status == propagate.Failed {
			fmt.Fprintf(stderr, "florc: %v\n", o.Err)
		} else {
			fmt.Fprintln(stderr, o)
		}
	}
	switch {
	case *inPlace:
		err = res.Write(*oldDir)
	case *outDir != "":
		err = copyPackage(*oldDir, *outDir)
		if err == nil {
			err = res.Write(*outDir)
		}
	default:
		_, err = stdout.Write(res.Diff())
	}
	if err != nil {
		return err
	}
	if res.Err() != nil {
		return errReported
	}
	return nil
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
