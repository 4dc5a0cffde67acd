package storage

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// whereHome records two runs with a hyper-parameter, a per-step loss and a
// string value, for the WHERE tests.
func whereHome(t testing.TB) *Store {
	t.Helper()
	home := t.TempDir()
	for i, lr := range []float64{0.001, 0.01} {
		r := newRunFile(t, home, t0.Add(time.Duration(i)*time.Hour), runOpts{})
		r.log(0, "optimizer", []string{"adam", "sgd"}[i])
		r.train(lr, 2, 2)
		r.close()
	}
	return openTest(t, home)
}

// TestWhereRefused: a WHERE that is more than an expression over
// dataframe columns is refused with ErrWhere, naming what it refuses.
func TestWhereRefused(t *testing.T) {
	s := whereHome(t)
	ctx := context.Background()
	cases := []struct{ where, want string }{
		{"lr > 0) OR (1=1", `not one expression: syntax error at or near ")"`},
		{"lr > 0 OR lr IN (SELECT 1 FROM read_csv('/etc/passwd'))", "a subquery is not allowed"},
		{"EXISTS (SELECT * FROM read_csv('/etc/passwd'))", "a subquery is not allowed"},
		{"lr > (SELECT max(lr) FROM runs)", "a subquery is not allowed"},
		{"lr > 0 GROUP BY lr", "GROUP BY follows the condition"},
		{"lr > 0 ORDER BY lr", "ORDER BY, LIMIT or OFFSET follows the condition"},
		{"lr > 0 LIMIT 1", "ORDER BY, LIMIT or OFFSET follows the condition"},
		{"lr > 0 UNION SELECT * FROM runs", "UNION, EXCEPT or INTERSECT follows the condition"},
		{"lr > 0; DROP VIEW logs", "not one expression"},
		{"getenv('HOME') = 'x'", "the function getenv is not allowed"},
		{"current_setting('threads') = 1", "the function current_setting is not allowed"},
		{"length(read_text('/etc/passwd')) > 0", "the function read_text is not allowed"},
		{"main.abs(lr) > 0", "the function abs is not allowed"},
		{"sum(lr) OVER () > 0", "a window function is not allowed"},
		{"max(lr) > 0", "the function max is not allowed"},
		{"runs.lr > 0", `the qualified name "runs.lr" is not allowed`},
		{"lr > ?", "a parameter is not allowed"},
		{"lr > $1", "a parameter is not allowed"},
		{"#1 > 0", "a positional reference is not allowed"},
		{"[lr][1] > 0", "not allowed"},
		{"lr >", "not one expression"},
	}
	for _, c := range cases {
		_, err := s.RunsMissing(ctx, nil, c.where)
		if !errors.Is(err, ErrWhere) {
			t.Errorf("%q: %v, want ErrWhere", c.where, err)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want it to say %q", c.where, err, c.want)
		}
	}
}

// TestWhereAccepted: what a WHERE over dataframe columns needs still works,
// and runs as DuckDB renders it rather than as typed.
func TestWhereAccepted(t *testing.T) {
	s := whereHome(t)
	ctx := context.Background()
	cases := []struct {
		where string
		runs  int
	}{
		{"lr > 0.005", 1},
		{"lr > 0.005 -- a comment", 1},
		{"lr > 0.005 /* a comment */", 1},
		{"(lr > 0.005) OR (lr < 0.0001)", 1},
		{"lr BETWEEN 0 AND 1 AND NOT (optimizer = 'sgd')", 1},
		{"optimizer IN ('adam', 'sgd')", 2},
		{"optimizer LIKE 'ad%' OR optimizer ILIKE 'SG_'", 2},
		{"optimizer ~ 'a.*'", 1},
		{"lower(optimizer) = 'adam' AND abs(lr - 0.001) < 1e-9", 1},
		{"loss IS NOT NULL AND epoch = 1 AND step_value >= 0", 2},
		{"CASE WHEN lr > 0.005 THEN true ELSE false END", 1},
		{"lr::VARCHAR = '0.01'", 1},
		{"tstamp > '2026-11-28 05:30:00'", 1},
		{"coalesce(lr, 0) > 0 AND val_acc * 2 + 1 > 0", 2},
	}
	for _, c := range cases {
		infos, err := s.RunsMissing(ctx, nil, c.where)
		if err != nil {
			t.Errorf("%q: %v", c.where, err)
			continue
		}
		if len(infos) != c.runs {
			t.Errorf("%q: %d runs, want %d", c.where, len(infos), c.runs)
		}
	}
	we, err := s.parseWhere(ctx, "lr > 0.005 -- )) OR true")
	if err != nil || strings.Contains(we.text, "--") || strings.Contains(we.text, "true") {
		t.Errorf("the comment reaches the query: %+v %v", we, err)
	}
}

// FuzzWhere: any text given as a WHERE is refused or runs; it never
// panics, and an accepted one fails, if at all, only over a value's type
// (no parse error, no unknown table, no file read: the store cannot reach
// the file system).
func FuzzWhere(f *testing.F) {
	for _, seed := range []string{
		"lr > 0.005", "lr > 0) OR (1=1", "optimizer = 'adam' AND epoch >= 1",
		"EXISTS (SELECT * FROM read_csv('/etc/passwd'))", "loss / 0 > 1",
		"optimizer > 1", "tstamp > 'x'", "lr + 9223372036854775807 > 0",
		"abs(loss) BETWEEN -1 AND 1e308", "optimizer ~ '('", "CASE lr WHEN 1 THEN 2 END = 2",
		"NOT NOT NOT lr IS NULL", "step_value IN (1, 2, 'x')", "-- ", "/*", "'", `"`,
	} {
		f.Add(seed)
	}
	s := whereHome(f)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, where string) {
		_, err := s.RunsMissing(ctx, []string{"loss"}, where)
		if err == nil || errors.Is(err, ErrWhere) || errors.Is(err, ErrUnknownColumn) {
			return
		}
		var de *duckdb.Error
		if errors.As(err, &de) {
			switch de.Type {
			case duckdb.ErrorTypeConversion, duckdb.ErrorTypeBinder, duckdb.ErrorTypeOutOfRange,
				duckdb.ErrorTypeInvalidInput, duckdb.ErrorTypeMismatchType, duckdb.ErrorTypeInvalidType,
				duckdb.ErrorTypeDivideByZero:
				if strings.Contains(de.Msg, "not found") && de.Type == duckdb.ErrorTypeBinder {
					t.Fatalf("%q: accepted, then a name is not found: %v", where, err)
				}
				return
			}
		}
		t.Fatalf("%q: accepted, then failed otherwise than over a type: %v", where, err)
	})
}

func TestPlainJSON(t *testing.T) {
	in := `{"a":Infinity,"b":-Infinity,"c":NaN,"d":"NaN Infinity \"x\\","e":[1,NaN]}`
	want := `{"a":null,"b":null,"c":null,"d":"NaN Infinity \"x\\","e":[1,null]}`
	if got := string(plainJSON(in)); got != want {
		t.Errorf("plainJSON:\n got %s\nwant %s", got, want)
	}
}

// TestDataframeWhere: the rows of a dataframe that satisfy a WHERE over its
// columns, in the dataframe's order; a WHERE that is more is refused.
func TestDataframeWhere(t *testing.T) {
	s := whereHome(t)
	ctx := context.Background()
	all, err := s.Dataframe(ctx, "lr", "loss")
	if err != nil {
		t.Fatal(err)
	}
	f, err := s.DataframeWhere(ctx, "lr > 0.005 AND epoch = 1", "lr", "loss")
	if err != nil {
		t.Fatal(err)
	}
	var want [][]any
	for i := range all.Rows {
		if all.Value(i, "lr").(float64) > 0.005 && all.Value(i, "epoch") == int64(1) {
			want = append(want, all.Rows[i])
		}
	}
	if len(want) != 2 || frameText(t, f) != frameText(t, &Frame{Columns: all.Columns, Rows: want}) {
		t.Errorf("filtered:\n%s\nwant the rows:\n%v", frameText(t, f), want)
	}
	for _, c := range []struct {
		where string
		is    error
	}{
		{"lr > 0) OR (1=1", ErrWhere},
		{"lr IN (SELECT 1 FROM read_csv('/etc/passwd'))", ErrWhere},
		{"optimizer = 'adam'", ErrUnknownColumn}, // not a column of this frame
	} {
		if _, err := s.DataframeWhere(ctx, c.where, "lr", "loss"); !errors.Is(err, c.is) {
			t.Errorf("%q: %v, want %v", c.where, err, c.is)
		}
	}
}
