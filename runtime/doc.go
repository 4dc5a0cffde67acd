// Package runtime records a training run and controls its replay from inside
// the user's program.
//
// It is what the module root package flor fronts: every flor.Log, flor.Loop,
// flor.Arg and flor.Checkpoint call lands here. A run appends JSON-lines
// records to one file in the project's flor directory (see docs/records.md
// at the module root), flushed at least every second and at Commit, and
// snapshots the working tree as a commit on the flor.shadow branch without
// touching HEAD, the index or the working tree. Checkpoint blobs are stored
// content-addressed.
//
// A logged value is queued as it was given and encoded by the writer's
// goroutine, among the other records in the order they were made
// (queue.go), so a training step does not wait for number formatting.
//
// With FLOR_RECORD=0 the calls record nothing and touch no file (off.go):
// the same program runs as if its flor calls were not there.
//
// When FLOR_REPLAY names a replay plan, the same calls replay a past run
// instead: Arg returns the recorded values, only the requested names are
// written, and nested loops and skip blocks without new statements are
// skipped, their effects restored from the checkpoints the run recorded.
//
// The package is pure Go and never opens the DuckDB store (storage/ ingests
// the files); it is linked into every user program and every replayed
// version, so it keeps its dependencies few.
package runtime
