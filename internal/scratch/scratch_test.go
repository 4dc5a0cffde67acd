package scratch

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestNewBuilds(t *testing.T) {
	wd, _ := os.Getwd()
	root, err := Root(wd)
	if err != nil {
		t.Fatal(err)
	}
	if root != filepath.Dir(filepath.Dir(wd)) {
		t.Fatalf("root = %s, want the module root above %s", root, wd)
	}
	dir := t.TempDir()
	p, err := New(dir, "example.com/s", root, map[string][]byte{
		"cmd/x/main.go": []byte("package main\n\nimport \"github.com/flordb/flor\"\n\nfunc main() { _ = flor.Range(1) }\n"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Commit("one"); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "vet", "./...")
	cmd.Dir = dir
	cmd.Env = BuildEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go vet: %v\n%s", err, out)
	}
	log := exec.Command("git", "log", "--oneline")
	log.Dir = dir
	if out, err := log.CombinedOutput(); err != nil || !strings.Contains(string(out), "one") {
		t.Errorf("git log: %q %v", out, err)
	}
	if _, err := Root(t.TempDir()); err == nil {
		t.Error("found a flor source tree in an empty directory")
	}
}

// A scratch module builds offline and without -mod=mod: its go.mod lists
// what flor requires, so go.sum from flor's tree is all it needs. That is
// how analyzertest builds its programs.
func TestNewBuildsOffline(t *testing.T) {
	wd, _ := os.Getwd()
	root, err := Root(wd)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := New(dir, "example.com/off", root, map[string][]byte{
		"main.go": []byte("package main\n\nimport \"github.com/flordb/flor\"\n\nfunc main() { flor.Log(\"x\", 1) }\n"),
	}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "build", "-o", filepath.Join(t.TempDir(), "off"), ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOPROXY=off", "GOFLAGS=-mod=readonly")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
}
