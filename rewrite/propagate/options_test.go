package propagate_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/flordb/flor/analyzer/analyzertest"
	"github.com/flordb/flor/rewrite/propagate"
)

const tagOldMain = `package main

import "github.com/flordb/flor"

func main() {
	for e := range flor.Loop("epoch", flor.Range(2)) {
		flor.Log("e", e)
	}
}
`

const tagNewMain = `package main

import "github.com/flordb/flor"

func main() {
	for e := range flor.Loop("epoch", flor.Range(2)) {
		flor.Log("e", e)
		flor.Log("b", float64(e)+bonus)
	}
}
`

// The old version declares bonus only behind a tag: loaded with that tag,
// the statement using it has its counterpart; without, it has none.
func TestPackageBuildFlags(t *testing.T) {
	dir := analyzertest.NewModule(t).Dir
	newDir, oldDir := filepath.Join(dir, "new"), filepath.Join(dir, "old")
	for d, files := range map[string]map[string]string{
		newDir: {"main.go": tagNewMain, "bonus.go": "package main\n\nconst bonus = 0.5\n"},
		oldDir: {"main.go": tagOldMain, "bonus_on.go": "//go:build special\n\npackage main\n\nconst bonus = 0.5\n"},
	} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, data := range files {
			if err := os.WriteFile(filepath.Join(d, name), []byte(data), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	res, err := propagate.Package(newDir, oldDir, propagate.Names("b"))
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Err(); !errors.Is(err, propagate.ErrNoCounterpart) {
		t.Errorf("without the tag: %v, want ErrNoCounterpart", err)
	}
	for _, flags := range [][]string{{"-tags=special"}, {"-tags", "x,special"}} {
		res, err = propagate.Package(newDir, oldDir, propagate.Names("b"), propagate.BuildFlags(flags...))
		if err != nil {
			t.Fatal(err)
		}
		if o := res.Outcomes[0]; o.Status != propagate.Inserted {
			t.Errorf("with %q: %v, want inserted", flags, o)
		}
		if err := res.Check(oldDir); err != nil {
			t.Errorf("with %q: Check: %v", flags, err)
		}
	}
}
