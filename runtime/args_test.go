package runtime

import (
	"errors"
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
