//go:build !unix

package proc

import "os"

// Alive reports whether process pid of this host runs. On systems
// without signal 0, finding the process is the test: Windows fails to
// open a process that has exited.
func Alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	p.Release()
	return true
}
