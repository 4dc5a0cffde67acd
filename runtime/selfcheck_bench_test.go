package runtime

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkReplaySelfCheck measures a replay worker (reading the run,
// then the nested-level replay of its 100,000 logged values) with and
// without the self-check, which indexes the recorded values in that one
// read and compares each value logged again:
//
//	go test ./runtime/ -run '^$' -bench ReplaySelfCheck -benchmem
func BenchmarkReplaySelfCheck(b *testing.B) {
	const epochs, steps = 10, 10_000 // 100,000 recorded values
	dir := gitInit(b)
	train := func(r *Run) {
		w := 1.0
		for range Loop(r, "epoch", Range(epochs)) {
			for s := range Loop(r, "step", Range(steps)) {
				w = w*0.999 + float64(s)*1e-6
				Log(r, "loss", w)
			}
		}
	}
	rec, err := New(Options{Dir: dir, Stdout: discard{}, Stderr: io.Discard, Env: testEnv(nil)})
	if err != nil {
		b.Fatal(err)
	}
	rec.SetEcho(false)
	train(rec)
	if err := rec.Commit(); err != nil {
		b.Fatal(err)
	}
	plan := Plan{ID: "bench", Home: rec.Home, ProjID: rec.ProjID, Tstamp: rec.Tstamp, Filename: rec.Filename,
		Record: rec.File, Out: filepath.Join(b.TempDir(), "w0.jsonl"), Names: []string{"probe"},
		Execute: []string{"step"}, Mode: ModeLoop, Stop: -1, Suffix: true}
	pf := filepath.Join(b.TempDir(), "plan.json")
	data, _ := json.Marshal(plan)
	if err := os.WriteFile(pf, data, 0o644); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		off  bool
	}{{"without", true}, {"with", false}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				r, err := New(Options{Dir: dir, Stdout: discard{}, Stderr: io.Discard,
					Env: testEnv(map[string]string{"FLOR_REPLAY": pf}), noSelfCheck: c.off})
				if err != nil {
					b.Fatal(err)
				}
				train(r)
				if err := r.Commit(); err != nil {
					b.Fatal(err)
				}
				if !c.off && r.replay.check.compared != epochs*steps {
					b.Fatalf("compared %d values, want %d", r.replay.check.compared, epochs*steps)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/(epochs*steps), "ns/value")
		})
	}
}
