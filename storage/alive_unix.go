//go:build unix

package storage

import (
	"errors"
	"syscall"
)

// processAlive reports whether process pid of host is alive. Only processes
// of this host can be checked; those of another host count as gone.
func processAlive(self, host string, pid int64) bool {
	if pid <= 0 || host != self {
		return false
	}
	err := syscall.Kill(int(pid), 0)
	// EPERM: the process exists but belongs to someone else.
	return err == nil || errors.Is(err, syscall.EPERM)
}
