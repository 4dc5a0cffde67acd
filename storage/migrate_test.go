package storage

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// The tables schema 7 had and schema 8 changed, as schema 7 created them.
var schema7DDL = map[string]string{
	"logs": `CREATE TABLE raw.logs (
		sid INTEGER, seq BIGINT, c BIGINT, ci BIGINT, cp BIGINT,
		sig INTEGER, nid INTEGER, t UTINYINT, v VARCHAR, flags UTINYINT)`,
	"stats": `CREATE TABLE raw.stats (sid INTEGER, nid INTEGER, sig INTEGER, n BIGINT, kinds INTEGER, flags INTEGER, dups BOOLEAN)`,
}

// seriesHome writes runs with what the series columns must get right:
// loops one, two and three deep, values outside loops, NaN, infinities,
// strings and nulls under a numeric name, a log of an unknown context, a
// context of an unknown parent, and a replay adding values after the
// recording's.
func seriesHome(t *testing.T) (home string, ids []string) {
	home = t.TempDir()
	a := newRunFile(t, home, t0, runOpts{})
	a.train(0.1, 3, 4)
	a.close()
	b := newRunFile(t, home, t0.Add(time.Hour), runOpts{})
	b.log(0, "loss", 7.0)
	for e := range 2 {
		ec := b.ctx(0, "epoch", e, e)
		for k := range 2 {
			bc := b.ctx(ec, "batch", k, k)
			for s := range 3 {
				sc := b.ctx(bc, "step", s, s)
				b.log(sc, "loss", float64(100*e+10*k+s))
			}
			b.log(bc, "loss", "not a number")
		}
		b.log(ec, "loss", nil)
	}
	b.log(0, "loss", 1e300)
	b.rec(map[string]any{"k": "log", "c": 0, "n": "loss", "t": "float", "v": "NaN"})
	b.rec(map[string]any{"k": "log", "c": 0, "n": "loss", "t": "float", "v": "+Inf"})
	b.rec(map[string]any{"k": "log", "c": 99, "n": "loss", "t": "float", "v": 3.5})
	b.rec(map[string]any{"k": "ctx", "c": 50, "p": 77, "n": "orphan", "i": 4, "v": 4})
	b.log(50, "loss", 2.5)
	b.end(t0.Add(2 * time.Hour))
	b.close()
	rp := newRunFile(t, home, t0.Add(time.Hour), runOpts{dir: "replay/r1", name: tstampName(t0.Add(time.Hour)) + "-w0.jsonl",
		replay: map[string]any{"id": "r1", "names": []string{"loss"}}})
	for e := range 2 {
		rp.log(rp.ctx(0, "epoch", e, e), "loss", float64(-e))
	}
	rp.close()
	return home, []string{tstampName(t0), tstampName(t0.Add(time.Hour))}
}

// snapshot is what a store shows of seriesHome: its raw tables, every
// axis of the series, and the summaries.
func snapshot(t *testing.T, s *Store, ids []string) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	for _, q := range []string{
		`SELECT sid, seq, c, ci, cp, sig, nid, t, v, flags, y, k, e FROM raw.logs ORDER BY sid, seq`,
		`SELECT sid, nid, sig, n, kinds, flags, dups, nk FROM raw.stats ORDER BY sid, nid, sig`,
		`SELECT * FROM logs ORDER BY src, line`,
	} {
		rows, err := s.DB().QueryContext(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintln(&b, vals...)
		}
		rows.Close()
	}
	for _, x := range []string{XGlobal, XStep, XEpoch} {
		for _, max := range []int{0, 4} {
			ser, err := s.Series(ctx, SeriesQuery{Name: "loss", Runs: ids, X: x, MaxPoints: max})
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "%s %d %+v\n", x, max, ser)
		}
	}
	rows, err := s.RunTable(ctx, "", []string{"loss", "val_acc"})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		fmt.Fprintf(&b, "%s %+v\n", r.ID(), r.Summaries)
	}
	return b.String()
}

// TestSeriesColumns: the values' y, k and e, and the series built from
// them, for the cases of seriesHome.
func TestSeriesColumns(t *testing.T) {
	home, ids := seriesHome(t)
	s := openTest(t, home)
	ctx := context.Background()
	ser, err := s.Series(ctx, SeriesQuery{Name: "loss", Runs: ids[1:], X: XGlobal})
	if err != nil {
		t.Fatal(err)
	}
	// 7, 12 in the loops, 1e300, 3.5 (unknown context), 2.5 (orphan),
	// then the replay's 0 and -1; strings, nulls, NaN and +Inf left out.
	r := ser[0]
	if r.N != 18 || len(r.Y) != 18 || r.Y[0] != 7 || r.Y[13] != 1e300 || r.Y[14] != 3.5 || r.Y[15] != 2.5 || r.Y[16] != 0 || r.Y[17] != -1 {
		t.Fatalf("global: %+v", r)
	}
	for i, x := range r.X {
		if x != float64(i) || r.Replayed[i] != (i >= 16) {
			t.Fatalf("global x %d = %v (replayed %v)", i, x, r.Replayed[i])
		}
	}
	ser, _ = s.Series(ctx, SeriesQuery{Name: "loss", Runs: ids[1:], X: XEpoch})
	// Three deep: the outermost (epoch) iteration; outside loops and in
	// an unknown context: the position; the orphan: its own iteration.
	want := []float64{0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 13, 14, 4, 0, 1}
	if got := ser[0].X; !reflect.DeepEqual(got[:len(want)], want) {
		t.Errorf("epoch x %v, want %v...", got, want)
	}
	ser, _ = s.Series(ctx, SeriesQuery{Name: "loss", Runs: ids[1:], X: XStep})
	want = []float64{0, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 13, 14, 4, 0, 1}
	if got := ser[0].X; !reflect.DeepEqual(got[:len(want)], want) {
		t.Errorf("step x %v, want %v...", got, want)
	}
	s.Close()

	// Iterations that do not fit the packing of downsampled x.
	c := newRunFile(t, home, t0.Add(2*time.Hour), runOpts{})
	for i, it := range []int{-3, 1 << 40, 5, 6, 7, 8} {
		c.log(c.ctx(0, "epoch", it, it), "loss", float64(i%3))
	}
	c.close()
	ids = append(ids, tstampName(t0.Add(2*time.Hour)))
	s = openTest(t, home)
	for _, x := range []string{XGlobal, XStep, XEpoch} {
		all, err := s.Series(ctx, SeriesQuery{Name: "loss", Runs: ids, X: x})
		if err != nil {
			t.Fatal(err)
		}
		down, err := s.Series(ctx, SeriesQuery{Name: "loss", Runs: ids, X: x, MaxPoints: 4})
		if err != nil {
			t.Fatal(err)
		}
		for r := range ids {
			a, d := all[r], down[r]
			if d.N != a.N || len(d.Y) > 4 || len(d.Y) == 0 {
				t.Fatalf("x=%s run %d: %d points of %d, want at most 4 of %d", x, r, len(d.Y), d.N, a.N)
			}
			// Every point kept is one of the series', with its x and
			// replay mark; its minimum and maximum are kept.
			lo, hi := slices.Min(a.Y), slices.Max(a.Y)
			var keptLo, keptHi bool
			for i := range d.Y {
				j := slices.IndexFunc(a.Y, func(y float64) bool { return y == d.Y[i] })
				for j >= 0 && j < len(a.Y) && (a.X[j] != d.X[i] || a.Y[j] != d.Y[i]) {
					j++
				}
				if j < 0 || j == len(a.Y) || a.Replayed[j] != d.Replayed[i] {
					t.Errorf("x=%s run %d: point (%v, %v) not in %v %v", x, r, d.X[i], d.Y[i], a.X, a.Y)
				}
				keptLo = keptLo || d.Y[i] == lo
				keptHi = keptHi || d.Y[i] == hi
			}
			if !keptLo || !keptHi {
				t.Errorf("x=%s run %d: %v lost the minimum or maximum of %v", x, r, d.Y, a.Y)
			}
		}
	}
}

// TestSeriesColumnsIncremental: a file ingested in pieces, resumed in the
// middle of its loops, gets the same y, k and e as one ingested at once.
func TestSeriesColumnsIncremental(t *testing.T) {
	whole, ids := seriesHome(t)
	want := snapshot(t, openTest(t, whole), ids)

	home := t.TempDir()
	var files []string
	filepath.WalkDir(whole, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".jsonl") {
			files = append(files, p)
		}
		return nil
	})
	s := openTest(t, home)
	for cut := range 5 {
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.SplitAfter(string(data), "\n")
			n := len(lines) * (cut + 1) / 5
			rel, _ := filepath.Rel(whole, f)
			dst := filepath.Join(home, rel)
			os.MkdirAll(filepath.Dir(dst), 0o755)
			if err := os.WriteFile(dst, []byte(strings.Join(lines[:n], "")), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.Ingest(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if got := snapshot(t, s, ids); got != want {
		t.Errorf("ingested in five pieces:\n%s\nat once:\n%s", got, want)
	}
}

// TestMigrate7: a store of schema 7 is migrated in place, from its own
// tables (its run files are gone), to what an ingest of schema 8 makes.
func TestMigrate7(t *testing.T) {
	home, ids := seriesHome(t)
	s := openTest(t, home)
	want := snapshot(t, s, ids)
	path := s.Path()
	s.Close()

	// Turn the store back into schema 7: the changed tables as 7 made
	// them, holding their columns of the store above.
	db, err := sql.Open("duckdb", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"logs", "stats"} {
		old := schema7DDL[table]
		cols := old[strings.Index(old, "(")+1 : len(old)-1]
		var names []string
		for _, c := range strings.Split(cols, ",") {
			names = append(names, strings.Fields(c)[0])
		}
		for _, q := range []string{
			`ALTER TABLE raw.` + table + ` RENAME TO ` + table + `8`,
			old,
			`INSERT INTO raw.` + table + ` SELECT ` + strings.Join(names, ", ") + ` FROM raw.` + table + `8`,
			`DROP TABLE raw.` + table + `8`,
		} {
			if _, err := db.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
	if _, err := db.Exec(`UPDATE raw.meta SET value = '7' WHERE key = 'schema'`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if err := os.RemoveAll(filepath.Join(home, "runs")); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(home, "replay")); err != nil {
		t.Fatal(err)
	}

	s = openTest(t, home)
	var version string
	if err := s.DB().QueryRow(`SELECT value FROM raw.meta WHERE key = 'schema'`).Scan(&version); err != nil || version != schemaVersion {
		t.Fatalf("schema %q after migration, %v", version, err)
	}
	if got := snapshot(t, s, ids); got != want {
		t.Errorf("migrated from 7:\n%s\ningested:\n%s", got, want)
	}
}
