package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/flordb/flor/internal/cli"
	"github.com/flordb/flor/planner"
)

// cacheOptions is what flor cache was asked for.
type cacheOptions struct {
	clean bool // remove every entry
}

var cacheCmd = &spec[cacheOptions]{
	Name:    "cache",
	Summary: "show or clean the replay's cache of built versions",
	Usage: `Usage: flor cache [clean]

Replay keeps each version it prepares and builds (a run's snapshot with the
new statements propagated into it, instrumented and compiled) in the flor
home's cache/versions, so that replaying other runs of that version, or the
same runs again, skips the preparation and the build. An entry is reused
only for the same snapshot, program, new statements (and the working tree's
sources they come from), build settings, flor and go command.

flor cache lists the entries, most recently used first, with their size and
the cache's bound: $FLOR_CACHE_MAX bytes (suffixes K, M, G; 0 turns the
cache off), 2G when unset. When a replay stores an entry beyond the bound,
the least recently used entries are removed.

flor cache clean removes every entry, after the replay in progress, if any.

Examples:

	flor cache
	flor cache clean
	FLOR_CACHE_MAX=500M flor replay acc_top
`,
	Args: func(o *cacheOptions, args []string) error {
		switch {
		case len(args) == 0:
		case len(args) == 1 && args[0] == "clean":
			o.clean = true
		default:
			return cli.Usagef("unexpected arguments %q (want nothing, or clean)", args)
		}
		return nil
	},
	Run: runCache,
}

func runCache(ctx context.Context, e *env, o *cacheOptions) error {
	home, err := e.home()
	if err != nil {
		return err
	}
	if o.clean {
		n, size, err := planner.CleanCache(ctx, home, e.stderr)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "removed %s (%s) from %s\n", plural(n, "cached version"), bytesize(size), planner.CacheDir(home))
		return nil
	}
	es, err := planner.CacheEntries(home)
	if err != nil {
		return err
	}
	var total int64
	for _, en := range es {
		total += en.Size
	}
	bound := "off (FLOR_CACHE_MAX=0)"
	if b := planner.CacheBound(); b > 0 {
		bound = bytesize(b)
	}
	fmt.Fprintf(e.stdout, "cache %s: %s, %s (bound %s)\n", planner.CacheDir(home), plural(len(es), "version"), bytesize(total), bound)
	if len(es) == 0 {
		return nil
	}
	w := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "key\tversion\tprogram\tstatements\tsize\tlast used")
	for _, en := range es {
		used := "-" // an entry without its used file (damaged): evicted first
		if !en.Used.IsZero() {
			used = en.Used.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", en.Key[:min(12, len(en.Key))], shortHash(en.Snapshot), en.Filename,
			strings.Join(en.Names, ","), bytesize(en.Size), used)
	}
	return w.Flush()
}

func shortHash(h string) string { return h[:min(10, len(h))] }
