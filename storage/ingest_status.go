package storage

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/flordb/flor/internal/record"
)

// This file decides whether a run file's writer is still at work: its run
// is then running, and its torn last line may yet be completed.

// writerAlive reports whether the program that records a run may still be
// writing its file. A process of this host is asked directly. One of
// another host (a container, an NFS home, a cluster node) cannot be: its
// file's modification time, which a recording program refreshes every
// liveness seconds, tells instead. Files of programs that do not refresh
// it (liveness 0) count as left by a program that is gone.
func (s *Store) writerAlive(host string, pid int64, liveness float64, mtime time.Time) bool {
	if host == s.opts.hostname {
		return processAlive(s.opts.hostname, host, pid)
	}
	if liveness <= 0 || mtime.IsZero() {
		return false
	}
	return time.Since(mtime) < record.StaleAfter(liveness)
}

// mayGrow reports whether a file's writer may still append to it.
func (in *ingester) mayGrow(fs *fileState, f *os.File) bool {
	if fs.replay {
		return false // published complete
	}
	var mtime time.Time
	if fi, err := f.Stat(); err == nil {
		mtime = fi.ModTime()
	}
	if fs.run == nil {
		// Not even a complete run record yet: just created, unless the
		// file has not changed for longer than any writer pauses.
		return time.Since(mtime) < record.LivenessTimeout
	}
	return fs.run.ended.IsZero() && in.s.writerAlive(fs.run.host, fs.run.pid, fs.run.liveness, mtime)
}

// refreshStatus recomputes the status of runs without an end record: a
// run that was running may have died since the last read.
func (s *Store) refreshStatus(ctx context.Context) error {
	rows, err := s.db.QueryContext(ctx, `SELECT rid, COALESCE(host, ''), COALESCE(pid, 0), status,
		COALESCE(path, ''), COALESCE(liveness, 0) FROM raw.runs WHERE sid IS NOT NULL AND ended IS NULL`)
	if err != nil {
		return fmt.Errorf("%s: %w", s.path, err)
	}
	type change struct {
		rid    int32
		status string
	}
	var changes []change
	for rows.Next() {
		var rid int32
		var host, status, path string
		var pid int64
		var liveness float64
		if err := rows.Scan(&rid, &host, &pid, &status, &path, &liveness); err != nil {
			rows.Close()
			return err
		}
		var mtime time.Time
		if fi, err := os.Stat(filepath.Join(s.home, filepath.FromSlash(path))); err == nil {
			mtime = fi.ModTime()
		}
		now := StatusUnfinished
		if s.writerAlive(host, pid, liveness, mtime) {
			now = StatusRunning
		}
		if now != status {
			changes = append(changes, change{rid, now})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, c := range changes {
		if _, err := s.db.ExecContext(ctx, `UPDATE raw.runs SET status = ? WHERE rid = ?`, c.status, c.rid); err != nil {
			return fmt.Errorf("%s: %w", s.path, err)
		}
	}
	if len(changes) > 0 {
		s.gen.Add(1)
	}
	return nil
}
