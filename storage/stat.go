package storage

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Stats summarises a flor home.
type Stats struct {
	Runs                int // recorded runs
	Finished, Failed    int // runs by end status
	Running, Unfinished int // runs without an end record
	ReplayFiles         int // files of finished replays
	Records             int64
	Values              int64 // logged values (log records)
	Names               int   // distinct value names
	Contexts            int64 // loop iterations (ctx records)
	Checkpoints         int64 // ckpt records
	Objects             int64 // checkpoint blobs in objects/
	ObjectBytes         int64 // their total size
	DBBytes             int64 // the database file and its write-ahead log
}

// Stat summarises the store and the flor home.
func (s *Store) Stat(ctx context.Context) (Stats, error) {
	var st Stats
	var warns, sources, ends int64
	if _, err := s.Ingest(ctx); err != nil {
		return st, err
	}
	err := s.db.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM raw.runs WHERE sid IS NOT NULL),
		(SELECT count(*) FROM raw.runs WHERE sid IS NOT NULL AND status = 'finished'),
		(SELECT count(*) FROM raw.runs WHERE sid IS NOT NULL AND status = 'failed'),
		(SELECT count(*) FROM raw.runs WHERE sid IS NOT NULL AND status = 'running'),
		(SELECT count(*) FROM raw.runs WHERE sid IS NOT NULL AND status = 'unfinished'),
		(SELECT count(*) FROM raw.sources WHERE kind = 'replay'),
		(SELECT count(*) FROM raw.logs),
		(SELECT count(DISTINCT nid) FROM raw.logs),
		(SELECT count(*) FROM raw.ctx),
		(SELECT count(*) FROM raw.ckpts),
		(SELECT count(*) FROM raw.warns),
		(SELECT count(*) FROM raw.sources),
		(SELECT count(*) FROM raw.runs WHERE ended IS NOT NULL)`).Scan(
		&st.Runs, &st.Finished, &st.Failed, &st.Running, &st.Unfinished, &st.ReplayFiles,
		&st.Values, &st.Names, &st.Contexts, &st.Checkpoints, &warns, &sources, &ends)
	if err != nil {
		return st, fmt.Errorf("%s: %w", s.path, err)
	}
	// Every record is a row somewhere: run records are sources, end
	// records end times.
	st.Records = st.Values + st.Contexts + st.Checkpoints + warns + sources + ends
	err = filepath.WalkDir(filepath.Join(s.home, "objects"), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return fs.SkipAll
			}
			return err
		}
		if d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				st.Objects++
				st.ObjectBytes += fi.Size()
			}
		}
		return nil
	})
	if err != nil {
		return st, fmt.Errorf("%s: %w", s.home, err)
	}
	for _, p := range []string{s.path, s.path + ".wal"} {
		if fi, err := os.Stat(p); err == nil {
			st.DBBytes += fi.Size()
		}
	}
	return st, nil
}
