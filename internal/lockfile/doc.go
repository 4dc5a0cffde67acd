// Package lockfile is flor's one lock between processes: a file created
// whole, holding its owner as "pid host". A lock whose owner is a process
// of this host that has exited (a run or a push killed with -9) is taken
// over at once; one held by a live owner is waited for, and the caller is
// told once per owner what it waits for. An owner that cannot be checked
// here (another host's, or a file that names none) is waited for, and
// taken over once the file is older than a bound the caller chooses.
//
// It is pure Go with no dependency beyond the standard library and
// internal/proc: the runtime, linked into every user program, uses it.
// It is not a mutex between goroutines of one process that share a
// release function, nor an advisory flock: NFS homes need a plain file.
package lockfile
