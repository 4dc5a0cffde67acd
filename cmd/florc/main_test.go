package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flordb/flor/analyzer/analyzertest"
)

const program = `package main

import "github.com/flordb/flor"

func main() {
	defer flor.Commit()
	total := 0
	for epoch := range flor.Loop("epoch", flor.Range(2)) {
		for i := range 3 {
			total += epoch * i
		}
		flor.Log("total", total)
	}
}
`

func florc(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = newMain(&out, &errb).Run(context.Background(), args)
	return code, out.String(), errb.String()
}

func TestUsage(t *testing.T) {
	tests := []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{nil, 2, "", "usage: florc COMMAND"},
		{[]string{"--help"}, 0, "instrument", ""},
		{[]string{"frobnicate"}, 2, "", `florc: unknown command "frobnicate"`},
		{[]string{"analyze", "--help"}, 0, "Examples:", ""},
		{[]string{"instrument", "-h"}, 0, "florc instrument -w ./examples/mnist", ""},
		{[]string{"analyze"}, 2, "", "florc analyze: want one package, got 0 arguments"},
		{[]string{"analyze", "--bogus", "x"}, 2, "", "flag provided but not defined: -bogus"},
		{[]string{"instrument", "-w", "-o", "d", "x"}, 2, "", "-w and -o exclude each other"},
	}
	for _, tt := range tests {
		code, out, errs := florc(tt.args...)
		if code != tt.code || !strings.Contains(out, tt.stdout) || !strings.Contains(errs, tt.stderr) {
			t.Errorf("florc %v = %d\nstdout %q\nstderr %q\nwant %d, stdout with %q, stderr with %q", tt.args, code, out, errs, tt.code, tt.stdout, tt.stderr)
		}
	}
}

func TestAnalyzeAndInstrument(t *testing.T) {
	m := analyzertest.NewModule(t)
	m.Write(t, "prog", map[string][]byte{"main.go": []byte(program)})
	m.Write(t, "bad", map[string][]byte{"main.go": []byte(strings.Replace(program, `"total", total`, `"total"+string(rune(epoch)), total`, 1))})
	prog := filepath.Join(m.Dir, "prog")
	bad := filepath.Join(m.Dir, "bad")

	// Flags may follow the package.
	code, out, errs := florc("analyze", prog, "--json")
	if code != 0 {
		t.Fatalf("analyze --json: %d %s", code, errs)
	}
	var a struct {
		MainLoop struct{ Name string } `json:"main_loop"`
		Blocks   []struct{ ID string }
	}
	if err := json.Unmarshal([]byte(out), &a); err != nil || a.MainLoop.Name != "epoch" || len(a.Blocks) != 1 || a.Blocks[0].ID != "loop#1" {
		t.Errorf("analyze --json: %v\n%s", err, out)
	}
	code, out, _ = florc("analyze", prog)
	if code != 0 || !strings.Contains(out, `main loop "epoch" at main.go:8:2`) || !strings.Contains(out, "extra &total") {
		t.Errorf("analyze: %d\n%s", code, out)
	}

	// Errors: position, exit code 1, nothing written.
	code, _, errs = florc("analyze", bad)
	if code != 1 || !strings.Contains(errs, "florc: main.go:12:12: flor.Log name") {
		t.Errorf("analyze bad: %d\n%s", code, errs)
	}
	code, _, errs = florc("instrument", "-o", filepath.Join(m.Dir, "out"), bad)
	if code != 1 || !strings.Contains(errs, "main.go:12:12") {
		t.Errorf("instrument bad: %d\n%s", code, errs)
	}
	if _, err := os.Stat(filepath.Join(m.Dir, "out")); !os.IsNotExist(err) {
		t.Errorf("instrument of bad input created its output directory")
	}
	code, _, errs = florc("analyze", filepath.Join(m.Dir, "nowhere"))
	if code != 1 || !strings.HasPrefix(errs, "florc: ") || !strings.Contains(errs, "cannot load package") {
		t.Errorf("analyze of a missing package: %d\n%s", code, errs)
	}

	// Without -w or -o the changed files go to stdout; -w writes them.
	code, shown, errs := florc("instrument", prog)
	if code != 0 || !strings.HasPrefix(shown, "-- main.go --\n") {
		t.Fatalf("instrument: %d %s\n%s", code, errs, shown)
	}
	if code, _, errs := florc("instrument", prog, "-w"); code != 0 {
		t.Fatalf("instrument -w: %d %s", code, errs)
	}
	written, err := os.ReadFile(filepath.Join(prog, "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	if "-- main.go --\n"+string(written) != shown || !strings.Contains(string(written), `flor.SkipStart("loop#1", &total)`) {
		t.Errorf("instrument -w wrote:\n%s\nbut showed:\n%s", written, shown)
	}
	if code, out, _ := florc("instrument", prog); code != 0 || out != "" {
		t.Errorf("instrumenting again changes the code: %d\n%s", code, out)
	}
}
