package rewrite

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"go/parser"
	"go/scanner"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/flordb/flor/analyzer"
)

// ErrLayout: a loop cannot be wrapped without reformatting the user's code
// (it shares a line with other code).
var ErrLayout = errors.New("cannot instrument this layout")

// Instrument returns the new contents of the files of a's package that
// instrumentation changes, keyed by path. Each skippable loop in the main
// loop's body is wrapped in a skip block:
//
//	if flor.SkipStart("step", &total) {
//	//line train.go:24
//		for s := range flor.Loop("step", flor.Range(n)) {
//			...
//		}
//	}
//	flor.SkipEnd("step")
//	//line train.go:28:1
//
// The loop's lines move one tab right; //line directives keep the
// compiler's positions on the user's lines. A loop already wrapped keeps
// its wrapper (its SkipStart arguments are brought up to date), so
// instrumenting twice gives the same code as instrumenting once. An
// analysis with errors is refused.
func Instrument(a *analyzer.Analysis) (map[string][]byte, error) {
	return instrument(a, false)
}

// InstrumentReplay is Instrument for a replay build: besides the skip
// blocks, each flor.Log statement the analysis proved elidable
// (LogStmt.Elide) is guarded so that a replay keeping none of its values
// does not evaluate its argument:
//
//	if flor.Wanted("val_acc", "model") {
//	//line main.go:52
//		flor.Log("val_acc", mlp.Evaluate(model, test))
//	}
//	//line main.go:53:1
//
// A statement that does not have its lines to itself is left unguarded.
// It returns the new contents of the files and the statements guarded.
func InstrumentReplay(a *analyzer.Analysis) (map[string][]byte, []*analyzer.LogStmt, error) {
	out, err := instrument(a, true)
	if err != nil {
		return nil, nil, err
	}
	return out, guardable(a), nil
}

func instrument(a *analyzer.Analysis, guards bool) (map[string][]byte, error) {
	if err := a.Err(); err != nil {
		return nil, err
	}
	edits := map[string][]Edit{}
	for _, b := range a.Blocks {
		if !wrapped(b) {
			continue
		}
		src := a.Source(b.Stmt.File)
		call := startCall(b)
		if b.Instrumented {
			if string(src[b.StartCall.Start:b.StartCall.End]) != call {
				edits[b.Stmt.File] = append(edits[b.Stmt.File], Edit{b.StartCall.Start, b.StartCall.End, call})
			}
			continue
		}
		es, err := wrap(src, b, call)
		if err != nil {
			return nil, err
		}
		edits[b.Stmt.File] = append(edits[b.Stmt.File], es...)
	}
	if guards {
		// After the blocks' edits: at a shared offset, a block's tab
		// goes before the guard's line.
		for _, l := range guardable(a) {
			src := a.Source(l.Stmt.File)
			edits[l.Stmt.File] = append(edits[l.Stmt.File], guard(src, l, inWrapped(a, l))...)
		}
	}
	out := map[string][]byte{}
	for file, es := range edits {
		src := a.Source(file)
		b, err := Apply(src, es)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		if _, err := parser.ParseFile(token.NewFileSet(), file, b, parser.SkipObjectResolution); err != nil {
			return nil, fmt.Errorf("%s: instrumented code does not parse: %w", filepath.Base(file), err)
		}
		if !bytes.Equal(b, src) {
			out[file] = b
		}
	}
	return out, nil
}

// wrapped reports whether Instrument wraps block b in a skip block.
func wrapped(b *analyzer.Block) bool {
	return b.Skippable && len(b.Via) == 0 && b.ID != ""
}

// guardable returns the elidable statements whose layout a guard can
// wrap: each starts its own line and ends its last one.
func guardable(a *analyzer.Analysis) []*analyzer.LogStmt {
	var out []*analyzer.LogStmt
	for _, l := range a.Elidable() {
		src := a.Source(l.Stmt.File)
		if src == nil || !ownLines(src, l.Stmt.Start, l.Stmt.End) {
			continue
		}
		if !slices.ContainsFunc(out, func(o *analyzer.LogStmt) bool { return o.Stmt == l.Stmt }) {
			out = append(out, l)
		}
	}
	return out
}

// ownLines reports whether src[start:end] starts its line and only a
// comment follows it on its last one.
func ownLines(src []byte, start, end int) bool {
	if strings.TrimSpace(string(src[lineStart(src, start):start])) != "" {
		return false
	}
	rest := strings.TrimSpace(string(src[end:lineEnd(src, end)]))
	return rest == "" || strings.HasPrefix(rest, "//")
}

// lineEnd is the offset of the newline ending the line at off, or len(src).
func lineEnd(src []byte, off int) int {
	if nl := bytes.IndexByte(src[off:], '\n'); nl >= 0 {
		return off + nl
	}
	return len(src)
}

// inWrapped reports whether statement l is inside a loop that Instrument
// wraps now (one already wrapped has its indentation).
func inWrapped(a *analyzer.Analysis, l *analyzer.LogStmt) bool {
	for _, b := range a.Blocks {
		if wrapped(b) && !b.Instrumented && b.Stmt.File == l.Stmt.File && b.Stmt.Start <= l.Stmt.Start && l.Stmt.End <= b.Stmt.End {
			return true
		}
	}
	return false
}

// guard returns the edits that put statement l under flor.Wanted; in a
// loop being wrapped, its lines move one more tab right.
func guard(src []byte, l *analyzer.LogStmt, inWrapped bool) []Edit {
	first, last := lineStart(src, l.Stmt.Start), lineEnd(src, l.Stmt.End)
	indent, extra := leading(src[first:]), ""
	if inWrapped {
		extra = "\t"
	}
	q := l.Elide.Qualifier
	if q != "" {
		q += "."
	}
	args := []string{strconv.Quote(l.Name)}
	for _, r := range l.Elide.Restores {
		args = append(args, strconv.Quote(r))
	}
	file := filepath.Base(l.Stmt.File)
	edits := []Edit{{first, first, fmt.Sprintf("%sif %s%s(%s) {\n//line %s:%d\n", indent, q, analyzer.WantedFunc, strings.Join(args, ", "), file, l.Stmt.FirstLine)}}
	raw := rawStringLines(src, first, last)
	for p := first; p < last; {
		if src[p] != '\n' && !raw[p] {
			tab := "\t"
			if p == first {
				tab += extra // the block's own tab went before the guard's line
			}
			edits = append(edits, Edit{p, p, tab})
		}
		nl := bytes.IndexByte(src[p:last], '\n')
		if nl < 0 {
			break
		}
		p += nl + 1
	}
	return append(edits, Edit{last, last, fmt.Sprintf("\n%s%s}\n//line %s:%d:1", extra, indent, file, l.Stmt.LastLine+1)})
}

// startCall is the flor.SkipStart call that opens block b.
func startCall(b *analyzer.Block) string {
	q := b.Qualifier
	if q != "" {
		q += "."
	}
	args := append([]string{strconv.Quote(b.ID)}, b.Extras...)
	return q + "SkipStart(" + strings.Join(args, ", ") + ")"
}

// wrap returns the edits that put loop statement b in a skip block.
func wrap(src []byte, b *analyzer.Block, call string) ([]Edit, error) {
	start, end := b.Stmt.Start, b.Stmt.End
	first := lineStart(src, start)
	if strings.TrimSpace(string(src[first:start])) != "" {
		return nil, fmt.Errorf("%s: %w: the loop does not start its own line; run gofmt first", b.Pos, ErrLayout)
	}
	last := bytes.IndexByte(src[end:], '\n')
	if last < 0 {
		last = len(src)
	} else {
		last += end
	}
	if rest := strings.TrimSpace(string(src[end:last])); rest != "" && !strings.HasPrefix(rest, "//") && !strings.HasPrefix(rest, "/*") {
		return nil, fmt.Errorf("%s: %w: code follows the loop on its last line; run gofmt first", b.Pos, ErrLayout)
	}
	// The statement's indentation is that of the loop keyword's line (a
	// label sits one tab to the left).
	kw := lineStart(src, b.Pos.Offset)
	indent := leading(src[kw:])
	if kw == first && b.Pos.Offset != start {
		indent += "\t" // label and loop share the line
	}
	q := b.Qualifier
	if q != "" {
		q += "."
	}
	file := filepath.Base(b.Stmt.File)
	edits := []Edit{{first, first, fmt.Sprintf("%sif %s {\n//line %s:%d\n", indent, call, file, b.Stmt.FirstLine)}}
	raw := rawStringLines(src, first, last)
	for p := first; p < last; {
		if src[p] != '\n' && !raw[p] {
			edits = append(edits, Edit{p, p, "\t"})
		}
		nl := bytes.IndexByte(src[p:last], '\n')
		if nl < 0 {
			break
		}
		p += nl + 1
	}
	edits = append(edits, Edit{last, last, fmt.Sprintf("\n%s}\n%s%sSkipEnd(%s)\n//line %s:%d:1", indent, indent, q, strconv.Quote(b.ID), file, b.Stmt.LastLine+1)})
	return edits, nil
}

func lineStart(src []byte, off int) int {
	return bytes.LastIndexByte(src[:off], '\n') + 1
}

func leading(line []byte) string {
	n := 0
	for n < len(line) && (line[n] == ' ' || line[n] == '\t') {
		n++
	}
	return string(line[:n])
}

// rawStringLines returns the starts of the lines in [from, to) that
// continue a raw string literal, whose bytes must not change.
func rawStringLines(src []byte, from, to int) map[int]bool {
	out := map[int]bool{}
	if !bytes.ContainsRune(src[from:to], '`') {
		return out
	}
	fset := token.NewFileSet()
	f := fset.AddFile("", -1, to-from)
	var sc scanner.Scanner
	sc.Init(f, src[from:to], nil, 0)
	for {
		pos, tok, lit := sc.Scan()
		if tok == token.EOF {
			break
		}
		if tok == token.STRING && strings.HasPrefix(lit, "`") {
			off := from + f.Offset(pos)
			for i := 0; i < len(lit); i++ {
				if lit[i] == '\n' {
					out[off+i+1] = true
				}
			}
		}
	}
	return out
}

// WriteFiles writes each file (path → contents) to a temporary file in
// its directory and renames it into place once all of them are written,
// so an error leaves every file as it was. Existing files keep their
// permissions.
func WriteFiles(files map[string][]byte) error {
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	var tmps []string
	cleanup := func() {
		for _, t := range tmps {
			os.Remove(t)
		}
	}
	for _, p := range paths {
		mode := os.FileMode(0o644)
		if st, err := os.Stat(p); err == nil {
			mode = st.Mode().Perm()
		}
		f, err := os.CreateTemp(filepath.Dir(p), "."+filepath.Base(p)+".florc-*")
		if err != nil {
			cleanup()
			return fmt.Errorf("write %s: %w", p, err)
		}
		tmps = append(tmps, f.Name())
		_, err = f.Write(files[p])
		if err == nil {
			err = f.Chmod(mode)
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			cleanup()
			return fmt.Errorf("write %s: %w", p, err)
		}
	}
	for i, p := range paths {
		if err := os.Rename(tmps[i], p); err != nil {
			cleanup()
			return fmt.Errorf("write %s: %w", p, err)
		}
	}
	return nil
}

// InstrumentDir analyses the main package pkg (a directory or pattern)
// and instruments it: in place when outDir is "", else into outDir (see
// Write). Nothing is written when the analysis fails. It returns the
// analysis and the paths written.
func InstrumentDir(ctx context.Context, pkg, outDir string) (*analyzer.Analysis, []string, error) {
	a, err := analyzer.Analyze(ctx, pkg)
	if err != nil {
		return a, nil, err
	}
	changed, err := Instrument(a)
	if err != nil {
		return a, nil, err
	}
	written, err := Write(a, changed, outDir)
	return a, written, err
}

// Write writes the files Instrument changed: over the originals when
// outDir is "", else into outDir, which receives every regular file of
// the package's directory, changed or not, so that it builds as the
// package did. Files are replaced as WriteFiles does. It returns the
// paths written, sorted.
func Write(a *analyzer.Analysis, changed map[string][]byte, outDir string) ([]string, error) {
	files := changed
	if outDir != "" {
		var err error
		if files, err = copyPlan(a.Dir, outDir, changed); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(outDir, 0o755); err != nil {
			return nil, err
		}
	}
	if err := WriteFiles(files); err != nil {
		return nil, err
	}
	written := make([]string, 0, len(files))
	for p := range files {
		written = append(written, p)
	}
	slices.Sort(written)
	return written, nil
}

// copyPlan returns the files to write to outDir: every regular file of
// dir, with changed contents where instrumentation changed them.
func copyPlan(dir, outDir string, changed map[string][]byte) (map[string][]byte, error) {
	absDir, err1 := filepath.Abs(dir)
	absOut, err2 := filepath.Abs(outDir)
	if err := errors.Join(err1, err2); err != nil {
		return nil, err
	}
	if absDir == absOut {
		return changed, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		p := filepath.Join(dir, e.Name())
		b, ok := changed[p]
		if !ok {
			if b, err = os.ReadFile(p); err != nil {
				return nil, err
			}
		}
		files[filepath.Join(outDir, e.Name())] = b
	}
	return files, nil
}
