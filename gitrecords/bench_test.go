package gitrecords

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/flordb/flor/internal/record"
)

// BenchmarkRecords pushes 1,000 runs (records only) from one clone to a
// bare remote over the file transport, pulls them into another, then
// pushes 10 new runs. It reports each step's time and what the remote
// grew by:
//
//	go test ./gitrecords -run '^$' -bench Records -benchtime 1x
func BenchmarkRecords(b *testing.B) {
	ctx := context.Background()
	for range b.N {
		b.StopTimer()
		w := newWorld(b, 2)
		a, c := w.clones[0], w.clones[1]
		template, err := os.ReadFile(recordRun(b, a, 0.1, 100))
		if err != nil {
			b.Fatal(err)
		}
		os.RemoveAll(filepath.Join(home(a), runsDir))
		writeRuns(b, a, template, 0, 1000)
		opt := Options{NoCheckpoints: true}
		size0 := dirSize(b, w.remote)

		t0 := time.Now()
		if _, err := open(b, a).Push(ctx, "", opt); err != nil {
			b.Fatal(err)
		}
		push := time.Since(t0)
		size1 := dirSize(b, w.remote)

		t0 = time.Now()
		res, err := open(b, c).Pull(ctx, "", opt)
		if err != nil || res.Runs != 1000 {
			b.Fatalf("pull: %+v %v", res, err)
		}
		pull := time.Since(t0)

		writeRuns(b, a, template, 1000, 10)
		t0 = time.Now()
		if _, err := open(b, a).Push(ctx, "", opt); err != nil {
			b.Fatal(err)
		}
		incr := time.Since(t0)
		size2 := dirSize(b, w.remote)

		b.ReportMetric(push.Seconds(), "push-1000-s")
		b.ReportMetric(float64(size1-size0)/1024, "push-1000-KiB")
		b.ReportMetric(pull.Seconds(), "pull-1000-s")
		b.ReportMetric(incr.Seconds(), "push-10-more-s")
		b.ReportMetric(float64(size2-size1)/1024, "push-10-more-KiB")
		b.ReportMetric(float64(len(template))/1024, "run-file-KiB")
	}
}

// writeRuns writes n run files like template, each under its own tstamp.
func writeRuns(b *testing.B, dir string, template []byte, from, n int) {
	b.Helper()
	_, rest, _ := bytes.Cut(template, []byte(`"tstamp":"`))
	old := rest[:len("2026-11-28T05:18:52.123456Z")]
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := from; i < from+n; i++ {
		t := base.Add(time.Duration(i) * time.Second)
		data := bytes.Replace(template, old, []byte(record.FormatTime(t)), 1)
		// Each run logged its own values.
		data = bytes.ReplaceAll(data, []byte(`"lr=0.1"`), []byte(fmt.Sprintf(`"lr=%d"`, i)))
		writeRun(b, dir, record.FileName(t), data)
	}
}

func dirSize(b *testing.B, dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}
