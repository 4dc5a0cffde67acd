package ui

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
)

func newTestServer(t *testing.T) (*fixture, *httptest.Server) {
	t.Helper()
	fx := newFixture(t)
	s := openStore(t, fx.home)
	ts := httptest.NewServer(New(s, Options{Repo: fx.repo}))
	t.Cleanup(ts.Close)
	return fx, ts
}

func get(t *testing.T, ts *httptest.Server, path string, v any) (int, string) {
	t.Helper()
	resp, err := http.Get(ts.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	if v != nil && resp.StatusCode == 200 {
		if err := json.Unmarshal([]byte(b.String()), v); err != nil {
			t.Fatalf("%s: %v\n%s", path, err, b.String())
		}
	}
	return resp.StatusCode, b.String()
}

func TestRunsEndpoint(t *testing.T) {
	fx, ts := newTestServer(t)
	var rj runsJSON
	code, body := get(t, ts, "/api/runs?metrics=loss,val_acc", &rj)
	if code != 200 {
		t.Fatalf("status %d: %s", code, body)
	}
	if len(rj.Runs) != 4 {
		t.Fatalf("%d runs, want 4", len(rj.Runs))
	}
	if !slices.Equal(rj.Kwargs, []string{"hidden", "lr", "note"}) {
		t.Errorf("kwargs columns %v", rj.Kwargs)
	}
	r1 := rj.Runs[1]
	if r1.ID != fx.ids[1] || r1.Kwargs["lr"] != "0.001" || r1.Status != "finished" || r1.Snapshot != fx.v1 {
		t.Errorf("run 1: %+v", r1)
	}
	loss := r1.Metrics["loss"]
	// Run 1 logs (10-5e-s)/2 over two epochs of five steps, plus a spike of 100.
	if loss.N != 11 || *loss.Max != 100 || *loss.Min != 0.5 || loss.Last != 0.5 {
		t.Errorf("loss summary of run 1: n %d min %v max %v last %v", loss.N, *loss.Min, *loss.Max, loss.Last)
	}
	// The filter goes through storage's WHERE validation, OR included.
	code, _ = get(t, ts, "/api/runs?where="+url.QueryEscape("lr >= 0.003 OR hidden = 128"), &rj)
	if code != 200 || len(rj.Runs) != 3 {
		t.Errorf("filtered: status %d, %d runs, want 3", code, len(rj.Runs))
	}
	code, body = get(t, ts, "/api/runs?where="+url.QueryEscape("no_such_column > 1"), nil)
	if code != 400 || !strings.Contains(body, "unknown column") {
		t.Errorf("unknown column: status %d: %s", code, body)
	}
	code, body = get(t, ts, "/api/runs?where="+url.QueryEscape("1=1); DROP VIEW runs; --"), nil)
	if code != 400 {
		t.Errorf("injection attempt: status %d: %s", code, body)
	}
	if code, _ = get(t, ts, "/api/runs", &rj); code != 200 || len(rj.Runs) != 4 {
		t.Errorf("after a hostile filter: status %d, %d runs", code, len(rj.Runs))
	}
}

func TestExport(t *testing.T) {
	_, ts := newTestServer(t)
	code, body := get(t, ts, "/api/runs?metrics=loss&format=csv", nil)
	lines := strings.Split(strings.TrimSpace(body), "\n")
	if code != 200 || len(lines) != 5 || !strings.HasPrefix(lines[0], "id,tstamp,projid,filename,snapshot,status,hidden,lr,note,loss.last,loss.min,loss.max") {
		t.Errorf("csv: status %d:\n%s", code, body)
	}
	var runs []runJSON
	if code, _ = get(t, ts, "/api/runs?format=json", &runs); code != 200 || len(runs) != 4 {
		t.Errorf("json export: %d, %d runs", code, len(runs))
	}
}

func TestRunAndNames(t *testing.T) {
	fx, ts := newTestServer(t)
	var d runDetailJSON
	if code, body := get(t, ts, "/api/run?id="+fx.ids[0], &d); code != 200 {
		t.Fatalf("status %d: %s", code, body)
	}
	var names []string
	replayed := false
	for _, v := range d.Values {
		names = append(names, v.Name)
		if v.Name == "grad_norm" {
			replayed = v.Replayed
		}
	}
	if !slices.Contains(names, hostile) || !replayed {
		t.Errorf("values %v (grad_norm replayed: %v)", names, replayed)
	}
	if len(d.Replays) != 1 || d.Replays[0].ID != "r1" {
		t.Errorf("replays %+v", d.Replays)
	}
	if len(d.Files) != 1 || d.Files[0].Path != "train/main.go" {
		t.Errorf("snapshot files %+v (%s)", d.Files, d.FilesError)
	}
	if code, _ := get(t, ts, "/api/run?id=../../etc/passwd", nil); code != 404 {
		t.Errorf("path as id: status %d, want 404", code)
	}
	var ns []nameJSON
	get(t, ts, "/api/names", &ns)
	var got []string
	for _, n := range ns {
		got = append(got, n.Name)
	}
	if !slices.Equal(got, []string{hostile, "acc_top", "grad_norm", "hidden", "loss", "lr", "val_acc"}) {
		t.Errorf("names %q", got)
	}
}

// TestEscaping checks that hostile names and values leave the server as
// JSON strings with < and > escaped, and that the page builds the DOM from
// text only.
func TestEscaping(t *testing.T) {
	fx, ts := newTestServer(t)
	for _, path := range []string{"/api/names", "/api/run?id=" + fx.ids[0], "/api/runs?metrics=" + url.QueryEscape(hostile)} {
		code, body := get(t, ts, path, nil)
		if code != 200 {
			t.Fatalf("%s: status %d: %s", path, code, body)
		}
		if strings.Contains(body, "<script>") || strings.Contains(body, "<img") {
			t.Errorf("%s: raw markup in the response:\n%s", path, body)
		}
		if !strings.Contains(body, `\u003cscript\u003e`) && !strings.Contains(body, `\u003cimg`) {
			t.Errorf("%s: hostile text missing:\n%s", path, body)
		}
	}
	resp, err := http.Get(ts.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
		t.Errorf("CSP %q", csp)
	}
	js, err := assets.ReadFile("assets/app.js")
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("} {
		if strings.Contains(string(js), bad) {
			t.Errorf("app.js uses %s", bad)
		}
	}
}

func TestReadOnly(t *testing.T) {
	_, ts := newTestServer(t)
	resp, err := http.Post(ts.URL+"/api/sql?q=SELECT+1", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: status %d", resp.StatusCode)
	}
	for _, q := range []string{"DROP VIEW runs", "DELETE FROM raw.runs", "CREATE TABLE x AS SELECT 1"} {
		get(t, ts, "/api/sql?q="+url.QueryEscape(q), nil)
	}
	var r sqlJSON
	code, body := get(t, ts, "/api/sql?q="+url.QueryEscape("SELECT count(*) AS n FROM runs"), &r)
	if code != 200 || len(r.Rows) != 1 || r.Rows[0][0] != 4.0 {
		t.Errorf("after writes: status %d: %s", code, body)
	}
	code, body = get(t, ts, "/api/sql?q="+url.QueryEscape("SELECT * FROM x"), nil)
	if code != 400 {
		t.Errorf("a table created through the console exists: status %d: %s", code, body)
	}
}

func TestSeriesDownsampling(t *testing.T) {
	fx, ts := newTestServer(t)
	var c chartJSON
	code, body := get(t, ts, "/api/series?name=loss&x=global&runs="+strings.Join(fx.ids, ","), &c)
	if code != 200 || len(c.Series) != 4 {
		t.Fatalf("status %d: %s", code, body)
	}
	if len(c.Series[1].Y) != 11 || c.Series[1].N != 11 {
		t.Errorf("run 1 undownsampled: %d points of %d", len(c.Series[1].Y), c.Series[1].N)
	}
	// Four points per series: two buckets, each its min and max; run 1's
	// spike of 100 and its minimum 0.5 survive.
	code, body = get(t, ts, "/api/series?name=loss&max=4&runs="+fx.ids[1], &c)
	if code != 200 {
		t.Fatalf("status %d: %s", code, body)
	}
	s := c.Series[0]
	if len(s.Y) != 4 || !slices.Contains(s.Y, 100) || !slices.Contains(s.Y, 0.5) || s.N != 11 {
		t.Errorf("downsampled: x %v y %v n %d", s.X, s.Y, s.N)
	}
	if !slices.IsSorted(s.X) {
		t.Errorf("x out of order: %v", s.X)
	}
	get(t, ts, "/api/series?name=loss&x=epoch&runs="+fx.ids[0], &c)
	if got := c.Series[0].X; len(got) != 10 || got[0] != 0 || got[9] != 1 {
		t.Errorf("epoch axis: %v", got)
	}
	get(t, ts, "/api/series?name=loss&x=step&runs="+fx.ids[0], &c)
	if got := c.Series[0].X; len(got) != 10 || got[4] != 4 || got[5] != 0 {
		t.Errorf("step axis: %v", got)
	}
	get(t, ts, "/api/series?name=grad_norm&runs="+fx.ids[0], &c)
	if len(c.Series[0].Replayed) != 1 {
		t.Errorf("replayed points %v", c.Series[0].Replayed)
	}
	if code, _ := get(t, ts, "/api/series?name=loss&x=bogus&runs="+fx.ids[0], nil); code != 400 {
		t.Errorf("bad axis: status %d", code)
	}
}

func TestCompareAndHindsight(t *testing.T) {
	fx, ts := newTestServer(t)
	var c compareJSON
	code, body := get(t, ts, "/api/compare?a="+fx.ids[0]+"&b="+fx.ids[3], &c)
	if code != 200 {
		t.Fatalf("status %d: %s", code, body)
	}
	if !strings.Contains(c.Diff, `+		flor.Log("acc_top", accTop())`) || !strings.Contains(c.Diff, "--- a/train/main.go") {
		t.Errorf("diff:\n%s (%s)", c.Diff, c.DiffError)
	}
	changed := map[string]bool{}
	for _, k := range c.Kwargs {
		changed[k.Name] = k.Changed
	}
	if !changed["lr"] || !changed["hidden"] || changed["note"] {
		t.Errorf("kwargs diff %+v", c.Kwargs)
	}
	if !slices.Contains(c.Common, "loss") {
		t.Errorf("common series %v", c.Common)
	}
	var h hindsightJSON
	get(t, ts, "/api/hindsight", &h)
	if h.Newest != fx.ids[3] || len(h.Candidates) != 1 || h.Candidates[0].Name != "acc_top" ||
		len(h.Candidates[0].Lacking) != 3 || h.Candidates[0].Command != "flor replay acc_top" {
		t.Errorf("hindsight %+v", h)
	}
	if len(h.Replays) != 1 || h.Replays[0].State != "finished" {
		t.Errorf("replays %+v", h.Replays)
	}
}

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{"127.0.0.1:7373": true, "localhost:1": true, "[::1]:80": true,
		"0.0.0.0:7373": false, ":7373": false, "192.168.1.2:80": false} {
		if got := IsLoopback(addr); got != want {
			t.Errorf("IsLoopback(%q) = %v", addr, got)
		}
	}
}
