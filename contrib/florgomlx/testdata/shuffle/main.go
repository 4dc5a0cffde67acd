// Command shuffle is the program a GoMLX user met: a trainer left out of
// the checkpoint, and a data set shuffled by the global math/rand
// generator.
package main

import (
	"github.com/flordb/flor"
	"github.com/flordb/flor/contrib/florgomlx"
	"github.com/gomlx/gomlx/backends"
	_ "github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/datasets"
	"github.com/gomlx/gomlx/pkg/ml/layers"
	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/gomlx/gomlx/pkg/ml/train/losses"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
)

func model(ctx *context.Context, _ any, inputs []*graph.Node) []*graph.Node {
	return []*graph.Node{layers.Dense(ctx, inputs[0], true, 2)}
}

func main() {
	defer flor.Commit()
	backend := backends.MustNew()
	ctx := context.New()
	trainer := train.NewTrainer(backend, ctx, model, losses.SparseCategoricalCrossEntropyLogits, optimizers.Adam().Done(), nil, nil)
	flor.Checkpoint("model", florgomlx.Context(ctx))
	ds, err := datasets.InMemoryFromData(backend, "train", []any{[][]float32{{1}, {2}}}, []any{[][]int32{{0}, {1}}})
	if err != nil {
		panic(err)
	}
	valDS, err := datasets.InMemoryFromData(backend, "val", []any{[][]float32{{1}}}, []any{[][]int32{{0}}})
	if err != nil {
		panic(err)
	}
	ds.BatchSize(1, true)
	for range flor.Loop("epoch", flor.Range(2)) {
		ds.Shuffle()
		for range flor.Loop("step", flor.Range(2)) {
			_, in, lab, err := ds.Yield()
			if err != nil {
				panic(err)
			}
			m, err := trainer.TrainStep(nil, in, lab)
			if err != nil {
				panic(err)
			}
			florgomlx.LogMetrics(trainer, m)
		}
		for range ctx.IterVariables() {
		}
		m, err := trainer.Eval(valDS)
		if err != nil {
			panic(err)
		}
		flor.Log("val_loss", float64(m[0].Value().(float32)))
	}
}
