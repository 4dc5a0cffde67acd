package storage

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ExportViews lists the views Export writes, one Parquet file each.
var ExportViews = []string{"runs", "logs", "loops", "checkpoints", "warnings"}

// ErrExportDir: the export directory exists and is not a directory, or
// already holds an export.
var ErrExportDir = errors.New("export directory")

// ExportFile is one file Export wrote.
type ExportFile struct {
	Path  string // absolute
	Rows  int64
	Bytes int64
}

// ExportParquet writes the store as Parquet files into dir, which it
// creates and which the store must have been opened for (WithExportDir): one file per view of ExportViews (<view>.parquet), and, when
// names are given, dataframe.parquet holding Dataframe(names...). Any
// Parquet reader (DuckDB, pandas, Spark) then reads the runs without flor;
// a cluster's stores can be exported to a shared place and read together.
//
// Files are written under temporary names and renamed into place, so a
// crash never leaves a truncated file behind a final name. An existing
// file of the same name is refused (ErrExportDir), never overwritten.
func (s *Store) ExportParquet(ctx context.Context, dir string, names ...string) ([]ExportFile, error) {
	if _, err := s.Ingest(ctx); err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if rel, err := filepath.Rel(s.opts.exportDir, dir); s.opts.exportDir == "" || err != nil || !filepath.IsLocal(rel) && rel != "." {
		return nil, fmt.Errorf("%w %s: the store was not opened to write there (storage.WithExportDir)", ErrExportDir, dir)
	}
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		return nil, fmt.Errorf("%w %s: not a directory", ErrExportDir, dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrExportDir, err)
	}
	type job struct{ name, query string }
	var jobs []job
	for _, v := range ExportViews {
		jobs = append(jobs, job{v, "SELECT * FROM main." + quoteIdent(v)})
	}
	if len(names) > 0 {
		p, err := s.planFrame(ctx, names)
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, job{"dataframe", p.namedSQL()})
	}
	for _, j := range jobs {
		final := filepath.Join(dir, j.name+".parquet")
		if _, err := os.Lstat(final); err == nil {
			return nil, fmt.Errorf("%w: %s exists (export into a new directory)", ErrExportDir, final)
		}
	}
	var out []ExportFile
	for _, j := range jobs {
		final := filepath.Join(dir, j.name+".parquet")
		tmp := filepath.Join(dir, "."+j.name+".parquet.tmp")
		os.Remove(tmp)
		q := fmt.Sprintf("COPY (%s) TO %s (FORMAT parquet, COMPRESSION zstd)", j.query, quoteString(tmp))
		var n int64
		if err := s.db.QueryRowContext(ctx, q).Scan(&n); err != nil {
			os.Remove(tmp)
			return out, fmt.Errorf("export %s: %w", j.name, err)
		}
		if err := os.Rename(tmp, final); err != nil {
			os.Remove(tmp)
			return out, fmt.Errorf("export %s: %w", j.name, err)
		}
		fi, err := os.Stat(final)
		if err != nil {
			return out, err
		}
		out = append(out, ExportFile{Path: final, Rows: n, Bytes: fi.Size()})
	}
	return out, nil
}
