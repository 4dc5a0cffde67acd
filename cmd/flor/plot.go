package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/flordb/flor/storage"
	"github.com/flordb/flor/ui/plot"
)

var plotCmd = &command{
	name:    "plot",
	summary: "draw logged series to a PNG or SVG file",
	usage: `Usage: flor plot NAME... [--by KWARG] [--where EXPR] [--x step|epoch|global] -o FILE.png|svg

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
	run: runPlot,
}

func runPlot(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("plot", flag.ContinueOnError)
	out := fs.String("o", "", "output `file` (.png or .svg)")
	by := fs.String("by", "", "label runs by this `kwarg`")
	where := fs.String("where", "", "a WHERE `expr` over dataframe columns")
	x := fs.String("x", storage.XGlobal, "x `axis`: step, epoch or global")
	names, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(names) == 0 {
		return &usageError{msg: "plot needs at least one name"}
	}
	if *out == "" {
		return &usageError{msg: "plot needs -o FILE.png or -o FILE.svg"}
	}
	format := strings.TrimPrefix(strings.ToLower(filepath.Ext(*out)), ".")
	if format != "png" && format != "svg" {
		return &usageError{msg: fmt.Sprintf("-o %s: want a .png or .svg file", *out)}
	}
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
