// Package florgomlx makes GoMLX training programs first-class flor
// programs: it checkpoints a GoMLX context (every variable: weights,
// optimizer state, the global step, the RNG state), logs a train step's
// metrics under their names, and turns a context's hyper-parameters into
// flor.Args.
//
//	ctx := context.New()
//	florgomlx.Args(ctx, map[string]any{"learning_rate": 1e-3, "hidden": 64})
//	trainer := train.NewTrainer(backend, ctx, model, losses.SparseCategoricalCrossEntropyLogits,
//		optimizers.Adam().Done(), nil, nil)
//	flor.Checkpoint("model", florgomlx.Context(ctx, trainer))
//	for epoch := range flor.Loop("epoch", flor.Range(epochs)) {
//		for step := range flor.Loop("step", flor.Range(steps)) {
//			metrics, err := trainer.TrainStep(nil, inputs(step), labels(step))
//			...
//			florgomlx.LogMetrics(trainer, metrics)
//		}
//	}
//
// A checkpoint restored before the graph is built (a replay worker that
// starts at a later epoch) hands the variables the context lacks to it
// through GoMLX's own loading mechanism (a context.Loader, as package
// checkpoints does), and loads them at once, as checkpoints'
// Config.Immediate does, so that ctx.IterVariables lists them; the graph
// then finds them when it asks for them. The trainers given to Context are
// switched to ctx.Reuse(), as GoMLX's train.Loop does after loading a
// checkpoint, so that building the graph reuses the loaded variables
// instead of panicking that they already exist. No ctx.Checked(false) is
// needed.
//
// Importing the package records GoMLX's GOMLX_* environment variables with
// each run (flor.RecordEnv), so that a replay runs on the backend the run
// used; the build tags (noxla) are recorded by flor itself.
//
// Keep the program's RNG state in the context (ctx.SetRNGStateFromSeed) or
// in a seeded rand.Rand registered with flor.Checkpoint: the global
// math/rand generator, which InMemoryDataset.Shuffle draws from, cannot be
// restored.
//
// This package is a module of its own, so that programs that do not
// import it never build GoMLX.
package florgomlx

import (
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/flordb/flor"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/gomlx/gomlx/pkg/ml/train/metrics"
)

// GoMLX picks its backend and its XLA plugin from GOMLX_* variables: each
// run records them, and replay runs its version with them.
func init() { flor.RecordEnv("GOMLX_*") }

// ErrFormat: checkpoint data that this package did not write, or that is
// cut short.
var ErrFormat = errors.New("florgomlx: bad checkpoint data")

// ErrContext: the context's variables cannot be read or set.
var ErrContext = errors.New("florgomlx: context")

// magic opens every checkpoint; the digit is the format's version. The
// variables follow (name, trainable flag, dtype, dimensions, raw bytes),
// then the parameters (scope, key, gob-encoded value), all sorted.
const magic = "florgomlx1\n"

// State is a GoMLX context as flor checkpoints it: an
// encoding.BinaryMarshaler and encoding.BinaryUnmarshaler over all of the
// context's variables, and the context.Loader that restores them lazily.
// Make it with Context.
type State struct {
	ctx      *context.Context
	trainers []*train.Trainer
	// pending holds restored values of variables the context has not
	// created yet, by parameter name; the context takes them as it
	// creates the variables.
	pending map[string]*tensors.Tensor
	// prev is the loader the context had before this one (a checkpoints
	// handler, say): it is asked first.
	prev context.Loader
}

// Context returns ctx as a flor checkpoint:
//
//	flor.Checkpoint("model", florgomlx.Context(ctx, trainer))
//
// saves every variable and every parameter of ctx (they are shared by
// every *context.Context derived from it, ctx.In("scope") included;
// parameter values must be of types gob encodes) and restores
// them bit for bit, whether or not a graph has been built yet. Pass the
// trainers made from ctx: a restore that happens before their graph is
// built switches them to ctx.Reuse(), and their metrics' state (moving
// averages), which GoMLX keeps under a scope named with a random UUID,
// is saved under the metric's position so that another run finds it.
func Context(ctx *context.Context, trainers ...*train.Trainer) *State {
	return &State{ctx: ctx, trainers: trainers}
}

// saved is one variable as the checkpoint holds it.
type saved struct {
	param     string // scope and name, as context.Variable.ParameterName
	value     *tensors.Tensor
	trainable bool
}

// MarshalBinary encodes every variable of the context, and the restored
// values it has not taken yet, in the order of their parameter names.
func (s *State) MarshalBinary() (data []byte, err error) {
	var vars []saved
	seen := map[string]bool{}
	toStable, _ := s.metricScopes()
	stable := func(param string) string {
		scope, name := context.VariableScopeAndNameFromParameterName(param)
		if st, ok := toStable[scope]; ok {
			return context.VariableParameterNameFromScopeAndName(st, name)
		}
		return param
	}
	for v := range s.ctx.IterVariables() {
		val, verr := v.Value()
		if verr != nil {
			return nil, fmt.Errorf("%w: variable %s: %w", ErrContext, v.ParameterName(), verr)
		}
		if val == nil {
			continue // not initialised yet: nothing to save
		}
		vars = append(vars, saved{stable(v.ParameterName()), val, v.Trainable})
		seen[v.ParameterName()] = true
	}
	if l := s.active(); l != nil {
		for name, t := range l.pending {
			if !seen[name] {
				vars = append(vars, saved{stable(name), t, true})
			}
		}
	}
	sort.Slice(vars, func(i, j int) bool { return vars[i].param < vars[j].param })

	var b bytes.Buffer
	b.WriteString(magic)
	writeUint(&b, uint64(len(vars)))
	for _, v := range vars {
		sh := v.value.Shape()
		writeString(&b, v.param)
		trainable := uint64(0)
		if v.trainable {
			trainable = 1
		}
		writeUint(&b, trainable)
		writeUint(&b, uint64(sh.DType))
		writeUint(&b, uint64(len(sh.Dimensions)))
		for _, d := range sh.Dimensions {
			writeUint(&b, uint64(d))
		}
		var werr error
		if err := v.value.ConstBytes(func(raw []byte) {
			writeUint(&b, uint64(len(raw)))
			_, werr = b.Write(raw)
		}); err != nil {
			return nil, fmt.Errorf("%w: variable %s: %w", ErrContext, v.param, err)
		}
		if werr != nil {
			return nil, werr
		}
	}
	ps, err := s.params()
	if err != nil {
		return nil, err
	}
	writeUint(&b, uint64(len(ps)))
	for _, p := range ps {
		writeString(&b, p.scope)
		writeString(&b, p.key)
		writeString(&b, string(p.gob))
	}
	return b.Bytes(), nil
}

// param is a context parameter as the checkpoint holds it.
type param struct {
	scope, key string
	gob        []byte // the value, gob-encoded as an interface
}

// boxed carries a parameter's value through gob as an interface, so that
// it decodes to its own type.
type boxed struct{ V any }

// params encodes the context's parameters in scope and key order.
func (s *State) params() ([]param, error) {
	var ps []param
	var err error
	s.ctx.EnumerateParams(func(scope, key string, value any) {
		if err != nil {
			return
		}
		var b bytes.Buffer
		if e := gob.NewEncoder(&b).Encode(boxed{value}); e != nil {
			err = fmt.Errorf("%w: parameter %q in scope %q: a %T, which gob cannot encode: %w", ErrContext, key, scope, value, e)
			return
		}
		ps = append(ps, param{scope, key, b.Bytes()})
	})
	sort.Slice(ps, func(i, j int) bool {
		if ps[i].scope != ps[j].scope {
			return ps[i].scope < ps[j].scope
		}
		return ps[i].key < ps[j].key
	})
	return ps, err
}

// UnmarshalBinary restores the variables saved by MarshalBinary: those the
// context has are set at once, the others are handed to the context as it
// creates them (context.Loader). Variables the checkpoint lacks are left
// as they are.
func (s *State) UnmarshalBinary(data []byte) error {
	vars, ps, err := decode(data)
	if err != nil {
		return err
	}
	for _, p := range ps {
		var v boxed
		if err := gob.NewDecoder(bytes.NewReader(p.gob)).Decode(&v); err != nil {
			return fmt.Errorf("%w: parameter %q in scope %q: %w", ErrFormat, p.key, p.scope, err)
		}
		s.ctx.InAbsPath(p.scope).SetParam(p.key, v.V)
	}
	pending := map[string]*tensors.Tensor{}
	trainable := map[string]bool{}
	_, fromStable := s.metricScopes()
	for _, v := range vars {
		scope, name := context.VariableScopeAndNameFromParameterName(v.param)
		if actual, ok := fromStable[scope]; ok {
			scope = actual
			v.param = context.VariableParameterNameFromScopeAndName(scope, name)
		}
		if cur := s.ctx.InspectVariableIfLoaded(scope, name); cur != nil {
			if err := cur.SetValue(v.value); err != nil {
				return fmt.Errorf("%w: variable %s: %w", ErrContext, v.param, err)
			}
			continue
		}
		pending[v.param] = v.value
		trainable[v.param] = v.trainable
	}
	l := s.active()
	if l == nil {
		if len(pending) == 0 {
			return nil
		}
		l = s
		s.prev = s.ctx.Loader()
		s.ctx.SetLoader(s)
	}
	l.pending = pending
	if len(pending) == 0 {
		return nil
	}
	// Load them now, as checkpoints.Config.Immediate does, so that the
	// context lists them (IterVariables) before a graph asks for them.
	for param, tr := range trainable {
		scope, name := context.VariableScopeAndNameFromParameterName(param)
		v := s.ctx.GetVariableByScopeAndName(scope, name)
		if v == nil {
			return fmt.Errorf("%w: variable %s was not loaded", ErrContext, param)
		}
		v.Trainable = tr
	}
	for _, t := range s.trainers {
		// The first graph a trainer builds checks that its variables are
		// new; loaded ones exist already.
		t.SetContext(t.Context().Reuse())
	}
	return nil
}

// metricScopes maps the scopes of the trainers' metric variables, which
// GoMLX names with a random UUID per run, to names that are the same in
// every run (the trainer's and the metric's positions), and back.
func (s *State) metricScopes() (toStable, fromStable map[string]string) {
	toStable, fromStable = map[string]string{}, map[string]string{}
	for k, t := range s.trainers {
		for kind, ms := range map[string][]metrics.Interface{"train": t.TrainMetrics(), "eval": t.EvalMetrics()} {
			for i, m := range ms {
				actual := context.RootScope + metrics.Scope + context.ScopeSeparator + m.ScopeName()
				st := fmt.Sprintf("%s%s%strainer%d.%s%d", context.RootScope, metrics.Scope, context.ScopeSeparator, k, kind, i)
				toStable[actual], fromStable[st] = st, actual
			}
		}
	}
	return toStable, fromStable
}

// active returns the State that is the context's loader: restored
// values wait there, whichever State of the context restored them.
func (s *State) active() *State {
	l, _ := s.ctx.Loader().(*State)
	return l
}

// LoadVariable implements context.Loader: the context asks for each
// variable as it creates it, and takes ownership of the value returned.
func (s *State) LoadVariable(ctx *context.Context, scope, name string) (*tensors.Tensor, bool) {
	if s.prev != nil {
		if v, ok := s.prev.LoadVariable(ctx, scope, name); ok {
			return v, true
		}
	}
	param := context.VariableParameterNameFromScopeAndName(scope, name)
	v, ok := s.pending[param]
	if ok {
		delete(s.pending, param)
	}
	return v, ok
}

// DeleteVariable implements context.Loader: a deleted variable must not
// come back from the checkpoint.
func (s *State) DeleteVariable(ctx *context.Context, scope, name string) error {
	if s.prev != nil {
		if err := s.prev.DeleteVariable(ctx, scope, name); err != nil {
			return err
		}
	}
	delete(s.pending, context.VariableParameterNameFromScopeAndName(scope, name))
	return nil
}

func decode(data []byte) ([]saved, []param, error) {
	r := bytes.NewReader(data)
	head := make([]byte, len(magic))
	if _, err := io.ReadFull(r, head); err != nil || string(head) != magic {
		return nil, nil, fmt.Errorf("%w: no %q header", ErrFormat, magic[:len(magic)-1])
	}
	vars, err := decodeVars(r)
	if err != nil {
		return nil, nil, err
	}
	n, err := readUint(r)
	if err != nil {
		return nil, nil, err
	}
	var ps []param
	for i := uint64(0); i < n; i++ {
		var f [3]string
		for j := range f {
			if f[j], err = readString(r); err != nil {
				return nil, nil, err
			}
		}
		ps = append(ps, param{f[0], f[1], []byte(f[2])})
	}
	if r.Len() > 0 {
		return nil, nil, fmt.Errorf("%w: %d bytes after the end", ErrFormat, r.Len())
	}
	return vars, ps, nil
}

func decodeVars(r *bytes.Reader) ([]saved, error) {
	n, err := readUint(r)
	if err != nil {
		return nil, err
	}
	var vars []saved
	for i := uint64(0); i < n; i++ {
		param, err := readString(r)
		if err != nil {
			return nil, err
		}
		trainable, err := readUint(r)
		if err != nil {
			return nil, err
		}
		dt, err := readUint(r)
		if err != nil {
			return nil, err
		}
		rank, err := readUint(r)
		if err != nil {
			return nil, err
		}
		if rank > 64 {
			return nil, fmt.Errorf("%w: variable %s has rank %d", ErrFormat, param, rank)
		}
		dims := make([]int, rank)
		for j := range dims {
			d, err := readUint(r)
			if err != nil {
				return nil, err
			}
			dims[j] = int(d)
		}
		size, err := readUint(r)
		if err != nil {
			return nil, err
		}
		sh := shapes.Make(dtypes.DType(dt), dims...)
		if uint64(sh.Memory()) != size || size > uint64(r.Len()) {
			return nil, fmt.Errorf("%w: variable %s: %d bytes for shape %s", ErrFormat, param, size, sh)
		}
		t := tensors.FromShape(sh)
		var rerr error
		if err := t.MutableBytes(func(raw []byte) { _, rerr = io.ReadFull(r, raw) }); err != nil {
			return nil, fmt.Errorf("%w: variable %s: %w", ErrContext, param, err)
		}
		if rerr != nil {
			return nil, fmt.Errorf("%w: variable %s: %w", ErrFormat, param, rerr)
		}
		vars = append(vars, saved{param, t, trainable == 1})
	}
	return vars, nil
}

func writeUint(b *bytes.Buffer, v uint64) { b.Write(binary.AppendUvarint(nil, v)) }

func writeString(b *bytes.Buffer, s string) {
	writeUint(b, uint64(len(s)))
	b.WriteString(s)
}

func readUint(r *bytes.Reader) (uint64, error) {
	v, err := binary.ReadUvarint(r)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	return v, nil
}

func readString(r *bytes.Reader) (string, error) {
	n, err := readUint(r)
	if err != nil {
		return "", err
	}
	if n > uint64(r.Len()) {
		return "", fmt.Errorf("%w: a name of %d bytes", ErrFormat, n)
	}
	buf := make([]byte, n)
	_, _ = io.ReadFull(r, buf)
	return string(buf), nil
}
