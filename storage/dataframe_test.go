package storage

import (
	"context"
	"io"
	"testing"
	"time"
)

func openTest(t testing.TB, home string, opts ...Option) *Store {
	t.Helper()
	opts = append([]Option{WithMessages(io.Discard), withHostname("testhost")}, opts...)
	s, err := Open(context.Background(), home, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func colTypes(f *Frame) map[string]string {
	m := map[string]string{}
	for _, c := range f.Columns {
		m[c.Name] = c.Type
	}
	return m
}

func colNames(f *Frame) []string {
	var out []string
	for _, c := range f.Columns {
		out = append(out, c.Name)
	}
	return out
}

func TestDataframePivot(t *testing.T) {
	home := t.TempDir()
	a := newRunFile(t, home, t0, runOpts{})
	a.train(0.001, 2, 3)
	a.close()
	tb := t0.Add(time.Hour)
	b := newRunFile(t, home, tb, runOpts{})
	b.train(0.0005, 1, 2)
	b.close()

	s := openTest(t, home)
	f, err := s.Dataframe(context.Background(), "lr", "loss", "val_acc")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("columns %v", colNames(f))
	want := []string{"projid", "tstamp", "filename", "epoch", "epoch_value", "step", "step_value", "lr", "loss", "val_acc"}
	if got := colNames(f); !equalStrings(got, want) {
		t.Fatalf("columns = %v, want %v", got, want)
	}
	types := colTypes(f)
	for col, typ := range map[string]string{"epoch": "BIGINT", "epoch_value": "BIGINT", "lr": "DOUBLE", "loss": "DOUBLE", "tstamp": "TIMESTAMP"} {
		if types[col] != typ {
			t.Errorf("column %s has type %s, want %s", col, types[col], typ)
		}
	}
	if f.Len() != 2*3+1*2 {
		t.Fatalf("%d rows, want 8", f.Len())
	}
	for i := range f.Rows {
		ts := f.Value(i, "tstamp").(time.Time)
		lr := 0.001
		if ts.Equal(tb) {
			lr = 0.0005
		} else if !ts.Equal(t0) {
			t.Fatalf("row %d: tstamp %v is neither run", i, ts)
		}
		e := int(f.Value(i, "epoch").(int64))
		st := int(f.Value(i, "step").(int64))
		if f.Value(i, "lr") != lr {
			t.Errorf("row %d: lr = %v, want %v", i, f.Value(i, "lr"), lr)
		}
		if f.Value(i, "loss") != lossAt(lr, e, st) {
			t.Errorf("row %d: loss = %v, want %v", i, f.Value(i, "loss"), lossAt(lr, e, st))
		}
		if f.Value(i, "val_acc") != 0.5+float64(e)/10 {
			t.Errorf("row %d: val_acc = %v", i, f.Value(i, "val_acc"))
		}
		if f.Value(i, "epoch_value") != int64(e) || f.Value(i, "step_value") != int64(st) {
			t.Errorf("row %d: loop values %v %v", i, f.Value(i, "epoch_value"), f.Value(i, "step_value"))
		}
	}
	// The order of the names changes the columns, not the rows.
	g, err := s.Dataframe(context.Background(), "val_acc", "loss", "lr")
	if err != nil {
		t.Fatal(err)
	}
	if g.Len() != f.Len() {
		t.Fatalf("%d rows for val_acc, loss, lr; %d for lr, loss, val_acc", g.Len(), f.Len())
	}
	for i := range g.Rows {
		for _, col := range want {
			if a, b := f.Value(i, col), g.Value(i, col); a != b {
				t.Errorf("row %d, %s: %v then %v", i, col, a, b)
			}
		}
	}
	// Sorted by tstamp, then epoch, then step.
	for i := 1; i < f.Len(); i++ {
		p, q := f.Rows[i-1], f.Rows[i]
		if less(q, p) {
			t.Errorf("rows %d and %d out of order: %v then %v", i-1, i, p, q)
		}
	}
}

func less(a, b []any) bool {
	ta, tb := a[1].(time.Time), b[1].(time.Time)
	if !ta.Equal(tb) {
		return ta.Before(tb)
	}
	for _, j := range []int{3, 5} {
		if a[j].(int64) != b[j].(int64) {
			return a[j].(int64) < b[j].(int64)
		}
	}
	return false
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
