package storage_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/flordb/flor/storage"
)

// Pick the best model: the run and epoch with the highest validation
// accuracy, and the learning rate it was trained with.
func ExampleStore_Dataframe() {
	home, _ := os.MkdirTemp("", "flor-example")
	defer os.RemoveAll(home)
	writeExampleRuns(home) // what three training runs would have logged

	ctx := context.Background()
	s, err := storage.Open(ctx, home)
	if err != nil {
		log.Fatal(err)
	}
	f, err := s.Dataframe(ctx, "lr", "val_acc")
	s.Close() // done with the store: let other flor commands in
	if err != nil {
		log.Fatal(err)
	}
	best := -1
	for i := range f.Len() {
		if best < 0 || f.Value(i, "val_acc").(float64) > f.Value(best, "val_acc").(float64) {
			best = i
		}
	}
	fmt.Println("columns:", f.Columns[3].Name, f.Columns[5].Name, f.Columns[6].Name)
	fmt.Printf("best: run %s, epoch %d, lr %v, val_acc %v\n",
		f.Value(best, "tstamp").(time.Time).Format(time.DateTime),
		f.Value(best, "epoch"), f.Value(best, "lr"), f.Value(best, "val_acc"))
	// Output:
	// columns: epoch lr val_acc
	// best: run 2026-11-28 06:00:00, epoch 1, lr 0.001, val_acc 0.93
}

func writeExampleRuns(home string) {
	os.MkdirAll(filepath.Join(home, "runs"), 0o755)
	runs := []struct {
		file   string // <tstamp>.jsonl, as docs/records.md names run files
		tstamp string
		lr     string
		accs   []string
	}{
		{"20261128T050000.000000Z.jsonl", "2026-11-28T05:00:00.000000Z", "0.01", []string{"0.81", "0.85"}},
		{"20261128T060000.000000Z.jsonl", "2026-11-28T06:00:00.000000Z", "0.001", []string{"0.88", "0.93"}},
		{"20261128T070000.000000Z.jsonl", "2026-11-28T07:00:00.000000Z", "0.0001", []string{"0.70", "0.79"}},
	}
	for _, r := range runs {
		lines := fmt.Sprintf(`{"k":"run","v":1,"projid":"ml","tstamp":%q,"filename":"train","snapshot":"","kwargs":{},"pid":1,"host":"elsewhere","argv":[]}
{"k":"log","c":0,"n":"lr","t":"float","v":%s,"arg":true}
`, r.tstamp, r.lr)
		for e, acc := range r.accs {
			lines += fmt.Sprintf(`{"k":"ctx","c":%d,"p":0,"n":"epoch","i":%d,"v":%d}
{"k":"log","c":%d,"n":"val_acc","t":"float","v":%s}
`, e+1, e, e, e+1, acc)
		}
		os.WriteFile(filepath.Join(home, "runs", r.file), []byte(lines), 0o644)
	}
}
