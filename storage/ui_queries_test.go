package storage

import (
	"context"
	"math"
	"testing"
	"time"
)

// TestRunTableSummaries: a summary merges a run's recording and its
// replays: counts add up, min and max span both, the last value is the
// replay's, and runs the filter leaves out are not listed.
func TestRunTableSummaries(t *testing.T) {
	home := t.TempDir()
	a := newRunFile(t, home, t0, runOpts{kwargs: map[string]string{"lr": "0.1"}})
	a.arg("lr", 0.1)
	e0 := a.ctx(0, "epoch", 0, 0)
	a.log(e0, "loss", 3.0)
	a.log(e0, "note", "text")
	e1 := a.ctx(0, "epoch", 1, 1)
	a.log(e1, "loss", 2.0)
	a.log(e1, "tag", nil)
	a.end(t0.Add(time.Minute))
	a.close()
	rp := newRunFile(t, home, t0, runOpts{dir: "replay/r1", name: tstampName(t0) + "-w0.jsonl",
		replay: map[string]any{"id": "r1", "names": []string{"loss"}}})
	rp.log(rp.ctx(0, "epoch", 2, 2), "loss", 5.0)
	rp.log(rp.ctx(0, "epoch", 3, 3), "loss", 0.5)
	rp.close()
	b := newRunFile(t, home, t0.Add(time.Hour), runOpts{kwargs: map[string]string{"lr": "0.2"}})
	b.arg("lr", 0.2)
	b.log(b.ctx(0, "epoch", 0, 0), "loss", 9.0)
	b.end(t0.Add(2 * time.Hour))
	b.close()

	s := openTest(t, home)
	rows, err := s.RunTable(context.Background(), "", []string{"loss", "note", "tag", "absent"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("%d rows, want 2", len(rows))
	}
	loss := rows[0].Summaries["loss"]
	if loss.N != 4 || loss.Min != 0.5 || loss.Max != 5 || loss.Last != 0.5 || !loss.Replayed {
		t.Errorf("loss with a replay: %+v", loss)
	}
	if note := rows[0].Summaries["note"]; note.N != 1 || note.Last != "text" || !math.IsNaN(note.Min) || note.Replayed {
		t.Errorf("note: %+v", note)
	}
	if tag := rows[0].Summaries["tag"]; tag.N != 1 || tag.Last != nil {
		t.Errorf("tag (a null): %+v", tag)
	}
	if _, ok := rows[0].Summaries["absent"]; ok {
		t.Errorf("a summary of a name never logged")
	}
	if l := rows[1].Summaries["loss"]; l.N != 1 || l.Last != 9.0 || l.Replayed {
		t.Errorf("second run's loss: %+v", l)
	}
	rows, err = s.RunTable(context.Background(), "lr > 0.15", []string{"loss"})
	if err != nil || len(rows) != 1 || rows[0].Summaries["loss"].Last != 9.0 {
		t.Errorf("filtered: %+v, %v", rows, err)
	}
}
