package storage

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// Two hosts that record one program in the same microsecond give two run
// files with one identity (projid, tstamp, filename): they are two runs,
// each with its own values, and a replay that names its run file joins that
// run only. A copy of a run file (same host and pid) stays one run.
func TestSameIdentityTwoHosts(t *testing.T) {
	home := t.TempDir()
	a := newRunFile(t, home, t0, runOpts{host: "a", pid: 7, kwargs: map[string]string{"lr": "1"},
		name: tstampName(t0) + "-aaaaaaaa.jsonl"})
	a.log(a.ctx(0, "epoch", 0, 0), "loss", 1.0)
	a.close()
	b := newRunFile(t, home, t0, runOpts{host: "b", pid: 7, kwargs: map[string]string{"lr": "2"},
		name: tstampName(t0) + "-bbbbbbbb.jsonl"})
	b.log(b.ctx(0, "epoch", 0, 0), "loss", 2.0)
	b.close()
	ctx := context.Background()
	s := openTest(t, home)
	want := "projid,tstamp,filename,epoch,epoch_value,loss,grad\n" +
		"ml,2026-11-28T05:18:52.123456Z,train,0,0,1.0,\n" +
		"ml,2026-11-28T05:18:52.123456Z,train,0,0,2.0,\n"
	check := func(want string) {
		t.Helper()
		if _, err := s.Ingest(ctx); err != nil {
			t.Fatal(err)
		}
		f, err := s.Dataframe(ctx, "loss", "grad")
		if err != nil {
			t.Fatal(err)
		}
		if got := frameText(t, f); got != want {
			t.Errorf("dataframe:\n%s\nwant:\n%s", got, want)
		}
	}
	check(want)
	runs, err := s.Runs(ctx)
	if err != nil || len(runs) != 2 || runs[0].Kwargs["lr"] != "1" || runs[1].Kwargs["lr"] != "2" {
		t.Fatalf("runs = %+v, %v", runs, err)
	}

	// A replay of b's run, in a later ingest (the store reloads its runs).
	rp := newRunFile(t, home, t0, runOpts{dir: "replay/r1", name: "w0.jsonl",
		replay: map[string]any{"id": "r1", "names": []string{"grad"}, "run": tstampName(t0) + "-bbbbbbbb.jsonl"}})
	rp.log(rp.ctx(0, "epoch", 0, 0), "grad", 9.0)
	rp.close()
	// A copy of a's file is the same recording: still two runs.
	cp := newRunFile(t, home, t0, runOpts{host: "a", pid: 7, kwargs: map[string]string{"lr": "1"},
		name: tstampName(t0) + "-cccccccc.jsonl"})
	cp.close()
	check("projid,tstamp,filename,epoch,epoch_value,loss,grad\n" +
		"ml,2026-11-28T05:18:52.123456Z,train,0,0,1.0,\n" +
		"ml,2026-11-28T05:18:52.123456Z,train,0,0,2.0,9.0\n")
	if runs, _ := s.Runs(ctx); len(runs) != 2 {
		t.Errorf("%d runs after a copy, want 2", len(runs))
	}

	// A store built afresh from the same files agrees.
	s.Close()
	if err := os.Remove(filepath.Join(home, "flor.duckdb")); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, home)
	check("projid,tstamp,filename,epoch,epoch_value,loss,grad\n" +
		"ml,2026-11-28T05:18:52.123456Z,train,0,0,1.0,\n" +
		"ml,2026-11-28T05:18:52.123456Z,train,0,0,2.0,9.0\n")
}
