package ui

import (
	"bufio"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flordb/flor/internal/record"
	"github.com/flordb/flor/storage"
)

// BenchmarkRunsPage is the server time of the runs table over 10,000 runs
// with the last, min and max of two metrics.
//
//	go test ./ui/ -run XXX -bench RunsPage -benchtime 10x
func BenchmarkRunsPage(b *testing.B) {
	home := b.TempDir()
	for i := range 10000 {
		r := newRun(b, home, "runs", t0.Add(time.Duration(i)*time.Second), "", map[string]string{"lr": fmt.Sprint(i % 7), "hidden": fmt.Sprint(i % 5)}, "")
		r.arg("lr", "int", fmt.Sprint(i%7))
		r.arg("hidden", "int", fmt.Sprint(i%5))
		for e := range 2 {
			ec := r.ctx(0, "epoch", e)
			for s := range 5 {
				r.logf(r.ctx(ec, "step", s), "loss", float64(10-s-e))
			}
			r.logf(ec, "val_acc", 0.5)
		}
		r.end()
	}
	store := openStore(b, home) // ingests, outside the timer
	req := httptest.NewRequest(http.MethodGet, "/api/runs?metrics=loss,val_acc", nil)
	// cold builds the table each time (a new Server: an empty cache);
	// warm is the page asked for again over an unchanged store.
	b.Run("cold", func(b *testing.B) {
		loop(b, func() { serve(b, New(store, Options{}), req) })
	})
	b.Run("warm", func(b *testing.B) {
		srv := New(store, Options{})
		serve(b, srv, req)
		loop(b, func() { serve(b, srv, req) })
	})
}

// BenchmarkChartData is the server time of one chart's data: a metric of
// 1,000,000 points in each of 4 runs, downsampled to 2,000 points a run.
// The run files are written directly and ingested once, outside the timer.
// cold reads the values from the store each time (a new Server, so an
// empty series cache); warm is the same chart asked for again, as the page
// does when it redraws, from the cache.
//
//	go test ./ui/ -run XXX -bench ChartData -benchtime 3x
func BenchmarkChartData(b *testing.B) {
	home := b.TempDir()
	var ids []string
	for i := range 4 {
		ts := t0.Add(time.Duration(i) * time.Hour)
		writeBigRun(b, home, ts, i)
		ids = append(ids, tsName(ts))
	}
	store := openStore(b, home)
	for _, x := range []string{storage.XGlobal, storage.XStep} {
		req := httptest.NewRequest(http.MethodGet, "/api/series?name=loss&x="+x+"&runs="+strings.Join(ids, ","), nil)
		b.Run("cold/x="+x, func(b *testing.B) {
			loop(b, func() {
				body := serve(b, New(store, Options{}), req)
				if n := strings.Count(body, `"n":1000000`); n != 4 {
					b.Fatalf("%d series of 1,000,000 points, want 4", n)
				}
			})
		})
		b.Run("warm/x="+x, func(b *testing.B) {
			srv := New(store, Options{})
			serve(b, srv, req)
			loop(b, func() { serve(b, srv, req) })
		})
	}
}

// Big runs: 1,000 epochs of 1,000 steps, a loss per step.
const (
	bigEpochs = 1000
	bigSteps  = 1000
)

// writeBigRun writes a run file of bigEpochs x bigSteps losses quickly,
// appending bytes rather than formatting each record.
func writeBigRun(tb testing.TB, home string, ts time.Time, lr int) {
	tb.Helper()
	dir := filepath.Join(home, "runs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, tsName(ts)+".jsonl"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprintf(w, `{"k":"run","v":1,"projid":"ml","tstamp":%q,"filename":"train","snapshot":"","kwargs":{"lr":"%d"},"pid":1,"host":"elsewhere","argv":["train"]}`+"\n",
		record.FormatTime(ts), lr)
	c := int64(1)
	b := make([]byte, 0, 256)
	for e := range bigEpochs {
		ec := c
		c++
		b = append(b[:0], `{"k":"ctx","c":`...)
		b = strconv.AppendInt(b, ec, 10)
		b = append(b, `,"p":0,"n":"epoch","i":`...)
		b = strconv.AppendInt(b, int64(e), 10)
		b = append(b, `,"v":`...)
		b = strconv.AppendInt(b, int64(e), 10)
		w.Write(append(b, "}\n"...))
		for s := range bigSteps {
			sc := c
			c++
			b = append(b[:0], `{"k":"ctx","c":`...)
			b = strconv.AppendInt(b, sc, 10)
			b = append(b, `,"p":`...)
			b = strconv.AppendInt(b, ec, 10)
			b = append(b, `,"n":"step","i":`...)
			b = strconv.AppendInt(b, int64(s), 10)
			b = append(b, `,"v":`...)
			b = strconv.AppendInt(b, int64(s), 10)
			b = append(b, "}\n"...)
			b = append(b, `{"k":"log","c":`...)
			b = strconv.AppendInt(b, sc, 10)
			b = append(b, `,"n":"loss","t":"float","v":`...)
			b = strconv.AppendFloat(b, float64((e*bigSteps+s)%977)/977, 'g', -1, 64)
			w.Write(append(b, "}\n"...))
		}
	}
	w.WriteString(`{"k":"end","status":"finished","t":"2026-12-01T00:00:00Z"}` + "\n")
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
}

// loop runs f b.N times and reports, besides wall time, the CPU time of
// all the process's threads (DuckDB's too) per call, which the other load
// of a shared machine disturbs less.
func loop(b *testing.B, f func()) {
	c0 := cpuTime()
	for b.Loop() {
		f()
	}
	if c := cpuTime() - c0; c > 0 {
		b.ReportMetric(float64(c.Microseconds())/1000/float64(b.N), "cpu-ms/op")
	}
}

func serve(b *testing.B, h http.Handler, req *http.Request) string {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != 200 {
		b.Fatalf("status %d: %s", w.Code, w.Body)
	}
	return w.Body.String()
}
