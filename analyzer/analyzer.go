package analyzer

import (
	"errors"
	"fmt"
	"go/token"
	"path/filepath"
)

// FlorPath is the import path of the flor API.
const FlorPath = "github.com/flordb/flor"

// Errors that callers branch on. Every error the package returns wraps one
// of them and names the position, package or name at fault.
var (
	// ErrLoad: the package could not be found or listed.
	ErrLoad = errors.New("cannot load package")
	// ErrCompile: the package does not parse or type-check.
	ErrCompile = errors.New("does not compile")
	// ErrNotMain: the package is not a main package with a func main.
	ErrNotMain = errors.New("not a main package")
	// ErrNoMainLoop: no flor.Loop runs from main.
	ErrNoMainLoop = errors.New("no main loop")
	// ErrNameNotConstant: a flor.Log, flor.Arg or flor.Loop name is not a
	// constant string.
	ErrNameNotConstant = errors.New("name is not a constant string")
	// ErrUnsupported: a construct flor cannot record or replay correctly.
	ErrUnsupported = errors.New("unsupported construct")
)

// Phase says where code runs relative to the main loop.
type Phase string

// The phases of a program.
const (
	PhasePrefix    Phase = "prefix"    // before the main loop
	PhaseMain      Phase = "main"      // inside the main loop
	PhaseSuffix    Phase = "suffix"    // after the main loop
	PhaseUnreached Phase = "unreached" // in a function main does not call
)

// Pos is a position in the user's source: File is the file's path as
// loaded; Line and Col are the user's line and column (they follow //line
// directives, so positions in instrumented code still name the user's
// lines); Offset is the byte offset in the file as it is on disk.
type Pos struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Col    int    `json:"col"`
	Offset int    `json:"offset"`
}

// String formats the position as file:line:col with the file's base name.
func (p Pos) String() string {
	if p.File == "" {
		return "-"
	}
	if p.Col == 0 {
		return fmt.Sprintf("%s:%d", filepath.Base(p.File), p.Line)
	}
	return fmt.Sprintf("%s:%d:%d", filepath.Base(p.File), p.Line, p.Col)
}

// Short formats the position as file:line.
func (p Pos) Short() string {
	if p.File == "" {
		return "-"
	}
	return fmt.Sprintf("%s:%d", filepath.Base(p.File), p.Line)
}

// Span is a byte range [Start, End) of one file as it is on disk.
type Span struct {
	File  string `json:"file"`
	Start int    `json:"start"`
	End   int    `json:"end"`
	// Lines are the user's first and last lines of the range.
	FirstLine int `json:"first_line"`
	LastLine  int `json:"last_line"`
}

// String formats the span as file:first-last.
func (s Span) String() string {
	return fmt.Sprintf("%s:%d-%d", filepath.Base(s.File), s.FirstLine, s.LastLine)
}

// LoopKind tells a flor.Loop from a plain for or range statement.
type LoopKind string

// Loop kinds.
const (
	FlorLoop  LoopKind = "flor"
	PlainLoop LoopKind = "plain"
)

// Loop is a flor.Loop, or a plain loop that contains flor calls (directly
// or in the functions it calls), as reached from main. A loop reached
// along several call paths is listed once per path.
type Loop struct {
	Kind LoopKind `json:"kind"`
	// Name is the flor.Loop's name; for a plain loop, the name of the
	// flor.Iteration its body opens, else its block id when it is a skip
	// block, else "".
	Name string `json:"name"`
	// Iteration: a plain loop whose body opens a flor.Iteration, which
	// records a loop context like a flor.Loop.
	Iteration bool `json:"iteration,omitempty"`
	Pos       Pos  `json:"pos"`
	// Depth counts the loops around and including this one (flor and
	// plain): 1 for the outermost.
	Depth int `json:"depth"`
	// FlorDepth counts the flor.Loops around and including this one (0 for
	// a plain loop outside every flor.Loop).
	FlorDepth int `json:"flor_depth"`
	// Parent is the name of the nearest enclosing flor.Loop, or "".
	Parent string `json:"parent,omitempty"`
	Phase  Phase  `json:"phase"`
	Main   bool   `json:"main,omitempty"` // the main loop
	// Via lists the call sites from main to the function holding the loop.
	Via []Pos `json:"via,omitempty"`
}

// LogKind tells flor.Log from flor.Arg.
type LogKind string

// Log statement kinds.
const (
	KindLog LogKind = "log"
	KindArg LogKind = "arg"
)

// LogStmt is a flor.Log or flor.Arg call, once per call path from main
// (a helper called from two places is listed twice).
type LogStmt struct {
	Kind LogKind `json:"kind"`
	Name string  `json:"name"` // "" when the name is not a constant
	Pos  Pos     `json:"pos"`  // the call
	// Stmt is the whole statement holding the call.
	Stmt Span `json:"stmt"`
	// Depth is 0 outside every loop, 1 in the outermost loop, 2 or more in
	// nested loops (flor.Loops and plain loops that contain flor calls).
	Depth int `json:"depth"`
	// Loops is the chain of enclosing flor.Loop (and flor.Iteration)
	// names, outermost first: the contexts the value is recorded under.
	Loops []string `json:"loops"`
	Phase Phase    `json:"phase"`
	// Block is the id of the skip block the call is in, or "".
	Block string `json:"block,omitempty"`
	Via   []Pos  `json:"via,omitempty"`
	// Elide says whether a replay that keeps no value of this statement
	// may skip evaluating it (flor.Log only; see Elision).
	Elide *Elision `json:"elide,omitempty"`
}

// Registration is a flor.Checkpoint call.
type Registration struct {
	Name   string `json:"name"`
	Pos    Pos    `json:"pos"`
	Object string `json:"object"` // the registered expression, as written
	Phase  Phase  `json:"phase"`

	loc *loc // what it covers; nil when unknown
	// covered is what an adapter's checkpoint saves and restores itself:
	// the arguments of a call whose externalEffects entry covers them.
	covered []*loc
}

// EffectKind classifies a side effect of a skip block or of the main
// loop's body.
type EffectKind string

// Effect kinds.
const (
	EffectAssign    EffectKind = "assign"    // =, op=, ++, --, index or field store
	EffectCall      EffectKind = "call"      // a call that may change what it is given
	EffectChan      EffectKind = "chan"      // a channel send, receive or close
	EffectIO        EffectKind = "io"        // input or output (os, net, io, printing)
	EffectRand      EffectKind = "rand"      // draws from math/rand's global source
	EffectGoroutine EffectKind = "goroutine" // starts a goroutine
	EffectUnknown   EffectKind = "unknown"   // a write or call the analysis cannot follow
)

// Effect is one side effect of a skip block on state declared outside
// it, or (in Analysis.Carried) of the main loop's body, outside its
// blocks, on state declared outside the main loop.
type Effect struct {
	Kind EffectKind `json:"kind"`
	// Var names the state changed, as the user would write it: "total",
	// "model.W", "*p"; "" for input/output.
	Var  string `json:"var"`
	Pos  Pos    `json:"pos"`  // where in the block or body (or call site)
	Desc string `json:"desc"` // what the code does, e.g. "total += ...", "calls (*Model).Step"
	// Checkpoint is the name of the flor.Checkpoint registration that
	// covers the effect, or "".
	Checkpoint string `json:"checkpoint,omitempty"`
	// Extra is the expression the skip block passes to flor.SkipStart to
	// restore the effect, or "".
	Extra string `json:"extra,omitempty"`
	// ReadAt is where the changed state is read after the block (later in
	// the main loop's body, in later iterations, or after the main loop);
	// zero when it is not read there. For a block's effect it is set only
	// when the effect is not restored by a checkpoint. For carried state
	// it is the first read in the main loop's body (blocks included: the
	// next iteration reads what this one left) or after the main loop,
	// set whether or not the state is restored; a read that only feeds
	// the variable's own update (x in x++, x = append(x, v)) does not
	// count.
	ReadAt Pos `json:"read_at"`
	// Restored: replay restores the effect (Checkpoint or Extra). An
	// effect that is not restored is harmless when nothing reads it after
	// the block, or for carried state again (ReadAt is zero); otherwise it
	// is a warning.
	Restored bool `json:"restored"`
	// Note explains an effect that is not restored. A registration that
	// holds the state but does not save it (encoding/gob skips unexported,
	// func and chan fields) says so here: "unexported field: gob does not
	// save it".
	Note string `json:"note,omitempty"`

	loc *loc
}

// Block is a loop nested in the main loop: a candidate for skipping.
type Block struct {
	// ID is the block id given to the runtime: the flor.Loop's name, or
	// loop#N for a plain loop, N its 1-based ordinal among the skippable
	// loops of the main loop's body in source order.
	ID   string   `json:"id"`
	Kind LoopKind `json:"kind"`
	Pos  Pos      `json:"pos"`
	// Stmt is the loop statement, label included.
	Stmt Span `json:"stmt"`
	// Skippable: replay may skip the block and restore its effects.
	Skippable bool `json:"skippable"`
	// Reason says why a block is not skippable. A flor.Loop that is not
	// skippable must be named in a replay plan's execute list.
	Reason string `json:"reason,omitempty"`
	// Instrumented: the block is already wrapped in a skip block.
	Instrumented bool `json:"instrumented,omitempty"`
	// Effects lists the block's side effects in source order.
	Effects []*Effect `json:"effects"`
	// Extras are the expressions passed to flor.SkipStart, in order.
	Extras []string `json:"extras"`
	// Via is set for a nested flor.Loop in a function called from the
	// main loop: the runtime skips it by name, but it is not instrumented.
	Via []Pos `json:"via,omitempty"`

	// For package rewrite: the name the block's file imports flor under
	// ("" for a dot import), and the flor.SkipStart call of a block that
	// is already instrumented.
	Qualifier string `json:"-"`
	StartCall Span   `json:"-"`
}

// Severity of a diagnostic.
type Severity string

// Severities.
const (
	SevError   Severity = "error"
	SevWarning Severity = "warning"
	SevNote    Severity = "note"
)

// Diagnostic is an error, warning or note with its position.
type Diagnostic struct {
	Pos      Pos      `json:"pos"`
	Severity Severity `json:"severity"`
	Msg      string   `json:"msg"`
	Err      error    `json:"-"` // the sentinel an error wraps (errors only)
}

// Error formats the diagnostic as file:line:col: msg.
func (d Diagnostic) Error() string {
	if d.Pos.File == "" {
		return d.Msg
	}
	return d.Pos.String() + ": " + d.Msg
}

// Unwrap returns the sentinel error.
func (d Diagnostic) Unwrap() error { return d.Err }

// Analysis is what the analyzer found in one main package.
type Analysis struct {
	Pkg   string   `json:"pkg"`   // import path
	Dir   string   `json:"dir"`   // the package's directory
	Files []string `json:"files"` // its Go files, as loaded
	// MainLoop is the outermost flor.Loop run from main (nil if none).
	MainLoop *Loop `json:"main_loop"`
	// Prefix and Suffix are the code before and after the main loop: in
	// main, and in each function on the call path to the main loop.
	Prefix []Span `json:"prefix"`
	Suffix []Span `json:"suffix"`
	// Loops lists flor.Loops and plain loops containing flor calls.
	Loops       []*Loop         `json:"loops"`
	Logs        []*LogStmt      `json:"logs"`
	Checkpoints []*Registration `json:"checkpoints"`
	Blocks      []*Block        `json:"blocks"`
	// Carried is the main loop's carried state: changes that the main
	// loop's body makes outside its blocks (in its own statements, the
	// func literals it calls and the package's functions it calls, but
	// not in the flor loops those reach) to variables declared outside
	// the main loop: in the functions on the call path to it, or at
	// package level. Replay with several workers starts at an iteration
	// from the checkpoints of the one before, and replay of the code
	// after the main loop alone restores the state after its last
	// iteration: both are right only when such state is checkpointed or
	// not read again. Source order; Extra is never set.
	Carried     []*Effect    `json:"carried"`
	Diagnostics []Diagnostic `json:"diagnostics"`

	src map[string][]byte // file contents as parsed
}

// Source returns the contents of file as the analysis parsed them.
func (a *Analysis) Source(file string) []byte { return a.src[file] }

// Err returns the analysis' errors joined, or nil when it has none.
func (a *Analysis) Err() error {
	var errs []error
	for _, d := range a.Diagnostics {
		if d.Severity == SevError {
			errs = append(errs, d)
		}
	}
	return errors.Join(errs...)
}

// Warnings returns the analysis' warnings.
func (a *Analysis) Warnings() []Diagnostic {
	var ws []Diagnostic
	for _, d := range a.Diagnostics {
		if d.Severity == SevWarning {
			ws = append(ws, d)
		}
	}
	return ws
}

// position converts p for a report.
func position(fset *token.FileSet, p token.Pos) Pos {
	if !p.IsValid() {
		return Pos{}
	}
	raw := fset.PositionFor(p, false)
	adj := fset.PositionFor(p, true)
	out := Pos{File: raw.Filename, Line: raw.Line, Col: raw.Column, Offset: raw.Offset}
	if adj.Line > 0 && filepath.Base(adj.Filename) == filepath.Base(raw.Filename) {
		out.Line, out.Col = adj.Line, adj.Column
	}
	return out
}

// span converts [from, to) for a report.
func span(fset *token.FileSet, from, to token.Pos) Span {
	a, b := position(fset, from), position(fset, to)
	return Span{File: a.File, Start: a.Offset, End: b.Offset, FirstLine: a.Line, LastLine: b.Line}
}
