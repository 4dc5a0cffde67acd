package runtime

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A read-only home (here a read-only bind mount, which binds root too)
// stops the run at its first flor call, naming the home and the cause.
func TestReadOnlyHomeIsReported(t *testing.T) {
	home := t.TempDir()
	if err := syscall.Mount(home, home, "", syscall.MS_BIND, ""); err != nil {
		t.Skip("cannot bind-mount:", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(home, 0) })
	if err := syscall.Mount("", home, "", syscall.MS_REMOUNT|syscall.MS_BIND|syscall.MS_RDONLY, ""); err != nil {
		t.Skip("cannot remount read-only:", err)
	}
	var stderr lockedBuffer
	r, err := New(Options{Dir: gitInit(t), Stdout: discard{}, Stderr: &stderr, Env: testEnv(map[string]string{"FLOR_HOME": home})})
	if err != nil {
		t.Fatal(err)
	}
	code := -1
	r.exit = func(c int) { code = c; panic(exitCode(c)) }
	func() {
		defer func() { _ = recover() }()
		Log(r, "x", 1)
	}()
	want := "flor: creating " + home + ": mkdir " + filepath.Join(home, "runs") + ": read-only file system\n"
	if code != 1 || stderr.String() != want {
		t.Errorf("exit %d, stderr %q; want 1 and %q", code, stderr.String(), want)
	}
	if ents, _ := os.ReadDir(home); len(ents) != 0 || !errors.Is(r.startErr, syscall.EROFS) || !strings.Contains(r.startErr.Error(), home) {
		t.Errorf("home holds %v; start error %v", ents, r.startErr)
	}
}
