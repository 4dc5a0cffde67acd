package storage

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
	"github.com/flordb/flor/internal/record"
)

// IngestStats tells what one Ingest did.
type IngestStats struct {
	Files    int           // files that had new bytes
	Records  int64         // records (lines) stored
	Bytes    int64         // bytes consumed
	Skipped  int64         // lines skipped: invalid, torn, or of a file without a run record
	Warnings []Warning     // what was skipped and why (at most maxWarnings)
	Elapsed  time.Duration // wall time of the ingest
}

// Warning names a line of a run file that the ingest skipped or could not
// fully use.
type Warning struct {
	File string // path relative to the flor home, slash-separated
	Line int64  // 1-based line number
	Msg  string
}

func (w Warning) String() string { return fmt.Sprintf("%s:%d: %s", w.File, w.Line, w.Msg) }

// maxWarnings bounds the warnings kept and printed per ingest, so a file of
// garbage cannot flood the terminal.
const maxWarnings = 20

// ingester holds the state of one Ingest.
type ingester struct {
	readBuf []byte // see file
	s       *Store
	conn    *sql.Conn
	st      *IngestStats
	runs    map[runKey]*runRow // the first run of each identity
	byFile  map[string]*runRow // recorded runs by their run file's base name
	runList []*runRow
	sigs    map[sigKey]*sigRow
	sigByID []*sigRow
	nextSid int32
	maxRid  int32
	sources []sourceRow
	strs    map[string]string // interned strings
	nameIDs map[string]int32  // value name -> raw.names id
	newName []string          // names added by this ingest (ids up to nextNid-1)
	nextNid int32
	stats   map[statKey]*statRow
	touched map[int32]bool // sids whose stats this ingest rewrites
	// unresolved: some log referred to a context that was no longer open,
	// so its ci, cp are filled from raw.ctx after the append.
	unresolved bool

	apps [numTables]*duckdb.Appender
	dec  record.Decoder

	// The pipeline: this goroutine parses and fills batches of rows, an
	// appender goroutine hands them to DuckDB, so both cores work.
	cur      [numTables]*batch
	batches  chan *batch
	free     chan *batch
	appended chan error
}

// Ingest brings the store up to date with the run files of the flor home:
// runs/*.jsonl and the finished replays replay/<id>/*.jsonl (never the
// replay/tmp-* directories of replays in progress). Every read calls it, so
// callers rarely need to.
//
// It is incremental and idempotent: the store remembers per file the offset
// just past the last complete line it stored, and reads only what follows.
// A file is read up to its last newline; its torn last line is read again
// by the next Ingest, and reported once its writer is gone. Lines that are
// not valid JSON are skipped with a Warning (also printed to the messages
// writer); the rest of the file is kept. A file whose first line is not a
// usable run record is reported and not remembered, so it is read once
// repaired.
func (s *Store) Ingest(ctx context.Context) (IngestStats, error) {
	var st IngestStats
	start := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return st, fmt.Errorf("%s: %w", s.path, ErrClosed)
	}
	if s.frozen {
		return st, nil // opened read-only: nothing can be stored
	}
	err := s.ingest(ctx, &st)
	st.Elapsed = time.Since(start)
	for _, w := range st.Warnings {
		fmt.Fprintf(s.opts.messages, "flor: warning: %s\n", w)
	}
	if n := st.Skipped - int64(len(st.Warnings)); n > 0 && len(st.Warnings) == maxWarnings {
		fmt.Fprintf(s.opts.messages, "flor: warning: %d more lines skipped\n", n)
	}
	return st, err
}

func (s *Store) ingest(ctx context.Context, st *IngestStats) error {
	names, err := s.runFiles()
	if err != nil {
		return fmt.Errorf("%s: %w", s.home, err)
	}
	sizes := s.statRunFiles(names)
	if s.upToDate(sizes) {
		return s.refreshStatus(ctx)
	}
	s.settled = nil
	files, err := s.loadFiles(ctx, s.db)
	if err != nil {
		return err
	}
	var todo []*fileRow
	for _, name := range names {
		size, ok := sizes[name]
		if !ok {
			continue // removed since listed
		}
		f := files[name]
		if f == nil {
			f = &fileRow{path: name}
			files[name] = f
		}
		switch {
		case size < f.off:
			st.Warnings = append(st.Warnings, Warning{name, f.lines, fmt.Sprintf("file shrank from %d to %d bytes; run files are append-only, new content ignored", f.off, size)})
		case size == f.torn:
			// Only the torn tail of a gone writer, already reported.
		case size > f.off:
			todo = append(todo, f)
		}
	}
	if len(todo) > 0 {
		if err := s.ingestFiles(ctx, st, todo); err != nil {
			return err
		}
		if st.Records > 0 {
			s.gen.Add(1)
		}
	}
	s.settle(sizes, files)
	return s.refreshStatus(ctx)
}

func (s *Store) ingestFiles(ctx context.Context, st *IngestStats, todo []*fileRow) (err error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", s.path, err)
	}
	defer conn.Close()
	in := &ingester{s: s, conn: conn, st: st, strs: map[string]string{}, stats: map[statKey]*statRow{}, touched: map[int32]bool{}}
	if _, err := conn.ExecContext(ctx, `BEGIN TRANSACTION`); err != nil {
		return fmt.Errorf("%s: %w", s.path, err)
	}
	committed := false
	defer func() {
		in.closeAppenders()
		if !committed {
			conn.ExecContext(context.Background(), `ROLLBACK`)
		}
	}()
	if err := in.load(ctx); err != nil {
		return err
	}
	// The state of partly ingested files is read before the pipeline
	// starts: from then on the appender goroutine owns the connection.
	states := make([]*fileState, len(todo))
	for i, f := range todo {
		states[i] = &fileState{f: f}
		if f.known && f.sid > 0 {
			if err := in.resume(ctx, states[i]); err != nil {
				return err
			}
		}
	}
	if err := conn.Raw(func(dc any) error {
		c := dc.(driver.Conn)
		for t, name := range tableNames {
			a, err := duckdb.NewAppender(c, "", "raw", name)
			if err != nil {
				return err
			}
			in.apps[t] = a
		}
		return nil
	}); err != nil {
		return fmt.Errorf("%s: open appenders: %w", s.path, err)
	}
	in.startAppending()
	for _, fs := range states {
		if err := ctx.Err(); err != nil {
			in.finishAppending()
			return err
		}
		if err := in.file(ctx, fs); err != nil {
			in.finishAppending()
			return err
		}
	}
	if err := in.finishAppending(); err != nil {
		return fmt.Errorf("%s: %w", s.path, err)
	}
	if err := in.flushAppenders(); err != nil {
		return fmt.Errorf("%s: append: %w", s.path, err)
	}
	if err := in.save(ctx, todo); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, `COMMIT`); err != nil {
		return fmt.Errorf("%s: commit ingest: %w", s.path, err)
	}
	committed = true
	return nil
}

func (in *ingester) warn(file string, line int64, format string, args ...any) {
	in.st.Skipped++
	in.note(file, line, format, args...)
}

// note records a warning without counting a skipped line.
func (in *ingester) note(file string, line int64, format string, args ...any) {
	if len(in.st.Warnings) < maxWarnings {
		in.st.Warnings = append(in.st.Warnings, Warning{file, line, fmt.Sprintf(format, args...)})
	}
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

type ingestedKey struct{}

// Ingested returns a context under which the store's reads do not ingest
// first, for a caller that has just called Ingest and reads at once (flor
// ui, once per request): over thousands of run files, listing and stat-ing
// them again is a good part of a cheap read.
func Ingested(ctx context.Context) context.Context {
	return context.WithValue(ctx, ingestedKey{}, true)
}

// ingestFor is the Ingest a read starts with: none under Ingested.
func (s *Store) ingestFor(ctx context.Context) error {
	if ctx.Value(ingestedKey{}) != nil {
		return nil
	}
	_, err := s.Ingest(ctx)
	return err
}
