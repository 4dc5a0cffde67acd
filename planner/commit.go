package planner

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strconv"

	"github.com/flordb/flor/analyzer"
)

// ensureCommit adds `defer flor.Commit()` at the top of main when the
// program never calls flor.Commit: a replay worker that runs to the end of
// main must still write its records and their end.
func ensureCommit(a *analyzer.Analysis) error {
	type mainFile struct {
		path string
		src  []byte
		file *ast.File
		fn   *ast.FuncDecl
		qual string
	}
	var m *mainFile
	fset := token.NewFileSet()
	for _, path := range a.Files {
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		f, err := parser.ParseFile(fset, path, src, parser.SkipObjectResolution)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		qual := florQualifier(f)
		if qual != "" && bytes.Contains(src, []byte(qual+".Commit(")) {
			return nil
		}
		for _, d := range f.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv == nil && fn.Name.Name == "main" && fn.Body != nil {
				m = &mainFile{path: path, src: src, file: f, fn: fn, qual: qual}
			}
		}
	}
	if m == nil {
		return nil
	}
	var edits []edit
	qual := m.qual
	if qual == "" || qual == "." {
		qual = "florreplay"
		pkgEnd := fset.Position(m.file.Name.End()).Offset
		edits = append(edits, edit{pkgEnd, "\n\nimport " + qual + " " + strconv.Quote(analyzer.FlorPath) + "\n"})
	}
	brace := fset.Position(m.fn.Body.Lbrace).Offset + 1
	edits = append(edits, edit{brace, "\n\tdefer " + qual + ".Commit() // added for replay\n"})
	out := m.src
	for i := len(edits) - 1; i >= 0; i-- {
		e := edits[i]
		out = append(out[:e.at:e.at], append([]byte(e.text), out[e.at:]...)...)
	}
	return os.WriteFile(m.path, out, 0o644)
}

type edit struct {
	at   int
	text string
}

// florQualifier is the name file uses for the flor package, "" when it
// does not import it.
func florQualifier(f *ast.File) string {
	for _, im := range f.Imports {
		if p, _ := strconv.Unquote(im.Path.Value); p == analyzer.FlorPath {
			if im.Name != nil {
				return im.Name.Name
			}
			return "flor"
		}
	}
	return ""
}
