package runtime

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/flordb/flor/internal/record"
)

// unitSeq names the files units are written to before they are linked in.
var unitSeq atomic.Int64

// writeUnit writes a unit's records, header first, to a file aside in
// runs/ (a name the store does not read), syncs it and links it to the
// run's name: the run file appears whole or not at all, and no other
// writer's records are ever between its lines. When another run holds the
// name, the tstamp moves on a microsecond and the file is written again.
func (r *Run) writeUnit() error {
	dir := filepath.Join(r.Home, "runs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("flor: creating %s: %w", dir, err)
	}
	t, err := record.ParseTime(r.Tstamp)
	if err != nil {
		return fmt.Errorf("flor: unit tstamp %q: %w", r.Tstamp, err)
	}
	tmp := filepath.Join(dir, ".unit-"+strconv.Itoa(os.Getpid())+"-"+strconv.FormatInt(unitSeq.Add(1), 10)+".tmp")
	defer os.Remove(tmp)
	r.w.wmu.Lock()
	r.w.mu.Lock()
	body := r.w.takeLocked()
	r.w.mu.Unlock()
	r.w.wmu.Unlock()
	for range 1000 {
		r.Tstamp = record.FormatTime(t)
		data := append(append(r.headerRecord(), '\n'), body...)
		if err := writeSynced(tmp, data); err != nil {
			return fmt.Errorf("flor: writing run %s: %w", r.Tstamp, err)
		}
		name := filepath.Join(dir, record.UniqueFileName(t))
		err := os.Link(tmp, name)
		if err == nil {
			r.File = name
			return nil
		}
		if !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("flor: linking run %s into %s: %w", r.Tstamp, dir, err)
		}
		t = t.Add(time.Microsecond)
	}
	return fmt.Errorf("flor: no free run file name in %s", dir)
}

func writeSynced(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// newLike makes another run of the process of opt.Like.
func newLike(opt Options) (*Run, error) {
	l := opt.Like
	if l.replay != nil {
		return nil, fmt.Errorf("flor: %w", ErrUnitReplay)
	}
	r := &Run{
		ProjID: l.ProjID, Filename: l.Filename, Root: l.Root, Home: l.Home,
		kwargs:    l.kwargs, // never written after New
		stdout:    l.stdout,
		stderr:    l.stderr,
		w:         newRecordWriter(l.stderr),
		ckptNames: map[string]bool{},
		exit:      l.exit,
		argv:      l.argv,
		getenv:    l.getenv,
		unit:      opt.Unit,
		began:     opt.Start,
	}
	if r.began.IsZero() {
		r.began = time.Now()
	}
	r.echo.Store(l.echo.Load())
	r.off = l.off
	r.kwWarned.Store(l.kwWarned.Load())
	l.w.mu.Lock()
	r.kwUsed = make(map[string]bool, len(l.kwUsed))
	for k, v := range l.kwUsed {
		r.kwUsed[k] = v
	}
	if !opt.Unit {
		r.argRecs = append([]byte(nil), l.argRecs...)
		r.w.buf = append(r.w.buf, l.argRecs...)
		// Registered state stays registered: the program called
		// Checkpoint once, before its first run.
		for _, c := range l.ckpts {
			r.ckpts = append(r.ckpts, &registration{name: c.name, ptr: c.ptr})
			r.ckptNames[c.name] = true
		}
	}
	l.w.mu.Unlock()
	r.budget = captureBudget{epsilon: l.budget.epsilon, start: r.began}
	if !opt.Unit && l.progress != nil {
		r.progress = newProgress(l.stderr)
	}
	return r, nil
}
