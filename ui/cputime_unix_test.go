//go:build unix

package ui

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time (user and system, all threads) the process used
// so far: a figure the other load of a shared machine disturbs less than
// wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
