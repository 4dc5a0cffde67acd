package planner

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/flordb/flor/internal/proc"
)

// workPrefix names the temporary directories versions are prepared in.
const workPrefix = "flor-replay-work-"

// owner is the process that made a directory or holds a lock: its pid and
// its host, so that a home shared between machines never has one host's
// live work removed by another.
type owner struct {
	pid  int
	host string
}

func self() owner {
	host, _ := os.Hostname()
	return owner{pid: os.Getpid(), host: host}
}

func (o owner) String() string { return fmt.Sprintf("%d %s", o.pid, o.host) }

// gone reports whether the owner is known to have exited: a process of
// this host that no longer runs. An owner on another host may still run.
func (o owner) gone() bool {
	alive, known := o.aliveOn()
	return known && !alive
}

// aliveOn: see proc.AliveOn.
func (o owner) aliveOn() (alive, known bool) { return proc.AliveOn(o.pid, o.host) }

// A directory's owner is in two files: "owner" holds the pid alone, as
// older flor versions write and read it (one that found more there would
// take the directory for abandoned), and "host" its host, written first so
// that an owner file never lacks its host.

// writeOwner marks dir as this process's.
func writeOwner(dir string) error {
	me := self()
	if err := os.WriteFile(filepath.Join(dir, "host"), []byte(me.host+"\n"), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "owner"), []byte(strconv.Itoa(me.pid)), 0o644)
}

// removeOwner unmarks dir, once it is published.
func removeOwner(dir string) error {
	if err := os.Remove(filepath.Join(dir, "owner")); err != nil {
		return err
	}
	return os.Remove(filepath.Join(dir, "host"))
}

// ownerGone reports whether the process named in d/owner is known to have
// exited. A directory without a readable owner has none. One without a host
// file was made by an older flor on this host.
func ownerGone(d string) bool {
	data, err := os.ReadFile(filepath.Join(d, "owner"))
	if err != nil {
		return true
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		return true
	}
	o := owner{pid: pid, host: self().host}
	if h, err := os.ReadFile(filepath.Join(d, "host")); err == nil {
		o.host = strings.TrimSpace(string(h))
	}
	return o.gone()
}

// cleanStale removes the work of replays whose process is gone: the
// unpublished results in the flor home, and the temporary version
// directories that name a dead owner (never one without an owner file,
// which is not ours, nor one kept with --keep). Called with the replay
// lock held, so no replay of this home is between making a directory
// and naming its owner.
func cleanStale(home string) {
	dirs, _ := filepath.Glob(filepath.Join(home, "replay", "tmp-*"))
	for _, d := range dirs {
		if ownerGone(d) {
			os.RemoveAll(d)
		}
	}
	work, _ := filepath.Glob(filepath.Join(os.TempDir(), workPrefix+"*"))
	for _, d := range work {
		if _, err := os.Stat(filepath.Join(d, "owner")); err != nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(d, "keep")); err == nil || !ownerGone(d) {
			continue
		}
		os.RemoveAll(d)
	}
}
