package planner

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strconv"

	"github.com/flordb/flor/analyzer"
	"github.com/flordb/flor/rewrite"
)

// replayQualifier names the flor package in an import ensureCommit adds,
// when main's file has no name for it it can call through.
const replayQualifier = "florreplay"

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
		if callsCommit(f, qual) {
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
	out, err := rewrite.Apply(m.src, commitEdits(fset, m.file, m.fn, m.qual))
	if err != nil {
		return fmt.Errorf("%s: %w", m.path, err)
	}
	return os.WriteFile(m.path, out, 0o644)
}

// commitEdits are the edits that defer Commit at the top of fn, in file f
// whose name for the flor package is qual.
func commitEdits(fset *token.FileSet, f *ast.File, fn *ast.FuncDecl, qual string) []rewrite.Edit {
	var edits []rewrite.Edit
	switch qual {
	case "", "_", ".":
		// No name to call through: not imported, imported for its
		// side effects only, or into the file's scope (where a local
		// Commit may shadow it). A second import of the package under a
		// name of its own is legal beside any of those.
		qual = replayQualifier
		at := fset.Position(f.Name.End()).Offset
		edits = append(edits, rewrite.Edit{Start: at, End: at,
			New: "\n\nimport " + qual + " " + strconv.Quote(analyzer.FlorPath)})
	}
	brace := fset.Position(fn.Body.Lbrace).Offset + 1
	return append(edits, rewrite.Edit{Start: brace, End: brace, New: "\n\tdefer " + qual + ".Commit() // added for replay\n"})
}

// florQualifier is the name file uses for the flor package: its package
// name, the import's own name, "_" or "."; "" when it does not import it.
// A file importing it twice names it by the first name it can call through.
func florQualifier(f *ast.File) string {
	qual := ""
	for _, im := range f.Imports {
		if p, _ := strconv.Unquote(im.Path.Value); p != analyzer.FlorPath {
			continue
		}
		name := "flor"
		if im.Name != nil {
			name = im.Name.Name
		}
		if name != "_" && name != "." {
			return name
		}
		if qual == "" || name == "." {
			qual = name
		}
	}
	return qual
}

// callsCommit reports whether f calls the flor package's Commit: through
// its name for it, or unqualified when it imports it with a dot.
func callsCommit(f *ast.File, qual string) bool {
	if qual == "" || qual == "_" {
		return false
	}
	found := false
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || found {
			return !found
		}
		switch fun := call.Fun.(type) {
		case *ast.SelectorExpr:
			x, ok := fun.X.(*ast.Ident)
			found = ok && qual != "." && x.Name == qual && fun.Sel.Name == "Commit"
		case *ast.Ident:
			found = qual == "." && fun.Name == "Commit"
		}
		return !found
	})
	return found
}
