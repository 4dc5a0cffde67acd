// Package clitest runs the testscript tests of flor's commands (cmd/flor,
// cmd/florc): txtar scripts under testdata/script that exec the commands
// as a user would, with a few commands of their own to lay out a Go
// module built against this checkout and to check exit codes.
//
// It is not for tests of libraries: those call the packages directly.
package clitest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/flordb/flor/internal/scratch"
)

// Run runs the scripts in dir. The commands under test must have been
// installed by testscript.Main in the package's TestMain.
//
// Scripts run with the go command's caches and flags of the test's
// environment, no network (GOPROXY=off), no workspace and flor's echo and
// progress bars off; $FLORROOT is this checkout. Beside testscript's own commands they
// have:
//
//	scratch DIR            make DIR a git repository holding module
//	                       example.com/prog, which requires this flor
//	exits CODE PROG ARGS   run PROG and want exit code CODE; stdout and
//	                       stderr are then matched as after exec
//	chop FILE              remove FILE's final newline (txtar ends every
//	                       file with one; a torn run file has none)
func Run(t *testing.T, dir string) {
	testscript.Run(t, testscript.Params{
		Dir:                 dir,
		RequireExplicitExec: true,
		UpdateScripts:       os.Getenv("UPDATE_SCRIPTS") != "",
		Setup:               setup,
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"scratch": scratchCmd,
			"exits":   exits,
			"chop":    chop,
		},
	})
}

// goEnv is the go command's environment a script needs, read once.
var goEnv = sync.OnceValues(func() ([]string, error) {
	// GOFLAGS too: builds with other flags would not share the cache.
	names := []string{"GOCACHE", "GOMODCACHE", "GOPATH", "GOROOT", "GOFLAGS"}
	out, err := exec.Command("go", append([]string{"env"}, names...)...).Output()
	if err != nil {
		return nil, fmt.Errorf("go env: %w", err)
	}
	vals := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(vals) != len(names) {
		return nil, fmt.Errorf("go env: %d values for %d names", len(vals), len(names))
	}
	env := make([]string, len(names))
	for i, n := range names {
		env[i] = n + "=" + vals[i]
	}
	return env, nil
})

// root is this flor checkout.
var root = sync.OnceValues(func() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	return scratch.Root(wd)
})

func setup(e *testscript.Env) error {
	env, err := goEnv()
	if err != nil {
		return err
	}
	r, err := root()
	if err != nil {
		return err
	}
	e.Vars = append(e.Vars, env...)
	e.Vars = append(e.Vars, "GOENV=off", "GOWORK=off", "GOPROXY=off", "GOTOOLCHAIN=local",
		"FLOR_ECHO=0", "FLOR_PROGRESS=0", "FLORROOT="+r)
	return nil
}

func scratchCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: scratch DIR")
	}
	r, err := root()
	ts.Check(err)
	_, err = scratch.New(ts.MkAbs(args[0]), "example.com/prog", r, nil)
	ts.Check(err)
}

func exits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits CODE PROG [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exits: bad code %q", args[0])
	}
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			ts.Fatalf("exits: %v", err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited with %d, want %d", args[1], got, want)
	}
}

func chop(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: chop FILE")
	}
	path := ts.MkAbs(args[0])
	b, err := os.ReadFile(path)
	ts.Check(err)
	ts.Check(os.WriteFile(path, bytes.TrimSuffix(b, []byte("\n")), 0o644))
}
