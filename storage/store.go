package storage

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// DBName is the store's file name inside the flor home.
const DBName = "flor.duckdb"

// DefaultLockTimeout is how long Open waits for another process to release
// the store before it gives up with ErrLocked.
const DefaultLockTimeout = 30 * time.Second

// Errors callers branch on.
var (
	// ErrLocked: another process (or another Store in this process) held the
	// store for longer than the lock timeout.
	ErrLocked = errors.New("store is locked by another flor command")
	// ErrUnknownColumn: a WHERE filter names a column that no logged value,
	// loop or run field provides.
	ErrUnknownColumn = errors.New("unknown column")
	// ErrSQL: DuckDB rejected a query; the error text carries its message.
	ErrSQL = errors.New("query failed")
	// ErrClosed: the Store was used after Close.
	ErrClosed = errors.New("store is closed")
	// ErrReadOnly: a query tried to do something other than read the
	// store: change it, or reach the file system.
	ErrReadOnly = errors.New("queries are read-only")
	// ErrWhere: a WHERE filter that is not one expression over dataframe
	// columns (a subquery, a table function, SQL past the condition...).
	ErrWhere = errors.New("invalid WHERE")
	// ErrHome: the flor home cannot be one (a file, or the root directory).
	ErrHome = errors.New("not a usable flor home")
)

// Option configures Open.
type Option func(*options)

type options struct {
	lockTimeout time.Duration
	messages    io.Writer
	hostname    string
	readOnly    bool
	exportDir   string // the one directory the store's own statements may write
	lazy        bool   // Open leaves the ingest to the first read
	path        string // the DuckDB file; "" = DBName in the home
}

// WithPath keeps the DuckDB file at path instead of in the home: on a
// cluster the home's run files live on a shared file system, whose file
// locking DuckDB cannot trust (NFS), and each user's store is a cache of
// them on a local disk. Several stores may ingest the same home.
func WithPath(path string) Option {
	return func(o *options) {
		if abs, err := filepath.Abs(path); err == nil {
			o.path = abs
		}
	}
}

// WithExportDir lets the store's own statements (ExportParquet) write
// files into dir, the one exception to a store that touches no file but
// its database: user queries (Query, a WHERE) stay read-only, and nothing
// outside dir can be read or written.
func WithExportDir(dir string) Option {
	return func(o *options) {
		if abs, err := filepath.Abs(dir); err == nil {
			o.exportDir = abs
		}
	}
}

// WithLazyIngest leaves the ingest to the store's first read: Open
// returns without reading the run files. Every read (Dataframe, Query,
// Runs, ...) ingests first anyway, so a Store opened for one read, as
// package reader opens one per call, checks the run files once instead
// of twice. Until a read, DB shows the store as last ingested.
func WithLazyIngest() Option {
	return func(o *options) { o.lazy = true }
}

// WithLockTimeout bounds how long Open waits for the store's lock
// (DefaultLockTimeout when not given; 0 tries once).
func WithLockTimeout(d time.Duration) Option {
	return func(o *options) { o.lockTimeout = d }
}

// WithMessages sets where the store prints what a user should see: the
// notice that it waits for another flor command, and ingest warnings
// (torn or invalid lines). The default is os.Stderr; nil discards.
func WithMessages(w io.Writer) Option {
	return func(o *options) {
		if w == nil {
			w = io.Discard
		}
		o.messages = w
	}
}

// withHostname overrides the host name used to decide whether a run is
// still running (tests).
func withHostname(h string) Option {
	return func(o *options) { o.hostname = h }
}

// Store is an open flor store: the DuckDB database of one flor home. It is
// safe for concurrent use by multiple goroutines. Close it as soon as the
// work is done: while it is open, no other flor command can open the store.
type Store struct {
	home string
	path string
	opts options
	db   *sql.DB

	mu      sync.Mutex // serialises Ingest
	release func()
	closed  bool
	// frozen: the store was opened read-only, so Ingest does nothing and
	// the store shows what was last ingested.
	frozen bool
	// memory: the home is read-only and its DuckDB file unusable, so the
	// store lives in memory, ingested afresh and never saved.
	memory bool
	// settled: the run files' sizes when the last Ingest left them all
	// stored (see ingest_settled.go); nil: unknown.
	settled map[string]int64
	// gen counts the ingests that changed something (see Generation).
	gen atomic.Int64
}

// Generation counts the Ingests of this Store that stored new records or
// changed a run's status, so a reader may keep what it computed from the
// store while it is the same.
func (s *Store) Generation() int64 { return s.gen.Load() }

// Home returns the flor home the store belongs to.
func (s *Store) Home() string { return s.home }

// Path returns the path of the DuckDB file.
func (s *Store) Path() string { return s.path }

// DB returns the underlying database handle, for callers that need
// database/sql directly. The views listed in the package documentation are
// available on it; the tables in schema raw are the store's own and may
// change between versions.
func (s *Store) DB() *sql.DB { return s.db }

// Open opens the store of the flor home directory home, creating the
// directory and the database when missing, and brings the database up to
// date with the home's run files (see Ingest) before returning, unless
// WithLazyIngest.
//
// DuckDB lets one process at a time open a database for writing. When
// another process holds it, Open prints once "flor: waiting for another flor
// command to release <path>" and retries until the lock timeout, then fails
// with an error wrapping ErrLocked.
func Open(ctx context.Context, home string, opts ...Option) (*Store, error) {
	s, err := openNoIngest(ctx, home, opts...)
	if err != nil {
		return nil, err
	}
	if s.opts.lazy {
		return s, nil
	}
	if _, err := s.Ingest(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func openNoIngest(ctx context.Context, home string, opts ...Option) (*Store, error) {
	o := options{lockTimeout: DefaultLockTimeout, messages: os.Stderr}
	for _, opt := range opts {
		opt(&o)
	}
	if o.hostname == "" {
		o.hostname, _ = os.Hostname()
	}
	abs, err := filepath.Abs(home)
	if err != nil {
		return nil, fmt.Errorf("flor home %s: %w", home, err)
	}
	if err := checkHome(abs); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("flor home: %w", err)
	}
	s := &Store{home: abs, path: filepath.Join(abs, DBName), opts: o}
	if o.path != "" {
		s.path = o.path
		if err := os.MkdirAll(filepath.Dir(s.path), 0o755); err != nil {
			return nil, fmt.Errorf("flor store: %w", err)
		}
	}
	// Writable: the directory the database lives in (the home's may be
	// read-only when the store is kept apart).
	if o.readOnly || !writable(filepath.Dir(s.path)) || (exists(s.path) && !writable(s.path)) {
		return s.openReadOnly(ctx)
	}
	if err := s.connect(ctx, s.path+dsnOptions); err != nil {
		if isReadOnlyError(err) {
			return s.openReadOnly(ctx)
		}
		return nil, err
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		if isReadOnlyError(err) {
			return s.reopenReadOnly(ctx)
		}
		return nil, err
	}
	return s, nil
}

// Close releases the database. It is safe to call more than once.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var err error
	if s.db != nil {
		err = s.db.Close() // closes the connector too
	}
	if s.release != nil {
		s.release()
	}
	if err != nil {
		return fmt.Errorf("close %s: %w", s.path, err)
	}
	return nil
}

// DuckDB's lock is per process: a second open of the same file in this
// process shares the first one's instance, and two Stores ingesting into one
// instance at once would conflict. Stores of one path exclude each other
// here the way processes do through DuckDB's lock.
var (
	inProcessMu    sync.Mutex
	inProcessLocks = map[string]chan struct{}{}
)

func tryLockInProcess(path string) (release func(), ok bool) {
	ch := inProcessLock(path)
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, true
	default:
		return nil, false
	}
}

func inProcessLock(path string) chan struct{} {
	inProcessMu.Lock()
	defer inProcessMu.Unlock()
	ch, found := inProcessLocks[path]
	if !found {
		ch = make(chan struct{}, 1)
		inProcessLocks[path] = ch
	}
	return ch
}

// waitLockInProcess blocks until the in-process lock of path is free, the
// deadline passes or ctx ends. Blocked senders on a channel are served in
// order, so a Store that opens in a loop (a server reading on every
// request) cannot starve another that waits, as polling would let it.
func waitLockInProcess(ctx context.Context, path string, deadline time.Time) (release func(), ok bool) {
	ch := inProcessLock(path)
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, true
	case <-t.C:
	case <-ctx.Done():
	}
	return nil, false
}

var lockHolderRE = regexp.MustCompile(`Conflicting lock is held in (.+?) \(PID (\d+)\)`)

func isLockError(err error) bool {
	return err != nil && strings.Contains(err.Error(), "Could not set lock on file")
}

// dsnOptions apply to every open of the store. The store reads run files
// itself, so DuckDB never needs the file system beyond its own database
// file: with external access off and the configuration locked, no query
// can read or write other files (COPY, ATTACH, INSTALL, LOAD, read_csv...)
// or turn that back on.
const dsnOptions = "?enable_external_access=false&lock_configuration=true"

// connector makes the DuckDB connector for dsn. With an export directory,
// external access is turned off by the first connection's own statements
// instead of the DSN, so that the directory can be allowed first (DuckDB
// takes allowed_directories only as a setting, not in a DSN); the
// configuration is locked after them all the same.
func (s *Store) connector(dsn string) (*duckdb.Connector, error) {
	if s.opts.exportDir == "" {
		return duckdb.NewConnector(dsn, nil)
	}
	dsn = strings.Replace(dsn, dsnOptions, "?", 1)
	dsn = strings.TrimSuffix(strings.Replace(dsn, "?&", "?", 1), "?")
	var once sync.Once
	var setErr error
	return duckdb.NewConnector(dsn, func(ex driver.ExecerContext) error {
		once.Do(func() {
			for _, q := range []string{
				"SET allowed_directories = [" + quoteString(s.opts.exportDir+string(filepath.Separator)) + "]",
				"SET enable_external_access = false",
				"SET lock_configuration = true",
			} {
				if _, err := ex.ExecContext(context.Background(), q, nil); err != nil {
					setErr = fmt.Errorf("store configuration %q: %w", q, err)
					return
				}
			}
		})
		return setErr
	})
}

// connect opens the DuckDB database dsn, waiting with backoff while another
// process or Store holds it.
func (s *Store) connect(ctx context.Context, dsn string) error {
	deadline := time.Now().Add(s.opts.lockTimeout)
	delay := 20 * time.Millisecond
	warned := false
	var holder string
	for {
		release, ok := tryLockInProcess(s.path)
		if !ok && time.Now().Before(deadline) {
			if !warned {
				fmt.Fprintf(s.opts.messages, "flor: waiting for another flor command to release %s (held by another Store of this process)\n", s.path)
				warned = true
			}
			release, ok = waitLockInProcess(ctx, s.path, deadline)
			if !ok && ctx.Err() != nil {
				return fmt.Errorf("open %s: waiting for lock held by another Store of this process: %w", s.path, ctx.Err())
			}
		}
		if ok {
			conn, err := s.connector(dsn)
			if err == nil {
				s.db = sql.OpenDB(conn)
				s.release = release
				return nil
			}
			release()
			if !isLockError(err) {
				return fmt.Errorf("open %s: %w", s.path, err)
			}
			holder = "another process"
			if m := lockHolderRE.FindStringSubmatch(err.Error()); m != nil {
				holder = m[1]
				if m[2] != "" {
					holder += " (pid " + m[2] + ")"
				}
			}
		} else {
			holder = "another Store of this process"
		}
		now := time.Now()
		if !now.Before(deadline) {
			return fmt.Errorf("open %s: %w: still held by %s after %s", s.path, ErrLocked, holder, s.opts.lockTimeout)
		}
		if !warned {
			fmt.Fprintf(s.opts.messages, "flor: waiting for another flor command to release %s (held by %s)\n", s.path, holder)
			warned = true
		}
		wait := min(delay, deadline.Sub(now))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("open %s: waiting for lock held by %s: %w", s.path, holder, ctx.Err())
		case <-t.C:
		}
		delay = min(delay*3/2, time.Second)
	}
}
