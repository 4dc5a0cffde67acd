package planner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/mod/modfile"

	"github.com/flordb/flor/storage"
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

// buildKey identifies the build settings that make a different binary.
func buildKey(b storage.Build) string {
	var sb strings.Builder
	sb.WriteString(b.Tags)
	for _, k := range slices.Sorted(maps.Keys(b.Settings)) {
		sb.WriteString("\x00" + k + "=" + b.Settings[k])
	}
	return sb.String()
}

// buildEnv is the go command's environment for a version recorded with b:
// the recorded cgo setting and instruction-set level (GOAMD64, ...) win
// over the shell's, so the replayed binary computes as the recorded one.
// GOOS and GOARCH are not set: replay runs here, and a run recorded
// elsewhere is built for this machine.
func buildEnv(environ []string, b storage.Build) []string {
	env := append(slices.Clone(environ), "GOWORK=off")
	for _, k := range slices.Sorted(maps.Keys(b.Settings)) {
		if k == "GOOS" || k == "GOARCH" || strings.HasPrefix(k, "-") {
			continue
		}
		env = append(env, k+"="+b.Settings[k])
	}
	return env
}

// buildFlags are the go build flags of the recorded settings.
func buildFlags(b storage.Build) []string {
	var flags []string
	if b.Tags != "" {
		flags = append(flags, "-tags="+b.Tags)
	}
	if b.Settings["-race"] == "true" {
		flags = append(flags, "-race")
	}
	return flags
}

// runEnv is a replay worker's environment: the variables the run declared
// (flor.RecordEnv) as they were when it was recorded.
func runEnv(environ []string, b storage.Build) []string {
	env := slices.Clone(environ)
	for _, k := range slices.Sorted(maps.Keys(b.Env)) {
		env = append(env, k+"="+b.Env[k])
	}
	return env
}

// build compiles the main package in pkgDir into bin with the recorded
// build settings b, writing the toolchain's output to log.
func build(ctx context.Context, modDir, pkgDir, bin string, b storage.Build, log *os.File) error {
	rel, err := filepath.Rel(modDir, pkgDir)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBuild, err)
	}
	target := "./" + filepath.ToSlash(rel)
	// No symbol table or DWARF: the replayed program needs neither, and
	// linking is most of a rebuild.
	args := append(append([]string{"build"}, buildFlags(b)...), "-ldflags=-s -w", "-o", bin, target)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = modDir
	cmd.Env = buildEnv(os.Environ(), b)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	runErr := cmd.Run()
	fmt.Fprintf(log, "$ %s go build %s -ldflags='-s -w' -o %s %s\n%s",
		strings.Join(buildEnv(nil, b), " "), strings.Join(buildFlags(b), " "), bin, target, out.String())
	if runErr != nil {
		return fmt.Errorf("%w: %s", ErrBuild, buildFailure(out.String()))
	}
	return nil
}
