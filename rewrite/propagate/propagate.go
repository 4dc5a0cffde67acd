package propagate

import (
	"bytes"
	"errors"
	"fmt"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

var (
	// ErrInput reports a directory that cannot be read or holds no Go files.
	ErrInput = errors.New("bad input")
	// ErrParse reports a version of the package that does not parse.
	ErrParse = errors.New("cannot parse")
	// ErrNoStatement reports a target that names no statement of the new
	// version: no flor.Log call with that name, no statement at that line.
	ErrNoStatement = errors.New("no such statement in the new version")
	// ErrNoContext reports a statement with nothing around it in the new
	// version that has a counterpart in the old: no preceding statement of
	// its block, nor the block itself.
	ErrNoContext = errors.New("no mapped context in the old version")
	// ErrNoCounterpart reports an identifier of the statement that refers to
	// something the old version does not have at the insertion point.
	ErrNoCounterpart = errors.New("no counterpart in the old version")
	// ErrConflict reports a statement that clashes with the old code: the
	// old version logs the same name with other code (replay would log it
	// twice), or the statement declares a variable that the old code
	// declares or uses at that place too.
	ErrConflict = errors.New("conflicts with the old code")
	// ErrOutput reports an inserted statement that did not make valid Go.
	// It is a bug in propagate, never the user's fault.
	ErrOutput = errors.New("propagation produced invalid Go")
)

// Target names statements of the new version to carry: those calling
// flor.Log with Name, or, when Name is empty, the innermost statement of a
// block that spans line Line of file File.
type Target struct {
	Name string
	File string // relative to the package directory
	Line int
}

// Names returns one Target per log name.
func Names(names ...string) []Target {
	ts := make([]Target, len(names))
	for i, n := range names {
		ts[i] = Target{Name: n}
	}
	return ts
}

var positionArg = regexp.MustCompile(`^(.+\.go):([0-9]+)$`)

// ParseTarget reads a command-line target: "file.go:LINE" is a position,
// anything else a log name.
func ParseTarget(s string) Target {
	if m := positionArg.FindStringSubmatch(s); m != nil {
		line, err := strconv.Atoi(m[2])
		if err == nil && line > 0 {
			return Target{File: m[1], Line: line}
		}
	}
	return Target{Name: s}
}

func (t Target) String() string {
	if t.Name != "" {
		return strconv.Quote(t.Name)
	}
	return fmt.Sprintf("%s:%d", t.File, t.Line)
}

// Status is what happened to one statement.
type Status int

const (
	// Inserted: the statement was added to the old code.
	Inserted Status = iota + 1
	// Present: the old code already has the statement.
	Present
	// Failed: the statement could not be carried; Outcome.Err says why.
	Failed
)

func (s Status) String() string {
	switch s {
	case Inserted:
		return "inserted"
	case Present:
		return "already present"
	case Failed:
		return "failed"
	}
	return "Status(" + strconv.Itoa(int(s)) + ")"
}

// Outcome is the fate of one statement of the new version.
type Outcome struct {
	Target Target
	// New is where the statement starts in the new version.
	New token.Position
	// Old is, when Inserted, where the statement starts in the output file
	// (Filename is the old file's name as given, Line its line there); when
	// Present, where the old statement is.
	Old    token.Position
	Status Status
	// Err is set when Status is Failed; it wraps one of the Err values.
	Err error
	// Anchor says where an inserted statement went and why; Relied lists
	// the mappings that placed it and Renames the names it took.
	Anchor  string
	Relied  []Evidence
	Renames []Rename
}

// Explain is the outcome with, for an inserted statement, its anchor, the
// mappings it relied on with their similarity, and its renames: one line
// each, indented (florc propagate -v).
func (o Outcome) Explain() string {
	var sb strings.Builder
	if o.Status == Failed {
		sb.WriteString(o.Err.Error())
	} else {
		sb.WriteString(o.String())
	}
	if o.Anchor != "" {
		sb.WriteString("\n\tanchor: " + o.Anchor)
	}
	for _, e := range o.Relied {
		sb.WriteString("\n\tmapping: " + e.String())
	}
	for _, r := range o.Renames {
		sb.WriteString("\n\trename: " + r.String())
	}
	return sb.String()
}

func (o Outcome) String() string {
	switch o.Status {
	case Inserted:
		return fmt.Sprintf("%s (%s): inserted at %s", o.Target, o.New, o.Old)
	case Present:
		return fmt.Sprintf("%s (%s): already present at %s", o.Target, o.New, o.Old)
	}
	return o.Err.Error()
}

// Result is the outcome of a propagation. Nothing is written until Write.
type Result struct {
	// Files holds the new contents of the old version's files that change,
	// by file name relative to the package directory.
	Files map[string][]byte
	// Outcomes has one entry per statement found for each target, in the
	// order of the targets, then of the statements in the new version.
	Outcomes []Outcome

	old   map[string][]byte
	opt   options // how the versions were loaded: Check loads so again
	spans []span  // by outcome: where its statement is in Files
}

// Err joins the errors of the failed statements; nil when none failed.
func (r *Result) Err() error {
	var errs []error
	for _, o := range r.Outcomes {
		if o.Err != nil {
			errs = append(errs, o.Err)
		}
	}
	return errors.Join(errs...)
}

// Package carries the statements of targets from the package in newDir to
// the package in oldDir. Files are not written: see Result.Write. Options
// (BuildFlags) say how the versions are built.
func Package(newDir, oldDir string, targets []Target, opts ...Option) (*Result, error) {
	o := makeOptions(opts)
	newSrc, err := readDir(newDir, o)
	if err != nil {
		return nil, err
	}
	oldSrc, err := readDir(oldDir, o)
	if err != nil {
		return nil, err
	}
	return run(newSrc, oldSrc, filepath.ToSlash(newDir), filepath.ToSlash(oldDir), targets, newDir, oldDir, o)
}

// Sources is Package over in-memory files (file name → contents). In
// positions and messages, new files are named "new/<name>" and old files
// "old/<name>". The output is checked without the imported packages: what
// only their types can tell (a field an imported type lacks) is left to
// Result.Check or the build.
func Sources(newSrc, oldSrc map[string][]byte, targets []Target) (*Result, error) {
	return run(newSrc, oldSrc, "new", "old", targets, "", "", options{})
}

// run propagates. With the versions' directories on disk (newPkg, checkDir)
// both are type-checked with their dependencies, and the output is
// type-checked in checkDir, the statements that fail it dropped.
func run(newSrc, oldSrc map[string][]byte, newDir, oldDir string, targets []Target, newPkg, checkDir string, o options) (*Result, error) {
	if len(targets) == 0 {
		return nil, fmt.Errorf("%w: no target given (a log name or file.go:LINE)", ErrNoStatement)
	}
	fset := token.NewFileSet()
	// Loading a version with its imports runs the go command: the two
	// loads overlap.
	var ov *version
	var oerr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		ov, oerr = load(fset, "old", oldDir, oldSrc, checkDir, o)
	}()
	nv, err := load(fset, "new", newDir, newSrc, newPkg, o)
	<-done
	if err != nil {
		return nil, err
	}
	if oerr != nil {
		return nil, oerr
	}
	p := newPropagation(nv, ov)
	if err := p.selectTargets(targets); err != nil {
		return nil, err
	}
	p.plan()
	if err := p.apply(); err != nil {
		return nil, err
	}
	res := p.result(oldSrc)
	for checkDir != "" && len(res.Files) > 0 {
		var errs []TypeError
		ok := false
		if ov.imports != nil {
			errs, ok = ov.checkWith(checkDir, res.Files)
		}
		if !ok {
			if errs, err = typeErrors(checkDir, res.Files, o); err != nil {
				return nil, err
			}
		}
		blamed := false
		for _, c := range p.carries {
			if c.status != Inserted || c.outer != nil {
				continue
			}
			if e := blameSpan(p.describe(c.orig), c.old, c.span, checkDir, errs); e != nil {
				p.fail(c, e)
				blamed = true
			}
		}
		if !blamed {
			break
		}
		// Again without the statements that failed.
		if err := p.apply(); err != nil {
			return nil, err
		}
		res = p.result(oldSrc)
	}
	res.opt = o
	return res, nil
}

// Write writes the changed files into dir (the old version's directory, or
// another), each through a temporary file renamed into place.
func (r *Result) Write(dir string) error {
	names := make([]string, 0, len(r.Files))
	for name := range r.Files {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if err := writeFile(filepath.Join(dir, filepath.FromSlash(name)), r.Files[name]); err != nil {
			return err
		}
	}
	return nil
}

func writeFile(path string, data []byte) error {
	mode := os.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), mode)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// Diff returns a unified diff of the changed files against the old
// version, prefixed a/ and b/ like git's.
func (r *Result) Diff() []byte {
	names := make([]string, 0, len(r.Files))
	for name := range r.Files {
		names = append(names, name)
	}
	slices.Sort(names)
	var buf bytes.Buffer
	for _, name := range names {
		buf.WriteString(unified("a/"+name, "b/"+name, r.old[name], r.Files[name]))
	}
	return buf.Bytes()
}

// lines splits text into lines, each with its newline.
func lines(b []byte) []string {
	if len(b) == 0 {
		return nil
	}
	s := strings.SplitAfter(string(b), "\n")
	if s[len(s)-1] == "" {
		s = s[:len(s)-1]
	}
	return s
}
