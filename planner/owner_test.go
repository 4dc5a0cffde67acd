package planner

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// deadPid is the pid of a process that has exited and been waited for.
func deadPid(t *testing.T) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

// Unpublished replay results are removed only when their owner is known
// dead: a replay on another host sharing the home keeps its work.
func TestCleanStaleOwners(t *testing.T) {
	home := t.TempDir()
	me := self()
	dead := deadPid(t)
	// name → pid, host ("" = no host file, as older flor versions left)
	dirs := map[string]owner{
		"tmp-dead-here":    {dead, me.host},
		"tmp-dead-legacy":  {dead, ""},
		"tmp-other-host":   {dead, me.host + "-elsewhere"},
		"tmp-alive-here":   me,
		"tmp-alive-legacy": {me.pid, ""},
	}
	for name, o := range dirs {
		d := filepath.Join(home, "replay", name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if o.host != "" {
			if err := os.WriteFile(filepath.Join(d, "host"), []byte(o.host+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(d, "owner"), []byte(fmt.Sprint(o.pid)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cleanStale(home)
	for name, want := range map[string]bool{"tmp-dead-here": false, "tmp-dead-legacy": false,
		"tmp-other-host": true, "tmp-alive-here": true, "tmp-alive-legacy": true} {
		_, err := os.Stat(filepath.Join(home, "replay", name))
		if got := err == nil; got != want {
			t.Errorf("%s (owner %q): kept %v, want %v", name, dirs[name], got, want)
		}
	}
}
