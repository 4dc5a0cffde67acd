package analyzer

import (
	"fmt"
	"go/ast"
	"go/types"
	"strings"

	"golang.org/x/tools/go/types/typeutil"
)

// External effect summaries: what functions of packages the analysis does
// not read do to what they are given, where their signatures say too
// little or too much (a pointer receiver that only reads, a method that
// draws from math/rand's global generator, a data iterator). A package
// that is not listed is judged by signatures, or summarised from its
// source when that source is local.
//
// Keys are "import/path.Func" for functions and "import/path.Type.Method"
// for methods, whatever the receiver's pointerness, interface methods
// included; "import/path.Type.*" gives every method of Type not listed by
// name.

// extEffect is the summary of one external function or method.
type extEffect struct {
	// writes lists the parameters (-1: the receiver) the function may
	// change; the others it only reads, or changes only in caches that
	// are not state (a lazily loaded variable, a compiled graph).
	writes []int
	// rand: it draws from math/rand's (or math/rand/v2's) global
	// generator, which no checkpoint restores.
	rand bool
	// randWhen, when set, is the condition under which it draws.
	randWhen string
	// advances: the receiver is a data iterator and the call moves its
	// position; resets: the call moves it back to its start.
	advances, resets bool
	// covers: registered with flor.Checkpoint, the call's result saves
	// and restores the state of its arguments and of what they hold (an
	// adapter's checkpoint, such as florgomlx.Context(ctx, trainer)).
	covers bool
	// builtOn lists the arguments the result is built on and shares
	// state with (a trainer built on a context): an adapter that covers
	// the argument must be given the result too.
	builtOn []int
}

// The common summaries.
var (
	extReads    = extEffect{}                                  // changes nothing it is given
	extRecv     = extEffect{writes: []int{-1}}                 // changes its receiver only
	extAdvances = extEffect{writes: []int{-1}, advances: true} // moves the iterator it is called on
	extResets   = extEffect{writes: []int{-1}, resets: true}   // moves it back to its start
)

const (
	gomlxContext  = "github.com/gomlx/gomlx/pkg/ml/context."
	gomlxTrain    = "github.com/gomlx/gomlx/pkg/ml/train."
	gomlxDatasets = "github.com/gomlx/gomlx/pkg/ml/datasets."
	florgomlx     = FlorPath + "/contrib/florgomlx."
)

// externalEffects is the table of summaries.
var externalEffects = map[string]extEffect{
	// A GoMLX context shares its variables and parameters between every
	// *Context derived from it; these only read them, or derive a new
	// *Context.
	gomlxContext + "Context.*":                         extRecv,
	gomlxContext + "Context.In":                        extReads,
	gomlxContext + "Context.Inf":                       extReads,
	gomlxContext + "Context.InAbsPath":                 extReads,
	gomlxContext + "Context.Reuse":                     extReads,
	gomlxContext + "Context.Checked":                   extReads,
	gomlxContext + "Context.Scope":                     extReads,
	gomlxContext + "Context.IsReuse":                   extReads,
	gomlxContext + "Context.IsChecked":                 extReads,
	gomlxContext + "Context.GetParam":                  extReads,
	gomlxContext + "Context.Loader":                    extReads,
	gomlxContext + "Context.NumVariables":              extReads,
	gomlxContext + "Context.IterVariables":             extReads,
	gomlxContext + "Context.IterVariablesInScope":      extReads,
	gomlxContext + "Context.EnumerateVariables":        extReads,
	gomlxContext + "Context.EnumerateVariablesInScope": extReads,
	gomlxContext + "Context.EnumerateParams":           extReads,
	gomlxContext + "Context.IterParams":                extReads,
	gomlxContext + "Context.GetVariable":               extReads, // loads lazily: a cache
	gomlxContext + "Context.GetVariableByScopeAndName": extReads,
	gomlxContext + "Context.InspectVariable":           extReads,
	gomlxContext + "Context.InspectVariableIfLoaded":   extReads,
	gomlxContext + "GetParamOr":                        extReads,
	gomlxContext + "Variable.Value":                    extReads,
	gomlxContext + "Variable.MustValue":                extReads,
	gomlxContext + "Variable.Shape":                    extReads,
	gomlxContext + "Variable.Name":                     extReads,
	gomlxContext + "Variable.Scope":                    extReads,
	gomlxContext + "Variable.ParameterName":            extReads,

	// A trainer's steps change the trainer and, through it, the
	// variables of the context it was built on; Eval starts its data set
	// from the beginning, so the data set's position carries nothing.
	gomlxTrain + "NewTrainer":           {builtOn: []int{1}},
	gomlxTrain + "Trainer.TrainStep":    extRecv,
	gomlxTrain + "Trainer.EvalStep":     extRecv,
	gomlxTrain + "Trainer.Eval":         extRecv,
	gomlxTrain + "Trainer.Context":      extReads,
	gomlxTrain + "Trainer.TrainMetrics": extReads,
	gomlxTrain + "Trainer.EvalMetrics":  extReads,
	gomlxTrain + "Trainer.Metrics":      extReads,
	gomlxTrain + "Trainer.GlobalStep":   extReads,
	gomlxTrain + "Dataset.Yield":        extAdvances,
	gomlxTrain + "Dataset.Reset":        extResets,
	gomlxTrain + "Dataset.Name":         extReads,

	gomlxDatasets + "InMemoryDataset.Shuffle": {writes: []int{-1}, rand: true},
	// Reset reshuffles a shuffled data set, and so does Yield at the end
	// of a looping one.
	gomlxDatasets + "InMemoryDataset.Yield": {writes: []int{-1}, advances: true, rand: true, randWhen: "when it loops over a shuffled data set"},
	gomlxDatasets + "InMemoryDataset.Reset": {writes: []int{-1}, resets: true, rand: true, randWhen: "when the data set is shuffled"},
	gomlxDatasets + "InMemoryDataset.Name":  extReads,

	florgomlx + "Context":        {covers: true},
	florgomlx + "LogMetrics":     extReads,
	florgomlx + "LogEvalMetrics": extReads,
	florgomlx + "MetricName":     extReads,

	// The standard library's readers move through their input.
	"encoding/csv.Reader.Read":     extAdvances,
	"encoding/csv.Reader.ReadAll":  extAdvances,
	"encoding/json.Decoder.Decode": extAdvances,
	"encoding/json.Decoder.Token":  extAdvances,
	"bufio.Scanner.Scan":           extAdvances,
	"bufio.Reader.ReadString":      extAdvances,
	"bufio.Reader.ReadLine":        extAdvances,
	"bytes.Reader.Read":            extAdvances,
	"bytes.Reader.Seek":            extResets,
	"strings.Reader.Read":          extAdvances,
	"strings.Reader.Seek":          extResets,
}

// externalKey is fn's key in externalEffects.
func externalKey(fn *types.Func) string {
	fn = fn.Origin()
	if fn.Pkg() == nil {
		return fn.Name()
	}
	sig, _ := fn.Type().(*types.Signature)
	if sig == nil || sig.Recv() == nil {
		return fn.Pkg().Path() + "." + fn.Name()
	}
	t := sig.Recv().Type()
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	name := ""
	switch t := t.(type) {
	case *types.Named:
		name = t.Obj().Name()
	case *types.Alias:
		name = t.Obj().Name()
	default:
		// A method of an interface literal: named by the interface
		// type the method belongs to, which go/types does not keep.
		name = strings.TrimPrefix(types.TypeString(t, nil), fn.Pkg().Path()+".")
	}
	return fn.Pkg().Path() + "." + name + "." + fn.Name()
}

// externalEffect returns the summary of fn, if the table has one.
func externalEffect(fn *types.Func) (extEffect, bool) {
	key := externalKey(fn)
	if e, ok := externalEffects[key]; ok {
		return e, true
	}
	if i := strings.LastIndexByte(key, '.'); i > 0 {
		if e, ok := externalEffects[key[:i]+".*"]; ok {
			return e, true
		}
	}
	return extEffect{}, false
}

func (e extEffect) changes(param int) bool {
	for _, p := range e.writes {
		if p == param {
			return true
		}
	}
	return false
}

// adapterCovers returns what the registered expression e saves and
// restores itself: when e is a call of an adapter whose entry covers its
// arguments, what each argument refers to (what a pointer points to, or
// the variable itself).
func (s *state) adapterCovers(e ast.Expr) []*loc {
	call, ok := ast.Unparen(e).(*ast.CallExpr)
	if !ok {
		return nil
	}
	fn, ok := typeutil.Callee(s.info, call).(*types.Func)
	if !ok {
		return nil
	}
	if x, ok := externalEffect(fn); !ok || !x.covers {
		return nil
	}
	var out []*loc
	for _, arg := range call.Args {
		l := s.referent(arg)
		if l == nil {
			l = s.canon(s.exprLoc(arg))
		}
		if l != nil {
			out = append(out, l)
		}
	}
	return out
}

// builtOnHint says, for state l that no checkpoint covers, that it was
// built on what an adapter's checkpoint covers (trainer :=
// train.NewTrainer(backend, ctx, ...), with florgomlx.Context(ctx)
// registered), and so belongs in that adapter's call; "" otherwise.
func (s *state) builtOnHint(l *loc) string {
	if l == nil || l.root == nil || s.vars[l.root] == nil {
		return ""
	}
	call, ok := ast.Unparen(s.vars[l.root].def).(*ast.CallExpr)
	if !ok {
		return ""
	}
	fn, ok := typeutil.Callee(s.info, call).(*types.Func)
	if !ok {
		return ""
	}
	x, ok := externalEffect(fn)
	if !ok {
		return ""
	}
	for _, i := range x.builtOn {
		if i >= len(call.Args) {
			continue
		}
		arg := s.canon(s.exprLoc(call.Args[i]))
		if arg == nil {
			continue
		}
		for _, r := range s.a.Checkpoints {
			for _, c := range r.covered {
				if c.root == arg.root {
					return fmt.Sprintf("%s is built on %s, which checkpoint %q covers: pass %s to %s too", l.root.Name(), arg.root.Name(), r.Name, l.root.Name(), r.Object)
				}
			}
		}
	}
	return ""
}
