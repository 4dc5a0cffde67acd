//go:build linux

package runtime

import (
	goruntime "runtime"
	"syscall"
	"testing"
	"time"
)

// rusageThread is Linux's RUSAGE_THREAD: the calling thread's usage.
const rusageThread = 1

// cpuClock measures a benchmark's CPU time on a busy machine, where wall
// time counts the waits for a core: the calling goroutine's own (locked
// to its thread), which is what a training step pays, and the process's,
// which adds the writer's encoding.
type cpuClock struct {
	thread, process time.Duration
}

func cpuOf(who int) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// startCPU locks the goroutine to its thread and reads both clocks.
func startCPU() cpuClock {
	goruntime.LockOSThread()
	return cpuClock{thread: cpuOf(rusageThread), process: cpuOf(syscall.RUSAGE_SELF)}
}

// threadSince reports the thread's CPU time per op since c as
// train-cpu-ns/op, and unlocks the thread.
func (c cpuClock) threadSince(b *testing.B) {
	t := cpuOf(rusageThread) - c.thread
	goruntime.UnlockOSThread()
	b.ReportMetric(float64(t.Nanoseconds())/float64(b.N), "train-cpu-ns/op")
}

// processSince reports the process's CPU time per op since c as
// cpu-ns/op: call it once everything logged is written.
func (c cpuClock) processSince(b *testing.B) {
	t := cpuOf(syscall.RUSAGE_SELF) - c.process
	b.ReportMetric(float64(t.Nanoseconds())/float64(b.N), "cpu-ns/op")
}
