package proc

import "os"

// AliveOn reports whether process pid of host runs. known is false when
// the answer cannot be had here: host is another machine's (or empty), or
// this machine's name cannot be read. A pid that is not positive is known
// dead.
func AliveOn(pid int, host string) (alive, known bool) {
	if pid <= 0 {
		return false, true
	}
	self, err := os.Hostname()
	if err != nil || host == "" || host != self {
		return false, false
	}
	return Alive(pid), true
}
