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
// When FLOR_REPLAY names a replay plan, the same calls replay a past run
// instead: Arg returns the recorded values, only the requested names are
// written, and nested loops and skip blocks without new statements are
// skipped, their effects restored from the checkpoints the run recorded.
//
// The package is pure Go and never opens the DuckDB store (storage/ ingests
// the files); it is linked into every user program and every replayed
// version, so it keeps its dependencies few.
package runtime
