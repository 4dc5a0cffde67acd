package storage

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// counts returns the number of rows of each view.
func counts(t *testing.T, s *Store) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, v := range []string{"runs", "logs", "loops", "checkpoints", "warnings"} {
		f, err := s.Query(context.Background(), "SELECT count(*) FROM "+v)
		if err != nil {
			t.Fatal(err)
		}
		out[v] = f.Rows[0][0].(int64)
	}
	return out
}

func TestIngestIdempotent(t *testing.T) {
	home := t.TempDir()
	r := newRunFile(t, home, t0, runOpts{})
	r.train(0.01, 3, 4)
	r.close()

	s := openTest(t, home)
	first := counts(t, s)
	// 2 args, 3 epochs x 4 steps of loss, 3 val_acc, 1+3+3+1 timings.
	want := map[string]int64{"runs": 1, "logs": 2 + 12 + 3 + 8, "loops": 3 + 12, "checkpoints": 3, "warnings": 0}
	for k, v := range want {
		if first[k] != v {
			t.Errorf("%s: %d rows, want %d", k, first[k], v)
		}
	}
	st, err := s.Ingest(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Records != 0 || st.Files != 0 || st.Bytes != 0 {
		t.Errorf("second ingest did something: %+v", st)
	}
	s.Close()

	// A new Store of the same home reads nothing again either.
	s = openTest(t, home)
	st, err = s.Ingest(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Records != 0 {
		t.Errorf("ingest after reopen stored %d records", st.Records)
	}
	if again := counts(t, s); !equalCounts(again, first) {
		t.Errorf("counts changed: %v, then %v", first, again)
	}
}

func equalCounts(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestIngestIncremental follows a file as its program writes it: only new
// bytes are read, a half-written line waits for its newline, and contexts
// opened before a read keep working after it.
func TestIngestIncremental(t *testing.T) {
	home := t.TempDir()
	host, _ := os.Hostname()
	r := newRunFile(t, home, t0, runOpts{host: host, pid: os.Getpid()})
	r.arg("lr", 0.1)
	e0 := r.ctx(0, "epoch", 0, 0)
	r.log(r.ctx(e0, "step", 0, 0), "loss", 1.0)
	r.flush()

	s := openTest(t, home, withHostname(host))
	ctx := context.Background()
	runs, err := s.Runs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].Status != StatusRunning {
		t.Fatalf("runs = %+v, want one running run", runs)
	}
	size0, _ := os.Stat(r.path)

	// More records, the last one half written.
	r.log(r.ctx(e0, "step", 1, 1), "loss", 0.5)
	r.raw(`{"k":"log","c":1,"n":"val_acc","t":"float",`)
	r.flush()
	st, err := s.Ingest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Records != 2 {
		t.Errorf("ingested %d records, want 2 (a ctx and a log)", st.Records)
	}
	size1, _ := os.Stat(r.path)
	if want := size1.Size() - size0.Size() - int64(len(`{"k":"log","c":1,"n":"val_acc","t":"float",`)); st.Bytes != want {
		t.Errorf("read %d bytes, want the %d new bytes of complete lines", st.Bytes, want)
	}
	if len(st.Warnings) != 0 {
		t.Errorf("warnings for a running program's partial line: %v", st.Warnings)
	}

	// The line completes; the epoch context (opened in an earlier read)
	// still gives the value its loop.
	r.raw(`"v":0.75}` + "\n")
	r.log(r.ctx(0, "epoch", 1, 1), "val_acc", 0.8)
	r.end(t0.Add(time.Minute))
	r.flush()
	f, err := s.Dataframe(ctx, "lr", "loss", "val_acc")
	if err != nil {
		t.Fatal(err)
	}
	got := frameText(t, f)
	want := `projid,tstamp,filename,epoch,epoch_value,step,step_value,lr,loss,val_acc
ml,2026-11-28T05:18:52.123456Z,train,0,0,0,0,0.1,1.0,0.75
ml,2026-11-28T05:18:52.123456Z,train,0,0,1,1,0.1,0.5,0.75
ml,2026-11-28T05:18:52.123456Z,train,1,1,,,0.1,,0.8
`
	if got != want {
		t.Errorf("dataframe:\n%s\nwant:\n%s", got, want)
	}
	runs, _ = s.Runs(ctx)
	if runs[0].Status != StatusFinished {
		t.Errorf("status %s after the end record", runs[0].Status)
	}
}

func frameText(t testing.TB, f *Frame) string {
	t.Helper()
	var b strings.Builder
	if err := f.WriteCSV(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestTornAndGarbageLines(t *testing.T) {
	home := t.TempDir()
	r := newRunFile(t, home, t0, runOpts{}) // another host: not running
	c := r.ctx(0, "step", 0, 0)
	r.log(c, "loss", 1.0)
	r.raw("not json at all\n")
	r.raw(`{"k":"log","c":1,"n":"loss","t":"float","v":0.5}{"extra":1}` + "\n")
	r.raw("\n")
	r.log(r.ctx(0, "step", 1, 1), "loss", 0.25)
	r.raw(`{"k":"log","c":2,"n":"lo`)
	r.close()

	s, err := openNoIngest(context.Background(), home, WithMessages(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	st, err := s.Ingest(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, w := range st.Warnings {
		msgs = append(msgs, w.String())
	}
	file := "runs/" + tstampName(t0) + ".jsonl"
	want := []string{
		file + ":4: not a JSON object; line skipped",
		file + ":5: invalid JSON; line skipped",
		file + ":9: torn last line (24 bytes, no newline) skipped",
	}
	if strings.Join(msgs, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(msgs, "\n"), strings.Join(want, "\n"))
	}
	if st.Skipped != 3 {
		t.Errorf("skipped %d lines, want 3", st.Skipped)
	}
	f, err := s.Dataframe(context.Background(), "loss")
	if err != nil {
		t.Fatal(err)
	}
	if got := frameText(t, f); got != "projid,tstamp,filename,step,step_value,loss\n"+
		"ml,2026-11-28T05:18:52.123456Z,train,0,0,1.0\n"+
		"ml,2026-11-28T05:18:52.123456Z,train,1,1,0.25\n" {
		t.Errorf("dataframe:\n%s", got)
	}
	// Warned once: the skipped bytes are not read again.
	st, err = s.Ingest(context.Background())
	if err != nil || len(st.Warnings) != 0 || st.Bytes != 0 {
		t.Errorf("second ingest: %+v, %v", st, err)
	}
}

func TestFileWithoutRunRecord(t *testing.T) {
	home := t.TempDir()
	os.MkdirAll(home+"/runs", 0o755)
	os.WriteFile(home+"/runs/bad.jsonl", []byte(`{"k":"log","c":0,"n":"x","t":"int","v":1}`+"\n"), 0o644)
	good := newRunFile(t, home, t0, runOpts{})
	good.arg("x", 2)
	good.close()
	s, err := openNoIngest(context.Background(), home, WithMessages(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	st, err := s.Ingest(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Warnings) != 1 || st.Warnings[0].File != "runs/bad.jsonl" || !strings.Contains(st.Warnings[0].Msg, "not a run record") {
		t.Errorf("warnings = %v", st.Warnings)
	}
	f, _ := s.Dataframe(context.Background())
	if f.Len() != 1 || f.Value(0, "x") != int64(2) {
		t.Errorf("frame = %v", f.Rows)
	}
}

// TestUnknownContexts: records referring to contexts the file never
// declared are kept, with notes, and do not break the dataframe.
func TestUnknownContexts(t *testing.T) {
	home := t.TempDir()
	r := newRunFile(t, home, t0, runOpts{})
	r.rec(map[string]any{"k": "ctx", "c": 5, "p": 4, "n": "step", "i": 3, "v": 3})
	r.log(5, "loss", 0.5)
	r.log(9, "orphan", 1)
	r.close()
	s, err := openNoIngest(context.Background(), home, WithMessages(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	st, err := s.Ingest(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Warnings) != 2 || !strings.Contains(st.Warnings[0].Msg, "unknown parent 4") ||
		!strings.Contains(st.Warnings[1].Msg, "unknown context 9") {
		t.Errorf("warnings = %v", st.Warnings)
	}
	f, err := s.Dataframe(context.Background(), "loss", "orphan")
	if err != nil {
		t.Fatal(err)
	}
	// The step keeps its loop; the orphan is counted but has no loops to
	// place it under.
	if got := frameText(t, f); got != "projid,tstamp,filename,step,step_value,loss,orphan\n"+
		"ml,2026-11-28T05:18:52.123456Z,train,3,3,0.5,\n" {
		t.Errorf("dataframe:\n%s", got)
	}
	q, err := s.Query(context.Background(), "SELECT value FROM logs WHERE value_name = 'orphan'")
	if err != nil || q.Len() != 1 {
		t.Errorf("orphan not stored: %v %v", q, err)
	}
}

// TestStatusAtReadTime: a running run whose process dies is unfinished at
// the next read.
func TestStatusAtReadTime(t *testing.T) {
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Skip("no sleep command:", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	defer cmd.Process.Kill()
	home := t.TempDir()
	r := newRunFile(t, home, t0, runOpts{host: "thishost", pid: cmd.Process.Pid})
	r.arg("lr", 0.1)
	r.close()
	s := openTest(t, home, withHostname("thishost"))
	status := func() string {
		t.Helper()
		f, err := s.Query(context.Background(), "SELECT status FROM runs")
		if err != nil {
			t.Fatal(err)
		}
		return f.Rows[0][0].(string)
	}
	if got := status(); got != StatusRunning {
		t.Errorf("status %s while the process lives", got)
	}
	cmd.Process.Kill()
	<-done
	if got := status(); got != StatusUnfinished {
		t.Errorf("status %s after the process died", got)
	}
}

// TestReplayFiles: a finished replay's values join the run they complete,
// matched by loop names and iterations (its context ids are its own); a
// replay in progress (tmp-) is not read.
func TestReplayFiles(t *testing.T) {
	home := t.TempDir()
	r := newRunFile(t, home, t0, runOpts{})
	r.train(0.01, 2, 2)
	r.close()
	// The replay ran epoch 1 only: its context 1 is epoch 1.
	rp := newRunFile(t, home, t0, runOpts{dir: "replay/r1", name: tstampName(t0) + "-w0.jsonl",
		replay: map[string]any{"id": "r1", "names": []string{"grad_norm"}}})
	e1 := rp.ctx(0, "epoch", 1, 1)
	rp.log(rp.ctx(e1, "step", 0, 0), "grad_norm", 7.5)
	rp.log(rp.ctx(e1, "step", 1, 1), "grad_norm", 8.5)
	rp.close()
	tmp := newRunFile(t, home, t0, runOpts{dir: "replay/tmp-r2", name: "x.jsonl",
		replay: map[string]any{"id": "r2", "names": []string{"grad_norm"}}})
	tmp.log(tmp.ctx(0, "epoch", 0, 0), "grad_norm", 99.0)
	tmp.close()

	s := openTest(t, home)
	f, err := s.Dataframe(context.Background(), "loss", "grad_norm")
	if err != nil {
		t.Fatal(err)
	}
	want := `projid,tstamp,filename,epoch,epoch_value,step,step_value,loss,grad_norm
ml,2026-11-28T05:18:52.123456Z,train,0,0,0,0,10.0,
ml,2026-11-28T05:18:52.123456Z,train,0,0,1,1,10.01,
ml,2026-11-28T05:18:52.123456Z,train,1,1,0,0,11.0,7.5
ml,2026-11-28T05:18:52.123456Z,train,1,1,1,1,11.01,8.5
`
	if got := frameText(t, f); got != want {
		t.Errorf("dataframe:\n%s\nwant:\n%s", got, want)
	}
	runs, _ := s.Runs(context.Background())
	if len(runs) != 1 || runs[0].Status != StatusFinished {
		t.Errorf("runs = %+v", runs)
	}
	q, _ := s.Query(context.Background(), "SELECT count(*) FROM logs WHERE replayed")
	if q.Rows[0][0] != int64(2) {
		t.Errorf("%v replayed values, want 2", q.Rows[0][0])
	}
}

// TestLastValueWins: a name logged twice under the same loops keeps the
// last; a replay's value comes after the recording's.
func TestLastValueWins(t *testing.T) {
	home := t.TempDir()
	r := newRunFile(t, home, t0, runOpts{})
	e0 := r.ctx(0, "epoch", 0, 0)
	r.log(e0, "acc", 0.1)
	r.log(e0, "acc", 0.2)
	r.log(r.ctx(0, "epoch", 1, 1), "acc", 0.3)
	r.close()
	rp := newRunFile(t, home, t0, runOpts{dir: "replay/r1", replay: map[string]any{"id": "r1", "names": []string{"acc"}}})
	rp.log(rp.ctx(0, "epoch", 1, 1), "acc", 0.4)
	rp.close()
	s := openTest(t, home)
	f, err := s.Dataframe(context.Background(), "acc")
	if err != nil {
		t.Fatal(err)
	}
	if got := frameText(t, f); got != "projid,tstamp,filename,epoch,epoch_value,acc\n"+
		"ml,2026-11-28T05:18:52.123456Z,train,0,0,0.2\n"+
		"ml,2026-11-28T05:18:52.123456Z,train,1,1,0.4\n" {
		t.Errorf("dataframe:\n%s", got)
	}
}

func TestQueryErrors(t *testing.T) {
	s := openTest(t, t.TempDir())
	_, err := s.Query(context.Background(), "SELEC 1")
	if !errors.Is(err, ErrSQL) || !strings.Contains(err.Error(), `syntax error at or near "SELEC"`) {
		t.Errorf("bad SQL: %v", err)
	}
	s.Close()
	if _, err := s.Query(context.Background(), "SELECT 1"); !errors.Is(err, ErrClosed) {
		t.Errorf("query after close: %v", err)
	}
}
