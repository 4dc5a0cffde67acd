// Package proc answers one question for the rest of flor: is the process
// that left a file (a run, a lock, a replay's work) still running?
//
// Only processes of this host can be checked. A pid recorded on another
// host (a container, an NFS home, a cluster node) is neither alive nor dead
// here: AliveOn says so, and callers decide what an unknown owner means.
//
// It is not for managing processes: it never signals, waits or kills.
package proc
