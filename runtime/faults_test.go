package runtime

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/flordb/flor/internal/record"
)

// derefer's methods read their receiver: a nil one panics when called.
type derefer struct{ s string }

func (d *derefer) String() string { return d.s }

type derefErr struct{ msg string }

func (e *derefErr) Error() string { return e.msg }

// TestLogNeverPanics: values whose Error or String method panics on a nil
// receiver are recorded as fmt prints them.
func TestLogNeverPanics(t *testing.T) {
	r := newTestRun(t)
	var tm *time.Time
	var d *derefer
	var e *derefErr
	var err error = e
	Log(r, "time", tm)
	Log(r, "stringer", d)
	Log(r, "error", err)
	Log(r, "nothing", any(nil))
	if err := r.Commit(); err != nil {
		t.Fatal(err)
	}
	got := logged(t, r.File, false)
	for _, n := range []string{"time", "stringer", "error"} {
		if v := got["/"+n]; len(v) != 1 || v[0] != "<nil>" {
			t.Errorf("%s: recorded %v, want <nil>", n, v)
		}
	}
	if v := got["/nothing"]; len(v) != 1 || v[0] != nil {
		t.Errorf("nil: recorded %v, want null", v)
	}
}

// TestEchoEscapesControlCharacters: names and values cannot drive the
// terminal; plain text prints as is.
func TestEchoEscapesControlCharacters(t *testing.T) {
	var out bytes.Buffer
	r, err := New(Options{Dir: gitInit(t), Stdout: &out, Stderr: os.Stderr, Env: testEnv(nil)})
	if err != nil {
		t.Fatal(err)
	}
	for range Loop(r, "ep\x1b[2Joch", Range(1)) {
		Log(r, "loss", 0.5)
		Log(r, "msg", "line\nfake: 1\x07")
		Log(r, "naïve", "ok ✓")
	}
	if err := r.Commit(); err != nil {
		t.Fatal(err)
	}
	want := `"ep\x1b[2Joch": 0, loss: 0.5` + "\n" +
		`"ep\x1b[2Joch": 0, msg: "line\nfake: 1\a"` + "\n" +
		`"ep\x1b[2Joch": 0, naïve: ok ✓` + "\n"
	if got := out.String(); got != want {
		t.Errorf("echo:\n%s\nwant:\n%s", got, want)
	}
}

// TestKeepAliveRefreshesTheFile: a quiet run's file is touched once a
// liveness interval has passed, so readers on other hosts see it alive;
// its run record says so.
func TestKeepAliveRefreshesTheFile(t *testing.T) {
	r := newTestRun(t)
	Log(r, "x", 1)
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(r.File, old, old); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	r.w.keepAlive(now)
	fi, err := os.Stat(r.File)
	if err != nil {
		t.Fatal(err)
	}
	if fi.ModTime().Before(now.Add(-time.Second)) {
		t.Errorf("mtime %v not refreshed (want about %v)", fi.ModTime(), now)
	}
	if err := r.Commit(); err != nil {
		t.Fatal(err)
	}
	r.w.keepAlive(now.Add(time.Hour)) // closed: nothing to touch, no panic
	var live float64
	record.ReadFile(r.File, func(l record.Line) error {
		if l.Kind == record.KindRun {
			h, _ := l.Run()
			live = h.Liveness
		}
		return nil
	})
	if live != record.LivenessInterval.Seconds() {
		t.Errorf("run record liveness %v, want %v", live, record.LivenessInterval.Seconds())
	}
}

// TestReplayRefusesNewerFormat: a run recorded by a newer flor is not
// replayed from records this one may misread.
func TestReplayRefusesNewerFormat(t *testing.T) {
	dir := t.TempDir()
	rec := dir + "/run.jsonl"
	os.WriteFile(rec, []byte(`{"k":"run","v":2,"projid":"p","tstamp":"2026-01-01T00:00:00.000000Z","filename":"."}`+"\n"), 0o644)
	plan := dir + "/plan.json"
	os.WriteFile(plan, []byte(`{"home":"`+dir+`","record":"`+rec+`","out":"`+dir+`/out.jsonl","mode":"loop","stop":-1}`), 0o644)
	_, err := loadReplay(plan, true)
	if err == nil || !strings.Contains(err.Error(), "version 2") {
		t.Fatalf("loadReplay = %v, want an error naming version 2", err)
	}
	if !errors.Is(err, record.ErrNewerVersion) || !errors.Is(err, ErrReplay) {
		t.Errorf("error %v does not wrap ErrNewerVersion and ErrReplay", err)
	}
}
