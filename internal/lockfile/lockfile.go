package lockfile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/flordb/flor/internal/proc"
)

// ErrHeld: the wait bound passed with the lock still held. The error is
// a *HeldError naming the owner.
var ErrHeld = errors.New("lock held")

// HeldError is returned when Options.Wait passes before the lock is had.
type HeldError struct {
	Path  string
	Owner Owner
}

func (e *HeldError) Error() string {
	return fmt.Sprintf("%s is held by %s", e.Path, e.Owner)
}

// Is makes errors.Is(err, ErrHeld) hold.
func (e *HeldError) Is(target error) bool { return target == ErrHeld }

// Owner is what a lock file says of its holder.
type Owner struct {
	// PID is the holder's process id; 0 when the file names none.
	PID int
	// Host is the holder's host name; empty when it could not read its
	// own, or wrote none (older flor versions wrote the pid alone).
	Host string
	// Content is the file's content, trimmed: what to show when it names
	// no owner.
	Content string
}

// Named reports whether the file names a process.
func (o Owner) Named() bool { return o.PID > 0 }

// Checkable reports whether this host can tell if the owner runs.
func (o Owner) Checkable() bool {
	_, known := proc.AliveOn(o.PID, o.Host)
	return o.Named() && known
}

// Gone reports whether the owner is known to have exited: a process of
// this host that no longer runs.
func (o Owner) Gone() bool {
	alive, known := proc.AliveOn(o.PID, o.Host)
	return o.Named() && known && !alive
}

// String is "pid N on host H", or says that the file names no owner.
func (o Owner) String() string {
	if !o.Named() {
		return "an owner that left no pid"
	}
	host := o.Host
	if host == "" {
		host = "an unnamed host"
	}
	return fmt.Sprintf("pid %d on host %s", o.PID, host)
}

// Parse reads a lock file's content: "pid host", or the pid alone, or
// "pid host token" as older replay locks were written (more fields are
// ignored).
func Parse(data []byte) Owner {
	o := Owner{Content: strings.TrimSpace(string(data))}
	f := strings.Fields(o.Content)
	if len(f) == 0 {
		return o
	}
	if pid, err := strconv.Atoi(f[0]); err == nil && pid > 0 {
		o.PID = pid
		if len(f) > 1 {
			o.Host = f[1]
		}
	}
	return o
}

// Options tune Acquire.
type Options struct {
	// Wait bounds the wait for a held lock; past it Acquire fails with a
	// *HeldError. 0: wait until the context is done.
	Wait time.Duration
	// StaleAfter is how old the file of an owner that cannot be checked
	// (another host's, or one naming none) must be to be taken over.
	// 0: such a lock is never taken over.
	StaleAfter time.Duration
	// Waiting, when set, is called as the wait for an owner begins, once
	// per distinct lock file content.
	Waiting func(Owner)
	// TookOver, when set, is called after the lock of an owner is taken
	// over: a dead one, or one that could not be checked for StaleAfter.
	TookOver func(Owner)
}

const (
	firstPoll = 5 * time.Millisecond
	maxPoll   = 500 * time.Millisecond
)

// Acquire creates the lock file path holding this process as its owner,
// waiting while another owner holds it. release removes the file unless
// it is no longer this holder's (another host judged it stale and took
// it); calling release more than once does nothing.
func Acquire(ctx context.Context, path string, opt Options) (release func(), err error) {
	host, _ := os.Hostname()
	mine := []byte(strconv.Itoa(os.Getpid()) + " " + host + "\n")
	var deadline time.Time
	if opt.Wait > 0 {
		deadline = time.Now().Add(opt.Wait)
	}
	delay := firstPoll
	var told []byte // the content we said we wait for
	for {
		err := create(path, mine)
		if err == nil {
			var once sync.Once
			return func() { once.Do(func() { remove(path, mine) }) }, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("locking %s: %w", path, err)
		}
		held, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue // released meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("locking %s: %w", path, err)
		}
		o := Parse(held)
		if o.Gone() || (opt.StaleAfter > 0 && !o.Checkable() && olderThan(path, opt.StaleAfter)) {
			if takeOver(path, held) && opt.TookOver != nil {
				opt.TookOver(o)
			}
			continue
		}
		if !deadline.IsZero() && time.Now().After(deadline) {
			return nil, &HeldError{Path: path, Owner: o}
		}
		if !bytes.Equal(held, told) {
			told = held
			if opt.Waiting != nil {
				opt.Waiting(o)
			}
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("waiting for %s: %w", path, ctx.Err())
		case <-t.C:
		}
		delay = min(delay*3/2, maxPoll)
	}
}

func olderThan(path string, age time.Duration) bool {
	st, err := os.Stat(path)
	return err == nil && time.Since(st.ModTime()) > age
}

// remove deletes the lock file if it still holds content.
func remove(path string, content []byte) {
	if held, err := os.ReadFile(path); err == nil && bytes.Equal(held, content) {
		os.Remove(path)
	}
}

// create makes path holding content, failing with fs.ErrExist when it
// exists. A reader never sees it part-written: the content is written
// beside it, then linked in place, which fails if path exists. Where hard
// links are not to be had, the file is created exclusively and written.
func create(path string, content []byte) error {
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
	err = os.Link(tmp.Name(), path)
	if err == nil || errors.Is(err, fs.ErrExist) {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(content)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}

// takeOver removes the lock file whose content held was judged stale,
// and reports whether it did. The file is moved aside first, atomically:
// if it is no longer what was judged (another process took it over and
// made its own in between), it is put back; a link fails rather than
// replace a lock made since.
func takeOver(path string, held []byte) bool {
	aside := fmt.Sprintf("%s.stale-%d-%d", path, os.Getpid(), time.Now().UnixNano())
	if os.Rename(path, aside) != nil {
		return false
	}
	defer os.Remove(aside)
	if now, err := os.ReadFile(aside); err != nil || !bytes.Equal(now, held) {
		os.Link(aside, path)
		return false
	}
	return true
}
