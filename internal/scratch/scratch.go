// Package scratch finds this flor checkout and lays out throwaway Go
// projects that build against it: the demo, the benchmarks, the
// end-to-end tests and analyzertest each need a git repository holding a
// program whose go.mod points github.com/flordb/flor at the source tree in
// use. It is the one place such a go.mod is written.
//
// It is not for users' projects: those require flor as any module.
package scratch

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
	"golang.org/x/mod/modfile"

	"github.com/flordb/flor/analyzer"
)

// ErrNoSource: no flor source tree was found.
var ErrNoSource = errors.New("flor source tree not found")

// Root walks up from dir to the flor module's source tree.
func Root(dir string) (string, error) {
	for d := dir; ; d = filepath.Dir(d) {
		data, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil && modfile.ModulePath(data) == analyzer.FlorPath {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("%w above %s", ErrNoSource, dir)
		}
	}
}

// Project is a scratch project: a git repository holding one module.
type Project struct {
	Dir  string
	Repo *git.Repository
}

// New makes dir a git repository holding module modPath, which requires
// flor from the source tree at root (go.sum copied from it, go.mod as
// GoMod writes it), with files (slash-separated paths relative to dir)
// written in.
func New(dir, modPath, root string, files map[string][]byte) (*Project, error) {
	mf, err := GoMod(modPath, root)
	if err != nil {
		return nil, err
	}
	gomod, err := mf.Format()
	if err != nil {
		return nil, err
	}
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		return nil, err
	}
	all := map[string][]byte{"go.mod": gomod, "go.sum": sum}
	for name, data := range files {
		all[name] = data
	}
	p := &Project{Dir: dir}
	for name, data := range all {
		if err := p.Write(name, data); err != nil {
			return nil, err
		}
	}
	if p.Repo, err = git.PlainInit(dir, false); err != nil {
		return nil, err
	}
	return p, nil
}

// GoMod is the go.mod of a scratch module modPath: flor's go version, flor
// required and replaced by the source tree at root, and every module flor
// requires at flor's version, so that it builds offline with flor's
// go.sum. Callers that need more modules add them before formatting.
func GoMod(modPath, root string) (*modfile.File, error) {
	path := filepath.Join(root, "go.mod")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	flor, err := modfile.Parse(path, data, nil)
	if err != nil {
		return nil, err
	}
	mf := &modfile.File{}
	if err := mf.AddModuleStmt(modPath); err != nil {
		return nil, err
	}
	goVersion := "1.26"
	if flor.Go != nil {
		goVersion = flor.Go.Version
	}
	if err := mf.AddGoStmt(goVersion); err != nil {
		return nil, err
	}
	mf.AddNewRequire(analyzer.FlorPath, "v0.0.0", false)
	for _, r := range flor.Require {
		mf.AddNewRequire(r.Mod.Path, r.Mod.Version, r.Indirect)
	}
	if err := mf.AddReplace(analyzer.FlorPath, "", root, ""); err != nil {
		return nil, err
	}
	mf.Cleanup()
	return mf, nil
}

// Write writes a file of the project, making its directory.
func (p *Project) Write(name string, data []byte) error {
	path := filepath.Join(p.Dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

// Commit commits the whole working tree, with an explicit author (there
// may be no git configuration).
func (p *Project) Commit(msg string) error {
	wt, err := p.Repo.Worktree()
	if err != nil {
		return err
	}
	if err := wt.AddGlob("."); err != nil {
		return err
	}
	sig := &object.Signature{Name: "flor scratch", Email: "scratch@flor.invalid", When: time.Now()}
	_, err = wt.Commit(msg, &git.CommitOptions{Author: sig, Committer: sig})
	return err
}

// BuildEnv is the environment for building a scratch project: go.sum may
// need entries for the replaced module's own requirements, and a go.work
// around it must not apply.
func BuildEnv() []string {
	return append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
}
