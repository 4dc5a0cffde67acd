package florgomlx_test

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/backends"
	_ "github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/layers"
	"github.com/gomlx/gomlx/pkg/ml/layers/activations"
	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/gomlx/gomlx/pkg/ml/train/losses"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"

	"github.com/flordb/flor/contrib/florgomlx"
)

// mlp has a dropout layer, so a step draws from the context's RNG.
func mlp(ctx *context.Context, _ any, inputs []*graph.Node) []*graph.Node {
	x := layers.Dense(ctx.In("hidden"), inputs[0], true, 16)
	x = activations.Relu(x)
	x = layers.DropoutStatic(ctx, x, 0.2)
	return []*graph.Node{layers.Dense(ctx.In("out"), x, true, 3)}
}

type setup struct {
	ctx     *context.Context
	trainer *train.Trainer
}

func newSetup(t *testing.T, backend backends.Backend) setup {
	t.Helper()
	ctx := context.New()
	ctx.SetParam(optimizers.ParamLearningRate, 0.01)
	if err := ctx.SetRNGStateFromSeed(7); err != nil {
		t.Fatal(err)
	}
	tr := train.NewTrainer(backend, ctx, mlp, losses.SparseCategoricalCrossEntropyLogits, optimizers.Adam().Done(), nil, nil)
	return setup{ctx, tr}
}

// batch is step's batch of a fixed synthetic data set.
func batch(step int) (inputs, labels []*tensors.Tensor) {
	r := rand.New(rand.NewPCG(uint64(step), 1))
	x := make([][]float32, 8)
	y := make([][]int32, 8)
	for i := range x {
		x[i] = make([]float32, 5)
		for j := range x[i] {
			x[i][j] = float32(r.NormFloat64())
		}
		y[i] = []int32{int32(r.IntN(3))}
	}
	return []*tensors.Tensor{tensors.FromValue(x)}, []*tensors.Tensor{tensors.FromValue(y)}
}

func steps(t *testing.T, s setup, from, to int) []float32 {
	t.Helper()
	var out []float32
	for i := from; i < to; i++ {
		in, lab := batch(i)
		m, err := s.trainer.TrainStep(nil, in, lab)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m[0].Value().(float32))
	}
	return out
}

func marshal(t *testing.T, s setup) []byte {
	t.Helper()
	b, err := florgomlx.Context(s.ctx, s.trainer).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRoundTrip: a context restored from a checkpoint, into a fresh
// context whose graph is not built yet and into one that has trained
// past the checkpoint, trains on bit for bit as the original did, and
// saves the same bytes.
func TestRoundTrip(t *testing.T) {
	backend := backends.MustNew()
	orig := newSetup(t, backend)
	steps(t, orig, 0, 3)
	orig.ctx.In("sched").SetParam("phase", "warm") // a parameter the loop changed
	ckpt := marshal(t, orig)
	want := steps(t, orig, 3, 6)
	final := marshal(t, orig)

	t.Run("before the graph is built", func(t *testing.T) {
		s := newSetup(t, backend)
		st := florgomlx.Context(s.ctx, s.trainer)
		if err := st.UnmarshalBinary(ckpt); err != nil {
			t.Fatal(err)
		}
		if again := marshal(t, s); !bytes.Equal(again, ckpt) {
			t.Fatalf("a restored, unbuilt context saves %d bytes that differ from the %d restored", len(again), len(ckpt))
		}
		if v, ok := s.ctx.InAbsPath("/sched").GetParam("phase"); !ok || v != "warm" {
			t.Errorf("parameter /sched phase restored as %v (%v), want warm", v, ok)
		}
		// Listed before the graph asks for them, flags included.
		if got, want := s.ctx.NumVariables(), orig.ctx.NumVariables(); got != want {
			t.Fatalf("a restored, unbuilt context has %d variables, the original %d", got, want)
		}
		for v := range orig.ctx.IterVariables() {
			if strings.HasPrefix(v.Scope(), "/metrics/") {
				continue // named with a UUID per trainer
			}
			r := s.ctx.InspectVariableIfLoaded(v.Scope(), v.Name())
			if r == nil || r.Trainable != v.Trainable {
				t.Errorf("variable %s: restored as %v, trainable %v", v.ParameterName(), r, v.Trainable)
			}
		}
		if got := steps(t, s, 3, 6); !equalBits(got, want) {
			t.Fatalf("losses after restore %v, want %v", got, want)
		}
		if !bytes.Equal(marshal(t, s), final) {
			t.Fatal("the variables after training differ from the original's")
		}
	})
	t.Run("after the graph is built", func(t *testing.T) {
		s := newSetup(t, backend)
		steps(t, s, 0, 5)
		if err := florgomlx.Context(s.ctx, s.trainer).UnmarshalBinary(ckpt); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(marshal(t, s), ckpt) {
			t.Fatal("a restored, built context saves bytes that differ from those restored")
		}
		if got := steps(t, s, 3, 6); !equalBits(got, want) {
			t.Fatalf("losses after restore %v, want %v", got, want)
		}
		if !bytes.Equal(marshal(t, s), final) {
			t.Fatal("the variables after training differ from the original's")
		}
	})
}

func TestBadData(t *testing.T) {
	s := newSetup(t, backends.MustNew())
	steps(t, s, 0, 1)
	good := marshal(t, s)
	for _, data := range [][]byte{nil, []byte("not a checkpoint"), good[:len(good)-3], append(good, 0)} {
		if err := florgomlx.Context(s.ctx).UnmarshalBinary(data); !errors.Is(err, florgomlx.ErrFormat) {
			t.Errorf("UnmarshalBinary(%d bytes) = %v, want ErrFormat", len(data), err)
		}
	}
}

func equalBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] { // no NaNs in these losses
			return false
		}
	}
	return true
}
