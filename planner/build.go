package planner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"golang.org/x/mod/modfile"
)

// ErrBuild: a version of the program does not build.
var ErrBuild = errors.New("build failed")

// moduleDir walks up from dir (inside tree) to the directory holding go.mod.
func moduleDir(tree, dir string) (string, error) {
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		if d == tree || filepath.Dir(d) == d {
			return "", fmt.Errorf("%w: no go.mod at or above %s in the snapshot", ErrBuild, dir)
		}
	}
}

// fixReplaces rewrites go.mod replace directives whose relative paths
// leave the materialised tree so that they point at the same directories
// as they did from the user's checkout.
func fixReplaces(modDir, origModDir, tree, origRoot string) error {
	path := filepath.Join(modDir, "go.mod")
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBuild, err)
	}
	f, err := modfile.Parse(path, data, nil)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBuild, err)
	}
	changed := false
	for _, r := range f.Replace {
		p := r.New.Path
		if !modfile.IsDirectoryPath(p) || filepath.IsAbs(p) {
			continue
		}
		inTree := filepath.Join(modDir, filepath.FromSlash(p))
		if rel, err := filepath.Rel(tree, inTree); err == nil && filepath.IsLocal(rel) {
			if _, err := os.Stat(filepath.Join(inTree, "go.mod")); err == nil {
				continue // inside the snapshot: the materialised copy serves
			}
			// Not in the snapshot (ignored, or a submodule): use the checkout's.
		}
		abs := filepath.Join(origModDir, filepath.FromSlash(p))
		if err := f.AddReplace(r.Old.Path, r.Old.Version, abs, ""); err != nil {
			return fmt.Errorf("%w: %w", ErrBuild, err)
		}
		changed = true
	}
	if !changed {
		return nil
	}
	out, err := f.Format()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBuild, err)
	}
	return os.WriteFile(path, out, 0o644)
}

// build compiles the main package in pkgDir into bin, writing the
// toolchain's output to log.
func build(ctx context.Context, modDir, pkgDir, bin string, log *os.File) error {
	rel, err := filepath.Rel(modDir, pkgDir)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBuild, err)
	}
	target := "./" + filepath.ToSlash(rel)
	// No symbol table or DWARF: the replayed program needs neither, and
	// linking is most of a rebuild.
	cmd := exec.CommandContext(ctx, "go", "build", "-ldflags=-s -w", "-o", bin, target)
	cmd.Dir = modDir
	cmd.Env = append(os.Environ(), "GOWORK=off")
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	runErr := cmd.Run()
	fmt.Fprintf(log, "$ go build -ldflags='-s -w' -o %s %s\n%s", bin, target, out.String())
	if runErr != nil {
		return fmt.Errorf("%w: %s", ErrBuild, buildFailure(out.String()))
	}
	return nil
}
