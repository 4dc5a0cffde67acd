package main

import (
	"context"
	"flag"

	"github.com/flordb/flor/storage"
)

// dataframeOptions is what flor dataframe was asked for.
type dataframeOptions struct {
	out    formatFlags
	where  string
	latest bool
	names  []string
}

var dataframeCmd = &spec[dataframeOptions]{
	Name:    "dataframe",
	Summary: "show logged values as a table (FlorDB's dataframe)",
	Usage: `Usage: flor dataframe [--format table|csv|json] [--max-rows n] [--where expr] [--latest] [NAME...]

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
	--latest       per key (projid, filename and the loop columns), each
	               name's value from the newest run that logged it there
	               (FlorDB's utils.latest): a correction recorded later
	               wins, names it did not log keep the older value; the
	               row's tstamp is the newest run that gave it a value.
	               Rows are filtered by --where first

Examples:

	flor dataframe
	flor dataframe lr loss
	flor dataframe lr val_acc --format csv > results.csv
	flor dataframe lr loss --where 'lr > 0.001 AND epoch = 2'
	flor dataframe page_color --latest --where "document_value = 'a.txt'"
	flor dataframe 'learning rate' --format json
	flor dataframe --format csv -- -weird-name
`,
	Flags: func(fs *flag.FlagSet, o *dataframeOptions) {
		o.out.register(fs, 60)
		fs.StringVar(&o.where, "where", "", "only rows where this SQL `condition` over the frame's columns holds")
		fs.BoolVar(&o.latest, "latest", false, "per key, each name's value from the newest run that logged it")
	},
	Args: func(o *dataframeOptions, names []string) error {
		o.names = names
		return o.out.check()
	},
	Run: runDataframe,
}

func runDataframe(ctx context.Context, e *env, o *dataframeOptions) error {
	// The read ingests; Open need not as well.
	s, err := e.open(ctx, storage.WithLazyIngest())
	if err != nil {
		return err
	}
	defer s.Close()
	read := s.DataframeWhere
	if o.latest {
		read = s.DataframeLatest
	}
	f, err := read(ctx, o.where, o.names...)
	if err != nil {
		return err
	}
	e.notes(f)
	return o.out.write(e, f)
}
