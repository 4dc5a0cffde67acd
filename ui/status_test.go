package ui

import (
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/flordb/flor/storage"
)

// TestFailedRunStatus: a run whose Commit ran during a panic is listed as
// failed, apart from finished and unfinished runs, in the table and in
// its CSV export.
func TestFailedRunStatus(t *testing.T) {
	home := t.TempDir()
	ok := newRun(t, home, "runs", t0, "", map[string]string{"lr": "0.1"}, "")
	ok.logf(ok.ctx(0, "epoch", 0), "loss", 1)
	ok.end()
	bad := newRun(t, home, "runs", t0.Add(time.Hour), "", map[string]string{"lr": "10"}, "")
	bad.logf(bad.ctx(0, "epoch", 0), "loss", 1e9)
	bad.endStatus(storage.StatusFailed)
	gone := newRun(t, home, "runs", t0.Add(2*time.Hour), "", map[string]string{"lr": "1"}, "")
	gone.close() // no end record, its writer on another host without liveness: gone
	ts := httptest.NewServer(New(openStore(t, home), Options{}))
	t.Cleanup(ts.Close)

	var rj runsJSON
	if code, body := get(t, ts, "/api/runs", &rj); code != 200 {
		t.Fatalf("status %d: %s", code, body)
	}
	var got []string
	for _, r := range rj.Runs {
		got = append(got, r.Status)
	}
	if strings.Join(got, ",") != "finished,failed,unfinished" {
		t.Errorf("statuses %v, want finished, failed, unfinished", got)
	}
	if _, body := get(t, ts, "/api/runs?format=csv", nil); !strings.Contains(body, ",failed,") {
		t.Errorf("csv without the failed status:\n%s", body)
	}
}

// TestSeriesCacheFollowsStore: a chart asked for again comes from the
// cache, yet shows the values a run logged since, and a new replay's.
func TestSeriesCacheFollowsStore(t *testing.T) {
	home := t.TempDir()
	r := newRun(t, home, "runs", t0, "", nil, "")
	r.logf(r.ctx(0, "epoch", 0), "loss", 3)
	r.w.Flush()
	ts := httptest.NewServer(New(openStore(t, home), Options{}))
	t.Cleanup(ts.Close)
	series := func() seriesJSON {
		t.Helper()
		var c chartJSON
		if code, body := get(t, ts, "/api/series?name=loss&runs="+tsName(t0), &c); code != 200 || len(c.Series) != 1 {
			t.Fatalf("status %d: %s", code, body)
		}
		return c.Series[0]
	}
	if s := series(); s.N != 1 {
		t.Fatalf("n = %d, want 1", s.N)
	}
	if s := series(); s.N != 1 || len(s.Y) != 1 || s.Y[0] != 3 {
		t.Errorf("asked again: %+v", s)
	}
	r.logf(r.ctx(0, "epoch", 1), "loss", 2)
	r.end()
	if s := series(); s.N != 2 || s.Y[1] != 2 {
		t.Errorf("after the run logged more: %+v", s)
	}
	rp := newRun(t, home, "replay/r1", t0, "", nil, "r1")
	rp.logf(rp.ctx(0, "epoch", 2), "loss", 1)
	rp.close()
	if s := series(); s.N != 3 || len(s.Replayed) != 1 {
		t.Errorf("after a replay: %+v", s)
	}
}

// TestRunsCacheFollowsStore: the runs table asked for again is the
// cached one, yet it lists a new run, and a running run once its
// process is gone, though its file did not change.
func TestRunsCacheFollowsStore(t *testing.T) {
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Skip("no sleep command:", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	defer cmd.Process.Kill()
	host, _ := os.Hostname()

	home := t.TempDir()
	r := newRun(t, home, "runs", t0, "", nil, "")
	r.logf(r.ctx(0, "epoch", 0), "loss", 3)
	r.close()
	rewritePID(t, r.f.Name(), host, cmd.Process.Pid)
	ts := httptest.NewServer(New(openStore(t, home), Options{}))
	t.Cleanup(ts.Close)
	statuses := func() string {
		t.Helper()
		var rj runsJSON
		if code, body := get(t, ts, "/api/runs?metrics=loss", &rj); code != 200 {
			t.Fatalf("status %d: %s", code, body)
		}
		var s []string
		for _, r := range rj.Runs {
			s = append(s, r.Status)
		}
		return strings.Join(s, ",")
	}
	if got := statuses(); got != "running" {
		t.Fatalf("statuses %s, want running", got)
	}
	if got := statuses(); got != "running" {
		t.Errorf("asked again: %s", got)
	}
	cmd.Process.Kill()
	<-done
	if got := statuses(); got != "unfinished" {
		t.Errorf("after its process died: %s, want unfinished", got)
	}
	b := newRun(t, home, "runs", t0.Add(time.Hour), "", nil, "")
	b.end()
	if got := statuses(); got != "unfinished,finished" {
		t.Errorf("after a new run: %s", got)
	}
}

// rewritePID makes a run file's writer the process pid of host.
func rewritePID(t *testing.T, path, host string, pid int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(b), `"pid":1,"host":"elsewhere"`, fmt.Sprintf(`"pid":%d,"host":%q`, pid, host), 1)
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
