package planner

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ErrLock: the replay lock cannot be taken (other than by waiting).
var ErrLock = errors.New("replay lock")

// LockName is the replay lock's file in the flor home. While a replay
// holds it, it is the only one that decides what is missing and publishes:
// two replays of the same names would otherwise both fill them in.
const LockName = "replay.lock"

// replayLock is a held replay lock.
type replayLock struct {
	path    string
	content []byte // ours: "pid host token", the token telling apart two holders of one process
}

// lockHolder is what a lock file says of its holder.
type lockHolder struct {
	owner
	token string
}

func parseLock(data []byte) (lockHolder, bool) {
	f := strings.Fields(string(data))
	if len(f) != 3 {
		return lockHolder{}, false
	}
	pid, err := strconv.Atoi(f[0])
	if err != nil {
		return lockHolder{}, false
	}
	return lockHolder{owner: owner{pid: pid, host: f[1]}, token: f[2]}, true
}

// lockReplay takes home's replay lock, waiting while a live replay holds
// it (saying once, on say, what it waits for) and taking it from a holder
// of this host that has exited. It waits until ctx is done.
func lockReplay(ctx context.Context, home string, say io.Writer) (*replayLock, error) {
	path := filepath.Join(home, LockName)
	tok := make([]byte, 8)
	rand.Read(tok)
	me := self()
	l := &replayLock{path: path, content: fmt.Appendf(nil, "%d %s %s\n", me.pid, me.host, hex.EncodeToString(tok))}
	delay := 10 * time.Millisecond
	var told []byte // the holder we said we wait for
	for {
		err := createWhole(path, l.content)
		if err == nil {
			return l, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("%w: %w", ErrLock, err)
		}
		held, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue // released meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrLock, err)
		}
		h, ok := parseLock(held)
		if ok && h.gone() {
			if takeFrom(path, held) {
				fmt.Fprintf(say, "flor: the replay of pid %d on host %s that held %s is no longer running: taking its lock\n", h.pid, h.host, path)
			}
			continue
		}
		if !bytes.Equal(held, told) {
			told = held
			switch _, known := h.aliveOn(); {
			case !ok:
				fmt.Fprintf(say, "flor: waiting for %s to be released: it does not say which replay holds it (%q); if no replay runs, remove it\n", path, bytes.TrimSpace(held))
			case !known:
				fmt.Fprintf(say, "flor: waiting for the replay of pid %d on host %s to finish (it holds %s); this host cannot check that process: if no replay runs there, remove the file\n", h.pid, h.host, path)
			default:
				fmt.Fprintf(say, "flor: waiting for the replay of pid %d on host %s to finish (it holds %s)\n", h.pid, h.host, path)
			}
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("waiting for %s: %w", path, ctx.Err())
		case <-t.C:
		}
		delay = min(delay*3/2, time.Second)
	}
}

// unlock releases the lock, unless it is no longer ours (someone judged
// this process dead and took it).
func (l *replayLock) unlock() {
	if held, err := os.ReadFile(l.path); err == nil && bytes.Equal(held, l.content) {
		os.Remove(l.path)
	}
}

// createWhole creates path holding content, failing with fs.ErrExist when
// it exists. A reader never sees it part-written: the content is written
// beside it first, then linked in place, which fails if path exists.
func createWhole(path string, content []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(content)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Link(tmp.Name(), path)
}

// takeFrom removes the lock file of a dead holder whose content is held,
// and reports whether it did. The file is moved aside first, atomically:
// if it is no longer the dead holder's (another process took it between
// the read and the move), it is put back.
func takeFrom(path string, held []byte) bool {
	aside := fmt.Sprintf("%s.stale-%d-%d", path, os.Getpid(), time.Now().UnixNano())
	if os.Rename(path, aside) != nil {
		return false
	}
	defer os.Remove(aside)
	if now, err := os.ReadFile(aside); err != nil || !bytes.Equal(now, held) {
		os.Link(aside, path) // a live holder's: back in place
		return false
	}
	return true
}
