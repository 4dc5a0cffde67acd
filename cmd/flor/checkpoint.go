package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"text/tabwriter"

	"github.com/flordb/flor/internal/cli"
	"github.com/flordb/flor/internal/record"
	"github.com/flordb/flor/reader"
)

// checkpointOptions is what flor checkpoint was asked for.
type checkpointOptions struct {
	run       string
	iteration int64
	name      string
	out       string
	best      string
	min       bool
}

var checkpointCmd = &spec[checkpointOptions]{
	Name:    "checkpoint",
	Summary: "list a run's checkpoints, or export one to a file",
	Usage: `Usage: flor checkpoint RUN [--iteration N] [--name NAME] [-o FILE]
       flor checkpoint --best METRIC [--min] [--name NAME] -o FILE

The model registry. With RUN only, lists the run's checkpoints: a line per
captured state and registered object (iteration, block, name, blob hash,
size). With -o, writes the bytes of object NAME (needed when the run
registered several) at the end of main-loop iteration N (default the last
captured) to FILE, after checking them against their hash; "-o -" writes
to standard output. FILE must not exist.

RUN is the run's tstamp as flor runs prints it, as its records hold it
(2026-11-28T05:18:52.123456Z) or as its file is named, or a prefix of one
that only one run has.

--best METRIC picks the run and iteration where METRIC was largest (--min:
smallest), as FlorDB's export_ckpt does with val_recall.

Flags:

	--iteration N   the main-loop iteration (default: the last captured)
	--name NAME     the object, as registered with flor.Checkpoint
	-o FILE         export to FILE
	--best METRIC   the run and iteration with the best METRIC
	--min           with --best: smallest is best

Examples:

	flor checkpoint 2026-11-28T05:18
	flor checkpoint 2026-11-28T05:18 --iteration 3 --name model -o model.gob
	flor checkpoint --best val_acc --name model -o best.gob
`,
	Flags: func(fs *flag.FlagSet, o *checkpointOptions) {
		fs.Int64Var(&o.iteration, "iteration", reader.LastIteration, "the main-loop `iteration` (default: the last captured)")
		fs.StringVar(&o.name, "name", "", "the object's `name`")
		fs.StringVar(&o.out, "o", "", "export to `file` (- for standard output)")
		fs.StringVar(&o.best, "best", "", "the run and iteration with the best `metric`")
		fs.BoolVar(&o.min, "min", false, "with --best: smallest is best")
	},
	Args: func(o *checkpointOptions, pos []string) error {
		switch {
		case o.best != "" && len(pos) > 0:
			return cli.Usagef("checkpoint takes RUN or --best METRIC, not both")
		case o.best != "" && o.out == "":
			return cli.Usagef("checkpoint --best needs -o FILE")
		case o.best == "" && len(pos) != 1:
			return cli.Usagef("checkpoint needs one RUN (flor runs lists them) or --best METRIC")
		case o.min && o.best == "":
			return cli.Usagef("--min goes with --best")
		}
		if len(pos) == 1 {
			o.run = pos[0]
		}
		return nil
	},
	Run: runCheckpoint,
}

func runCheckpoint(ctx context.Context, e *env, o *checkpointOptions) error {
	h, err := e.home()
	if err != nil {
		return err
	}
	rd := reader.At(h, reader.WithMessages(e.stderr))
	if o.best != "" {
		goal := reader.Max
		if o.min {
			goal = reader.Min
		}
		b, err := rd.Best(ctx, o.best, goal, "")
		if err != nil {
			return err
		}
		o.run = record.FormatTime(b.Tstamp)
		if b.Iteration >= 0 && o.iteration == reader.LastIteration {
			o.iteration = b.Iteration
		}
		fmt.Fprintf(e.stderr, "flor: best %s = %v: run %s, iteration %d\n", o.best, b.Value, o.run, o.iteration)
	}
	run, cks, err := rd.Checkpoints(ctx, o.run)
	if err != nil {
		return err
	}
	if o.out == "" {
		return listCheckpoints(e.stdout, h, cks)
	}
	name := o.name
	if name == "" {
		names := objectNames(cks)
		if len(names) != 1 {
			return cli.WithHint(fmt.Errorf("run %s registered %d objects: %w", record.FormatTime(run.Tstamp), len(names), errNeedName),
				"choose one with --name: "+fmt.Sprint(names))
		}
		name = names[0]
	}
	data, c, err := rd.Blob(ctx, record.FormatTime(run.Tstamp), o.iteration, name)
	if err != nil {
		return err
	}
	if err := writeNew(e.stdout, o.out, data); err != nil {
		return err
	}
	if o.out != "-" {
		fmt.Fprintf(e.stderr, "flor: wrote %q of run %s, iteration %d (%s) to %s\n", name, record.FormatTime(run.Tstamp), c.Iteration, bytesize(int64(len(data))), o.out)
	}
	return nil
}

// errNeedName: the run has several objects and none was named.
var errNeedName = errors.New("name the object to export")

func objectNames(cks []reader.Checkpoint) []string {
	var names []string
	for _, c := range cks {
		for n := range c.Objs {
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	slices.Sort(names)
	return names
}

func listCheckpoints(w io.Writer, home string, cks []reader.Checkpoint) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "iteration\tblock\tname\tblob\tsize")
	for _, c := range cks {
		block := c.Block
		if block == "" {
			block = "-"
		} else if c.Occurrence > 0 {
			block = fmt.Sprintf("%s#%d", block, c.Occurrence)
		}
		names := make([]string, 0, len(c.Objs))
		for n := range c.Objs {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, n := range names {
			hash := c.Objs[n]
			size := "missing"
			if fi, err := os.Stat(filepath.Join(home, "objects", hash[:2], hash[2:])); err == nil {
				size = bytesize(fi.Size())
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", c.Iteration, block, n, hash[:12], size)
		}
	}
	return tw.Flush()
}

// writeNew writes data to path, which must not exist ("-": stdout); the
// file appears whole (written aside, then linked).
func writeNew(stdout io.Writer, path string, data []byte) error {
	if path == "-" {
		_, err := stdout.Write(data)
		return err
	}
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("%s: %w: flor checkpoint does not overwrite", path, os.ErrExist)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".flor-checkpoint-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%s: %w: flor checkpoint does not overwrite", path, os.ErrExist)
		}
		return err
	}
	return nil
}
