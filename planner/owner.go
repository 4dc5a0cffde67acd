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

// parseOwner reads "pid host". A file of an older flor holds the pid
// alone: those replays wrote their work on the host that reads it.
func parseOwner(text string) (owner, bool) {
	f := strings.Fields(text)
	if len(f) == 0 {
		return owner{}, false
	}
	pid, err := strconv.Atoi(f[0])
	if err != nil {
		return owner{}, false
	}
	o := owner{pid: pid}
	if len(f) > 1 {
		o.host = f[1]
	} else {
		o.host = self().host
	}
	return o, true
}

// gone reports whether the owner is known to have exited: a process of
// this host that no longer runs. An owner on another host may still run.
func (o owner) gone() bool {
	alive, known := proc.AliveOn(o.pid, o.host)
	return known && !alive
}

// writeOwner marks dir as this process's.
func writeOwner(dir string) error {
	return os.WriteFile(filepath.Join(dir, "owner"), []byte(self().String()+"\n"), 0o644)
}

// ownerGone reports whether the process named in d/owner is known to have
// exited. A directory without a readable owner has none.
func ownerGone(d string) bool {
	data, err := os.ReadFile(filepath.Join(d, "owner"))
	if err != nil {
		return true
	}
	o, ok := parseOwner(string(data))
	return !ok || o.gone()
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
