// Package mnistmlp is the GoMLX model of the example: a multi-layer
// perceptron on MNIST, its batches and its evaluation. It calls no flor
// function, so that the benchmark trains it with and without flor.
package mnistmlp

import (
	"fmt"
	"io"

	"github.com/flordb/flor/examples/mnist/mlp"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/layers"
	"github.com/gomlx/gomlx/pkg/ml/layers/activations"
	"github.com/gomlx/gomlx/pkg/ml/train"
)

// ParamHidden is the context parameter holding the hidden layer's width.
const ParamHidden = "hidden"

// Model is the MLP: 784 pixels, a ReLU hidden layer, 10 logits.
func Model(ctx *context.Context, _ any, inputs []*graph.Node) []*graph.Node {
	hidden := context.GetParamOr(ctx, ParamHidden, 64)
	x := layers.Dense(ctx.In("hidden"), inputs[0], true, hidden)
	x = activations.Relu(x)
	return []*graph.Node{layers.Dense(ctx.In("logits"), x, true, 10)}
}

// Batch gathers the images idx of d as a [len(idx), 784] float32 input
// tensor scaled to [0, 1] and a [len(idx), 1] int32 label tensor.
func Batch(d *mlp.Dataset, idx []int) (inputs, labels []*tensors.Tensor) {
	x := make([][]float32, len(idx))
	y := make([][]int32, len(idx))
	for r, i := range idx {
		x[r] = make([]float32, d.Dim)
		for k, p := range d.Pixels[i*d.Dim : (i+1)*d.Dim] {
			x[r][k] = float32(p) / 255
		}
		y[r] = []int32{int32(d.Labels[i])}
	}
	return []*tensors.Tensor{tensors.FromValue(x)}, []*tensors.Tensor{tensors.FromValue(y)}
}

// Evaluate returns the model's accuracy on d, in batches of batchSize (the
// last one shorter): the last of the trainer's eval metrics, which must
// be an accuracy. It panics when the evaluation fails, as GoMLX's Must
// functions do.
func Evaluate(trainer *train.Trainer, d *mlp.Dataset, batchSize int) float64 {
	ds := &batches{d: d, size: batchSize}
	m, err := trainer.Eval(ds)
	if err != nil {
		panic(fmt.Errorf("evaluating on %d images: %w", d.N, err))
	}
	return float64(m[len(m)-1].Value().(float32))
}

// batches is d as a train.Dataset, in order.
type batches struct {
	d          *mlp.Dataset
	size, next int
}

func (b *batches) Name() string { return "test" }

func (b *batches) Reset() { b.next = 0 }

func (b *batches) Yield() (spec any, inputs, labels []*tensors.Tensor, err error) {
	if b.next >= b.d.N {
		return nil, nil, nil, io.EOF
	}
	end := min(b.next+b.size, b.d.N)
	idx := make([]int, 0, end-b.next)
	for i := b.next; i < end; i++ {
		idx = append(idx, i)
	}
	b.next = end
	inputs, labels = Batch(b.d, idx)
	return nil, inputs, labels, nil
}
