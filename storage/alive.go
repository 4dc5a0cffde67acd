package storage

import "github.com/flordb/flor/internal/proc"

// processAlive reports whether process pid of host is alive. Only processes
// of this host can be checked; those of another host count as gone.
func processAlive(self, host string, pid int64) bool {
	if pid <= 0 || host != self {
		return false
	}
	return proc.Alive(int(pid))
}
