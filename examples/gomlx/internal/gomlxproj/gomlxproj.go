// Package gomlxproj lays out scratch git projects that build the GoMLX
// example against this checkout, for the end-to-end test and the
// benchmark.
package gomlxproj

import (
	"fmt"
	"os"
	"path/filepath"

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
	gomod := fmt.Sprintf("module %[5]s\n\ngo 1.26\n\nrequire (\n\t%[1]s v0.0.0\n\t%[1]s/contrib/florgomlx v0.0.0\n\t%[1]s/examples/gomlx v0.0.0\n\tgithub.com/gomlx/gomlx v0.26.0\n)\n\nreplace (\n\t%[1]s => %[2]s\n\t%[1]s/contrib/florgomlx => %[3]s\n\t%[1]s/examples/gomlx => %[4]s\n)\n",
		scratch.FlorModule, root, filepath.Join(root, "contrib", "florgomlx"), filepath.Join(root, "examples", "gomlx"), Module)
	var sum []byte
	for _, f := range []string{filepath.Join(root, "go.sum"), filepath.Join(root, "examples", "gomlx", "go.sum")} {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		sum = append(sum, b...)
	}
	if err := p.Write("go.mod", []byte(gomod)); err != nil {
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
