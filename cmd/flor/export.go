package main

import (
	"context"
	"flag"
	"fmt"
	"text/tabwriter"
)

var exportCmd = &command{
	name:    "export",
	summary: "write the store as Parquet files",
	usage: `Usage: flor export -o DIR [NAME...]

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
	run: runExport,
}

func runExport(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	dir := fs.String("o", "", "output directory")
	names, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *dir == "" {
		return &usageError{msg: "export needs -o DIR"}
	}
	s, err := e.open(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	files, err := s.ExportParquet(ctx, *dir, names...)
	w := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	for _, f := range files {
		fmt.Fprintf(w, "%s\t%d rows\t%s\n", f.Path, f.Rows, bytesize(f.Bytes))
	}
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	return err
}
