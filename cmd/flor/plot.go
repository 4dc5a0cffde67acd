package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/flordb/flor/internal/cli"
	"github.com/flordb/flor/storage"
	"github.com/flordb/flor/ui/plot"
)

// plotOptions is what flor plot was asked for.
type plotOptions struct {
	out, by, where, x string
	names             []string
}

var plotCmd = &spec[plotOptions]{
	Name:    "plot",
	Summary: "draw logged series to a PNG or SVG file",
	Usage: `Usage: flor plot NAME... [--by KWARG] [--where EXPR] [--x step|epoch|global] -o FILE.png|svg

Draws one panel per name with the runs overlaid, and a legend of the
kwargs that differ among them (or of --by's kwarg alone).

Flags:

	-o file        the image: .png or .svg
	--by kwarg     label runs by this kwarg
	--where expr   only runs with a dataframe row where expr holds
	--x axis       step, epoch or global (default global: the n-th value)

Examples:

	flor plot loss -o loss.png
	flor plot loss val_acc --by lr --where "lr >= 0.001" --x epoch -o curves.svg
`,
	Flags: func(fs *flag.FlagSet, o *plotOptions) {
		fs.StringVar(&o.out, "o", "", "output `file` (.png or .svg)")
		fs.StringVar(&o.by, "by", "", "label runs by this `kwarg`")
		fs.StringVar(&o.where, "where", "", "a WHERE `expr` over dataframe columns")
		fs.StringVar(&o.x, "x", storage.XGlobal, "x `axis`: step, epoch or global")
	},
	Args: func(o *plotOptions, names []string) error {
		if len(names) == 0 {
			return cli.Usagef("plot needs at least one name")
		}
		if o.out == "" {
			return cli.Usagef("plot needs -o FILE.png or -o FILE.svg")
		}
		if f := plotFormat(o.out); f != "png" && f != "svg" {
			return cli.Usagef("-o %s: want a .png or .svg file", o.out)
		}
		switch o.x {
		case storage.XStep, storage.XEpoch, storage.XGlobal:
		default:
			return cli.Usagef("--x %s: want step, epoch or global", o.x)
		}
		o.names = names
		return nil
	},
	Run: runPlot,
}

// plotFormat is the image format an output file's name asks for.
func plotFormat(name string) string {
	return strings.TrimPrefix(strings.ToLower(filepath.Ext(name)), ".")
}

func runPlot(ctx context.Context, e *env, o *plotOptions) error {
	out, by, where, x, names := &o.out, &o.by, &o.where, &o.x, o.names
	format := plotFormat(*out)
	if !filepath.IsAbs(*out) {
		*out = filepath.Join(e.dir, *out)
	}
	s, err := e.open(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	err = plot.Write(ctx, s, f, plot.Options{Names: names, By: *by, Where: *where, X: *x, Format: format})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(*out)
		return err
	}
	fmt.Fprintf(e.stdout, "wrote %s\n", *out)
	return nil
}
