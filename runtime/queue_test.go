package runtime

import (
	"bytes"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/flordb/flor/internal/record"
)

// TestQueuedRecordsAreWrittenAsEncodedAtOnce interleaves records written
// as bytes with queued log records of every kind, flushing at random
// points, and checks that the file holds exactly the bytes that encoding
// each record when it was logged gives, in the same order.
func TestQueuedRecordsAreWrittenAsEncodedAtOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.jsonl")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	var stderr lockedBuffer
	w := newRecordWriter(&stderr)
	w.start(f)
	values := []scalar{
		{kind: TypeFloat, f: 0.125}, {kind: TypeFloat, f: math.Copysign(0, -1)}, {kind: TypeFloat, f: math.NaN()},
		{kind: TypeFloat, f: math.Inf(-1)}, {kind: TypeFloat, f: 5e-324}, {kind: TypeFloat, f: math.MaxFloat64},
		{kind: TypeFloat, f: 1.0 / 3}, {kind: TypeInt, i: math.MinInt64}, {kind: TypeInt, i: math.MaxInt64},
		boolScalar(true), boolScalar(false), {kind: TypeStr, s: "h\u00e9llo \"q\"\n\x01"}, {kind: TypeStr, s: ""},
		{kind: TypeJSON, s: `{"a":[1,2]}`}, {kind: TypeJSON, s: "null"},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var want []byte
	n := 3*chunkLogs + maxNames + 20000 // several chunks, the name table full, more than flushSize
	for i := range n {
		w.mu.Lock()
		switch rng.IntN(8) {
		case 0: // a record written as bytes
			at := len(w.buf)
			w.buf = record.AppendWarn(w.buf, "warn "+strconv.Itoa(i))
			want = append(want, w.buf[at:]...)
		default:
			name := "loss"
			if i%3 == 0 {
				name = "n" + strconv.Itoa(i%(maxNames+500)) // past maxNames, some names are not interned
			}
			v := values[rng.IntN(len(values))]
			v.f += float64(i) * 1e-3 * float64(rng.IntN(2))
			flag := []record.Flags{0, flagArg, flagInternal}[rng.IntN(3)]
			ctx := int64(rng.IntN(100))
			w.queueLocked(ctx, name, v, flag)
			want = appendLogRecord(want, ctx, quoteName(name), v, flag)
		}
		w.mu.Unlock()
		if rng.IntN(5000) == 0 {
			w.flush()
		}
	}
	if err := w.close(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		i := 0
		for i < min(len(got), len(want)) && got[i] == want[i] {
			i++
		}
		t.Fatalf("file differs from the records encoded at once at byte %d of %d (want %d):\ngot  %q\nwant %q",
			i, len(got), len(want), got[max(i-80, 0):min(i+80, len(got))], want[max(i-80, 0):min(i+80, len(want))])
	}
	if s := stderr.String(); s != "" {
		t.Errorf("stderr: %s", s)
	}
}

// TestUnitKeepsQueuedRecords: a unit's records, queued and not, are in its
// file in order.
func TestUnitKeepsQueuedRecords(t *testing.T) {
	base := newTestRun(t)
	base.SetEcho(false)
	u, err := New(Options{Like: base, Unit: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := range Loop(u, "page", Range(100)) {
		Log(u, "x", i)
		Log(u, "s", strconv.Itoa(i))
	}
	if err := u.Commit(); err != nil {
		t.Fatal(err)
	}
	got := logged(t, u.File, false)
	for i := range 100 {
		k := "/page=" + strconv.Itoa(i)
		if x := got[k+"/x"]; len(x) != 1 || x[0] != float64(i) {
			t.Fatalf("%s/x = %v, want [%d]", k, x, i)
		}
		if s := got[k+"/s"]; len(s) != 1 || s[0] != strconv.Itoa(i) {
			t.Fatalf("%s/s = %v, want [%q]", k, s, strconv.Itoa(i))
		}
	}
}
