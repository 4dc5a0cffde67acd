package florgomlx

import (
	"fmt"
	"sort"
	"strings"
	"unicode"

	"github.com/flordb/flor"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/gomlx/gomlx/pkg/ml/train/metrics"
)

// LogMetrics logs the metrics a TrainStep returned, each under its
// metric's name in snake case ("Batch Loss+Regularization" is
// "batch_loss_regularization", "Moving Average Loss" is
// "moving_average_loss"), in the context of the enclosing flor loops:
//
//	m, err := trainer.TrainStep(nil, inputs, labels)
//	florgomlx.LogMetrics(trainer, m)
//
// Scalars are logged as float64 (bools, integers as themselves), other
// tensors as their values.
func LogMetrics(trainer *train.Trainer, values []*tensors.Tensor) {
	logAll(trainer.TrainMetrics(), values)
}

// LogEvalMetrics logs the metrics an EvalStep or Eval returned, as
// LogMetrics does, each name prefixed with prefix ("val_" gives
// "val_mean_loss").
func LogEvalMetrics(trainer *train.Trainer, prefix string, values []*tensors.Tensor) {
	ms := trainer.EvalMetrics()
	for i, v := range values {
		if i < len(ms) {
			flor.Log(prefix+MetricName(ms[i]), scalar(v))
		}
	}
}

func logAll(ms []metrics.Interface, values []*tensors.Tensor) {
	for i, v := range values {
		if i < len(ms) {
			flor.Log(MetricName(ms[i]), scalar(v))
		}
	}
}

// MetricName is the name LogMetrics logs m under: its Name in snake
// case.
func MetricName(m metrics.Interface) string { return snake(m.Name()) }

func snake(s string) string {
	var b strings.Builder
	under := false
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if under && b.Len() > 0 {
				b.WriteByte('_')
			}
			under = false
			b.WriteRune(unicode.ToLower(r))
			continue
		}
		under = true
	}
	return b.String()
}

// scalar returns a scalar tensor's value as a Go number.
func scalar(t *tensors.Tensor) any {
	v := t.Value()
	switch x := v.(type) {
	case float32:
		return float64(x)
	case float64, bool, int, int64, int32:
		return x
	}
	return fmt.Sprint(v)
}

// Args turns hyper-parameters into flor.Args and sets them as the
// context's parameters: each key of defaults is read with flor.Arg (so
// `--kwargs key=value` overrides it, the value is recorded, and replay
// uses the recorded one) and set with ctx.SetParam, where GoMLX's layers
// and optimizers read them (context.GetParamOr). Keys are taken in sorted
// order. Values must be bool, int, int64, float64 or string. It returns
// the values set.
//
//	florgomlx.Args(ctx, map[string]any{optimizers.ParamLearningRate: 1e-3, "hidden": 64})
func Args(ctx *context.Context, defaults map[string]any) map[string]any {
	keys := make([]string, 0, len(defaults))
	for k := range defaults {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make(map[string]any, len(keys))
	for _, k := range keys {
		var v any
		switch d := defaults[k].(type) {
		case bool:
			v = flor.Arg(k, d)
		case int:
			v = flor.Arg(k, d)
		case int64:
			v = flor.Arg(k, d)
		case float64:
			v = flor.Arg(k, d)
		case string:
			v = flor.Arg(k, d)
		default:
			panic(fmt.Sprintf("florgomlx.Args: %q has a %T default; flor.Arg takes bool, int, int64, float64 or string", k, d))
		}
		ctx.SetParam(k, v)
		out[k] = v
	}
	return out
}
