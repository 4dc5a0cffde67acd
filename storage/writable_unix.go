//go:build unix

package storage

import "syscall"

// writable reports whether this process may write path. access(2) knows
// about permissions and read-only mounts; for root only the latter count.
func writable(path string) bool {
	const wOK = 2
	return syscall.Access(path, wOK) == nil
}
