package reader_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flordb/flor/internal/record"
	"github.com/flordb/flor/reader"
	"github.com/flordb/flor/runtime"
	"github.com/flordb/flor/storage"
)

// project is a git repository and a flor home for recording runs in-process.
type project struct {
	dir, home string
	env       func(string) string
}

func newProject(tb testing.TB) *project {
	tb.Helper()
	dir := tb.TempDir()
	if out, err := exec.Command("git", "init", "-q", dir).CombinedOutput(); err != nil {
		tb.Fatalf("git init: %v\n%s", err, out)
	}
	p := &project{dir: dir, home: filepath.Join(dir, ".flor")}
	p.env = func(k string) string {
		switch k {
		case "FLOR_PROGRESS", "FLOR_ECHO", "FLOR_CHECKPOINT_EPSILON":
			return "0"
		case "FLOR_HOME":
			return p.home
		}
		return ""
	}
	return p
}

// run records one run in the project.
func (p *project) run(tb testing.TB, body func(r *runtime.Run)) string {
	tb.Helper()
	r, err := runtime.New(runtime.Options{Dir: p.dir, Env: p.env, Stdout: discard{}, Stderr: discard{}})
	if err != nil {
		tb.Fatal(err)
	}
	body(r)
	if err := r.Commit(); err != nil {
		tb.Fatal(err)
	}
	return r.Tstamp
}

type discard struct{}

func (discard) Write(b []byte) (int, error) { return len(b), nil }

// labels records a feedback run: page colors of one document, known by name.
func labels(r *runtime.Run, doc string, colors ...string) {
	end := runtime.IterationOf(r, "document", runtime.NoIndex, doc)
	i := 0
	for range runtime.Loop(r, "page", runtime.Range(len(colors))) {
		runtime.Log(r, "page_color", colors[i])
		i++
	}
	end()
}

func TestLatestNewestRunWins(t *testing.T) {
	p := newProject(t)
	p.run(t, func(r *runtime.Run) { labels(r, "a.txt", "red", "red", "blue") })
	p.run(t, func(r *runtime.Run) { labels(r, "b.txt", "green") })
	newest := p.run(t, func(r *runtime.Run) { labels(r, "a.txt", "red", "blue") }) // a correction of a's first two pages
	ctx := context.Background()
	rd := reader.At(p.home, reader.WithMessages(nil))
	all, err := rd.Dataframe(ctx, reader.Query{Names: []string{"page_color"}})
	if err != nil {
		t.Fatal(err)
	}
	if all.Len() != 6 {
		t.Fatalf("dataframe: %d rows, want 6", all.Len())
	}
	f, err := rd.Dataframe(ctx, reader.Query{Names: []string{"page_color"}, Latest: true})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for i := range f.Len() {
		key := f.Value(i, "document_value").(string) + "/" + itoa(f.Value(i, "page"))
		got[key] = f.Value(i, "page_color").(string)
		if f.Value(i, "document") != int64(-1) {
			t.Errorf("document column %v, want -1 (NoIndex)", f.Value(i, "document"))
		}
	}
	want := map[string]string{"a.txt/0": "red", "a.txt/1": "blue", "a.txt/2": "blue", "b.txt/0": "green"}
	if len(got) != len(want) {
		t.Fatalf("latest %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("latest %s = %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
	// The tstamp of a row is the newest run that gave it a value.
	for i := range f.Len() {
		if f.Value(i, "document_value") == "a.txt" && f.Value(i, "page") == int64(1) {
			if ts := record.FormatTime(f.Value(i, "tstamp").(time.Time)); ts != newest {
				t.Errorf("a.txt/1 tstamp %s, want the correction's %s", ts, newest)
			}
		}
	}
	// Latest over a frame already read agrees with the store's.
	if g := reader.Latest(all, "page_color"); !reflect.DeepEqual(g.Rows, f.Rows) {
		t.Errorf("Latest of the frame:\n%v\nthe store's:\n%v", g.Rows, f.Rows)
	}
	w, err := rd.Dataframe(ctx, reader.Query{Names: []string{"page_color"}, Where: "document_value = 'b.txt'", Latest: true})
	if err != nil {
		t.Fatal(err)
	}
	if w.Len() != 1 || w.Value(0, "page_color") != "green" {
		t.Errorf("latest where document_value = 'b.txt': %v", w.Rows)
	}
	if _, err := rd.Dataframe(ctx, reader.Query{Names: []string{"page_color"}, Where: "nosuch > 1"}); !errors.Is(err, storage.ErrUnknownColumn) {
		t.Errorf("where over an unknown column: %v, want ErrUnknownColumn", err)
	}
}

func itoa(v any) string {
	n, _ := v.(int64)
	return strconv.FormatInt(n, 10)
}

// model is a registered training state.
type model struct{ W []float64 }

// train records a run of 3 epochs whose model's weights are the epoch
// number plus bias, logging val_acc.
func train(p *project, tb testing.TB, bias float64, accs ...float64) string {
	return p.run(tb, func(r *runtime.Run) {
		m := &model{W: make([]float64, 4)}
		r.Checkpoint("model", m)
		for e := range runtime.Loop(r, "epoch", runtime.Range(len(accs))) {
			for i := range m.W {
				m.W[i] = float64(e) + bias
			}
			runtime.Log(r, "val_acc", accs[e])
		}
		runtime.Log(r, "accuracy", accs[len(accs)-1])
	})
}

func TestBestAndLoad(t *testing.T) {
	p := newProject(t)
	first := train(p, t, 0, 0.5, 0.9, 0.7)
	train(p, t, 100, 0.6, 0.8, 0.85)
	ctx := context.Background()
	rd := reader.At(p.home, reader.WithMessages(nil))

	b, err := rd.Best(ctx, "val_acc", reader.Max, "")
	if err != nil {
		t.Fatal(err)
	}
	if record.FormatTime(b.Tstamp) != first || b.Iteration != 1 || b.Value != 0.9 {
		t.Fatalf("best val_acc: %+v, want run %s epoch 1 = 0.9", b, first)
	}
	var m model
	if _, err := rd.LoadBest(ctx, "val_acc", reader.Max, "", "model", &m); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.W, []float64{1, 1, 1, 1}) {
		t.Errorf("best model %v, want epoch 1's weights", m.W)
	}
	lo, err := rd.Best(ctx, "val_acc", reader.Min, "epoch >= 1")
	if err != nil || lo.Value != 0.7 {
		t.Errorf("min val_acc where epoch >= 1: %+v, %v; want 0.7", lo, err)
	}
	// A metric of the whole run loads the run's last state.
	var last model
	if _, err := rd.LoadBest(ctx, "accuracy", reader.Max, "", "model", &last); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(last.W, []float64{102, 102, 102, 102}) {
		t.Errorf("best accuracy's model %v, want the second run's last state", last.W)
	}

	run, cks, err := rd.Checkpoints(ctx, first[:len(first)-1]) // a prefix that one run has
	if err != nil {
		t.Fatal(err)
	}
	if record.FormatTime(run.Tstamp) != first || len(cks) != 3 {
		t.Fatalf("checkpoints of %s: run %v, %d checkpoints, want 3", first, run.Tstamp, len(cks))
	}
	if _, err := rd.Load(ctx, first, 7, "model", &m); !errors.Is(err, reader.ErrNoCheckpoint) {
		t.Errorf("iteration 7: %v, want ErrNoCheckpoint", err)
	}
	if _, err := rd.Load(ctx, first, 0, "optimizer", &m); !errors.Is(err, reader.ErrNoCheckpoint) {
		t.Errorf("unregistered name: %v, want ErrNoCheckpoint", err)
	}
	if _, err := rd.Load(ctx, "1999", 0, "model", &m); !errors.Is(err, reader.ErrNoRun) {
		t.Errorf("no such run: %v, want ErrNoRun", err)
	}
	if _, err := rd.Load(ctx, "20", 0, "model", &m); !errors.Is(err, reader.ErrAmbiguousRun) {
		t.Errorf("prefix of two runs: %v, want ErrAmbiguousRun", err)
	}
	// A flipped byte on disk is refused, not loaded.
	h := cks[1].Objs["model"]
	path := filepath.Join(p.home, "objects", h[:2], h[2:])
	data, _ := os.ReadFile(path)
	data[len(data)-1] ^= 1
	os.Chmod(path, 0o644)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := rd.Load(ctx, first, 1, "model", &m); !errors.Is(err, runtime.ErrCorruptBlob) {
		t.Errorf("corrupt blob: %v, want ErrCorruptBlob", err)
	}
}

// TestReaderNeverLocksOut reads in a loop, as a server does on every
// request, while flor dataframe (storage.Open in-process) loops and runs
// are recorded: nobody fails on the store's lock.
func TestReaderNeverLocksOut(t *testing.T) {
	p := newProject(t)
	train(p, t, 0, 0.5)
	ctx := context.Background()
	rd := reader.At(p.home, reader.WithMessages(nil))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	loop := func(f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := f(); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	var reads, cmds atomic.Int64
	loop(func() error { // the server
		_, err := rd.Dataframe(ctx, reader.Query{Names: []string{"val_acc"}, Latest: true})
		reads.Add(1)
		return err
	})
	loop(func() error { // flor dataframe
		s, err := storage.Open(ctx, p.home, storage.WithMessages(nil))
		if err != nil {
			return err
		}
		defer s.Close()
		_, err = s.Dataframe(ctx, "val_acc")
		cmds.Add(1)
		return err
	})
	recorded := 0
	for recorded < 20 || reads.Load() < 8 || cmds.Load() < 8 {
		train(p, t, float64(recorded), 0.1, 0.2)
		recorded++
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	f, err := rd.Dataframe(ctx, reader.Query{Names: []string{"accuracy"}})
	if err != nil {
		t.Fatal(err)
	}
	if f.Len() != recorded+1 {
		t.Errorf("%d runs read after recording, want %d", f.Len(), recorded+1)
	}
	t.Logf("%d reader calls and %d dataframe commands during %d recordings", reads.Load(), cmds.Load(), recorded)
}

// rec records into a runtime run as flor.Process does into the process's.
type rec struct{ r *runtime.Run }

func (x rec) Log(name string, v any) { runtime.Log(x.r, name, v) }

func TestLineage(t *testing.T) {
	p := newProject(t)
	ctx := context.Background()
	featurize := p.run(t, func(r *runtime.Run) { labels(r, "a.txt", "x") })
	label := p.run(t, func(r *runtime.Run) { labels(r, "a.txt", "y") })
	unrelated := p.run(t, func(r *runtime.Run) { runtime.Log(r, "other", 1) })
	trained := p.run(t, func(r *runtime.Run) {
		rd := reader.At(p.home, reader.WithMessages(nil), reader.RecordReads(rec{r}))
		if _, err := rd.Dataframe(ctx, reader.Query{Names: []string{"page_color"}}); err != nil {
			t.Error(err)
		}
		m := &model{W: []float64{1}}
		r.Checkpoint("model", m)
		for range runtime.Loop(r, "epoch", runtime.Range(2)) {
			runtime.Log(r, "val_acc", 0.5)
		}
	})
	inferred := p.run(t, func(r *runtime.Run) {
		rd := reader.At(p.home, reader.WithMessages(nil), reader.RecordReads(rec{r}))
		var m model
		if _, err := rd.LoadBest(ctx, "val_acc", reader.Max, "", "model", &m); err != nil {
			t.Error(err)
		}
	})
	_ = unrelated
	rd := reader.At(p.home, reader.WithMessages(nil))
	run, from, to, err := rd.Lineage(ctx, trained)
	if err != nil {
		t.Fatal(err)
	}
	ts := func(rs []storage.Run) []string {
		var out []string
		for _, r := range rs {
			out = append(out, record.FormatTime(r.Tstamp))
		}
		return out
	}
	if record.FormatTime(run.Tstamp) != trained {
		t.Errorf("lineage of %s names %s", trained, run.Tstamp)
	}
	if got := ts(from); !slices.Equal(got, []string{featurize, label}) {
		t.Errorf("train built from %v, want featurize and label %v", got, []string{featurize, label})
	}
	if got := ts(to); !slices.Equal(got, []string{inferred}) {
		t.Errorf("train built on by %v, want infer %v", got, inferred)
	}
}
