package runtime

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestUnusableHomeIsRefused(t *testing.T) {
	dir := gitInit(t)
	file := filepath.Join(t.TempDir(), "home")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ home, want string }{
		{file, "flor: unusable flor home: FLOR_HOME=" + file + " is a file, not a directory; point FLOR_HOME at a directory (it is created if missing)"},
		{filepath.Join(file, "sub"), "flor: unusable flor home: FLOR_HOME=" + filepath.Join(file, "sub") + " is inside " + file + ", which is a file, not a directory"},
		{"/", "flor: unusable flor home: FLOR_HOME=/ is the file system's root; set FLOR_HOME to a directory of its own, such as /flor"},
	} {
		_, err := New(Options{Dir: dir, Stdout: discard{}, Stderr: discard{}, Env: testEnv(map[string]string{"FLOR_HOME": c.home})})
		if !errors.Is(err, ErrHome) || err.Error() != c.want {
			t.Errorf("FLOR_HOME=%s: %v, want %q", c.home, err, c.want)
		}
	}
	if _, err := os.Stat("/runs"); err == nil {
		t.Error("/runs exists")
	}
	// The default home, .flor, made a file by mistake.
	if err := os.WriteFile(filepath.Join(dir, ".flor"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, ".git", "info", "exclude"))
	_, err := New(Options{Dir: dir, Stdout: discard{}, Stderr: discard{}, Env: testEnv(nil)})
	if !errors.Is(err, ErrHome) || !strings.Contains(err.Error(), filepath.Join(dir, ".flor")+" is a file") {
		t.Errorf("a .flor file: %v, want ErrHome naming it", err)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, ".git", "info", "exclude")); string(after) != string(before) {
		t.Errorf("exclude changed: %q", after)
	}
}
