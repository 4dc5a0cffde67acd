package storage

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

// writeLatestRuns writes runs that exercise DataframeLatest: labels of
// documents known by name (NoIndex) corrected by later runs, failed and
// unfinished runs, JSON nulls, two runs of one identity (a tie in
// tstamp) and a run of another program at the same tstamp, training runs
// with a value logged twice in one step, a replay, a name logged under
// two loop signatures, values and loop values of mixed kinds, three
// nested loops, and loop values missing from some iterations.
func writeLatestRuns(t *testing.T, home string) {
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	labels := func(r *runFile, doc string, colors ...any) int {
		d := r.ctx(0, "document", -1, doc)
		for i, c := range colors {
			r.log(r.ctx(d, "page", i, i), "page_color", c)
		}
		return d
	}
	r1 := newRunFile(t, home, at(1), runOpts{})
	d := labels(r1, "a.txt", "red", "red", "blue")
	r1.log(d, "first_page", "cover")
	r1.log(r1.ctx(d, "page", 3, 3), "page_size", 10)
	r1.end(at(100))
	r1.close()
	r2 := newRunFile(t, home, at(2), runOpts{})
	labels(r2, "b.txt", "green")
	r2.endStatus("failed", at(100))
	r2.close()
	r3 := newRunFile(t, home, at(3), runOpts{}) // unfinished: no end record
	d = labels(r3, "a.txt", "blue", nil)
	r3.log(d, "first_page", "title")
	r3.close()
	// Two documents in one run, each with a page 0. The pivot joins the
	// names of one run on the iterations alone, so asked for both names
	// it pairs each document's page_color with both page_sizes; equal
	// sizes keep its pick between them from being a coin toss.
	r4 := newRunFile(t, home, at(4), runOpts{})
	for i, doc := range []string{"d.txt", "e.txt"} {
		pc := r4.ctx(r4.ctx(0, "document", -1, doc), "page", 0, 0)
		r4.log(pc, "page_color", []string{"gray", "white"}[i])
		r4.log(pc, "page_size", 20)
	}
	r4.end(at(100))
	r4.close()
	// Two hosts in the same microsecond: one identity, two runs.
	r5 := newRunFile(t, home, at(5), runOpts{host: "a", pid: 1, name: tstampName(at(5)) + "-aaaaaaaa.jsonl"})
	labels(r5, "c.txt", "red", nil, "green")
	r5.end(at(100))
	r5.close()
	r6 := newRunFile(t, home, at(5), runOpts{host: "b", pid: 1, name: tstampName(at(5)) + "-bbbbbbbb.jsonl"})
	labels(r6, "c.txt", nil, "blue", "green")
	r6.end(at(100))
	r6.close()
	r7 := newRunFile(t, home, at(5), runOpts{filename: "other", name: tstampName(at(5)) + "-cccccccc.jsonl"})
	labels(r7, "a.txt", "purple")
	r7.end(at(100))
	r7.close()

	t1 := newRunFile(t, home, at(10), runOpts{})
	t1.arg("lr", 0.1)
	t1.arg("opt", "adam")
	for e := range 2 {
		ec := t1.ctx(0, "epoch", e, e)
		for s := range 2 {
			t1.log(t1.ctx(ec, "step", s, s), "loss", float64(10*e+s))
		}
		t1.log(ec, "val_acc", 0.5+float64(e)/10)
		t1.log(ec, "m", 1)
	}
	t1.log(t1.ctx(0, "epoch", 0, 0), "mix", 1)
	ph := t1.ctx(0, "phase", 0, "1")
	t1.log(ph, "pv", "t1")
	for fi, fold := range []string{"x", "y"} {
		fc := t1.ctx(0, "fold", fi, fold)
		for e := range 2 {
			ec := t1.ctx(fc, "epoch", e, e)
			t1.log(t1.ctx(ec, "step", 0, 0), "deep", fi*10+e)
		}
	}
	t1.log(t1.ctx(0, "batch", 0, "b0"), "bl", 1.5)
	t1.log(t1.ctx(0, "batch", 1, nil), "bl", 2.5)
	t1.end(at(100))
	t1.close()
	t2 := newRunFile(t, home, at(11), runOpts{})
	t2.arg("lr", 0.01)
	ec := t2.ctx(0, "epoch", 0, 0)
	sc := t2.ctx(ec, "step", 0, 0)
	t2.log(sc, "loss", 0.5)
	t2.log(sc, "m", 2)
	t2.log(ec, "val_acc", 0.7)
	t2.log(ec, "mix", "1")
	t2.log(t2.ctx(0, "phase", 0, 1), "pv", "t2")
	fc := t2.ctx(0, "fold", 0, "x")
	t2.log(t2.ctx(t2.ctx(fc, "epoch", 1, 1), "step", 0, 0), "deep", 99)
	t2.log(t2.ctx(0, "batch", 1, nil), "bl", 3.5)
	t2.log(0, "acc", 0.9)
	t2.end(at(100))
	t2.close()
	t3 := newRunFile(t, home, at(12), runOpts{})
	for e := range 2 {
		ec := t3.ctx(0, "epoch", e, e)
		sc := t3.ctx(ec, "step", 0, 0)
		t3.log(sc, "loss", 9.0) // twice in one step: the last wins
		t3.log(sc, "loss", 8.0+float64(e))
		if e == 1 {
			t3.log(ec, "val_acc", 0.8)
		}
	}
	t3.log(0, "acc", nil)
	t3.endStatus("failed", at(100))
	t3.close()
	// A replay of t1 adds grad; one of t2 logs val_acc again, which wins
	// over the recorded one.
	rp := newRunFile(t, home, at(10), runOpts{dir: "replay/r1", name: "w0.jsonl",
		replay: map[string]any{"id": "r1", "names": []string{"grad"}, "run": tstampName(at(10)) + ".jsonl"}})
	for e := range 2 {
		rp.log(rp.ctx(0, "epoch", e, e), "grad", float64(e)+0.25)
	}
	rp.end(at(100))
	rp.close()
	rq := newRunFile(t, home, at(11), runOpts{dir: "replay/r2", name: "w0.jsonl",
		replay: map[string]any{"id": "r2", "names": []string{"val_acc"}, "run": tstampName(at(11)) + ".jsonl"}})
	rq.log(rq.ctx(0, "epoch", 0, 0), "val_acc", 0.75)
	rq.end(at(100))
	rq.close()
}

// TestDataframeLatestAgreesWithPivot: the direct plan gives what
// aggregating the pivoted frame gives, and the cases it cannot serve go
// to the pivot.
func TestDataframeLatestAgreesWithPivot(t *testing.T) {
	home := t.TempDir()
	writeLatestRuns(t, home)
	ctx := context.Background()
	s := openTest(t, home)
	cases := []struct {
		names  []string
		where  string
		direct bool
		rows   int // rows wanted
	}{
		{[]string{"page_color"}, "", true, 10},
		{[]string{"page_color"}, "document_value = 'a.txt'", true, 4},
		{[]string{"page_color"}, "page_color = 'red'", true, 3},
		{[]string{"page_color"}, "tstamp < TIMESTAMP '2026-11-28 05:18:55.123456' AND filename = 'train'", true, 4},
		{[]string{"page_color"}, "page >= 1 OR document_value LIKE 'c%'", true, 5},
		{[]string{"page_color", "nope"}, "", true, 10},
		{[]string{"first_page"}, "", true, 1},
		{[]string{"first_page"}, "first_page = 'cover'", true, 1},
		{[]string{"page_color", "first_page"}, "", false, 10},
		{[]string{"page_color", "page_size"}, "", false, 11},
		{[]string{"val_acc"}, "", true, 2},
		{[]string{"val_acc"}, "val_acc < 0.75", false, 2}, // t2 replayed 0.75: its 0.7 is no longer in the frame
		{[]string{"val_acc"}, "epoch = 0", true, 1},
		{[]string{"loss"}, "", true, 4},
		{[]string{"loss"}, "epoch = 1 AND step_value = 0", true, 1},
		{[]string{"val_acc", "grad"}, "", true, 2},
		{[]string{"val_acc", "grad"}, "tstamp <= TIMESTAMP '2026-11-28 05:19:03.123456'", true, 2},
		{[]string{"val_acc", "grad"}, "grad > 0.5", false, 1},
		{[]string{"val_acc", "loss"}, "", false, 4},
		{[]string{"m"}, "", true, 3},
		{[]string{"mix"}, "", true, 1},
		{[]string{"pv"}, "", true, 1},
		{[]string{"deep"}, "", true, 4},
		{[]string{"deep"}, "fold_value = 'x'", true, 2},
		{[]string{"bl"}, "", true, 2},
		{[]string{"bl"}, "batch_value IS NULL", true, 1},
		{nil, "", true, 1},
		{nil, "opt = 'adam' OR lr < 0.05", false, 1},
		{[]string{"nope"}, "", true, 0},
	}
	for _, c := range cases {
		name := strings.Join(c.names, ",") + " where " + c.where
		p, err := s.planFrame(ctx, c.names)
		if err != nil {
			t.Fatal(err)
		}
		var we *whereExpr
		if c.where != "" {
			if we, err = s.parseWhere(ctx, c.where); err != nil {
				t.Fatal(err)
			}
		}
		if got := p.latestDirect(we); got != c.direct {
			t.Errorf("%s: direct plan %v, want %v", name, got, c.direct)
		}
		fast, err := s.dataframeLatest(ctx, c.where, c.names, false)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		slow, err := s.dataframeLatest(ctx, c.where, c.names, true)
		if err != nil {
			t.Fatalf("%s: pivot: %v", name, err)
		}
		if !slices.Equal(fast.Columns, slow.Columns) || !slices.Equal(fast.Notes, slow.Notes) {
			t.Errorf("%s: columns %v notes %q, the pivot's %v %q", name, fast.Columns, fast.Notes, slow.Columns, slow.Notes)
		}
		if got, want := frameText(t, fast), frameText(t, slow); got != want {
			t.Errorf("%s:\n%s\nthe pivot's:\n%s", name, got, want)
		}
		if fast.Len() != c.rows {
			t.Errorf("%s: %d rows, want %d:\n%s", name, fast.Len(), c.rows, frameText(t, fast))
		}
	}
}

// TestDataframeLatestValues checks the newest values by hand: corrections
// win, failed and unfinished runs count, a JSON null is no value, runs
// that share a tstamp each give theirs, and the row's tstamp is the
// newest run that gave it a value.
func TestDataframeLatestValues(t *testing.T) {
	home := t.TempDir()
	writeLatestRuns(t, home)
	s := openTest(t, home)
	ctx := context.Background()
	f, err := s.DataframeLatest(ctx, "", "page_color")
	if err != nil {
		t.Fatal(err)
	}
	want := "projid,tstamp,filename,document,document_value,page,page_value,page_color\n" +
		"ml,2026-11-28T05:18:53.123456Z,train,-1,a.txt,1,1,red\n" +
		"ml,2026-11-28T05:18:53.123456Z,train,-1,a.txt,2,2,blue\n" +
		"ml,2026-11-28T05:18:54.123456Z,train,-1,b.txt,0,0,green\n" +
		"ml,2026-11-28T05:18:55.123456Z,train,-1,a.txt,0,0,blue\n" +
		"ml,2026-11-28T05:18:56.123456Z,train,-1,d.txt,0,0,gray\n" +
		"ml,2026-11-28T05:18:56.123456Z,train,-1,e.txt,0,0,white\n" +
		"ml,2026-11-28T05:18:57.123456Z,other,-1,a.txt,0,0,purple\n" +
		"ml,2026-11-28T05:18:57.123456Z,train,-1,c.txt,0,0,red\n" +
		"ml,2026-11-28T05:18:57.123456Z,train,-1,c.txt,1,1,blue\n" +
		"ml,2026-11-28T05:18:57.123456Z,train,-1,c.txt,2,2,green\n"
	if got := frameText(t, f); got != want {
		t.Errorf("latest page_color:\n%s\nwant:\n%s", got, want)
	}
	f, err = s.DataframeLatest(ctx, "", "val_acc", "grad", "loss_never")
	if err != nil {
		t.Fatal(err)
	}
	// epoch 0: t2's replayed 0.75 over its recorded 0.7; grad from t1's
	// replay, so the row's tstamp is t2's. epoch 1: t3 (failed) wins.
	want = "projid,tstamp,filename,epoch,epoch_value,val_acc,grad,loss_never\n" +
		"ml,2026-11-28T05:19:03.123456Z,train,0,0,0.75,0.25,\n" +
		"ml,2026-11-28T05:19:04.123456Z,train,1,1,0.8,1.25,\n"
	if got := frameText(t, f); got != want {
		t.Errorf("latest val_acc, grad:\n%s\nwant:\n%s", got, want)
	}
	if len(f.Notes) != 1 || !strings.Contains(f.Notes[0], "loss_never") {
		t.Errorf("notes %q, want one about loss_never", f.Notes)
	}
	f, err = s.DataframeLatest(ctx, "", "loss")
	if err != nil {
		t.Fatal(err)
	}
	// t3 logged each step's loss twice: its last value wins.
	want = "projid,tstamp,filename,epoch,epoch_value,step,step_value,loss\n" +
		"ml,2026-11-28T05:19:02.123456Z,train,0,0,1,1,1.0\n" +
		"ml,2026-11-28T05:19:02.123456Z,train,1,1,1,1,11.0\n" +
		"ml,2026-11-28T05:19:04.123456Z,train,0,0,0,0,8.0\n" +
		"ml,2026-11-28T05:19:04.123456Z,train,1,1,0,0,9.0\n"
	if got := frameText(t, f); got != want {
		t.Errorf("latest loss:\n%s\nwant:\n%s", got, want)
	}
	f, err = s.DataframeLatest(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	// No names: the loop-free values; t3 logged acc as null, so t2's
	// stays.
	want = "projid,tstamp,filename,lr,opt,acc\n" +
		"ml,2026-11-28T05:19:03.123456Z,train,0.01,adam,0.9\n"
	if got := frameText(t, f); got != want {
		t.Errorf("latest of no names:\n%s\nwant:\n%s", got, want)
	}
}

// TestLazyIngest: a store opened WithLazyIngest reads the run files at its
// first read, not at Open, so a read ingests once.
func TestLazyIngest(t *testing.T) {
	home := t.TempDir()
	writeLatestRuns(t, home)
	ctx := context.Background()
	count := func(s *Store) int {
		t.Helper()
		var n int
		if err := s.DB().QueryRowContext(ctx, `SELECT count(*) FROM runs`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	s := openTest(t, home, WithLazyIngest())
	if n := count(s); n != 0 {
		t.Errorf("%d runs before the first read, want 0: Open ingested", n)
	}
	f, err := s.DataframeLatest(ctx, "", "page_color")
	if err != nil {
		t.Fatal(err)
	}
	if f.Len() != 10 {
		t.Errorf("%d rows at the first read, want 10", f.Len())
	}
	if n := count(s); n != 10 {
		t.Errorf("%d runs after the first read, want 10", n)
	}
	s.Close()
	// Without it, Open ingests (the database already holds these runs,
	// so check with a new run).
	r := newRunFile(t, home, t0.Add(time.Hour), runOpts{})
	r.log(r.ctx(r.ctx(0, "document", -1, "a.txt"), "page", 0, 0), "page_color", "black")
	r.end(t0.Add(2 * time.Hour))
	r.close()
	s = openTest(t, home)
	if n := count(s); n != 11 {
		t.Errorf("%d runs after Open, want 11", n)
	}
}
