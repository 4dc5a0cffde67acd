package storage

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/flordb/flor/internal/record"
)

// Benchmark sizes: 100 epochs of 10,000 steps, one loss per step: 1M log
// records (and 1M step contexts, 2M records in all).
const (
	benchEpochs = 100
	benchSteps  = 10000
)

// writeBigRun writes a run file of benchEpochs x benchSteps steps quickly
// (not through encoding/json) and returns its record count.
func writeBigRun(tb testing.TB, home string) int64 {
	tb.Helper()
	dir := filepath.Join(home, "runs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, tstampName(t0)+".jsonl"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	n := int64(0)
	line := func(b []byte) { w.Write(b); w.WriteByte('\n'); n++ }
	line(fmt.Appendf(nil, `{"k":"run","v":1,"projid":"ml","tstamp":%q,"filename":"train","snapshot":"abc","kwargs":{},"pid":1,"host":"elsewhere","argv":["train"]}`,
		record.FormatTime(t0)))
	line([]byte(`{"k":"log","c":0,"n":"lr","t":"float","v":0.001,"arg":true}`))
	c := 1
	buf := make([]byte, 0, 256)
	for e := range benchEpochs {
		ec := c
		c++
		line(fmt.Appendf(buf[:0], `{"k":"ctx","c":%d,"p":0,"n":"epoch","i":%d,"v":%d}`, ec, e, e))
		for s := range benchSteps {
			sc := c
			c++
			b := append(buf[:0], `{"k":"ctx","c":`...)
			b = strconv.AppendInt(b, int64(sc), 10)
			b = append(b, `,"p":`...)
			b = strconv.AppendInt(b, int64(ec), 10)
			b = append(b, `,"n":"step","i":`...)
			b = strconv.AppendInt(b, int64(s), 10)
			b = append(b, `,"v":`...)
			b = strconv.AppendInt(b, int64(s), 10)
			line(append(b, '}'))
			b = append(buf[:0], `{"k":"log","c":`...)
			b = strconv.AppendInt(b, int64(sc), 10)
			b = append(b, `,"n":"loss","t":"float","v":`...)
			b = strconv.AppendFloat(b, 1/float64(1+e*benchSteps+s), 'g', -1, 64)
			line(append(b, '}'))
		}
		line(fmt.Appendf(buf[:0], `{"k":"log","c":%d,"n":"val_acc","t":"float","v":%g}`, ec, float64(e)/benchEpochs))
	}
	line([]byte(`{"k":"end","status":"finished","t":"2026-11-28T06:00:00Z"}`))
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	return n
}

// BenchmarkIngest measures a cold ingest of a 1M-step run file.
//
//	go test -run '^$' -bench Ingest -benchtime 3x ./storage/
func BenchmarkIngest(b *testing.B) {
	src := b.TempDir()
	records := writeBigRun(b, src)
	file := filepath.Join(src, "runs", tstampName(t0)+".jsonl")
	total, cpu := timeIngest(b, records, []string{file})
	rate := float64(records) * float64(b.N) / total.Seconds()
	b.ReportMetric(rate, "records/s")
	b.Logf("ingest: %d records in %v per run (%v of CPU): %.0f records/s", records, total/time.Duration(b.N), cpu/time.Duration(b.N), rate)
}

// BenchmarkDataframe measures the dataframe of one per-step metric over
// 1M log records.
//
//	go test -run '^$' -bench Dataframe -benchtime 3x ./storage/
func BenchmarkDataframe(b *testing.B) {
	home := b.TempDir()
	writeBigRun(b, home)
	s := openTest(b, home)
	b.ResetTimer()
	var total, cpu time.Duration
	for i := 0; i < b.N; i++ {
		start, cpu0 := time.Now(), cpuTime()
		f, err := s.Dataframe(context.Background(), "loss")
		total += time.Since(start)
		cpu += cpuTime() - cpu0
		if err != nil {
			b.Fatal(err)
		}
		if f.Len() != benchEpochs*benchSteps {
			b.Fatalf("%d rows, want %d", f.Len(), benchEpochs*benchSteps)
		}
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s/dataframe")
	b.Logf("dataframe(loss): %d rows in %v (%v of CPU)", benchEpochs*benchSteps, total/time.Duration(b.N), cpu/time.Duration(b.N))
}

// BenchmarkExportParquet measures the export of a 1M-step run (2M records)
// to Parquet, and the files' size against the run file's.
//
//	go test -run '^$' -bench ExportParquet -benchtime 3x ./storage/
func BenchmarkExportParquet(b *testing.B) {
	home := b.TempDir()
	writeBigRun(b, home)
	fi, err := os.Stat(filepath.Join(home, "runs", tstampName(t0)+".jsonl"))
	if err != nil {
		b.Fatal(err)
	}
	base := b.TempDir()
	s := openTest(b, home, WithExportDir(base))
	b.ResetTimer()
	var total time.Duration
	var size int64
	for i := 0; i < b.N; i++ {
		dir := filepath.Join(base, strconv.Itoa(i))
		start := time.Now()
		files, err := s.ExportParquet(context.Background(), dir)
		total += time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		size = 0
		for _, f := range files {
			size += f.Bytes
		}
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s/export")
	b.ReportMetric(float64(size)/float64(fi.Size()), "parquet/jsonl")
	b.Logf("export: %v per export; %d bytes of Parquet for %d bytes of run file (%.3f)",
		total/time.Duration(b.N), size, fi.Size(), float64(size)/float64(fi.Size()))
}

// BenchmarkIngestManySmall measures the first ingest of 10,000 small run
// files (2 epochs of 5 steps each), where saving the ingest state, a row per
// file and per run, weighs as much as the records.
//
//	go test -run '^$' -bench IngestManySmall -benchtime 1x ./storage/
func BenchmarkIngestManySmall(b *testing.B) {
	const files = 10000
	src := filepath.Join(b.TempDir(), "runs")
	if err := os.MkdirAll(src, 0o755); err != nil {
		b.Fatal(err)
	}
	var records int64
	for i := range files {
		ts := t0.Add(time.Duration(i) * time.Second)
		var buf []byte
		line := func(format string, args ...any) { buf = fmt.Appendf(buf, format+"\n", args...); records++ }
		line(`{"k":"run","v":1,"projid":"ml","tstamp":%q,"filename":"train","snapshot":"abc","kwargs":{"lr":"%d"},"pid":1,"host":"elsewhere","argv":["train"]}`,
			record.FormatTime(ts), i%7)
		line(`{"k":"log","c":0,"n":"lr","t":"int","v":%d,"arg":true}`, i%7)
		c := 1
		for e := range 2 {
			ec := c
			c++
			line(`{"k":"ctx","c":%d,"p":0,"n":"epoch","i":%d,"v":%d}`, ec, e, e)
			for s := range 5 {
				line(`{"k":"ctx","c":%d,"p":%d,"n":"step","i":%d,"v":%d}`, c, ec, s, s)
				line(`{"k":"log","c":%d,"n":"loss","t":"float","v":%g}`, c, float64(10-s-e))
				c++
			}
			line(`{"k":"log","c":%d,"n":"val_acc","t":"float","v":0.5}`, ec)
		}
		line(`{"k":"end","status":"finished","t":%q}`, record.FormatTime(ts.Add(time.Minute)))
		if err := os.WriteFile(filepath.Join(src, tstampName(ts)+".jsonl"), buf, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		b.Fatal(err)
	}
	paths := make([]string, len(entries))
	for i, e := range entries {
		paths[i] = filepath.Join(src, e.Name())
	}
	total, cpu := timeIngest(b, records, paths)
	b.Logf("first ingest of %d small files (%d records): %v per run (%v of CPU)", files, records, total/time.Duration(b.N), cpu/time.Duration(b.N))
}

// timeIngest ingests files, linked into a new home each time, b.N times
// and returns the wall and CPU time of the ingests alone; each must store
// records.
func timeIngest(b *testing.B, records int64, files []string) (total, cpu time.Duration) {
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		home := b.TempDir()
		os.MkdirAll(filepath.Join(home, "runs"), 0o755)
		for _, f := range files {
			if err := os.Link(f, filepath.Join(home, "runs", filepath.Base(f))); err != nil {
				b.Fatal(err)
			}
		}
		s, err := openNoIngest(context.Background(), home, WithMessages(nil))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start, cpu0 := time.Now(), cpuTime()
		st, err := s.Ingest(context.Background())
		total += time.Since(start)
		cpu += cpuTime() - cpu0
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		if st.Records != records {
			b.Fatalf("ingested %d records, want %d", st.Records, records)
		}
		s.Close()
		b.StartTimer()
	}
	return total, cpu
}
