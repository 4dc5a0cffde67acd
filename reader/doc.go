// Package reader is how a program reads flor's records: FlorDB's
// dataframe with a WHERE and a Latest mode (its utils.latest, the feature
// store and feedback loop read), the runs and their kwargs, the best run
// and iteration by a metric, and the model registry: a past run's
// checkpoints, loaded verified into the program's objects.
//
// It is for programs that read while others record or read: a web app
// that reads on every request, a training program that reads features and
// labels, an inference step that loads the best model. A Reader holds no
// DuckDB handle between calls: each call opens the store (waiting, as
// every flor command does, while another process has it), reads and
// closes it, so a long-lived reader never locks out flor commands,
// recording programs or other readers.
//
//	rd, err := reader.Open() // FLOR_HOME, else .flor of the git repository
//	f, err := rd.Dataframe(ctx, reader.Query{Names: []string{"first_page", "page_color"}, Latest: true})
//	best, err := rd.Best(ctx, "val_recall", reader.Max, "")
//	err = rd.Load(ctx, best.Tstamp, best.Iteration, "model", &model)
//
// It is not for writing records (package flor) nor for SQL over the store
// (package storage, or flor query).
package reader
