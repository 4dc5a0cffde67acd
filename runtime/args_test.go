package runtime

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestKwargIntegersAreDecimal(t *testing.T) {
	for s, want := range map[string]int{"010": 10, "0042": 42, "+7": 7, "-3": -3, " 12 ": 12, "-0": 0, "1e3": 1000, "5.0": 5, "007e1": 70} {
		if v, err := parseArg[int](s); err != nil || v != want {
			t.Errorf("int %q = %v, %v; want %d", s, v, err, want)
		}
	}
	for _, s := range []string{"0x10", "0o17", "0b11", "1_000", "0x1p4", "inf", "NaN", "1.5", "", "--1"} {
		if v, err := parseArg[int](s); err == nil {
			t.Errorf("int %q = %v, want an error", s, v)
		}
	}
	if _, err := parseArg[int64]("1e19"); err == nil || !strings.Contains(err.Error(), "overflows") {
		t.Errorf("int64 1e19: error %v, want overflow", err)
	}
	// Floats keep ParseFloat's syntax.
	if v, err := parseArg[float64]("0010.5"); err != nil || v != 10.5 {
		t.Errorf("float 0010.5 = %v, %v", v, err)
	}
}

func TestKwargGivenTwice(t *testing.T) {
	for _, args := range [][]string{
		{"--kwargs", "epochs=3", "epochs=5"},
		{"--kwargs", "epochs=3", "--other", "--kwargs=epochs=3"},
	} {
		_, _, err := ParseKwargs(args)
		if !errors.Is(err, ErrKwargs) || !strings.Contains(err.Error(), `"epochs" is given twice`) {
			t.Errorf("ParseKwargs(%q) error = %v, want one naming epochs", args, err)
		}
	}
	if _, err := New(Options{Args: []string{"--kwargs", "seed=1", "seed=2"}, Dir: gitInit(t), Env: testEnv(nil)}); !errors.Is(err, ErrKwargs) {
		t.Errorf("New with seed twice: %v, want ErrKwargs", err)
	}
}

// FuzzParseKwargs splits its input into words at spaces. Whatever the
// words, ParseKwargs does not panic, and what it returns is consistent:
// every word is either kept or read as one name=value, names are never
// empty, and integer values read as decimal.
func FuzzParseKwargs(f *testing.F) {
	f.Fuzz(func(t *testing.T, line string) {
		args := strings.Split(line, " ")
		kw, rest, err := ParseKwargs(args)
		if err != nil {
			if !errors.Is(err, ErrKwargs) {
				t.Fatalf("error %v is not ErrKwargs", err)
			}
			return
		}
		if len(rest) > len(args) {
			t.Fatalf("rest %q longer than args %q", rest, args)
		}
		for name, val := range kw {
			if name == "" || strings.Contains(name, "=") {
				t.Fatalf("bad name %q", name)
			}
			n, err := parseArg[int64](val)
			if err != nil {
				continue
			}
			// A plain signed digit string reads as its decimal value.
			digits := strings.TrimLeft(strings.TrimSpace(val), "+-")
			if digits != "" && strings.Trim(digits, "0123456789") == "" {
				want, werr := strconv.ParseInt(strings.TrimSpace(val), 10, 64)
				if werr == nil && n != want {
					t.Fatalf("%s=%q read as %d, want %d", name, val, n, want)
				}
			}
			if strings.ContainsAny(val, "xXoObB_") {
				t.Fatalf("%s=%q read as %d: not decimal", name, val, n)
			}
		}
	})
}

func init() {
	// lateBadKwarg reads a bad kwarg after the run has logged.
	children["lateBadKwarg"] = func() {
		r := childRun()
		Log(r, "loss", 0.5)
		_ = Arg(r, "epochs", 5)
		Log(r, "never", 1)
	}
}

func TestLateBadKwargKeepsTheRunFailed(t *testing.T) {
	dir := gitInit(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "FLOR_TEST_CHILD=lateBadKwarg", "FLOR_TEST_DIR="+dir,
		"FLOR_TEST_ARGS=--kwargs epochs=abc", "FLOR_PROGRESS=0", "FLOR_ECHO=0")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Fatalf("exit = %v, want code 2; output:\n%s", err, out)
	}
	want := `flor: --kwargs epochs=abc: "abc" is not a decimal integer; arg "epochs" expects an integer like its default 5` + "\n"
	if string(out) != want {
		t.Errorf("output %q, want %q", out, want)
	}
	files, _ := filepath.Glob(filepath.Join(dir, ".flor", "runs", "*.jsonl"))
	if len(files) != 1 {
		t.Fatalf("run files %v, want the one run", files)
	}
	recs := readRecords(t, files[0])
	last := recs[len(recs)-1]
	if last["k"] != "end" || last["status"] != "failed" {
		t.Errorf("last record %v, want an end record with status failed", last)
	}
	var loss, warned bool
	for _, rec := range recs {
		loss = loss || rec["n"] == "loss"
		warned = warned || rec["k"] == "warn" && strings.Contains(rec["msg"].(string), "epochs=abc")
		if rec["n"] == "never" {
			t.Error("a record after the bad kwarg")
		}
	}
	if !loss || !warned {
		t.Errorf("records %v: want the loss logged before and the message", recs)
	}
}
