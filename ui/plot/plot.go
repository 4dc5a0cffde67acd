// Package plot draws static charts of logged series for flor plot: one
// panel per name, the runs overlaid, with a legend of the kwargs that
// differ among them. It reads through package storage and writes PNG or
// SVG with gonum.org/v1/plot; it is not the interactive UI (package ui).
package plot

import (
	"context"
	"errors"
	"fmt"
	"image/color"
	"io"
	"slices"
	"strings"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/flordb/flor/storage"
)

// Errors callers branch on.
var (
	// ErrFormat: the output format is neither png nor svg.
	ErrFormat = errors.New("unknown image format")
	// ErrNoData: no run logged any of the names (after the filter).
	ErrNoData = errors.New("nothing to plot")
)

// Options says what to draw.
type Options struct {
	Names []string // one panel each
	By    string   // label runs by this kwarg only ("" : every differing kwarg)
	Where string   // a WHERE over dataframe columns, as in flor dataframe
	X     string   // storage.XStep, XEpoch or XGlobal ("" is XGlobal)
	// Format is "png" or "svg".
	Format string
	// Width and height of one panel (defaults 16cm by 8cm).
	Width, Height vg.Length
	// MaxPoints per series (default 2000).
	MaxPoints int
}

// Palette is the colour of the i-th run's line, cycling.
var Palette = []color.RGBA{
	{0x1f, 0x77, 0xb4, 0xff}, {0xd6, 0x27, 0x28, 0xff}, {0x2c, 0xa0, 0x2c, 0xff}, {0xff, 0x7f, 0x0e, 0xff},
	{0x94, 0x67, 0xbd, 0xff}, {0x8c, 0x56, 0x4b, 0xff}, {0xe3, 0x77, 0xc2, 0xff}, {0x17, 0xbe, 0xcf, 0xff},
}

// Write draws the chart and writes it to w.
func Write(ctx context.Context, s *storage.Store, w io.Writer, o Options) error {
	if o.Format != "png" && o.Format != "svg" {
		return fmt.Errorf("%w %q: want png or svg", ErrFormat, o.Format)
	}
	if o.Width == 0 {
		o.Width = 16 * vg.Centimeter
	}
	if o.Height == 0 {
		o.Height = 8 * vg.Centimeter
	}
	if o.MaxPoints == 0 {
		o.MaxPoints = 2000
	}
	if o.X == "" {
		o.X = storage.XGlobal
	}
	rows, err := s.RunTable(ctx, o.Where, o.Names)
	if err != nil {
		return err
	}
	var runs []storage.Run
	for _, r := range rows {
		if len(r.Summaries) > 0 {
			runs = append(runs, r.Run)
		}
	}
	if len(runs) == 0 {
		return fmt.Errorf("%w: no run logged %s", ErrNoData, strings.Join(o.Names, ", "))
	}
	ids := make([]string, len(runs))
	for i, r := range runs {
		ids[i] = r.ID()
	}
	labels := Labels(runs, o.By)
	var plots [][]*gplot.Plot
	for _, name := range o.Names {
		ss, err := s.Series(ctx, storage.SeriesQuery{Name: name, Runs: ids, X: o.X, MaxPoints: o.MaxPoints})
		if err != nil {
			return err
		}
		p := gplot.New()
		p.Title.Text = name
		p.X.Label.Text = o.X
		p.Legend.Top = true
		for i, sr := range ss {
			if len(sr.X) == 0 {
				continue
			}
			xys := make(plotter.XYs, len(sr.X))
			for j := range sr.X {
				xys[j] = plotter.XY{X: sr.X[j], Y: sr.Y[j]}
			}
			slices.SortStableFunc(xys, func(a, b plotter.XY) int {
				switch {
				case a.X < b.X:
					return -1
				case a.X > b.X:
					return 1
				}
				return 0
			})
			l, err := plotter.NewLine(xys)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			l.Color = Palette[i%len(Palette)]
			l.Width = vg.Points(1.2)
			p.Add(l)
			p.Legend.Add(labels[i], l)
		}
		plots = append(plots, []*gplot.Plot{p})
	}
	width, height := o.Width, o.Height*vg.Length(len(plots))
	var canvas vg.CanvasSizer
	var out io.WriterTo
	if o.Format == "svg" {
		sc := vgsvg.New(width, height)
		canvas, out = sc, sc
	} else {
		ic := vgimg.New(width, height)
		canvas, out = ic, vgimg.PngCanvas{Canvas: ic}
	}
	tiles := draw.Tiles{Rows: len(plots), Cols: 1}
	for i, cs := range gplot.Align(plots, tiles, draw.New(canvas)) {
		plots[i][0].Draw(cs[0])
	}
	_, err = out.WriteTo(w)
	return err
}

// Labels names each run for a legend: by the kwarg by when given, else by
// the kwargs whose values differ among runs, else by tstamp.
func Labels(runs []storage.Run, by string) []string {
	var keys []string
	if by != "" {
		keys = []string{by}
	} else {
		seen := map[string]bool{}
		for _, r := range runs {
			for k := range r.Kwargs {
				if seen[k] {
					continue
				}
				seen[k] = true
				vals := map[string]bool{}
				for _, o := range runs {
					v, ok := o.Kwargs[k]
					vals[fmt.Sprint(ok, v)] = true
				}
				if len(vals) > 1 {
					keys = append(keys, k)
				}
			}
		}
		slices.Sort(keys)
	}
	out := make([]string, len(runs))
	for i, r := range runs {
		var parts []string
		for _, k := range keys {
			parts = append(parts, k+"="+r.Kwargs[k])
		}
		if len(parts) == 0 {
			parts = []string{r.Tstamp.Format("2006-01-02 15:04:05")}
		}
		out[i] = strings.Join(parts, " ")
	}
	return out
}
