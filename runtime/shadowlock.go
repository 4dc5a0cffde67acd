package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/flordb/flor/internal/gitdir"
	"github.com/flordb/flor/internal/lockfile"
)

// shadowLockWait bounds the wait for the shadow branch's lock; a run that
// cannot get it records without a snapshot (and says so).
const shadowLockWait = 30 * time.Second

// shadowLockName is the lock file in the repository's common directory.
const shadowLockName = gitdir.ShadowLockName

// lockShadow serialises updates of the shadow branch between processes;
// go-git's compare-and-set does not cover creating the branch. A lock
// left by a process of this host that died is taken over at once. An
// owner that cannot be checked (on another host) is waited for, and
// counts as dead once the lock is shadowLockWait old. Waiting is said on
// stderr, once.
func lockShadow(root string, stderr io.Writer) (func(), error) {
	repo, err := gitdir.Find(root)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSnapshot, err)
	}
	path := repo.ShadowLock()
	told := false
	release, err := lockfile.Acquire(context.Background(), path, lockfile.Options{
		Wait:       shadowLockWait,
		StaleAfter: shadowLockWait,
		Waiting: func(o lockfile.Owner) {
			if !told {
				told = true
				fmt.Fprintf(stderr, "flor: waiting for the code snapshot lock %s, held by %s (up to %v)\n", path, holder(o), shadowLockWait)
			}
		},
	})
	if held, ok := errors.AsType[*lockfile.HeldError](err); ok {
		return nil, fmt.Errorf("%w: %s is held by %s", ErrSnapshot, path, holder(held.Owner))
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSnapshot, err)
	}
	return release, nil
}

// holder names a lock's owner as the messages above say it.
func holder(o lockfile.Owner) string {
	if !o.Named() {
		return "an owner that left no pid"
	}
	return fmt.Sprintf("pid %d on %s", o.PID, o.Host)
}
