package storage

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestSettledFilesSkipped: once every run file is stored, an Ingest that
// finds the same files of the same sizes reads nothing, yet it still sees
// a grown file, a new file, a new finished replay, a torn tail whose
// writer died without touching the file, and a running run that stopped.
func TestSettledFilesSkipped(t *testing.T) {
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Skip("no sleep command:", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	defer cmd.Process.Kill()

	home := t.TempDir()
	ctx := context.Background()
	a := newRunFile(t, home, t0, runOpts{})
	a.arg("lr", 0.1)
	a.flush()
	s := openTest(t, home, withHostname("thishost"))
	ingest := func(what string) IngestStats {
		t.Helper()
		st, err := s.Ingest(ctx)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return st
	}
	if st := ingest("unchanged"); st.Records != 0 || s.settled == nil {
		t.Fatalf("unchanged files: %+v, settled %v", st, s.settled)
	}

	a.log(0, "loss", 1.0)
	a.flush()
	if st := ingest("grown"); st.Records != 1 {
		t.Errorf("a grown file: %d records stored, want 1", st.Records)
	}

	b := newRunFile(t, home, t0.Add(time.Hour), runOpts{host: "thishost", pid: cmd.Process.Pid})
	b.arg("lr", 0.2)
	b.raw(`{"k":"log","c":0,"n":"lo`)
	b.close()
	if st := ingest("new file"); st.Records != 2 || len(st.Warnings) != 0 {
		t.Errorf("a new file whose writer lives: %+v", st)
	}
	if st := ingest("torn, writer alive"); len(st.Warnings) != 0 {
		t.Errorf("a live writer's torn line reported: %v", st.Warnings)
	}
	runs, _ := s.Runs(ctx)
	if len(runs) != 2 || runs[1].Status != StatusRunning {
		t.Fatalf("runs %+v, want the second running", runs)
	}

	cmd.Process.Kill()
	<-done
	st := ingest("torn, writer gone")
	if len(st.Warnings) != 1 || !strings.Contains(st.Warnings[0].Msg, "torn last line") {
		t.Errorf("the gone writer's torn line: warnings %v", st.Warnings)
	}
	if st := ingest("reported"); len(st.Warnings) != 0 || s.settled == nil {
		t.Errorf("reported again: %v (settled %v)", st.Warnings, s.settled)
	}
	runs, _ = s.Runs(ctx)
	if runs[1].Status != StatusUnfinished {
		t.Errorf("status %s after its writer died", runs[1].Status)
	}

	rp := newRunFile(t, home, t0, runOpts{dir: "replay/r1", name: tstampName(t0) + "-w0.jsonl",
		replay: map[string]any{"id": "r1", "names": []string{"grad_norm"}}})
	rp.log(0, "grad_norm", 7.5)
	rp.close()
	if st := ingest("replay"); st.Records != 2 {
		t.Errorf("a new replay: %d records, want 2", st.Records)
	}
	os.Remove(rp.path)
	if st := ingest("removed"); st.Records != 0 {
		t.Errorf("after a removal: %+v", st)
	}
}
