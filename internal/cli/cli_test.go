package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strings"
	"testing"
)

type echoOptions struct {
	n     int
	upper bool
	words []string
}

type echoEnv struct{ out *bytes.Buffer }

var errBroken = errors.New("broken")

var echoSpec = &Spec[*echoEnv, echoOptions]{
	Name:    "echo",
	Summary: "print its words",
	Usage:   "Usage: echo [-n N] [-upper] WORD...\n\nExamples:\n\n\techo -n 2 hi\n\nFlags:\n",
	Flags: func(fs *flag.FlagSet, o *echoOptions) {
		fs.IntVar(&o.n, "n", 1, "print the words `N` times")
		fs.BoolVar(&o.upper, "upper", false, "in upper case")
	},
	Args: func(o *echoOptions, words []string) error {
		if len(words) == 0 {
			return Usagef("echo needs words")
		}
		o.words = words
		return nil
	},
	Run: func(ctx context.Context, e *echoEnv, o *echoOptions) error {
		if slices.Contains(o.words, "fail") {
			return WithHint(fmt.Errorf("cannot echo: %w", errBroken), "try other words")
		}
		if slices.Contains(o.words, "many") {
			return errors.Join(errors.New("one"), errors.New("two"))
		}
		s := strings.Join(o.words, " ")
		if o.upper {
			s = strings.ToUpper(s)
		}
		for range o.n {
			fmt.Fprintln(e.out, s)
		}
		return nil
	},
}

var quietSpec = &Spec[*echoEnv, struct{}]{
	Name: "quiet", Summary: "do nothing", Usage: "Usage: quiet\n",
	Run: func(context.Context, *echoEnv, *struct{}) error { return nil },
}

func run(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	e := &echoEnv{out: &out}
	m := &Main{Name: "prog", Intro: "prog echoes.", Outro: "More words.",
		Commands: []*Command{echoSpec.Bind(e), quietSpec.Bind(e)}, Stdout: &out, Stderr: &errb}
	code = m.Run(context.Background(), args)
	return code, out.String(), errb.String()
}

// Main decides the exit code and prints every error one way.
func TestMainRun(t *testing.T) {
	for _, c := range []struct {
		args           []string
		code           int
		stdout, stderr string // exact
	}{
		{[]string{"echo", "a", "-n", "2", "b", "--upper"}, ExitOK, "A B\nA B\n", ""},
		{[]string{"echo", "--", "-n"}, ExitOK, "-n\n", ""},
		{[]string{"echo", "fail"}, ExitFailure, "", "prog: error: cannot echo: broken\ntry other words\n"},
		{[]string{"echo", "many"}, ExitFailure, "", "prog: error: one\nprog: error: two\n"},
		{[]string{"echo"}, ExitUsage, "", "prog: error: echo needs words\nrun 'prog echo --help' for usage\n"},
		{[]string{"echo", "-m", "x"}, ExitUsage, "", "prog: error: flag provided but not defined: -m\nrun 'prog echo --help' for usage\n"},
		{[]string{"echo", "-uper", "x"}, ExitUsage, "", "prog: error: flag provided but not defined: -uper\ndid you mean --upper?\nrun 'prog echo --help' for usage\n"},
		{[]string{"echo", "-n", "two", "x"}, ExitUsage, "", "prog: error: invalid value \"two\" for flag -n: parse error\nrun 'prog echo --help' for usage\n"},
		{[]string{"quiet", "x"}, ExitUsage, "", "prog: error: quiet takes no arguments\nrun 'prog quiet --help' for usage\n"},
		{[]string{"ecoh", "x"}, ExitUsage, "", "prog: error: unknown command \"ecoh\"\ndid you mean 'prog echo'?\nrun 'prog help' for usage\n"},
		{[]string{"help", "nope"}, ExitUsage, "", "prog: error: unknown command \"nope\"\nrun 'prog help' for usage\n"},
		{[]string{"quiet", "--help"}, ExitOK, "Usage: quiet\n", ""},
		{[]string{"help", "quiet"}, ExitOK, "Usage: quiet\n", ""},
	} {
		code, out, errs := run(c.args...)
		if code != c.code || out != c.stdout || errs != c.stderr {
			t.Errorf("prog %q: exit %d\nstdout %q\nstderr %q\nwant exit %d\nstdout %q\nstderr %q", c.args, code, out, errs, c.code, c.stdout, c.stderr)
		}
	}
}

// The program's help lists the commands; a Usage ending in "Flags:" gets
// the flags' defaults; help asked for goes to stdout, help after a
// mistake to stderr.
func TestHelp(t *testing.T) {
	code, out, errs := run("--help")
	want := "prog echoes.\n\nUsage:\n\n\tprog <command> [flags] [arguments]\n\nCommands:\n\n\techo   print its words\n\tquiet  do nothing\n\nMore words.\n\nRun 'prog <command> --help' for a command's flags and examples.\n"
	if code != ExitOK || out != want || errs != "" {
		t.Errorf("--help: exit %d\n%s\nstderr %q", code, out, errs)
	}
	if code, out, errs := run(); code != ExitUsage || out != "" || errs != want {
		t.Errorf("no arguments: exit %d, stdout %q\nstderr %q", code, out, errs)
	}
	code, out, _ = run("echo", "-h")
	if code != ExitOK || !strings.Contains(out, "Examples:\n\n\techo -n 2 hi\n\nFlags:\n  -n N\n    \tprint the words N times (default 1)\n") {
		t.Errorf("echo -h: exit %d\n%s", code, out)
	}
}

// Parse fills options alone, so a test or another command can build them
// from a command line without running anything.
func TestParse(t *testing.T) {
	o, err := echoSpec.Parse([]string{"x", "-n", "3", "y"})
	if err != nil || o.n != 3 || !slices.Equal(o.words, []string{"x", "y"}) {
		t.Errorf("Parse = %+v, %v", o, err)
	}
	if _, err := echoSpec.Parse([]string{"-n", "x"}); !errors.Is(err, ErrUsage) {
		t.Errorf("a bad value: %v, want ErrUsage", err)
	}
	if _, err := echoSpec.Parse([]string{"--help"}); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("--help: %v, want flag.ErrHelp", err)
	}
}

func TestClosest(t *testing.T) {
	names := []string{"runs", "dataframe", "query", "stat", "replay", "demo"}
	for in, want := range map[string]string{
		"rnus": "runs", "dataframes": "dataframe", "qeury": "query", "replya": "replay", "stats": "stat",
		"data": "dataframe", "re": "replay", "r": "", "frobnicate": "", "": "", "runs": "runs", "demos": "demo",
	} {
		if got := Closest(in, names); got != want {
			t.Errorf("Closest(%q) = %q, want %q", in, got, want)
		}
	}
}
