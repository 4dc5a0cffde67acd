package storage

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestExportParquet(t *testing.T) {
	home := t.TempDir()
	a := newRunFile(t, home, t0, runOpts{})
	a.train(0.001, 2, 3)
	a.close()
	b := newRunFile(t, home, t0.Add(time.Hour), runOpts{})
	b.train(0.0005, 1, 2)
	b.close()

	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "export")
	// Without the option, the store writes no file.
	plain := openTest(t, home)
	if _, err := plain.ExportParquet(ctx, dir); !errors.Is(err, ErrExportDir) {
		t.Fatalf("export from a store not opened for it: %v, want ErrExportDir", err)
	}
	plain.Close()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("a refused export made %s", dir)
	}
	s := openTest(t, home, WithExportDir(dir))
	// Allowed to write the export, the store still reads no other file.
	if _, err := s.Query(ctx, "SELECT * FROM read_text('/etc/passwd')"); err == nil {
		t.Fatal("a store opened for an export could read /etc/passwd")
	}
	files, err := s.ExportParquet(ctx, dir, "lr", "loss", "val_acc")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(ExportViews)+1 {
		t.Fatalf("wrote %d files, want %d", len(files), len(ExportViews)+1)
	}
	// Each file holds what its view holds, read back through DuckDB's own
	// Parquet reader.
	for _, f := range files {
		view := filepath.Base(f.Path)
		view = view[:len(view)-len(".parquet")]
		if view == "dataframe" {
			continue
		}
		want, err := s.Query(ctx, "SELECT count(*) FROM "+view)
		if err != nil {
			t.Fatal(err)
		}
		if got := want.Rows[0][0].(int64); got != f.Rows {
			t.Errorf("%s: exported %d rows, the view has %d", view, f.Rows, got)
		}
	}
	df, err := s.Dataframe(ctx, "lr", "loss", "val_acc")
	if err != nil {
		t.Fatal(err)
	}
	// The store's own connection: user queries may not read files.
	rows, err := s.db.QueryContext(ctx, fmt.Sprintf("SELECT * FROM read_parquet(%s) ORDER BY tstamp, epoch, step",
		quoteString(filepath.Join(dir, "dataframe.parquet"))))
	if err != nil {
		t.Fatal(err)
	}
	back, err := scanFrame(rows)
	rows.Close()
	if err != nil {
		t.Fatal(err)
	}
	if back.Len() != df.Len() || back.Len() == 0 {
		t.Fatalf("dataframe.parquet has %d rows, the dataframe %d", back.Len(), df.Len())
	}
	if got, want := colNames(back), colNames(df); !equalStrings(got, want) {
		t.Fatalf("columns %v, want %v", got, want)
	}
	for i := range df.Rows {
		for j, c := range df.Columns {
			g, w := back.Rows[i][j], df.Rows[i][j]
			if gt, ok := g.(time.Time); ok {
				g = gt.UTC()
			}
			if fmt.Sprint(g) != fmt.Sprint(w) {
				t.Fatalf("row %d column %s: parquet %v, dataframe %v", i, c.Name, g, w)
			}
		}
	}

	// A second export into the same directory is refused, the first kept.
	before, _ := os.ReadFile(filepath.Join(dir, "runs.parquet"))
	if _, err := s.ExportParquet(ctx, dir); !errors.Is(err, ErrExportDir) {
		t.Fatalf("second export: %v, want ErrExportDir", err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "runs.parquet"))
	if string(before) != string(after) {
		t.Fatal("a refused export changed runs.parquet")
	}
	// A file where the directory should be.
	file := filepath.Join(t.TempDir(), "f")
	os.WriteFile(file, nil, 0o644)
	s.Close()
	if _, err := openTest(t, home, WithExportDir(file)).ExportParquet(ctx, file); !errors.Is(err, ErrExportDir) {
		t.Fatalf("export into a file: %v, want ErrExportDir", err)
	}
}
