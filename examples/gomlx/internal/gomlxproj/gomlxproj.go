// Package gomlxproj lays out scratch git projects that build the GoMLX
// example against this checkout, for the end-to-end test and the
// benchmark.
package gomlxproj

import (
	"os"
	"path/filepath"

	"github.com/flordb/flor/analyzer"
	"github.com/flordb/flor/internal/scratch"
)

// Module is the scratch project's module path.
const Module = "gomlxproj"

// New lays out a git project in dir whose module requires root's flor,
// florgomlx and example modules (by replace directives) and GoMLX, with
// files written in it; nothing is committed.
func New(dir, root string, files map[string][]byte) (*scratch.Project, error) {
	p, err := scratch.New(dir, Module, root, files)
	if err != nil {
		return nil, err
	}
	mf, err := scratch.GoMod(Module, root)
	if err != nil {
		return nil, err
	}
	mf.AddNewRequire("github.com/gomlx/gomlx", "v0.26.0", false)
	for _, sub := range []string{"contrib/florgomlx", "examples/gomlx"} {
		mod := analyzer.FlorPath + "/" + sub
		mf.AddNewRequire(mod, "v0.0.0", false)
		if err := mf.AddReplace(mod, "", filepath.Join(root, filepath.FromSlash(sub)), ""); err != nil {
			return nil, err
		}
	}
	gomod, err := mf.Format()
	if err != nil {
		return nil, err
	}
	var sum []byte
	for _, f := range []string{filepath.Join(root, "go.sum"), filepath.Join(root, "examples", "gomlx", "go.sum")} {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		sum = append(sum, b...)
	}
	if err := p.Write("go.mod", gomod); err != nil {
		return nil, err
	}
	if err := p.Write("go.sum", sum); err != nil {
		return nil, err
	}
	return p, nil
}

// Env is the environment of the commands run in such a project: GoMLX's
// pure-Go backend without XLA's download, modules resolved as needed,
// records in the project, no echo or progress bars.
func Env() []string {
	return append(os.Environ(), "GOMLX_BACKEND=go", "GOMLX_NO_AUTO_INSTALL=1", "GOFLAGS=-mod=mod", "GOWORK=off",
		"FLOR_HOME=", "FLOR_ECHO=0", "FLOR_PROGRESS=0")
}
