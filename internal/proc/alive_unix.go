//go:build unix

package proc

import (
	"errors"
	"syscall"
)

// Alive reports whether process pid of this host runs.
func Alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	// EPERM: the process exists but belongs to another user.
	return err == nil || errors.Is(err, syscall.EPERM)
}
