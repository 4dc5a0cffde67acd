package planner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/flordb/flor/analyzer"
	"github.com/flordb/flor/rewrite"
	"github.com/flordb/flor/rewrite/propagate"
)

// analyze loads and analyses the main package in dir. A program without a
// main loop is all prefix: replaying it is running it, which needs no
// checkpoint, so that error alone does not stop a replay. buildFlags are
// those the run was built with (buildFlags).
func analyze(ctx context.Context, dir string, buildFlags []string) (*analyzer.Analysis, error) {
	a, err := analyzer.Analyze(ctx, dir, analyzer.WithBuildFlags(buildFlags...))
	if err != nil && a != nil && a.MainLoop == nil && onlyNoMainLoop(a) {
		return a, nil
	}
	return a, err
}

func onlyNoMainLoop(a *analyzer.Analysis) bool {
	for _, d := range a.Diagnostics {
		if d.Severity == analyzer.SevError && !errors.Is(d, analyzer.ErrNoMainLoop) {
			return false
		}
	}
	return true
}

// propagateInto carries the statements logging names from the package in
// newDir into the package in oldDir, rewriting oldDir's files, and says
// what it did to each. Both versions are loaded with buildFlags, those the
// run was built with: a file behind a build tag of the run is part of it.
func propagateInto(ctx context.Context, newDir, oldDir string, names []string, buildFlags []string) ([]string, error) {
	res, err := propagate.Package(newDir, oldDir, propagate.Names(names...), propagate.BuildFlags(buildFlags...))
	if err != nil {
		return nil, fmt.Errorf("propagating into the run's version: %w", err)
	}
	var notes []string
	for _, o := range res.Outcomes {
		switch o.Status {
		case propagate.Inserted:
			notes = append(notes, fmt.Sprintf("%s inserted at %s:%d", o.Target, relName(oldDir, o.Old.Filename), o.Old.Line))
		case propagate.Present:
			notes = append(notes, fmt.Sprintf("%s already at %s:%d", o.Target, relName(oldDir, o.Old.Filename), o.Old.Line))
		default:
			notes = append(notes, o.String())
		}
	}
	if err := res.Err(); err != nil {
		return notes, fmt.Errorf("propagating into the run's version: %w", err)
	}
	if err := res.Write(oldDir); err != nil {
		return notes, err
	}
	return notes, nil
}

// relName shows a file of the materialised version by its name in it.
func relName(dir, file string) string {
	if rel, err := filepath.Rel(dir, file); err == nil && filepath.IsLocal(rel) {
		return filepath.ToSlash(rel)
	}
	return filepath.Base(file)
}

// instrument wraps the skippable blocks of the analysed package in skip
// blocks, and guards the log statements replay may skip, rewriting its
// files. A program without a main loop has none.
// Each guarded statement is a line of log.
func instrument(ctx context.Context, a *analyzer.Analysis, log io.Writer) error {
	if a.MainLoop == nil {
		return nil
	}
	files, guarded, err := rewrite.InstrumentReplay(a)
	if err != nil {
		return fmt.Errorf("instrumenting the run's version: %w", err)
	}
	for _, l := range guarded {
		fmt.Fprintf(log, "instrument: %s at %s skipped when its value is not kept: %s\n", l.Name, l.Pos, l.Elide.Why)
	}
	return rewrite.WriteFiles(files)
}
