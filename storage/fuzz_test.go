package storage

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/flordb/flor/internal/record"
)

// ingestBytes writes data as a run file of a fresh home, ingests it and
// returns the store's statistics.
func ingestBytes(t *testing.T, home string, data []byte) Stats {
	t.Helper()
	dir := filepath.Join(home, "runs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, tstampName(t0)+".jsonl"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return statOf(t, home)
}

func statOf(t *testing.T, home string) Stats {
	t.Helper()
	s, err := openNoIngest(context.Background(), home, WithMessages(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	st, err := s.Stat(context.Background())
	if err != nil {
		t.Fatalf("ingest: %v", err)
	}
	return st
}

// FuzzIngest: any bytes as a run file are ingested without a panic or an
// error; what cannot be read is skipped with warnings.
func FuzzIngest(f *testing.F) {
	f.Add([]byte(""))
	f.Add([]byte("\n\n{}\n"))
	f.Add([]byte(`{"k":"run","v":1,"projid":"ml","tstamp":"2026-11-28T05:18:52.123456Z","filename":"train","host":"elsewhere"}` + "\n" +
		`{"k":"ctx","c":1,"p":9,"n":"e","i":0}` + "\n" + `{"k":"log","c":1,"n":"x","t":"int","v":1}` + "\n" +
		`{"k":"log","c":7,"n":"x","t":"float","v":"NaN"}` + "\n" + `{"k":"ckpt","e":"x"}` + "\n" + `{"k":"end","status":7}`))
	f.Add([]byte(`{"k":"run","v":1,"projid":"ml","tstamp":"2026-11-28T05:18:52.123456Z","filename":"train"}` + "\n" +
		`{"k":"ctx","c":-1,"p":0,"n":"e","i":0,"v":[1]}` + "\n" + `{"k":"log","c":0,"n":"\u0000","v":{"a":null}}` + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ingestBytes(t, t.TempDir(), data)
	})
}

// validRun returns the bytes of a complete run file of a gone writer.
func validRun(t *testing.T) []byte {
	t.Helper()
	home := t.TempDir()
	r := newRunFile(t, home, t0, runOpts{})
	r.train(0.01, 2, 3)
	r.rec(map[string]any{"k": "warn", "msg": "late\nwarning"})
	r.close()
	data, err := os.ReadFile(r.path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// completeRecords counts the records a prefix of a valid file holds: its
// complete lines, and a last line without newline that is whole.
func completeRecords(prefix []byte) int64 {
	n := int64(bytes.Count(prefix, []byte("\n")))
	if tail := prefix[bytes.LastIndexByte(prefix, '\n')+1:]; len(tail) > 0 {
		var d record.Decoder
		if _, err := d.Decode(tail); err == nil {
			n++
		}
	}
	return n
}

// FuzzIngestTruncated: a valid run file cut anywhere loses no complete
// record, and once the rest arrives every record is there.
func FuzzIngestTruncated(f *testing.F) {
	for _, cut := range []uint16{0, 1, 50, 150, 151, 400, 1000, 2000, 65535} {
		f.Add(cut)
	}
	f.Fuzz(func(t *testing.T, cut uint16) {
		data := validRun(t)
		n := int(cut) % (len(data) + 1)
		home := t.TempDir()
		st := ingestBytes(t, home, data[:n])
		want := completeRecords(data[:n])
		if bytes.IndexByte(data[:n], '\n') < 0 {
			// Not even the run record's newline: the file was just made
			// (it is fresh), so its writer may be at work; nothing yet.
			want = 0
		}
		if st.Records != want {
			t.Fatalf("cut at %d of %d: %d records stored, want %d", n, len(data), st.Records, want)
		}
		// The rest arrives (the writer was slow, or the file is restored).
		path := filepath.Join(home, "runs", tstampName(t0)+".jsonl")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if st := statOf(t, home); st.Records != completeRecords(data) {
			t.Fatalf("cut at %d, then completed: %d records, want %d", n, st.Records, completeRecords(data))
		}
	})
}
