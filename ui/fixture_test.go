package ui

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flordb/flor/internal/record"
	"github.com/flordb/flor/storage"
)

// The tests write run files by hand following docs/records.md (the
// contract between the runtime and the store), commit real snapshots with
// git, and read them through a real store.

const hostile = `<script>alert(1)</script>`

var t0 = time.Date(2026, 11, 28, 5, 18, 52, 123456000, time.UTC)

func tsName(ts time.Time) string { return ts.UTC().Format(record.FileLayout) }

// runWriter appends records to a run file.
type runWriter struct {
	t    testing.TB
	f    *os.File
	w    *bufio.Writer
	next int
}

func newRun(t testing.TB, home, dir string, ts time.Time, snapshot string, kwargs map[string]string, replay string) *runWriter {
	t.Helper()
	d := filepath.Join(home, dir)
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(d, tsName(ts)+".jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	r := &runWriter{t: t, f: f, w: bufio.NewWriterSize(f, 1<<20), next: 1}
	kw := "{"
	i := 0
	for k, v := range kwargs {
		if i > 0 {
			kw += ","
		}
		kw += fmt.Sprintf("%q:%q", k, v)
		i++
	}
	kw += "}"
	rp := ""
	if replay != "" {
		rp = fmt.Sprintf(`,"replay":{"id":%q,"names":["grad_norm"]}`, replay)
	}
	fmt.Fprintf(r.w, `{"k":"run","v":1,"projid":"ml","tstamp":%q,"filename":"train","snapshot":%q,"kwargs":%s,"pid":1,"host":"elsewhere","argv":["train"]%s}`+"\n",
		record.FormatTime(ts), snapshot, kw, rp)
	return r
}

func (r *runWriter) ctx(parent int, name string, i int) int {
	c := r.next
	r.next++
	fmt.Fprintf(r.w, `{"k":"ctx","c":%d,"p":%d,"n":%q,"i":%d,"v":%d}`+"\n", c, parent, name, i, i)
	return c
}

func (r *runWriter) logf(c int, name string, v float64) {
	fmt.Fprintf(r.w, `{"k":"log","c":%d,"n":%q,"t":"float","v":%v}`+"\n", c, name, v)
}

func (r *runWriter) arg(name, t, v string) {
	fmt.Fprintf(r.w, `{"k":"log","c":0,"n":%q,"t":%q,"v":%s,"arg":true}`+"\n", name, t, v)
}

func (r *runWriter) end() { r.endStatus("finished") }

// endStatus ends the run as flor.Commit does: finished, or failed when
// it ran during a panic.
func (r *runWriter) endStatus(status string) {
	fmt.Fprintf(r.w, `{"k":"end","status":%q,"t":"2026-12-01T00:00:00Z"}`+"\n", status)
	r.close()
}

func (r *runWriter) close() {
	if err := r.w.Flush(); err != nil {
		r.t.Fatal(err)
	}
	r.f.Close()
}

func runGit(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=flor", "GIT_AUTHOR_EMAIL=flor@example.invalid",
		"GIT_COMMITTER_NAME=flor", "GIT_COMMITTER_EMAIL=flor@example.invalid")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

const trainV1 = `package main

func main() {
	for epoch := range flor.Loop("epoch", flor.Range(2)) {
		flor.Log("loss", step())
	}
}
`

const trainV2 = `package main

func main() {
	for epoch := range flor.Loop("epoch", flor.Range(2)) {
		flor.Log("acc_top", accTop())
		flor.Log("loss", step())
	}
}
`

// snapshotCommit stores src as train/main.go in a commit on flor.shadow,
// as the runtime does, without touching the work tree's branch.
func snapshotCommit(t testing.TB, repo, src string) string {
	t.Helper()
	p := filepath.Join(repo, "train", "main.go")
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	runGit(t, repo, "add", "train/main.go")
	runGit(t, repo, "commit", "-q", "-m", "snapshot")
	h := runGit(t, repo, "rev-parse", "HEAD")
	runGit(t, repo, "update-ref", "refs/heads/flor.shadow", h)
	return h
}

// fixture is a repository with a flor home holding four finished runs
// (two code versions, different kwargs, one hostile name and value) and
// a replay.
type fixture struct {
	repo, home string
	ids        []string
	v1, v2     string
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	repo := t.TempDir()
	runGit(t, repo, "init", "-q", "-b", "main")
	fx := &fixture{repo: repo, home: filepath.Join(repo, ".flor")}
	fx.v1 = snapshotCommit(t, repo, trainV1)
	fx.v2 = snapshotCommit(t, repo, trainV2)
	lrs := []string{"0.01", "0.001", "0.003", "0.0005"}
	for i, lr := range lrs {
		ts := t0.Add(time.Duration(i) * time.Hour)
		snap := fx.v1
		if i >= 2 {
			snap = fx.v2
		}
		kw := map[string]string{"lr": lr, "hidden": fmt.Sprint(64 << i), "note": `<img src=x onerror=alert(2)>`}
		r := newRun(t, fx.home, "runs", ts, snap, kw, "")
		r.arg("lr", "float", lr)
		r.arg("hidden", "int", fmt.Sprint(64<<i))
		for e := range 2 {
			ec := r.ctx(0, "epoch", e)
			for s := range 5 {
				sc := r.ctx(ec, "step", s)
				r.logf(sc, "loss", float64(10-e*5-s)/float64(i+1))
				if i == 1 && e == 1 && s == 2 {
					r.logf(sc, "loss", 100) // a spike to survive downsampling
				}
			}
			r.logf(ec, "val_acc", 0.5+float64(e)/10+float64(i)/100)
			r.logf(ec, hostile, float64(e))
			if i == 3 {
				r.logf(ec, "acc_top", 0.9)
			}
		}
		r.end()
		fx.ids = append(fx.ids, tsName(ts))
	}
	// A finished replay added grad_norm to the first run.
	rp := newRun(t, fx.home, "replay/r1", t0, fx.v1, nil, "r1")
	rp.logf(rp.ctx(0, "epoch", 0), "grad_norm", 1.5)
	rp.close()
	return fx
}

func openStore(t testing.TB, home string) *storage.Store {
	t.Helper()
	s, err := storage.Open(context.Background(), home, storage.WithMessages(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
