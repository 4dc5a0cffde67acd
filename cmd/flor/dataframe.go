package main

import (
	"context"
	"flag"
)

// dataframeOptions is what flor dataframe was asked for.
type dataframeOptions struct {
	out   formatFlags
	where string
	names []string
}

var dataframeCmd = &spec[dataframeOptions]{
	Name:    "dataframe",
	Summary: "show logged values as a table (FlorDB's dataframe)",
	Usage: `Usage: flor dataframe [--format table|csv|json] [--max-rows n] [NAME...]

Shows the values logged under the given names, one column per name, keyed
by the run (projid, tstamp, filename) and the loops each value was logged
in: a loop named epoch gives a column epoch (the iteration, from 0) and,
when the loop yields numbers, strings or bools, epoch_value. The names'
columns are joined on the columns they share, so a hyper-parameter repeats
on every step of its run and a per-epoch metric on every step of its epoch.
Values replayed later (flor replay) appear as if they had been recorded.

With no names, shows one row per run with its values logged outside every
loop, flor.Arg values included.

A name nothing logged gives an empty column and a note on stderr. Names are
taken as they are: quote names with spaces for the shell, and put names
that start with - after --.

Flags:

	--format f     table (default), csv or json
	--max-rows n   table format: at most n rows, head and tail (default 60;
	               0 shows all)
	--width n      table format: drop middle columns to fit n characters
	               (default $COLUMNS, else no limit)
	--where expr   only the rows where expr, a SQL condition over the
	               frame's columns, holds (e.g. 'epoch >= 1 AND lr > 0.001')

Examples:

	flor dataframe
	flor dataframe lr loss
	flor dataframe lr val_acc --format csv > results.csv
	flor dataframe lr loss --where 'lr > 0.001 AND epoch = 2'
	flor dataframe 'learning rate' --format json
	flor dataframe --format csv -- -weird-name
`,
	Flags: func(fs *flag.FlagSet, o *dataframeOptions) {
		o.out.register(fs, 60)
		fs.StringVar(&o.where, "where", "", "only rows where this SQL `condition` over the frame's columns holds")
	},
	Args: func(o *dataframeOptions, names []string) error {
		o.names = names
		return o.out.check()
	},
	Run: runDataframe,
}

func runDataframe(ctx context.Context, e *env, o *dataframeOptions) error {
	s, err := e.open(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	f, err := s.DataframeWhere(ctx, o.where, o.names...)
	if err != nil {
		return err
	}
	e.notes(f)
	return o.out.write(e, f)
}
