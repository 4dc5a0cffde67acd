package flor

import (
	"io"
	"os"
	"os/exec"
	"testing"

	"github.com/flordb/flor/runtime"
)

// useRun makes r the process's run for the rest of the benchmark, as the
// first flor call would, but in a repository of the benchmark's own.
func useRun(b *testing.B) *runtime.Run {
	dir := b.TempDir()
	if out, err := exec.Command("git", "init", "-q", dir).CombinedOutput(); err != nil {
		b.Fatalf("git init: %v\n%s", err, out)
	}
	env := map[string]string{"FLOR_HOME": dir + "/.flor", "FLOR_PROGRESS": "0", "FLOR_ECHO": "0"}
	r, err := runtime.New(runtime.Options{Dir: dir, Stdout: io.Discard, Stderr: os.Stderr,
		Env: func(k string) string { return env[k] }})
	if err != nil {
		b.Fatal(err)
	}
	makeMu.Lock()
	if current.Load() != nil || first != nil {
		makeMu.Unlock()
		b.Skip("the process already has a run")
	}
	current.Store(r)
	first = r
	makeMu.Unlock()
	b.Cleanup(func() {
		makeMu.Lock()
		current.Store(nil)
		first, last = nil, nil
		makeMu.Unlock()
	})
	return r
}

// BenchmarkLog measures flor.Log of a float64 inside two nested flor.Loops,
// echo off, through this package as a program calls it: many values in
// one iteration, so the figure is the Log call's.
func BenchmarkLog(b *testing.B) {
	useRun(b)
	b.ReportAllocs()
	for range Loop("epoch", Range(1)) {
		for range Loop("step", Range(1)) {
			b.ResetTimer()
			for i := range b.N {
				Log("loss", 0.125+float64(i))
			}
			b.StopTimer()
		}
	}
	if err := Commit(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkLogStep is BenchmarkLog with a step of the inner loop per
// value: each value opens a new loop context (a ctx record).
func BenchmarkLogStep(b *testing.B) {
	useRun(b)
	b.ReportAllocs()
	n := b.N
	inner := n/10 + 1
	count := 0
	b.ResetTimer()
	for range Loop("epoch", Range(10)) {
		for range Loop("step", Range(inner)) {
			if count < n {
				Log("loss", 0.125+float64(count))
			}
			count++
		}
	}
	b.StopTimer()
	if err := Commit(); err != nil {
		b.Fatal(err)
	}
}
