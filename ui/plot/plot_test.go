package plot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/flordb/flor/internal/record"
	"github.com/flordb/flor/storage"
)

// writeRuns writes three finished runs by hand, following docs/records.md:
// lr differs, seed does not; each logs loss per step and acc per epoch.
func writeRuns(t *testing.T, home string) {
	t.Helper()
	t0 := time.Date(2026, 11, 28, 5, 0, 0, 0, time.UTC)
	for i, lr := range []string{"0.1", "0.01", "0.001"} {
		ts := t0.Add(time.Duration(i) * time.Minute)
		dir := filepath.Join(home, "runs")
		os.MkdirAll(dir, 0o755)
		var b bytes.Buffer
		fmt.Fprintf(&b, `{"k":"run","v":1,"projid":"ml","tstamp":%q,"filename":"train","snapshot":"","kwargs":{"lr":%q,"seed":"1"},"pid":1,"host":"elsewhere","argv":[]}`+"\n",
			record.FormatTime(ts), lr)
		fmt.Fprintf(&b, `{"k":"log","c":0,"n":"lr","t":"float","v":%s,"arg":true}`+"\n", lr)
		c := 1
		for e := range 3 {
			ec := c
			c++
			fmt.Fprintf(&b, `{"k":"ctx","c":%d,"p":0,"n":"epoch","i":%d}`+"\n", ec, e)
			for s := range 4 {
				fmt.Fprintf(&b, `{"k":"ctx","c":%d,"p":%d,"n":"step","i":%d}`+"\n", c, ec, s)
				fmt.Fprintf(&b, `{"k":"log","c":%d,"n":"loss","t":"float","v":%v}`+"\n", c, float64(12-4*e-s)/float64(i+1))
				c++
			}
			fmt.Fprintf(&b, `{"k":"log","c":%d,"n":"acc","t":"float","v":%v}`+"\n", ec, 0.5+float64(e)/10)
		}
		b.WriteString(`{"k":"end","status":"finished","t":"2026-12-01T00:00:00Z"}` + "\n")
		if err := os.WriteFile(filepath.Join(dir, record.FileName(ts)), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func openStore(t *testing.T) *storage.Store {
	t.Helper()
	home := t.TempDir()
	writeRuns(t, home)
	s, err := storage.Open(context.Background(), home, storage.WithMessages(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// strokes counts the SVG paths drawn in each palette colour.
func strokes(svg []byte) map[int]int {
	out := map[int]int{}
	for i, c := range Palette {
		re := regexp.MustCompile(fmt.Sprintf(`<path[^>]*stroke:#%02X%02X%02X`, c.R, c.G, c.B))
		out[i] = len(re.FindAllIndex(svg, -1))
	}
	return out
}

func TestSVGOneLinePerRun(t *testing.T) {
	s := openStore(t)
	var buf bytes.Buffer
	err := Write(context.Background(), s, &buf, Options{Names: []string{"loss", "acc"}, Format: "svg", X: storage.XEpoch})
	if err != nil {
		t.Fatal(err)
	}
	got := strokes(buf.Bytes())
	// Two panels, three runs: each run's colour strokes one line per panel
	// and one legend sample per panel.
	for i := range 3 {
		if got[i] != 4 {
			t.Errorf("run %d: %d paths in its colour, want 2 lines + 2 legend samples:\n%v", i, got[i], got)
		}
	}
	if got[3] != 0 {
		t.Errorf("a fourth colour drawn: %v", got)
	}
	// The legend names the differing kwarg only.
	for _, want := range []string{"lr=0.1", "lr=0.01", "lr=0.001"} {
		if !bytes.Contains(buf.Bytes(), []byte(want)) {
			t.Errorf("legend lacks %q", want)
		}
	}
	if bytes.Contains(buf.Bytes(), []byte("seed=")) {
		t.Error("legend names seed, which does not differ")
	}
}

func TestPNGAndFilter(t *testing.T) {
	s := openStore(t)
	var buf bytes.Buffer
	if err := Write(context.Background(), s, &buf, Options{Names: []string{"loss"}, Format: "png", Where: "lr < 0.05", By: "lr"}); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() < 100 || b.Dy() < 50 {
		t.Errorf("image %v", b)
	}
	var svg bytes.Buffer
	Write(context.Background(), s, &svg, Options{Names: []string{"loss"}, Format: "svg", Where: "lr < 0.05"})
	if got := strokes(svg.Bytes()); got[0] != 2 || got[1] != 2 || got[2] != 0 {
		t.Errorf("filtered to two runs: %v", got)
	}
	err = Write(context.Background(), s, io.Discard, Options{Names: []string{"nothing"}, Format: "png"})
	if !errors.Is(err, ErrNoData) {
		t.Errorf("a name no run logged: %v", err)
	}
	err = Write(context.Background(), s, io.Discard, Options{Names: []string{"loss"}, Format: "gif"})
	if !errors.Is(err, ErrFormat) {
		t.Errorf("gif: %v", err)
	}
}
