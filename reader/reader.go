package reader

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/flordb/flor/internal/gitdir"
	"github.com/flordb/flor/storage"
)

// ErrNoHome: no flor home could be found or it holds no runs.
var ErrNoHome = errors.New("no flor home")

// Reader reads one flor home. It is safe for concurrent use; it keeps no
// store open between calls.
type Reader struct {
	home        string
	lockTimeout time.Duration
	messages    io.Writer
	rec         Recorder // RecordReads; nil records nothing
}

// Option configures a Reader.
type Option func(*Reader)

// WithLockTimeout bounds how long each call waits for another process to
// release the store (storage.DefaultLockTimeout when not given).
func WithLockTimeout(d time.Duration) Option { return func(r *Reader) { r.lockTimeout = d } }

// WithMessages sets where the store's notices and ingest warnings go
// (default os.Stderr; nil discards).
func WithMessages(w io.Writer) Option {
	return func(r *Reader) {
		if w == nil {
			w = io.Discard
		}
		r.messages = w
	}
}

// Open finds the flor home as flor does: $FLOR_HOME (relative to the
// working directory), else .flor at the top of the git repository holding
// the working directory.
func Open(opts ...Option) (*Reader, error) {
	wd, err := os.Getwd()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoHome, err)
	}
	home, err := FindHome(wd, os.Getenv)
	if err != nil {
		return nil, err
	}
	return At(home, opts...), nil
}

// FindHome is the flor home for a program in dir with environment getenv.
func FindHome(dir string, getenv func(string) string) (string, error) {
	if h := getenv("FLOR_HOME"); h != "" {
		if !filepath.IsAbs(h) {
			h = filepath.Join(dir, h)
		}
		return h, nil
	}
	repo, err := gitdir.Find(dir)
	if err != nil {
		return "", fmt.Errorf("%w: %s is not in a git repository and FLOR_HOME is not set: %w", ErrNoHome, dir, err)
	}
	return filepath.Join(repo.Top, ".flor"), nil
}

// At is a Reader of the flor home home.
func At(home string, opts ...Option) *Reader {
	r := &Reader{home: home, lockTimeout: storage.DefaultLockTimeout, messages: os.Stderr}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Home is the flor home read.
func (r *Reader) Home() string { return r.home }

// with opens the store, runs fn and closes it: no handle outlives a call.
// The store ingests at fn's first read, not at Open as well: each call
// checks the run files once, and sees every run recorded before it.
func (r *Reader) with(ctx context.Context, fn func(*storage.Store) error) error {
	if fi, err := os.Stat(r.home); err != nil || !fi.IsDir() {
		return fmt.Errorf("%w: %s does not exist (no run has been recorded here yet)", ErrNoHome, r.home)
	}
	s, err := storage.Open(ctx, r.home, storage.WithLockTimeout(r.lockTimeout), storage.WithMessages(r.messages), storage.WithLazyIngest())
	if err != nil {
		return err
	}
	err = fn(s)
	if cerr := s.Close(); cerr != nil && err == nil {
		err = cerr
	}
	return err
}

// Query selects a dataframe.
type Query struct {
	// Names are the logged names, one column each (none: a row per run
	// with its loop-free values).
	Names []string
	// Where is a SQL boolean over the frame's columns ("epoch >= 1"),
	// validated as flor dataframe --where is (storage.ErrWhere,
	// storage.ErrUnknownColumn).
	Where string
	// Latest keeps, per name, only the newest run's value for each key
	// (see Latest; computed in the store, storage.Store.DataframeLatest).
	Latest bool
}

// Dataframe is FlorDB's pivoted dataframe (storage.Store.Dataframe) of q.
func (r *Reader) Dataframe(ctx context.Context, q Query) (*storage.Frame, error) {
	var f *storage.Frame
	err := r.with(ctx, func(s *storage.Store) error {
		var err error
		if q.Latest {
			f, err = s.DataframeLatest(ctx, q.Where, q.Names...)
		} else {
			f, err = s.DataframeWhere(ctx, q.Where, q.Names...)
		}
		return err
	})
	if err == nil {
		r.record(frameRuns(f))
	}
	return f, err
}

// Runs lists the recorded runs, oldest first, with their kwargs.
func (r *Reader) Runs(ctx context.Context) ([]storage.Run, error) {
	var runs []storage.Run
	err := r.with(ctx, func(s *storage.Store) error {
		var err error
		runs, err = s.Runs(ctx)
		return err
	})
	return runs, err
}
