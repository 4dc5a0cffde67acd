package storage

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"math"
	"strings"
	"testing"
)

// TestTypesPreserved: each kind of value keeps its type through the
// dataframe, and csv and json write it so a reader gets it back.
func TestTypesPreserved(t *testing.T) {
	home := t.TempDir()
	r := newRunFile(t, home, t0, runOpts{})
	r.arg("epochs", 3)
	r.arg("lr", 1.0) // a whole float stays a float
	r.arg("shuffle", true)
	r.arg("optimizer", "adam, \"fast\"")
	r.log(0, "sizes", []int{1, 2})
	r.log(0, "mixed", 1)
	e0 := r.ctx(0, "epoch", 0, "warmup")
	r.log(e0, "mixed", "two")
	r.log(e0, "nan", math.NaN())
	e1 := r.ctx(0, "epoch", 1, "main")
	r.log(e1, "nan", math.Inf(1))
	r.log(e1, "mixed", 2.5)
	r.close()

	s := openTest(t, home)
	f, err := s.Dataframe(context.Background(), "epochs", "lr", "shuffle", "optimizer", "sizes", "nan", "mixed")
	if err != nil {
		t.Fatal(err)
	}
	types := colTypes(f)
	want := map[string]string{"epochs": "BIGINT", "lr": "DOUBLE", "shuffle": "BOOLEAN", "optimizer": "VARCHAR",
		"sizes": "VARCHAR", "nan": "DOUBLE", "mixed": "VARCHAR", "epoch": "BIGINT", "epoch_value": "VARCHAR"}
	for col, typ := range want {
		if types[col] != typ {
			t.Errorf("column %s: type %s, want %s", col, types[col], typ)
		}
	}
	// Rows: the loop-free row of mixed=1 (it has no epoch), then the epochs.
	if f.Len() != 3 {
		t.Fatalf("%d rows:\n%s", f.Len(), frameText(t, f))
	}
	row := f.Len() - 1
	if v := f.Value(row, "epochs"); v != int64(3) {
		t.Errorf("epochs = %#v", v)
	}
	if v := f.Value(row, "lr"); v != 1.0 {
		t.Errorf("lr = %#v", v)
	}
	if v := f.Value(row, "shuffle"); v != true {
		t.Errorf("shuffle = %#v", v)
	}
	if v := f.Value(row, "optimizer"); v != `adam, "fast"` {
		t.Errorf("optimizer = %#v", v)
	}
	if v := f.Value(row, "sizes"); v != "[1,2]" {
		t.Errorf("sizes = %#v", v)
	}
	if v := f.Value(row, "nan"); v != math.Inf(1) {
		t.Errorf("nan = %#v", v)
	}
	if v := f.Value(row, "epoch_value"); v != "main" {
		t.Errorf("epoch_value = %#v", v)
	}

	var b strings.Builder
	if err := f.WriteCSV(&b); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(strings.NewReader(b.String())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	head := recs[0]
	col := func(name string) int {
		for i, h := range head {
			if h == name {
				return i
			}
		}
		t.Fatalf("no column %s in %v", name, head)
		return -1
	}
	last := recs[len(recs)-1]
	for name, want := range map[string]string{"epochs": "3", "lr": "1.0", "shuffle": "true",
		"optimizer": `adam, "fast"`, "nan": "+Inf", "mixed": "2.5", "epoch_value": "main"} {
		if got := last[col(name)]; got != want {
			t.Errorf("csv %s = %q, want %q", name, got, want)
		}
	}
	if !strings.Contains(b.String(), `,3,1.0,true,"adam, ""fast""",`) {
		t.Errorf("csv numbers are not bare:\n%s", b.String())
	}

	b.Reset()
	if err := f.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var objs []map[string]any
	dec := json.NewDecoder(strings.NewReader(b.String()))
	dec.UseNumber()
	if err := dec.Decode(&objs); err != nil {
		t.Fatalf("json output does not parse: %v\n%s", err, b.String())
	}
	o := objs[len(objs)-1]
	if o["epochs"] != json.Number("3") || o["lr"] != json.Number("1.0") || o["shuffle"] != true ||
		o["nan"] != "+Inf" || o["optimizer"] != `adam, "fast"` {
		t.Errorf("json row = %#v", o)
	}
	if objs[0]["epoch"] != nil || objs[0]["mixed"] != "1" {
		t.Errorf("json first row = %#v (NULL must be null)", objs[0])
	}
	if objs[1]["nan"] != "NaN" {
		t.Errorf("NaN in json = %#v", objs[1]["nan"])
	}
}

func TestWriteTableCuts(t *testing.T) {
	f := &Frame{Columns: []Column{{"a", "BIGINT"}, {"long text", "VARCHAR"}, {"c", "DOUBLE"}, {"d", "VARCHAR"}}}
	for i := range 100 {
		f.Rows = append(f.Rows, []any{int64(i), strings.Repeat("x", 100), float64(i) / 3, "tab\there"})
	}
	var b strings.Builder
	if err := f.WriteTable(&b, TableOptions{MaxRows: 4}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	// header, 2 head rows, "...", 2 tail rows, blank, size.
	if len(lines) != 8 || !strings.HasPrefix(lines[3], "...") || lines[7] != "[100 rows x 4 columns]" {
		t.Fatalf("table:\n%s", b.String())
	}
	if !strings.Contains(lines[1], strings.Repeat("x", 39)+"…") || strings.Contains(lines[1], strings.Repeat("x", 40)) {
		t.Errorf("long cell not cut at 40: %q", lines[1])
	}
	if !strings.Contains(lines[1], `tab\there`) || !strings.Contains(lines[4], " 98  ") || !strings.Contains(lines[1], "0.0") {
		t.Errorf("row: %q / %q", lines[1], lines[4])
	}
	b.Reset()
	f.WriteTable(&b, TableOptions{MaxRows: 4, MaxWidth: 30})
	for _, line := range strings.Split(b.String(), "\n")[:5] {
		if len([]rune(line)) > 30 || !strings.Contains(line, "...") {
			t.Errorf("line %q: longer than 30 or no column cut", line)
		}
	}
	if err := f.Write(&b, "xml", TableOptions{}); err == nil {
		t.Error("format xml accepted")
	}
}
