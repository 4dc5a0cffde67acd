package reader

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/flordb/flor/internal/record"
	"github.com/flordb/flor/storage"
)

// ErrNoValue: no run logged a number under the metric asked for.
var ErrNoValue = errors.New("no value")

// Goal says whether the best value of a metric is its largest or its
// smallest.
type Goal int

// Goals.
const (
	Max Goal = iota // accuracy, recall
	Min             // loss, error
)

// Best is the run and iteration where a metric was best.
type Best struct {
	Projid   string
	Tstamp   time.Time
	Filename string
	// Iteration is the iteration of the outermost loop the value was
	// logged in (the epoch, whose checkpoint holds the model that scored
	// it), -1 when it was logged outside every loop.
	Iteration int64
	// Loops holds every loop column of the value's row (epoch, step, ...).
	Loops map[string]any
	Value float64
}

// Best finds the run and iteration with the largest (Max) or smallest
// (Min) number logged under metric, among the rows that satisfy where
// (may be empty). NaN values are ignored; ties go to the newest run.
func (r *Reader) Best(ctx context.Context, metric string, goal Goal, where string) (Best, error) {
	var f *storage.Frame
	err := r.with(ctx, func(s *storage.Store) error {
		var err error
		f, err = s.DataframeWhere(ctx, where, metric)
		return err
	})
	if err != nil {
		return Best{}, err
	}
	b, err := BestOf(f, metric, goal)
	if err == nil {
		r.record([]record.RunRef{ref(b.Projid, b.Tstamp, b.Filename)})
	}
	return b, err
}

// BestOf is Best over a frame already read.
func BestOf(f *storage.Frame, metric string, goal Goal) (Best, error) {
	mc := f.Col(metric)
	if mc < 0 {
		return Best{}, fmt.Errorf("best %s: %w: not a column of the frame", metric, storage.ErrUnknownColumn)
	}
	run := map[string]bool{"projid": true, "tstamp": true, "filename": true}
	bi := -1
	var bv float64
	for i, row := range f.Rows {
		v, ok := number(row[mc])
		if !ok || math.IsNaN(v) {
			continue
		}
		if bi < 0 || (goal == Max && v >= bv) || (goal == Min && v <= bv) {
			bi, bv = i, v
		}
	}
	if bi < 0 {
		return Best{}, fmt.Errorf("best %s: %w: no run logged a number under this name", metric, ErrNoValue)
	}
	row := f.Rows[bi]
	b := Best{Iteration: -1, Loops: map[string]any{}, Value: bv}
	b.Projid, _ = row[f.Col("projid")].(string)
	b.Tstamp, _ = row[f.Col("tstamp")].(time.Time)
	b.Filename, _ = row[f.Col("filename")].(string)
	first := true
	for c, col := range f.Columns {
		if run[col.Name] || c == mc {
			continue
		}
		b.Loops[col.Name] = row[c]
		if first {
			// Loop columns come outermost first, right after the run's.
			if it, ok := row[c].(int64); ok {
				b.Iteration = it
			}
			first = false
		}
	}
	return b, nil
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int64:
		return float64(x), true
	}
	return 0, false
}
