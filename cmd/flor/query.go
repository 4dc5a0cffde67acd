package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/flordb/flor/internal/cli"
)

// queryOptions is what flor query was asked for.
type queryOptions struct {
	out formatFlags
	sql string // "-": read it from stdin
}

var queryCmd = &spec[queryOptions]{
	Name:    "query",
	Summary: "run SQL over the store",
	Usage: `Usage: flor query [--format table|csv|json] [--max-rows n] SQL

Runs a DuckDB SQL query over the store and prints its result. SQL may be
given as several arguments (joined with spaces), or as - to read it from
standard input.

Views:

	runs         projid, tstamp, filename, snapshot, kwargs (JSON), status
	             (finished | running | unfinished), started, ended, pid,
	             host, argv (JSON), src
	logs         projid, tstamp, filename, ctx_id, value_name, value (the
	             value's JSON text), value_type (int, float, bool, str,
	             json), is_arg, internal, replayed, src, line
	loops        projid, tstamp, filename, ctx_id, p_ctx_id, l_name,
	             iteration, l_value, src
	checkpoints  projid, tstamp, filename, iteration, block, occurrence,
	             objs (JSON), extras (JSON), src
	warnings     projid, tstamp, filename, msg, src, line

A run is (projid, tstamp, filename); ctx_id is numbered per run file, so
join logs and loops on src and ctx_id.

Flags:

	--format f     table (default), csv or json
	--max-rows n   table format: at most n rows, head and tail (default 60;
	               0 shows all)
	--width n      table format: drop middle columns to fit n characters

Examples:

	flor query 'SELECT tstamp, status, kwargs FROM runs'
	flor query "SELECT value_name, count(*) FROM logs GROUP BY ALL"
	flor query --format csv 'SELECT l.value, p.iteration AS epoch
	    FROM logs l JOIN loops p ON p.src = l.src AND p.ctx_id = l.ctx_id
	    WHERE l.value_name = ''val_acc'''
	echo 'SELECT * FROM checkpoints' | flor query -
`,
	Flags: func(fs *flag.FlagSet, o *queryOptions) { o.out.register(fs, 60) },
	Args: func(o *queryOptions, pos []string) error {
		if len(pos) == 0 {
			return cli.Usagef("query needs SQL")
		}
		o.sql = strings.Join(pos, " ")
		return o.out.check()
	},
	Run: runQuery,
}

func runQuery(ctx context.Context, e *env, o *queryOptions) error {
	sql := o.sql
	if sql == "-" {
		b, err := io.ReadAll(e.stdin)
		if err != nil {
			return fmt.Errorf("read SQL from stdin: %w", err)
		}
		sql = string(b)
	}
	s, err := e.open(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	f, err := s.Query(ctx, sql)
	if err != nil {
		return err
	}
	return o.out.write(e, f)
}
