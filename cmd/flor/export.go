package main

import (
	"context"
	"flag"
	"fmt"
	"text/tabwriter"

	"github.com/flordb/flor/internal/cli"
	"github.com/flordb/flor/storage"
)

// exportOptions is what flor export was asked for.
type exportOptions struct {
	dir   string
	names []string
}

var exportCmd = &spec[exportOptions]{
	Name:    "export",
	Summary: "write the store as Parquet files",
	Usage: `Usage: flor export -o DIR [NAME...]

Writes the store's views (runs, logs, loops, checkpoints, warnings) into
DIR, which it creates, one Parquet file each (<view>.parquet, zstd), and
with names, dataframe.parquet: the same table as 'flor dataframe NAME...'.
Any Parquet reader (DuckDB, pandas, polars, Spark) reads them without
flor. An existing export in DIR is never overwritten.

Flags:

	-o DIR   the directory to write (required)

Examples:

	flor export -o /shared/exports/2026-12-02
	flor export -o out lr loss val_acc
	duckdb -c "SELECT * FROM 'out/dataframe.parquet' WHERE val_acc > 0.9"
`,
	Flags: func(fs *flag.FlagSet, o *exportOptions) { fs.StringVar(&o.dir, "o", "", "the `directory` to write") },
	Args: func(o *exportOptions, names []string) error {
		if o.dir == "" {
			return cli.Usagef("export needs -o DIR")
		}
		o.names = names
		return nil
	},
	Run: runExport,
}

func runExport(ctx context.Context, e *env, o *exportOptions) error {
	s, err := e.open(ctx, storage.WithExportDir(o.dir))
	if err != nil {
		return err
	}
	defer s.Close()
	files, err := s.ExportParquet(ctx, o.dir, o.names...)
	w := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	for _, f := range files {
		fmt.Fprintf(w, "%s\t%d rows\t%s\n", f.Path, f.Rows, bytesize(f.Bytes))
	}
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	return err
}
