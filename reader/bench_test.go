package reader_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/flordb/flor/internal/record"
	"github.com/flordb/flor/reader"
	"github.com/flordb/flor/runtime"
	"github.com/flordb/flor/storage"
)

// writeLabelRuns writes runs feedback runs as the runtime's units write
// them: each a document known by name (NoIndex; 200 documents, so each is
// labelled many times) and pages page_color values.
func writeLabelRuns(tb testing.TB, home string, runs, pages int) {
	tb.Helper()
	dir := filepath.Join(home, "runs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	qdoc, qpage, qcolor := string(record.AppendString(nil, "document")), string(record.AppendString(nil, "page")), string(record.AppendString(nil, "page_color"))
	for r := range runs {
		t := t0.Add(time.Duration(r) * time.Millisecond)
		h := record.NewRun()
		h.ProjID, h.Tstamp, h.Filename, h.Kwargs, h.PID, h.Host = "bench", record.FormatTime(t), "app", map[string]string{}, 1, "bench"
		b := append(h.Marshal(), '\n')
		b = record.AppendCtx(b, 1, 0, qdoc, runtime.NoIndex)
		b = record.Close(record.AppendString(record.AppendCtxValue(b), fmt.Sprintf("doc%03d.txt", r%200)))
		for p := range pages {
			c := int64(2 + p)
			b = record.Close(record.AppendCtx(b, c, 1, qpage, int64(p)))
			b = record.AppendLog(b, c, qcolor, "str")
			b = record.AppendString(b, []string{"red", "blue", "green"}[(r+p)%3])
			b = record.AppendLogEnd(b, 0)
		}
		b = record.AppendEndRecord(b, record.StatusFinished, t)
		if err := os.WriteFile(filepath.Join(dir, record.FileName(t)), b, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkLatest10kRuns50Pages reads the newest label of every page of
// 10,000 feedback runs of 50 pages (500,000 values; 10,000 keys), as the
// app's training step does: open the store, the ingest check (nothing new
// to ingest), DataframeLatest, close. It also reports what the open, the
// ingest check and the close alone take (open+ingest-ms).
func BenchmarkLatest10kRuns50Pages(b *testing.B) {
	home := filepath.Join(b.TempDir(), "flor")
	writeLabelRuns(b, home, 10000, 50)
	ctx := context.Background()
	rd := reader.At(home, reader.WithMessages(nil))
	start := time.Now()
	f, err := rd.Dataframe(ctx, reader.Query{Names: []string{"page_color"}, Latest: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("first read, ingesting 10,000 runs: %v", time.Since(start))
	if f.Len() != 200*50 {
		b.Fatalf("%d rows, want %d", f.Len(), 200*50)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := rd.Dataframe(ctx, reader.Query{Names: []string{"page_color"}, Latest: true}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	const n = 5
	start = time.Now()
	for range n {
		s, err := storage.Open(ctx, home, storage.WithMessages(nil))
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(time.Since(start).Milliseconds())/n, "open+ingest-ms")
}

// bigModel is a 10 MB model: 1,310,720 float64 weights.
type bigModel struct{ W []float64 }

// BenchmarkBestCheckpointLoad10MB finds the run and epoch with the best
// val_acc among 5 runs of 4 epochs and loads its 10 MB model, verified.
func BenchmarkBestCheckpointLoad10MB(b *testing.B) {
	p := newProject(b)
	for k := range 5 {
		p.run(b, func(r *runtime.Run) {
			m := &bigModel{W: make([]float64, 10<<20/8)}
			r.Checkpoint("model", m)
			for e := range runtime.Loop(r, "epoch", runtime.Range(4)) {
				m.W[0] = float64(k*10 + e)
				runtime.Log(r, "val_acc", float64(k*10+e%3))
			}
		})
	}
	ctx := context.Background()
	rd := reader.At(p.home, reader.WithMessages(nil))
	var m bigModel
	if _, err := rd.LoadBest(ctx, "val_acc", reader.Max, "", "model", &m); err != nil {
		b.Fatal(err)
	}
	if m.W[0] != 42 {
		b.Fatalf("loaded W[0] = %v, want 42 (run 4, epoch 2)", m.W[0])
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := rd.LoadBest(ctx, "val_acc", reader.Max, "", "model", &m); err != nil {
			b.Fatal(err)
		}
	}
}
