package runtime

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/flordb/flor/internal/gitdir"
	"github.com/flordb/flor/internal/proc"
)

// shadowLockWait bounds the wait for the shadow branch's lock; a run that
// cannot get it records without a snapshot (and says so).
const shadowLockWait = 30 * time.Second

// shadowLockName is the lock file in the repository's common directory,
// where the branches are: every worktree's runs share it.
const shadowLockName = "flor-shadow.lock"

// lockShadow serialises updates of the shadow branch between processes;
// go-git's compare-and-set does not cover creating the branch. The lock
// file holds its owner, "pid host": a lock left by a process of this host
// that died is taken over at once. An owner that cannot be checked (on
// another host, or not yet written) is waited for, and counts as dead once
// the lock is shadowLockWait old. Waiting is said on stderr, once.
func lockShadow(root string, stderr io.Writer) (func(), error) {
	repo, err := gitdir.Find(root)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSnapshot, err)
	}
	path := filepath.Join(repo.CommonDir, shadowLockName)
	host, _ := os.Hostname()
	me := strconv.Itoa(os.Getpid()) + " " + host + "\n"
	deadline := time.Now().Add(shadowLockWait)
	told := false
	for {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err == nil {
			_, werr := f.WriteString(me)
			if cerr := f.Close(); werr == nil {
				werr = cerr
			}
			if werr != nil {
				os.Remove(path)
				return nil, fmt.Errorf("%w: writing %s: %w", ErrSnapshot, path, werr)
			}
			return func() { os.Remove(path) }, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("%w: %w", ErrSnapshot, err)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			continue // released meanwhile
		}
		pid, owner, ok := parseLockOwner(data)
		alive, known := proc.AliveOn(pid, owner)
		if ok && known && !alive {
			takeOver(path, data)
			continue
		}
		if !known {
			if st, err := os.Stat(path); err == nil && time.Since(st.ModTime()) > shadowLockWait {
				takeOver(path, data)
				continue
			}
		}
		who := "an owner that left no pid"
		if ok {
			who = fmt.Sprintf("pid %d on %s", pid, owner)
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%w: %s is held by %s", ErrSnapshot, path, who)
		}
		if !told {
			told = true
			fmt.Fprintf(stderr, "flor: waiting for the code snapshot lock %s, held by %s (up to %v)\n", path, who, shadowLockWait)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// parseLockOwner reads "pid host"; host is empty when the owner could
// not read its own.
func parseLockOwner(data []byte) (pid int, host string, ok bool) {
	p, h, _ := strings.Cut(strings.TrimSpace(string(data)), " ")
	n, err := strconv.Atoi(p)
	if err != nil || n <= 0 {
		return 0, "", false
	}
	return n, h, true
}

// takeOver removes the lock whose content was seen as a dead owner's. It
// moves the file aside first and checks what it moved: when another
// process took the lock over and made its own in between, that one is put
// back (a link fails rather than replace a lock made since).
func takeOver(path string, seen []byte) {
	aside := path + "." + strconv.Itoa(os.Getpid()) + ".stale"
	if os.Rename(path, aside) != nil {
		return
	}
	if data, err := os.ReadFile(aside); err == nil && !bytes.Equal(data, seen) {
		_ = os.Link(aside, path)
	}
	os.Remove(aside)
}
