// Package ui is flor ui: a local web app over a flor store. It serves a
// single page (plain JavaScript, embedded, with uPlot vendored beside it)
// and the JSON endpoints it reads: runs with summaries of chosen metrics,
// a run's details, series downsampled on the server, the comparison of two
// runs (kwargs and the code diff of their snapshots), the hindsight view
// (names the program's code in the working tree logs, as the analyzer
// finds them, or else the newest run, that older runs lack; replays and
// their logs) and a read-only SQL console. Charts grouped by a kwarg are
// aggregated in the browser from the downsampled series.
//
// It only reads: every query goes through package storage (user WHERE
// filters through its validation, SQL through Store.Query, which cannot
// change the store), files are read from the flor home and from git
// objects, and only GET and HEAD are served. Names and values reach the
// page as JSON and are put in the DOM as text, never as markup.
//
// It is not for recording or replaying: that is the runtime's and the
// planner's.
package ui
