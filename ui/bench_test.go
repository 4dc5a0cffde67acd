package ui

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// BenchmarkRunsPage is the server time of the runs table over 10,000 runs
// with the last, min and max of two metrics.
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
	srv := New(openStore(b, home), Options{})
	req := httptest.NewRequest(http.MethodGet, "/api/runs?metrics=loss,val_acc", nil)
	serve(b, srv, req) // ingest outside the loop
	for b.Loop() {
		serve(b, srv, req)
	}
}

// BenchmarkChartData is the server time of one chart's data: a metric of
// 1,000,000 points in each of 4 runs, downsampled to 2,000 points a run.
func BenchmarkChartData(b *testing.B) {
	home := b.TempDir()
	var ids []string
	for i := range 4 {
		ts := t0.Add(time.Duration(i) * time.Hour)
		r := newRun(b, home, "runs", ts, "", map[string]string{"lr": fmt.Sprint(i)}, "")
		for e := range 1000 {
			ec := r.ctx(0, "epoch", e)
			for s := range 1000 {
				r.logf(r.ctx(ec, "step", s), "loss", float64((e*1000+s)%977)/977)
			}
		}
		r.end()
		ids = append(ids, tsName(ts))
	}
	srv := New(openStore(b, home), Options{})
	req := httptest.NewRequest(http.MethodGet, "/api/series?name=loss&x=global&runs="+strings.Join(ids, ","), nil)
	body := serve(b, srv, req)
	if n := strings.Count(body, `"n":1000000`); n != 4 {
		b.Fatalf("%d series of 1,000,000 points, want 4", n)
	}
	for b.Loop() {
		serve(b, srv, req)
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
