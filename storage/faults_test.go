package storage

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

func ingestWarnings(t *testing.T, s *Store) []string {
	t.Helper()
	st, err := s.Ingest(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, w := range st.Warnings {
		msgs = append(msgs, w.String())
	}
	return msgs
}

func runStatuses(t *testing.T, s *Store) string {
	t.Helper()
	f, err := s.Query(context.Background(), "SELECT status FROM runs ORDER BY tstamp")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, row := range f.Rows {
		out = append(out, row[0].(string))
	}
	return strings.Join(out, " ")
}

// TestFailedRunShowsFailed: an end record written by Commit during a
// panic makes the run failed, in the runs view and in Runs.
func TestFailedRunShowsFailed(t *testing.T) {
	home := t.TempDir()
	ok := newRunFile(t, home, t0, runOpts{})
	ok.end(t0.Add(time.Minute))
	ok.close()
	bad := newRunFile(t, home, t0.Add(time.Hour), runOpts{})
	bad.arg("lr", 0.1)
	bad.endStatus("failed", t0.Add(2*time.Hour))
	bad.close()
	s := openTest(t, home)
	if got := runStatuses(t, s); got != "finished failed" {
		t.Errorf("statuses %q, want finished failed", got)
	}
	runs, err := s.Runs(context.Background())
	if err != nil || len(runs) != 2 || runs[1].Status != StatusFailed || runs[1].Ended.IsZero() {
		t.Errorf("runs = %+v, %v", runs, err)
	}
	st, err := s.Stat(context.Background())
	if err != nil || st.Finished != 1 || st.Failed != 1 {
		t.Errorf("stat = %+v, %v", st, err)
	}
}

// TestNullStaysNull: a logged JSON null is SQL NULL, not the text "null",
// and does not turn a column of numbers into text.
func TestNullStaysNull(t *testing.T) {
	home := t.TempDir()
	r := newRunFile(t, home, t0, runOpts{})
	r.log(r.ctx(0, "epoch", 0, 0), "acc", 0.5)
	r.rec(map[string]any{"k": "log", "c": r.ctx(0, "epoch", 1, 1), "n": "acc", "t": "json", "v": nil})
	r.rec(map[string]any{"k": "log", "c": 0, "n": "note", "t": "json", "v": nil, "arg": true})
	r.end(t0)
	r.close()
	s := openTest(t, home)
	q, err := s.Query(context.Background(), "SELECT count(*) FROM logs WHERE value IS NULL")
	if err != nil || q.Rows[0][0] != int64(2) {
		t.Errorf("NULL values: %v, %v; want 2", q, err)
	}
	f, err := s.Dataframe(context.Background(), "acc")
	if err != nil {
		t.Fatal(err)
	}
	if got := colTypes(f)["acc"]; got != "DOUBLE" {
		t.Errorf("acc is %s, want DOUBLE", got)
	}
	if f.Len() != 2 || f.Value(0, "acc") != 0.5 || f.Value(1, "acc") != nil {
		t.Errorf("dataframe = %v", f.Rows)
	}
	runs, err := s.RunsMissing(context.Background(), []string{"zzz"}, "")
	if err != nil || len(runs) != 1 || runs[0].Args["note"] != nil {
		t.Errorf("args = %+v, %v", runs, err)
	}
}

// TestDamagedRunRecord: a file whose first line is not a usable run record
// is named with how to repair it, and read once it is repaired, by the
// same store. A file of a newer format version says so.
func TestDamagedRunRecord(t *testing.T) {
	home := t.TempDir()
	r := newRunFile(t, home, t0, runOpts{})
	r.arg("lr", 0.1)
	r.log(r.ctx(0, "epoch", 0, 0), "loss", 0.5)
	r.end(t0)
	r.close()
	data, err := os.ReadFile(r.path)
	if err != nil {
		t.Fatal(err)
	}
	first, rest, _ := strings.Cut(string(data), "\n")
	damaged := strings.Replace(first, `"projid"`, `"projid`, 1)
	os.WriteFile(r.path, []byte(damaged+"\n"+rest), 0o644)
	newer := newRunFile(t, home, t0.Add(time.Hour), runOpts{version: 2})
	newer.end(t0)
	newer.close()

	s := openTest(t, home, WithMessages(nil))
	file := "runs/" + tstampName(t0) + ".jsonl"
	for range 2 { // said again at every read, until repaired
		msgs := strings.Join(ingestWarnings(t, s), "\n")
		for _, want := range []string{
			file + ":1: first line is not a run record (invalid JSON), so the file is ignored; repair or restore line 1",
			"runs/" + tstampName(t0.Add(time.Hour)) + ".jsonl:1: run file of a newer format version: version 2, this flor reads version 1; upgrade flor",
		} {
			if !strings.Contains(msgs, want) {
				t.Errorf("warnings:\n%s\nwant one containing:\n%s", msgs, want)
			}
		}
	}
	if c := counts(t, s); c["runs"] != 0 || c["logs"] != 0 {
		t.Errorf("counts %v before the repair", c)
	}
	os.WriteFile(r.path, data, 0o644) // repaired
	if msgs := ingestWarnings(t, s); len(msgs) != 1 {
		t.Errorf("warnings after repair: %v", msgs)
	}
	if c := counts(t, s); c["runs"] != 1 || c["logs"] != 2 || c["loops"] != 1 {
		t.Errorf("counts %v after the repair", c)
	}
}

// TestForeignWriterLiveness: a run recording on another host is running
// while its file is fresh, its torn tail waits for the writer, and once
// the file is stale the run is unfinished and the tail reported, yet read
// should the writer complete it after all.
func TestForeignWriterLiveness(t *testing.T) {
	home := t.TempDir()
	r := newRunFile(t, home, t0, runOpts{host: "node7", pid: 42, liveness: 10})
	c := r.ctx(0, "epoch", 0, 0)
	r.log(c, "loss", 0.5)
	r.raw(`{"k":"log","c":1,"n":"acc",`)
	r.flush()
	s := openTest(t, home, WithMessages(nil))
	if msgs := ingestWarnings(t, s); len(msgs) != 0 {
		t.Errorf("warnings while running: %v", msgs)
	}
	if got := runStatuses(t, s); got != StatusRunning {
		t.Errorf("status %q while its file is fresh", got)
	}
	stale := time.Now().Add(-time.Hour)
	age := func() {
		t.Helper()
		if err := os.Chtimes(r.path, stale, stale); err != nil {
			t.Fatal(err)
		}
	}
	age()
	msgs := ingestWarnings(t, s)
	if len(msgs) != 1 || !strings.Contains(msgs[0], ":4: torn last line (27 bytes, no newline) skipped") {
		t.Errorf("warnings once stale: %v", msgs)
	}
	if got := runStatuses(t, s); got != StatusUnfinished {
		t.Errorf("status %q once its file is stale", got)
	}
	age()
	if msgs := ingestWarnings(t, s); len(msgs) != 0 {
		t.Errorf("torn tail reported twice: %v", msgs)
	}
	// The writer was only slow: it completes the line and ends.
	r.raw(`"t":"float","v":0.75}` + "\n")
	r.end(t0)
	r.close()
	if msgs := ingestWarnings(t, s); len(msgs) != 0 {
		t.Errorf("warnings after the tail completed: %v", msgs)
	}
	f, err := s.Dataframe(context.Background(), "loss", "acc")
	if err != nil {
		t.Fatal(err)
	}
	if f.Len() != 1 || f.Value(0, "acc") != 0.75 {
		t.Errorf("dataframe = %v", f.Rows)
	}
	if got := runStatuses(t, s); got != StatusFinished {
		t.Errorf("status %q after the end record", got)
	}
	// A file of a writer that does not refresh it is judged as before:
	// gone at once when on another host.
	old := newRunFile(t, home, t0.Add(time.Hour), runOpts{host: "node7", pid: 42})
	old.close()
	if got := runStatuses(t, s); got != StatusFinished+" "+StatusUnfinished {
		t.Errorf("statuses %q", got)
	}
}
