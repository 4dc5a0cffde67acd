package planner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/flordb/flor/internal/lockfile"
)

// ErrLock: the replay lock cannot be taken (other than by waiting).
var ErrLock = errors.New("replay lock")

// LockName is the replay lock's file in the flor home. While a replay
// holds it, it is the only one that decides what is missing and publishes:
// two replays of the same names would otherwise both fill them in.
const LockName = "replay.lock"

// replayLock is a held replay lock.
type replayLock struct{ release func() }

// lockReplay takes home's replay lock, waiting while a live replay holds
// it (saying once per holder, on say, what it waits for) and taking it
// from a holder of this host that has exited. A holder of another host is
// never judged: it is waited for until ctx is done.
func lockReplay(ctx context.Context, home string, say io.Writer) (*replayLock, error) {
	path := filepath.Join(home, LockName)
	release, err := lockfile.Acquire(ctx, path, lockfile.Options{
		Waiting: func(o lockfile.Owner) {
			switch {
			case !o.Named():
				fmt.Fprintf(say, "flor: waiting for %s to be released: it does not say which replay holds it (%q); if no replay runs, remove it\n", path, o.Content)
			case !o.Checkable():
				fmt.Fprintf(say, "flor: waiting for the replay of pid %d on host %s to finish (it holds %s); this host cannot check that process: if no replay runs there, remove the file\n", o.PID, o.Host, path)
			default:
				fmt.Fprintf(say, "flor: waiting for the replay of pid %d on host %s to finish (it holds %s)\n", o.PID, o.Host, path)
			}
		},
		TookOver: func(o lockfile.Owner) {
			fmt.Fprintf(say, "flor: the replay of pid %d on host %s that held %s is no longer running: taking its lock\n", o.PID, o.Host, path)
		},
	})
	if err != nil && ctx.Err() != nil {
		return nil, err // the wait was cut short: not a fault of the lock
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrLock, err)
	}
	return &replayLock{release: release}, nil
}

// unlock releases the lock, unless it is no longer ours (someone judged
// this process dead and took it); a second unlock does nothing.
func (l *replayLock) unlock() { l.release() }
