package ui

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flordb/flor/internal/scratch"
)

// The working tree's program now logs grad_norm too; the recorded runs
// logged only loss.
const trainNow = `package main

import "github.com/flordb/flor"

func main() {
	defer flor.Commit()
	lr := flor.Arg("lr", 0.01)
	w := 1.0
	flor.Checkpoint("w", &w)
	for epoch := range flor.Loop("epoch", flor.Range(3)) {
		g := w * lr * float64(epoch)
		flor.Log("grad_norm", g)
		w -= g
		flor.Log("loss", w*w)
	}
}
`

// TestHindsightFromCode: the candidates come from the analyzer over the
// program in the working tree, so a name only the newest code logs (no
// run yet) is one; replays are told apart as finished, in progress,
// failed (with the error its log ends with) and stopped.
func TestHindsightFromCode(t *testing.T) {
	wd, _ := os.Getwd()
	root, err := scratch.Root(wd)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := scratch.New(dir, "example.com/hs", root, map[string][]byte{"train/main.go": []byte(trainNow)}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOFLAGS", "-mod=mod")
	t.Setenv("GOWORK", "off")
	home := filepath.Join(dir, ".flor")
	var ids []string
	for i := range 2 {
		ts := t0.Add(time.Duration(i) * time.Hour)
		r := newRun(t, home, "runs", ts, "", map[string]string{"lr": "0.01"}, "")
		r.logf(r.ctx(0, "epoch", 0), "loss", 1)
		r.end()
		ids = append(ids, tsName(ts))
	}
	other := newRun(t, home, "runs", t0.Add(-time.Hour), "", nil, "")
	other.w.WriteString(`{"k":"log","c":0,"n":"acc","t":"float","v":1}` + "\n")
	other.close()
	rewriteFilename(t, other.f.Name(), "eval")

	// Four replays of runs: published, in progress, failed and killed.
	os.MkdirAll(filepath.Join(home, "replay", "a1-0"), 0o755)
	os.WriteFile(filepath.Join(home, "replay", "a1-0", tsName(t0)+"-w0.jsonl"), nil, 0o644)
	os.MkdirAll(filepath.Join(home, "replay", "tmp-b2-0"), 0o755)
	os.MkdirAll(filepath.Join(home, "logs"), 0o755)
	for name, text := range map[string]string{
		"a1-0.log":              "run ...\n",
		"a1-version-abcdef.log": "version abcdef\n",
		"c3-0.log":              "run ...\nbuild: exit status 1\n\nreplay failed: build of version abcdef: exit status 1\n",
		"d4-1.log":              "run ...\n",
		"c3-version-abcdef.log": "version abcdef\n",
	} {
		os.WriteFile(filepath.Join(home, "logs", name), []byte(text), 0o644)
	}

	ts := httptest.NewServer(New(openStore(t, home), Options{Repo: dir}))
	t.Cleanup(ts.Close)
	var h hindsightJSON
	if code, body := get(t, ts, "/api/hindsight", &h); code != 200 {
		t.Fatalf("status %d: %s", code, body)
	}
	if h.Source != fromCode || h.Program != "train" {
		t.Fatalf("source %q (%s), program %q: want the code of train", h.Source, h.SourceNote, h.Program)
	}
	if len(h.Candidates) != 1 || h.Candidates[0].Name != "grad_norm" || len(h.Candidates[0].Lacking) != 2 ||
		h.Candidates[0].Command != "flor replay grad_norm" {
		t.Errorf("candidates %+v, want grad_norm lacking in the two runs of train", h.Candidates)
	}
	want := map[string]string{"a1-0": "finished", "b2-0": "in progress", "c3-0": "failed", "d4-1": "stopped"}
	if len(h.Replays) != len(want) {
		t.Errorf("replays %+v", h.Replays)
	}
	for _, rp := range h.Replays {
		if rp.State != want[rp.ID] {
			t.Errorf("replay %s: %s, want %s", rp.ID, rp.State, want[rp.ID])
		}
		if rp.ID == "c3-0" && (rp.Error != "build of version abcdef: exit status 1" || rp.Log != "c3-0.log") {
			t.Errorf("failed replay: %+v", rp)
		}
	}

	// Without the code (a program that does not compile), the newest
	// run's names are the candidates' source.
	os.WriteFile(filepath.Join(dir, "train", "main.go"), []byte("package main\n\nfunc main() { undefined() }\n"), 0o644)
	h = hindsightJSON{}
	get(t, ts, "/api/hindsight", &h)
	if h.Source != fromNewest || h.SourceNote == "" || len(h.Candidates) != 0 {
		t.Errorf("fallback: source %q (%q), candidates %+v", h.Source, h.SourceNote, h.Candidates)
	}
}

// rewriteFilename changes a run file's program name in its run record.
func rewriteFilename(t *testing.T, path, filename string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b = []byte(strings.Replace(string(b), `"filename":"train"`, `"filename":"`+filename+`"`, 1))
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
