// Package record owns flor's run-file format (docs/records.md): the record
// kinds and their keys, the value types and the codes the store gives
// them, the format version, the timestamp layouts, the zero-allocation
// appenders the runtime writes records with, and the one decoder every
// reader uses.
//
// It is for code that writes or reads run files: runtime, storage and
// planner. It is not a general JSON library (a line is one flat object),
// and it knows nothing of DuckDB, git or replay planning. It depends on the
// standard library only, since the runtime, linked into every user
// program, imports it.
package record
