// Package storage is flor's store: a DuckDB database (flor.duckdb in the
// flor home) built from the run files the logging runtime appends, and the
// reading side on top of it: FlorDB's pivoted dataframe, SQL queries, the
// list of runs, and what the replay planner needs to know about them.
//
// It is not for writing records: the runtime appends JSON lines to
// runs/*.jsonl (docs/records.md) and never imports this package, so a
// training program never opens DuckDB. The database is a cache of those
// files: Open brings it up to date (Ingest) and it can be deleted at any
// time; it is rebuilt from the files.
//
// # Reading from a program
//
// A program that reads, for example to pick the best model, opens the store,
// asks for a dataframe and closes the store right away (while a Store is
// open, other flor commands wait for it):
//
//	s, err := storage.Open(ctx, home)
//	if err != nil { ... }
//	defer s.Close()
//	f, err := s.Dataframe(ctx, "lr", "val_acc")
//	for i := range f.Len() {
//		acc, _ := f.Value(i, "val_acc").(float64)
//		...
//	}
//
// Values keep their types: a column of ints holds int64, of numbers
// float64, of bools bool, else string; NULL is nil. Query runs any SQL over
// the views below; Runs lists runs; RunsMissing serves the replay planner.
//
// # Views
//
// Open keeps these views (in DuckDB's main schema) for Query and for any
// DuckDB client; the raw schema behind them is private and changes freely.
//
//	runs         projid, tstamp TIMESTAMP, filename, snapshot, kwargs JSON,
//	             status (finished | failed | running | unfinished), started, ended,
//	             pid, host, argv JSON, src (run file, relative to the home),
//	             slurm JSON (job, array_job, array_task, node, cluster; NULL
//	             outside Slurm)
//	logs         projid, tstamp, filename, ctx_id, value_name, value (VARCHAR:
//	             the JSON text), value_type (int, float, bool, str, json),
//	             is_arg, internal (delta:: timings), replayed, src, line
//	loops        projid, tstamp, filename, ctx_id, p_ctx_id, l_name,
//	             iteration, l_value (JSON text, NULL when not a scalar), src
//	checkpoints  projid, tstamp, filename, iteration, block, occurrence,
//	             objs JSON (name -> blob hash), extras JSON, src
//	warnings     projid, tstamp, filename, msg, src, line
//	lineage      projid, tstamp, filename (the run that read), read_projid,
//	             read_tstamp, read_filename (a run it read through package
//	             reader; the flor.read values of docs/records.md)
//
// A run is (projid, tstamp, filename). Context ids (ctx_id, p_ctx_id) are
// numbered per file, so join logs and loops on src and ctx_id together.
// Values written by a replay have the identity of the run they complete and
// replayed = true. A run's status is computed when read: finished (or
// failed) as its file's end record says, else running while its writer is
// alive (its process on this host; its file's refreshed mtime on another),
// else unfinished.
//
// # Concurrency
//
// DuckDB lets one process at a time open the database. Open waits (with a
// notice) up to a timeout for another flor command to close it, then fails
// with ErrLocked. Within a process, Stores of one home wait for each other
// the same way.
package storage
