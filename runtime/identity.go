package runtime

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"runtime/debug"
	"strings"

	"github.com/flordb/flor/internal/gitdir"
)

// resolveIdentity finds the program's package directory, its git
// repository and the flor directory.
func (r *Run) resolveIdentity(opt Options) error {
	dir := opt.Dir
	if dir == "" {
		dir = mainPackageDir()
	}
	repo, err := repoRoot(dir)
	if err != nil {
		return err
	}
	root := repo.Top
	r.Root = root
	r.ProjID = filepath.Base(root)
	rel, err := filepath.Rel(root, dir)
	if err != nil || strings.HasPrefix(rel, "..") {
		rel = "."
	}
	r.Filename = filepath.ToSlash(rel)
	given := opt.Env("FLOR_HOME")
	r.Home = given
	if r.Home == "" {
		r.Home = filepath.Join(root, ".flor")
	}
	if abs, err := filepath.Abs(r.Home); err == nil {
		r.Home = abs
	}
	what := ""
	if given != "" {
		what = "FLOR_HOME=" + given
	}
	if err := checkHome(r.Home, what); err != nil {
		return err
	}
	if given == "" {
		// Best effort: a home git shows is untidy, not wrong.
		_ = repo.Exclude(r.Home)
	}
	return nil
}

// mainPackageDir is the directory of the program's main package: from the
// source path of a function of package main on the stack, else from the
// build information and the module's go.mod, else the working directory.
func mainPackageDir() string {
	pcs := make([]uintptr, 64)
	n := goruntime.Callers(1, pcs)
	frames := goruntime.CallersFrames(pcs[:n])
	for {
		f, more := frames.Next()
		if strings.HasPrefix(f.Function, "main.") && filepath.IsAbs(f.File) {
			if _, err := os.Stat(f.File); err == nil {
				return filepath.Dir(f.File)
			}
		}
		if !more {
			break
		}
	}
	cwd, err := os.Getwd()
	if err != nil {
		return "."
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Path != "" {
		if sub, ok := strings.CutPrefix(bi.Path, bi.Main.Path); ok {
			if mod := findModuleDir(cwd, bi.Main.Path); mod != "" {
				d := filepath.Join(mod, filepath.FromSlash(strings.TrimPrefix(sub, "/")))
				if st, err := os.Stat(d); err == nil && st.IsDir() {
					return d
				}
			}
		}
	}
	return cwd
}

// findModuleDir walks up from dir to the go.mod declaring module path.
func findModuleDir(dir, path string) string {
	for d := dir; ; d = filepath.Dir(d) {
		if modulePath(filepath.Join(d, "go.mod")) == path {
			return d
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

func modulePath(gomod string) string {
	f, err := os.Open(gomod)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module"); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	return ""
}

// repoRoot finds the git repository holding dir.
func repoRoot(dir string) (gitdir.Repo, error) {
	repo, err := gitdir.Find(dir)
	if errors.Is(err, gitdir.ErrNotRepo) {
		abs, _ := filepath.Abs(dir)
		return repo, fmt.Errorf("flor: %s is %w: flor keeps each run's code as a git snapshot; run `git init` there first", abs, ErrNotGit)
	}
	if err != nil {
		return repo, fmt.Errorf("flor: %w", err)
	}
	return repo, nil
}
