package gitrecords

import (
	"errors"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
)

// The ref and directories of a records tree. The tree mirrors the flor
// home: the same relative paths, slash-separated.
const (
	// RecordsRef is the ref whose commit holds the records tree.
	RecordsRef = plumbing.ReferenceName("refs/flor/records")
	// ShadowRef is the branch the runtime stores code snapshots on.
	ShadowRef = plumbing.ReferenceName("refs/heads/flor.shadow")
	// trackingPrefix holds what a remote had at the last push or pull:
	// refs/flor/remotes/<remote>/records and .../shadow.
	trackingPrefix = "refs/flor/remotes/"

	runsDir      = "runs"
	replayDir    = "replay"
	objectsDir   = "objects"
	conflictsDir = "conflicts"
	// replayTmpPrefix marks replay directories in progress, which the
	// store never reads (planner and storage share this convention).
	replayTmpPrefix = "tmp-"
	conflictInfix   = ".conflict-"
	jsonlExt        = ".jsonl"
)

// Errors callers test with errors.Is.
var (
	// ErrNotGit: the directory is not in a git repository.
	ErrNotGit = errors.New("not in a git repository")
	// ErrNoRecords: the repository has no records ref to unpack.
	ErrNoRecords = errors.New("no records")
	// ErrNoRemote: the remote is neither configured nor a URL.
	ErrNoRemote = errors.New("no such remote")
	// ErrCorrupt: an object the records need is missing or unreadable.
	ErrCorrupt = errors.New("records corrupt")
	// ErrRemoteMoving: the remote kept changing while pushing.
	ErrRemoteMoving = errors.New("remote keeps changing")
	// ErrBusy: another flor process holds the records lock.
	ErrBusy = errors.New("records busy")
)

type kind int

const (
	kindNone     kind = iota // not a records path: ignored
	kindRun                  // runs/<name>.jsonl
	kindReplay               // replay/<id>/<name>.jsonl
	kindObject               // objects/<2 hex>/<62 hex>
	kindConflict             // conflicts/runs/... or conflicts/replay/<id>/...
)

// classify says what a records path is; paths that are not one of the
// layout's (or that could escape the flor home) are kindNone.
func classify(p string) kind {
	parts := strings.Split(p, "/")
	for _, c := range parts {
		if !safeName(c) {
			return kindNone
		}
	}
	switch {
	case len(parts) == 2 && parts[0] == runsDir && isJSONL(parts[1]):
		return kindRun
	case len(parts) == 3 && parts[0] == replayDir && !strings.HasPrefix(parts[1], replayTmpPrefix) && isJSONL(parts[2]):
		return kindReplay
	case len(parts) == 3 && parts[0] == objectsDir && len(parts[1]) == 2 && len(parts[2]) == 62 && isHex(parts[1]+parts[2]):
		return kindObject
	case len(parts) >= 3 && parts[0] == conflictsDir && strings.Contains(parts[len(parts)-1], conflictInfix):
		if k := classify(mainPath(p)); k == kindRun || k == kindReplay {
			return kindConflict
		}
	}
	return kindNone
}

// safeName: a path component that is a plain file or directory name.
func safeName(c string) bool {
	if c == "" || c[0] == '.' || len(c) > 200 {
		return false
	}
	for _, r := range c {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_' || r == '+'
		if !ok {
			return false
		}
	}
	return true
}

func isJSONL(name string) bool { return strings.HasSuffix(name, jsonlExt) && len(name) > len(jsonlExt) }

func isHex(s string) bool {
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	return true
}

// ConflictPath is where the other side's version of a run or replay file
// is kept when two different files claim one name:
// conflicts/<path without .jsonl>.conflict-<first 8 hex of its blob>.jsonl,
// e.g. conflicts/runs/20261128T051852.123456Z.conflict-1a2b3c4d.jsonl.
// The store does not read conflicts/; the file is kept for a person.
func ConflictPath(p string, h plumbing.Hash) string {
	return conflictsDir + "/" + strings.TrimSuffix(p, jsonlExt) + conflictInfix + h.String()[:8] + jsonlExt
}

// mainPath is the path a conflict file stands beside.
func mainPath(conflict string) string {
	p := strings.TrimPrefix(conflict, conflictsDir+"/")
	i := strings.LastIndex(p, conflictInfix)
	if i < 0 {
		return ""
	}
	return p[:i] + jsonlExt
}
