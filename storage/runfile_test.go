package storage

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/flordb/flor/internal/record"
)

// runFile writes a run file by hand, record by record, following
// docs/records.md: the format is the contract between the runtime and the
// store, so the store's tests need no runtime.
type runFile struct {
	t       testing.TB
	path    string
	f       *os.File
	w       *bufio.Writer
	nextCtx int
}

type runOpts struct {
	projid, filename, snapshot, host string
	kwargs                           map[string]string
	pid                              int
	replay                           map[string]any // replay files: {"id":..., "names": [...]}
	dir                              string         // relative to home; default runs
	name                             string         // file name; default from tstamp
	liveness                         float64        // seconds; 0: the writer does not refresh its file
	version                          int            // format version; default 1
}

func tstampName(ts time.Time) string { return ts.UTC().Format(record.FileLayout) }

func newRunFile(t testing.TB, home string, ts time.Time, o runOpts) *runFile {
	t.Helper()
	if o.projid == "" {
		o.projid = "ml"
	}
	if o.filename == "" {
		o.filename = "train"
	}
	if o.dir == "" {
		o.dir = "runs"
	}
	if o.name == "" {
		o.name = tstampName(ts) + ".jsonl"
	}
	if o.kwargs == nil {
		o.kwargs = map[string]string{}
	}
	if o.host == "" {
		o.host = "elsewhere" // a host that is not this one: the run is not running
	}
	dir := filepath.Join(home, filepath.FromSlash(o.dir))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, o.name)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	r := &runFile{t: t, path: path, f: f, w: bufio.NewWriter(f), nextCtx: 1}
	t.Cleanup(func() { r.close() })
	if o.version == 0 {
		o.version = 1
	}
	run := map[string]any{
		"k": "run", "v": o.version, "projid": o.projid, "tstamp": record.FormatTime(ts),
		"filename": o.filename, "snapshot": o.snapshot, "kwargs": o.kwargs, "pid": o.pid, "host": o.host,
		"argv": []string{"train"},
	}
	if o.replay != nil {
		run["replay"] = o.replay
	}
	if o.liveness > 0 {
		run["liveness"] = o.liveness
	}
	r.rec(run)
	return r
}

func (r *runFile) rec(m map[string]any) {
	r.t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		r.t.Fatal(err)
	}
	r.raw(string(b) + "\n")
}

// raw appends text as is (for torn and garbage lines).
func (r *runFile) raw(s string) {
	r.t.Helper()
	if _, err := r.w.WriteString(s); err != nil {
		r.t.Fatal(err)
	}
}

func (r *runFile) flush() {
	r.t.Helper()
	if err := r.w.Flush(); err != nil {
		r.t.Fatal(err)
	}
}

func (r *runFile) close() {
	if r.f != nil {
		r.w.Flush()
		r.f.Close()
		r.f = nil
	}
}

// ctx declares a loop iteration under parent (0: outermost) and returns its id.
func (r *runFile) ctx(parent int, name string, i int, v any) int {
	c := r.nextCtx
	r.nextCtx++
	m := map[string]any{"k": "ctx", "c": c, "p": parent, "n": name, "i": i}
	if v != nil {
		m["v"] = v
	}
	r.rec(m)
	return c
}

func typeAndValue(v any) (string, any) {
	switch x := v.(type) {
	case int:
		return "int", x
	case int64:
		return "int", x
	case float64:
		switch {
		case math.IsNaN(x):
			return "float", "NaN"
		case math.IsInf(x, 1):
			return "float", "+Inf"
		case math.IsInf(x, -1):
			return "float", "-Inf"
		}
		return "float", x
	case bool:
		return "bool", x
	case string:
		return "str", x
	}
	return "json", v
}

// log records a value in context c.
func (r *runFile) log(c int, name string, v any) {
	t, val := typeAndValue(v)
	r.rec(map[string]any{"k": "log", "c": c, "n": name, "t": t, "v": val})
}

// arg records a flor.Arg value.
func (r *runFile) arg(name string, v any) {
	t, val := typeAndValue(v)
	r.rec(map[string]any{"k": "log", "c": 0, "n": name, "t": t, "v": val, "arg": true})
}

// delta records an internal timing value.
func (r *runFile) delta(c int, name string, secs float64) {
	r.rec(map[string]any{"k": "log", "c": c, "n": "delta::" + name, "t": "float", "v": secs, "int": true})
}

func (r *runFile) ckpt(e int, block string, o int, objs map[string]string) {
	r.rec(map[string]any{"k": "ckpt", "e": e, "b": block, "o": o, "objs": objs, "x": []string{}})
}

func (r *runFile) end(t time.Time) { r.endStatus("finished", t) }

func (r *runFile) endStatus(status string, t time.Time) {
	r.rec(map[string]any{"k": "end", "status": status, "t": record.FormatTime(t)})
}

// train writes a typical training run: args, epochs of steps logging loss,
// a per-epoch val_acc, timings and checkpoints, then the end record.
func (r *runFile) train(lr float64, epochs, steps int) {
	r.arg("lr", lr)
	r.arg("epochs", epochs)
	r.delta(0, "prefix", 0.5)
	for e := range epochs {
		ec := r.ctx(0, "epoch", e, e)
		for s := range steps {
			sc := r.ctx(ec, "step", s, s)
			r.log(sc, "loss", lossAt(lr, e, s))
		}
		r.delta(ec, "step", 2.0)
		r.log(ec, "val_acc", 0.5+float64(e)/10)
		r.delta(ec, "iteration", 2.5)
		r.ckpt(e, "", 0, map[string]string{"model": fmt.Sprintf("%064x", e)})
	}
	r.delta(0, "suffix", 0.25)
	r.end(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
}

func lossAt(lr float64, e, s int) float64 { return lr*1000 + float64(e) + float64(s)/100 }

var t0 = time.Date(2026, 11, 28, 5, 18, 52, 123456000, time.UTC)
