package runtime

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestRecordOff: with FLOR_RECORD=0 the calls do what the program needs
// (Arg reads --kwargs, Loop yields, Log returns and echoes) and nothing
// is written, not even outside a git repository.
func TestRecordOff(t *testing.T) {
	dir := t.TempDir() // not a git repository
	home := filepath.Join(dir, "home")
	var stdout bytes.Buffer
	r, err := New(Options{Args: []string{"--kwargs", "epochs=3"}, Dir: dir, Stdout: &stdout, Stderr: &stdout,
		Env: testEnv(map[string]string{recordEnv: "0", "FLOR_HOME": home})})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Off() {
		t.Fatal("FLOR_RECORD=0: recording is on")
	}
	epochs := Arg(r, "epochs", 5)
	if epochs != 3 {
		t.Fatalf("Arg(epochs) = %d, want 3 from --kwargs", epochs)
	}
	var state struct{ N int }
	r.Checkpoint("state", &state)
	n := 0
	for e := range Loop(r, "epoch", Range(epochs)) {
		end := IterationOf(r, "doc", NoIndex, "a.txt")
		if !r.SkipStart("b") {
			t.Fatal("SkipStart: false with recording off")
		}
		for range Loop(r, "step", Range(2)) {
			n++
		}
		r.SkipEnd("b")
		end()
		Log(r, "loss", float64(e)/4)
	}
	if n != 6 {
		t.Fatalf("%d steps ran, want 6", n)
	}
	u, err := New(Options{Like: r, Unit: true})
	if err != nil {
		t.Fatal(err)
	}
	Log(u, "label", "red")
	if err := u.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := r.Commit(); err != nil {
		t.Fatal(err)
	}
	want := "loss: 0\nloss: 0.25\nloss: 0.5\nlabel: red\n"
	if stdout.String() != want {
		t.Errorf("output %q, want %q", stdout.String(), want)
	}
	if _, err := os.Stat(home); !os.IsNotExist(err) {
		t.Errorf("%s: %v, want nothing written", home, err)
	}
	r.SetEcho(false)
	stdout.Reset()
	Log(r, "quiet", 1)
	if stdout.Len() != 0 {
		t.Errorf("echo off: printed %q", stdout.String())
	}
}
