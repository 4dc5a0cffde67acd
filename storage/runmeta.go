package storage

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/flordb/flor/internal/record"
)

// ErrRunRecord: a run file does not start with a readable run record.
var ErrRunRecord = errors.New("no run record")

// RunMeta is what replaying a run needs to know of how it ran, beyond
// Run: where, whether its snapshot can be trusted, and which states it
// kept.
type RunMeta struct {
	Cwd string // the program's working directory
	// Stale: its Go sources were newer than its executable, so its
	// snapshot may not be the code that ran.
	Stale bool
	// Captured counts the main-loop iterations whose end state the run
	// checkpointed: a replay may start only after one of those.
	Captured int
	// Unit: a unit (flor.Begin) recorded it, a request's values with no
	// program of its own to rerun.
	Unit bool
	// Build is how its program was built and the environment it declared
	// (flor.RecordEnv): replay builds and runs its version the same way.
	Build Build
}

// Build is a run's recorded build settings and declared environment.
type Build struct {
	Tags     string            // -tags, comma-separated
	Settings map[string]string // CGO_ENABLED, GOOS, GOARCH, GOAMD64, ...
	Env      map[string]string // declared variables and their values
}

// RunMeta returns r's metadata: the checkpoints as of the last ingest
// (Runs and RunsMissing ingest), the rest from its run record, which the
// store does not keep.
func (s *Store) RunMeta(ctx context.Context, r Run) (RunMeta, error) {
	var m RunMeta
	// The run's own file: replays capture nothing.
	err := s.db.QueryRowContext(ctx, `SELECT count(DISTINCT k.e) FROM raw.ckpts k
		JOIN raw.sources s ON s.sid = k.sid
		WHERE s.path = ? AND s.kind = 'run' AND k.b = ''`, s.rel(r.Path)).Scan(&m.Captured)
	if err != nil {
		return m, fmt.Errorf("%s: checkpoints of %s: %w", s.path, r.Path, err)
	}
	line, err := firstLine(r.Path)
	if err != nil {
		return m, fmt.Errorf("run %s: %w", record.FormatTime(r.Tstamp), err)
	}
	var d record.Decoder
	l, err := d.Decode(line)
	if err != nil {
		return m, fmt.Errorf("run %s: %s: %w: %w", record.FormatTime(r.Tstamp), r.Path, ErrRunRecord, err)
	}
	rec, err := l.Run()
	if err != nil {
		return m, fmt.Errorf("run %s: %s: %w: %w", record.FormatTime(r.Tstamp), r.Path, ErrRunRecord, err)
	}
	m.Cwd, m.Stale, m.Unit = rec.Cwd, rec.Stale, rec.Unit
	if b := rec.Build; b != nil {
		m.Build = Build{Tags: b.Tags, Settings: b.Settings, Env: b.Env}
	}
	return m, nil
}

// firstLine reads a file's first line, its run record.
func firstLine(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 64<<20)
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return nil, fmt.Errorf("%s is empty: %w", path, ErrRunRecord)
	}
	return sc.Bytes(), nil
}
