package planner

import (
	"context"
	"math"
	"time"

	"github.com/flordb/flor/internal/record"
	"github.com/flordb/flor/storage"
)

// MissingRuns returns the runs in the store that lack at least one of
// names, filtered by where (SQL over dataframe columns, "" for all).
// Runs still recording are left out, and so are runs recorded by units
// (flor.Begin: one request's values in a server), which have no program
// run of their own to replay.
func MissingRuns(ctx context.Context, st *storage.Store, names []string, where string) ([]*Run, error) {
	infos, err := st.RunsMissing(ctx, names, where)
	if err != nil {
		return nil, err
	}
	runs := make([]*Run, 0, len(infos))
	for _, in := range infos {
		if in.Status == storage.StatusRunning {
			continue // still recording: nothing to replay yet
		}
		r := fromInfo(in)
		m, err := st.RunMeta(ctx, in.Run)
		if err != nil {
			return nil, err
		}
		if m.Unit {
			continue
		}
		r.Cwd, r.Stale, r.Captured, r.Build = m.Cwd, m.Stale, m.Captured, m.Build
		runs = append(runs, r)
	}
	if err := checkpointBytes(ctx, st, runs); err != nil {
		return nil, err
	}
	return runs, nil
}

func fromInfo(in storage.RunInfo) *Run {
	r := &Run{
		ProjID: in.Projid, Tstamp: record.FormatTime(in.Tstamp), Filename: in.Filename,
		Snapshot: in.Snapshot, File: in.Path, Argv: in.Argv, Kwargs: in.Kwargs, Status: in.Status,
		Prefix: secsDur(in.Profile.Prefix), Suffix: secsDur(in.Profile.Suffix),
	}
	for _, s := range in.Profile.Iteration {
		r.Iterations = append(r.Iterations, secsDur(s))
	}
	r.Nested = make([]time.Duration, len(r.Iterations))
	for _, per := range in.Profile.Nested {
		for e, s := range per {
			if e < len(r.Nested) {
				r.Nested[e] += secsDur(s)
			}
		}
	}
	return r
}

func secsDur(s float64) time.Duration {
	if math.IsNaN(s) || math.IsInf(s, 0) || s < 0 {
		return 0
	}
	return time.Duration(s * float64(time.Second))
}

// stillMissing reads again, from the store, which of its names each row's
// run lacks: another replay may have filled some in since the schedule
// was made. A row whose run lacks none is settled.
func stillMissing(ctx context.Context, opt Options, rows []*Row) (missing map[*Row][]string, err error) {
	st, err := storage.Open(ctx, opt.Home, storage.WithMessages(opt.Progress))
	if err != nil {
		return nil, err
	}
	defer st.Close()
	infos, err := st.RunsMissing(ctx, opt.Names, "")
	if err != nil {
		return nil, err
	}
	byPath := map[string][]string{}
	for _, in := range infos {
		byPath[in.Path] = in.Missing
	}
	missing = map[*Row][]string{}
	for _, r := range rows {
		missing[r] = byPath[r.Run.File]
	}
	return missing, nil
}
