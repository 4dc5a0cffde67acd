package reader_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/flordb/flor/reader"
	"github.com/flordb/flor/runtime"
	"github.com/flordb/flor/storage"
)

// rowsText is a frame's rows as text, sorted: Latest keeps the frame's
// order, the store orders by tstamp and key, and rows that tie on the
// frame's sort columns may come in either order.
func rowsText(f *storage.Frame) []string {
	var out []string
	for _, r := range f.Rows {
		out = append(out, fmt.Sprint(r...))
	}
	slices.Sort(out)
	return out
}

// TestLatestInStoreAgreesWithGo: the store's Latest is Latest (in Go) of
// the dataframe with the same WHERE, and each read sees the runs
// recorded before it.
func TestLatestInStoreAgreesWithGo(t *testing.T) {
	p := newProject(t)
	p.run(t, func(r *runtime.Run) { labels(r, "a.txt", "red", "red", "blue") })
	p.run(t, func(r *runtime.Run) { labels(r, "b.txt", "green", "green") })
	p.run(t, func(r *runtime.Run) {
		labels(r, "a.txt", "blue")
		labels(r, "c.txt", "red", "blue") // two documents in one run
	})
	ctx := context.Background()
	rd := reader.At(p.home, reader.WithMessages(nil))
	check := func(where string, rows int) {
		t.Helper()
		f, err := rd.Dataframe(ctx, reader.Query{Names: []string{"page_color"}, Where: where, Latest: true})
		if err != nil {
			t.Fatal(err)
		}
		all, err := rd.Dataframe(ctx, reader.Query{Names: []string{"page_color"}, Where: where})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := rowsText(f), rowsText(reader.Latest(all, "page_color")); !slices.Equal(got, want) {
			t.Errorf("where %q: the store's latest\n%q\nLatest of the frame\n%q", where, got, want)
		}
		if f.Len() != rows {
			t.Errorf("where %q: %d rows, want %d", where, f.Len(), rows)
		}
	}
	check("", 7)
	check("document_value = 'a.txt'", 3)
	check("page_color <> 'blue'", 5)
	check("page = 0 AND document_value <> 'b.txt'", 2)
	// A correction recorded now shows in the next read.
	p.run(t, func(r *runtime.Run) { labels(r, "b.txt", "blue") })
	f, err := rd.Dataframe(ctx, reader.Query{Names: []string{"page_color"}, Where: "document_value = 'b.txt' AND page = 0", Latest: true})
	if err != nil {
		t.Fatal(err)
	}
	if f.Len() != 1 || f.Value(0, "page_color") != "blue" {
		t.Errorf("b.txt page 0 after its correction: %v, want blue", f.Rows)
	}
	check("", 7)
}

// TestNoIndexIterationsJoinByValue: two names logged under documents that
// have no index (flor.Iteration's "none") pair by document, not every
// document of a run with every other.
func TestNoIndexIterationsJoinByValue(t *testing.T) {
	p := newProject(t)
	p.run(t, func(r *runtime.Run) {
		for _, doc := range []string{"d.txt", "e.txt"} {
			end := runtime.IterationOf(r, "document", runtime.NoIndex, doc)
			runtime.Log(r, "doc_color", doc+":color")
			runtime.Log(r, "doc_size", doc+":size")
			end()
		}
	})
	ctx := context.Background()
	rd := reader.At(p.home, reader.WithMessages(nil))
	for _, latest := range []bool{false, true} {
		f, err := rd.Dataframe(ctx, reader.Query{Names: []string{"doc_color", "doc_size"}, Latest: latest})
		if err != nil {
			t.Fatal(err)
		}
		if f.Len() != 2 {
			t.Errorf("latest=%v: %d rows, want one per document:\n%v", latest, f.Len(), f.Rows)
		}
		for i := range f.Rows {
			doc, _ := f.Value(i, "document_value").(string)
			if f.Value(i, "doc_color") != doc+":color" || f.Value(i, "doc_size") != doc+":size" {
				t.Errorf("latest=%v: row %d pairs %v with %v under document %q", latest, i, f.Value(i, "doc_color"), f.Value(i, "doc_size"), doc)
			}
		}
	}
}
