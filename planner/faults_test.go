package planner

import (
	"bytes"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flordb/flor/internal/record"
	"github.com/flordb/flor/storage"
)

// A replayed version that panics is summarised by its panic line and
// where in the program it happened; the stack stays in the log.
func TestReplayPanicSummary(t *testing.T) {
	p := newProject(t, []string{"lr=0.5"})
	p.edit("\t\tflor.Log(\"w\", m.W)\n", "\t\tflor.Log(\"w\", m.W)\n\t\tflor.Log(\"boom\", []float64{m.W}[e])\n")
	ctx := context.Background()
	opt := p.options("boom")
	opt.Workers = 1
	s, err := p.plan(ctx, opt)
	if err != nil {
		t.Fatal(err)
	}
	outs := Execute(ctx, s, opt)
	if len(outs) != 1 {
		t.Fatalf("%d outcomes, want 1", len(outs))
	}
	o := outs[0]
	if !errors.Is(o.Err, ErrWorker) {
		t.Fatalf("err = %v, want ErrWorker", o.Err)
	}
	want := "worker 0: exit status 2: panic: runtime error: index out of range [1] with length 1 (at main.go:16)"
	if !strings.HasSuffix(o.Err.Error(), want) {
		t.Errorf("summary:\n%v\nwant it to end with:\n%s", o.Err, want)
	}
	if strings.Contains(o.Err.Error(), "goroutine") || strings.Contains(o.Err.Error(), "\n") {
		t.Errorf("the summary holds the stack:\n%v", o.Err)
	}
	data, err := os.ReadFile(o.Log)
	if err != nil {
		t.Fatalf("log %q: %v", o.Log, err)
	}
	if !strings.Contains(string(data), "goroutine 1 [running]") {
		t.Errorf("the log lacks the stack:\n%s", data)
	}
	if n := p.count(`SELECT count(*) FROM logs WHERE value_name = 'boom'`); n != 0 {
		t.Errorf("a failed replay published %d values", n)
	}
}

// A version that does not build is summarised by its first compiler
// error.
func TestBuildFailureSummary(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":  "module example.com/broken\n\ngo 1.26\n",
		"main.go": "package main\n\nfunc main() {\n\tundefinedA()\n\tundefinedB()\n\tundefinedC()\n}\n",
	}
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	log, err := os.Create(filepath.Join(t.TempDir(), "build.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	err = build(context.Background(), dir, dir, filepath.Join(t.TempDir(), "bin"), storage.Build{}, log)
	if !errors.Is(err, ErrBuild) {
		t.Fatalf("err = %v, want ErrBuild", err)
	}
	if want := "build failed: ./main.go:4:2: undefined: undefinedA (and 2 more)"; err.Error() != want {
		t.Errorf("summary %q, want %q", err, want)
	}
	data, _ := os.ReadFile(log.Name())
	if !strings.Contains(string(data), "undefinedC") {
		t.Errorf("the log lacks the other errors:\n%s", data)
	}
}

func TestWorkerFailure(t *testing.T) {
	tree := "/tmp/work/src"
	for _, c := range []struct{ out, want string }{
		{"flor: replay: run X: restoring \"m\" at iteration 2: checkpoint: corrupt blob /h/objects/ab/cd: its bytes hash to 00\n",
			"replay: run X: restoring \"m\" at iteration 2: checkpoint: corrupt blob /h/objects/ab/cd: its bytes hash to 00"},
		{"epoch 1\npanic: boom [recovered]\n\tpanic: boom\n\ngoroutine 1 [running]:\nmain.f()\n\t/usr/lib/go/src/runtime/panic.go:12 +0x1\nmain.main()\n\t/tmp/work/src/cmd/train/main.go:9 +0x2\n",
			"panic: boom [recovered] (at cmd/train/main.go:9)"},
		{"fatal error: all goroutines are asleep - deadlock!\n\ngoroutine 1 [chan receive]:\nmain.main()\n\t/tmp/work/src/main.go:5 +0x1d\n",
			"fatal error: all goroutines are asleep - deadlock! (at main.go:5)"},
		{"some output\nsignal: killed\n\n", "signal: killed"},
		{"", "no output"},
	} {
		if got := workerFailure(c.out, tree); got != c.want {
			t.Errorf("workerFailure(%q) = %q, want %q", c.out, got, c.want)
		}
	}
}

// A run whose checkpoint blob has a flipped bit is not published, the
// error names the blob, the run and the iteration, and the other runs
// replay.
func TestReplayCorruptBlob(t *testing.T) {
	p := newProject(t, []string{"lr=0.5"}, []string{"lr=0.25"})
	runs := p.runs()
	if len(runs) != 2 {
		t.Fatalf("%d runs", len(runs))
	}
	bad := runs[0]
	var h string
	ctx := context.Background()
	st, err := storage.Open(ctx, p.home, storage.WithMessages(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	err = st.DB().QueryRowContext(ctx, `SELECT objs->>'model' FROM checkpoints
		WHERE tstamp = ? AND block = '' ORDER BY iteration DESC LIMIT 1`, bad.Tstamp).Scan(&h)
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	blob := filepath.Join(p.home, "objects", h[:2], h[2:])
	data, err := os.ReadFile(blob)
	if err != nil {
		t.Fatal(err)
	}
	flipDecodable(t, data)
	if err := os.WriteFile(blob, data, 0o644); err != nil {
		t.Fatal(err)
	}

	p.edit("\tflor.Log(\"final\", m.W)\n", "\tflor.Log(\"w_end\", m.W*2)\n\tflor.Log(\"final\", m.W)\n")
	opt := p.options("w_end")
	s, err := p.plan(ctx, opt)
	if err != nil {
		t.Fatal(err)
	}
	outs := Execute(ctx, s, opt)
	if len(outs) != 2 {
		t.Fatalf("%d outcomes, want 2", len(outs))
	}
	badTs := record.FormatTime(bad.Tstamp)
	for _, o := range outs {
		if o.Row.Run.Tstamp != badTs {
			if o.Err != nil {
				t.Errorf("the intact run failed: %v", o.Err)
			}
			continue
		}
		if o.Err == nil {
			t.Fatalf("the run with a corrupt blob replayed without error")
		}
		t.Logf("the corrupt run's error: %v", o.Err)
		for _, want := range []string{"corrupt blob " + blob, "run " + badTs, "at iteration 2"} {
			if !strings.Contains(o.Err.Error(), want) {
				t.Errorf("the error lacks %q:\n%v", want, o.Err)
			}
		}
	}
	q := `SELECT count(*) FROM logs WHERE value_name = 'w_end'`
	if n := p.count(q); n != 1 {
		t.Errorf("%d w_end values, want 1: the intact run's", n)
	}
	byRun := func(r storage.Run) string { return q + fmt.Sprintf(` AND epoch_us(tstamp) = %d`, r.Tstamp.UnixMicro()) }
	if n := p.count(byRun(bad)); n != 0 {
		t.Errorf("the corrupt run has %d w_end values", n)
	}
	if n := p.count(byRun(runs[1])); n != 1 {
		t.Errorf("the intact run has %d w_end values, want 1", n)
	}
}

// flipDecodable flips one bit of a gob of struct{ W float64 } so that it
// still decodes, to another value: the silent corruption only the content
// address catches.
func flipDecodable(t *testing.T, blob []byte) {
	t.Helper()
	type model struct{ W float64 }
	decode := func() (model, bool) {
		var m model
		return m, gob.NewDecoder(bytes.NewReader(blob)).Decode(&m) == nil
	}
	orig, ok := decode()
	if !ok {
		t.Fatal("the blob is not a gob of the model")
	}
	for i := len(blob) - 1; i >= 0; i-- {
		blob[i] ^= 0x01
		if m, ok := decode(); ok && m != orig {
			return
		}
		blob[i] ^= 0x01
	}
	t.Fatal("no one-bit change of the blob decodes")
}
