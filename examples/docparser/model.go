package main

import (
	"context"
	"fmt"
	"math"
	"sort"

	"github.com/flordb/flor"
	"github.com/flordb/flor/reader"
)

// Model is a logistic regression over a page's features.
type Model struct{ W []float64 }

func vector(f map[string]any) []float64 {
	b := func(v any) float64 {
		if x, _ := v.(bool); x {
			return 1
		}
		return 0
	}
	w, _ := f["n_words"].(int64)
	return []float64{1, b(f["heading"]), b(f["page_one"]), float64(w) / 100}
}

func (m *Model) prob(x []float64) float64 {
	z := 0.0
	for i := range x {
		z += m.W[i] * x[i]
	}
	return 1 / (1 + math.Exp(-z))
}

type example struct {
	key pageKey
	x   []float64
	y   float64
}

// train fits the first-page classifier on the latest features and labels,
// checkpointing the model every epoch and logging val_recall and val_acc.
func train(ctx context.Context) error {
	defer flor.Commit()
	rd, err := reader.Open(reader.RecordReads(flor.Process))
	if err != nil {
		return err
	}
	data, err := latestBy(ctx, rd, "n_words", "heading", "page_one", "first_page")
	if err != nil {
		return err
	}
	var exs []example
	for k, f := range data {
		if lab, ok := f["first_page"].(bool); ok && f["n_words"] != nil {
			y := 0.0
			if lab {
				y = 1
			}
			exs = append(exs, example{k, vector(f), y})
		}
	}
	if len(exs) == 0 {
		return fmt.Errorf("no labelled pages: label some in the app first")
	}
	sort.Slice(exs, func(i, j int) bool {
		if exs[i].key.doc != exs[j].key.doc {
			return exs[i].key.doc < exs[j].key.doc
		}
		return exs[i].key.page < exs[j].key.page
	})
	var tr, val []example
	for i, e := range exs {
		if i%3 == 2 {
			val = append(val, e)
		} else {
			tr = append(tr, e)
		}
	}
	lr := flor.Arg("lr", 0.5)
	epochs := flor.Arg("epochs", 40)
	m := &Model{W: make([]float64, 4)}
	flor.Checkpoint("model", m)
	for range flor.Loop("epoch", flor.Range(epochs)) {
		for _, e := range tr {
			g := m.prob(e.x) - e.y
			for i := range m.W {
				m.W[i] -= lr * g * e.x[i]
			}
		}
		tp, fn, correct := 0, 0, 0
		for _, e := range val {
			p := m.prob(e.x) >= 0.5
			if p == (e.y == 1) {
				correct++
			}
			if e.y == 1 {
				if p {
					tp++
				} else {
					fn++
				}
			}
		}
		recall := 0.0
		if tp+fn > 0 {
			recall = float64(tp) / float64(tp+fn)
		}
		flor.Log("val_recall", recall)
		flor.Log("val_acc", float64(correct)/float64(max(len(val), 1)))
	}
	return nil
}

// infer loads the best checkpoint by val_recall through the registry and
// predicts each page; the app shows the predictions beside the labels.
func infer(ctx context.Context) error {
	defer flor.Commit()
	rd, err := reader.Open(reader.RecordReads(flor.Process))
	if err != nil {
		return err
	}
	var m Model
	best, err := rd.LoadBest(ctx, "val_recall", reader.Max, "", "model", &m)
	if err != nil {
		return err
	}
	flor.Log("model_run", best.Tstamp.Format("2006-01-02T15:04:05.000000Z"))
	flor.Log("model_epoch", best.Iteration)
	data, err := latestBy(ctx, rd, "n_words", "heading", "page_one")
	if err != nil {
		return err
	}
	pages := map[string][]int64{}
	var docs []string
	for k := range data {
		if pages[k.doc] == nil {
			docs = append(docs, k.doc)
		}
		pages[k.doc] = append(pages[k.doc], k.page)
	}
	sort.Strings(docs)
	for doc := range flor.Loop("document", seq(docs)) {
		ps := pages[doc]
		sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
		n := int(ps[len(ps)-1]) + 1
		for i := range flor.Loop("page", flor.Range(n)) {
			if f, ok := data[pageKey{doc, int64(i)}]; ok {
				flor.Log("pred_first_page", m.prob(vector(f)) >= 0.5)
			}
		}
	}
	return nil
}
