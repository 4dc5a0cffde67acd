package storage

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// WithReadOnly opens the store without writing anything: DuckDB opens the
// database read-only and Ingest does nothing, so the store shows the runs
// as last ingested. Open chooses this by itself when the home or its
// database file cannot be written.
func WithReadOnly() Option {
	return func(o *options) { o.readOnly = true }
}

// ReadOnly reports whether the store was opened without write access: it
// shows what was last ingested, or (Memory) holds the run files in memory.
func (s *Store) ReadOnly() bool { return s.frozen || s.memory }

// Memory reports whether the store lives in memory, because the home is
// read-only and holds no usable database: it is ingested afresh on every
// Open and nothing is saved.
func (s *Store) Memory() bool { return s.memory }

// checkHome refuses homes that would scatter files where they do not
// belong: the root directory, or a path that is a file.
func checkHome(abs string) error {
	if filepath.Dir(abs) == abs {
		return fmt.Errorf("%w: %s is the root directory; set FLOR_HOME to a directory of its own", ErrHome, abs)
	}
	if fi, err := os.Stat(abs); err == nil && !fi.IsDir() {
		return fmt.Errorf("%w: %s is a file, not a directory", ErrHome, abs)
	}
	return nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// isReadOnlyError tells DuckDB's failures to write a file it may not write.
func isReadOnlyError(err error) bool {
	if err == nil {
		return false
	}
	m := err.Error()
	return strings.Contains(m, "Permission denied") || strings.Contains(m, "Read-only file system") ||
		strings.Contains(m, "read-only mode")
}

// openReadOnly opens the store of a home that cannot be written: the
// database read-only when it is there and of this version, else an
// in-memory store filled from the run files. It says which on the
// messages writer.
func (s *Store) openReadOnly(ctx context.Context) (*Store, error) {
	why := "it has no store yet"
	if exists(s.path) {
		err := s.connect(ctx, s.path+dsnOptions+"&access_mode=READ_ONLY")
		switch {
		case err == nil && s.schemaCurrent(ctx):
			s.frozen = true
			fmt.Fprintf(s.opts.messages, "flor: %s is read-only: showing the store as last ingested, without runs recorded since\n", s.path)
			return s, nil
		case err == nil:
			why = "its store was made by another version of flor"
			s.disconnect()
		case ctx.Err() != nil || isLockError(err) || strings.Contains(err.Error(), ErrLocked.Error()):
			return nil, err
		default:
			why = "its store cannot be opened: " + err.Error()
		}
	}
	if err := s.connect(ctx, ":memory:"+dsnOptions); err != nil {
		return nil, err
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	s.memory = true
	fmt.Fprintf(s.opts.messages, "flor: %s is read-only and %s: reading the run files into memory, nothing is saved\n", s.home, why)
	return s, nil
}

// reopenReadOnly opens s's home again read-only, after a read-write open
// found it could not write.
func (s *Store) reopenReadOnly(ctx context.Context) (*Store, error) {
	fresh := &Store{home: s.home, path: s.path, opts: s.opts}
	return fresh.openReadOnly(ctx)
}

// schemaCurrent reports whether the database holds this version's schema.
func (s *Store) schemaCurrent(ctx context.Context) bool {
	var version string
	err := s.db.QueryRowContext(ctx, `SELECT value FROM raw.meta WHERE key = 'schema'`).Scan(&version)
	return err == nil && version == schemaVersion
}

// disconnect closes the database and lets other Stores of the path in,
// leaving s usable for another connect.
func (s *Store) disconnect() {
	if s.db != nil {
		s.db.Close()
		s.db = nil
	}
	if s.release != nil {
		s.release()
		s.release = nil
	}
}
