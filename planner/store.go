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
		if err := r.readHeader(); err != nil {
			return nil, err
		}
		runs = append(runs, r)
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
