package runtime

import (
	"os"
	"os/exec"
	"testing"
)

// newTestRun makes a recording run in a fresh git repository.
func newTestRun(tb testing.TB, args ...string) *Run {
	tb.Helper()
	dir := tb.TempDir()
	if out, err := exec.Command("git", "init", "-q", dir).CombinedOutput(); err != nil {
		tb.Fatalf("git init: %v\n%s", err, out)
	}
	r, err := New(Options{Args: args, Dir: dir, Stdout: discard{}, Stderr: os.Stderr,
		Env: func(k string) string {
			if k == "FLOR_PROGRESS" {
				return "0"
			}
			return ""
		}})
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// BenchmarkLog measures flor.Log of a float64 inside two nested Loops with
// the echo off: the cost a training step pays per logged value. Besides
// wall time it reports the training goroutine's CPU time per value
// (train-cpu-ns/op) and the process's, the writer's encoding included
// (cpu-ns/op).
func BenchmarkLog(b *testing.B) {
	r := newTestRun(b)
	r.SetEcho(false)
	b.ReportAllocs()
	n := b.N
	outer := 10
	inner := n/outer + 1
	b.ResetTimer()
	cpu := startCPU()
	count := 0
	for range Loop(r, "epoch", Range(outer)) {
		for range Loop(r, "step", Range(inner)) {
			if count < n {
				Log(r, "loss", 0.125+float64(count))
			}
			count++
		}
	}
	b.StopTimer()
	cpu.threadSince(b)
	if err := r.Commit(); err != nil {
		b.Fatal(err)
	}
	cpu.processSince(b)
}

// BenchmarkLogSameIteration measures Log alone: many values logged in one
// iteration of two nested Loops, echo off.
func BenchmarkLogSameIteration(b *testing.B) {
	r := newTestRun(b)
	r.SetEcho(false)
	b.ReportAllocs()
	var cpu cpuClock
	for range Loop(r, "epoch", Range(1)) {
		for range Loop(r, "step", Range(1)) {
			b.ResetTimer()
			cpu = startCPU()
			for i := range b.N {
				Log(r, "loss", 0.125+float64(i))
			}
			b.StopTimer()
			cpu.threadSince(b)
		}
	}
	if err := r.Commit(); err != nil {
		b.Fatal(err)
	}
	cpu.processSince(b)
}
