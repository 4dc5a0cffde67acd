package planner

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/flordb/flor/storage"
)

// checkpointBytes fills in, for each run, the bytes of the checkpoints a
// replay restores (Run.EndBytes, Run.BlockBytes), from the store's
// checkpoints and the sizes of their objects in the home.
func checkpointBytes(ctx context.Context, st *storage.Store, runs []*Run) error {
	home := st.Home()
	bySrc := map[string]*Run{}
	for _, r := range runs {
		rel, err := filepath.Rel(home, r.File)
		if err != nil {
			continue
		}
		bySrc[filepath.ToSlash(rel)] = r
		r.EndBytes = make([]int64, len(r.Iterations))
		r.BlockBytes = make([]int64, len(r.Iterations))
	}
	if len(bySrc) == 0 {
		return nil
	}
	rows, err := st.DB().QueryContext(ctx, `SELECT src, iteration, coalesce(block, ''), coalesce(CAST(objs AS VARCHAR), '{}') FROM checkpoints`)
	if err != nil {
		return fmt.Errorf("checkpoint sizes: %w", err)
	}
	defer rows.Close()
	sizes := map[string]int64{}
	size := func(h string) int64 {
		if n, ok := sizes[h]; ok {
			return n
		}
		var n int64
		if len(h) > 2 {
			if fi, err := os.Stat(filepath.Join(home, "objects", h[:2], h[2:])); err == nil {
				n = fi.Size()
			}
		}
		sizes[h] = n
		return n
	}
	for rows.Next() {
		var src, block, objs string
		var e int64
		if err := rows.Scan(&src, &e, &block, &objs); err != nil {
			return fmt.Errorf("checkpoint sizes: %w", err)
		}
		r := bySrc[src]
		if r == nil || e < 0 || e >= int64(len(r.Iterations)) {
			continue
		}
		var m map[string]string
		if json.Unmarshal([]byte(objs), &m) != nil {
			continue
		}
		var n int64
		for _, h := range m {
			n += size(h)
		}
		if block == "" {
			r.EndBytes[e] += n
		} else {
			r.BlockBytes[e] += n
		}
	}
	return rows.Err()
}
