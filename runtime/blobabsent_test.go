package runtime

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A block whose capture refers to a blob the home lacks (records pulled
// without checkpoints) is not skipped: it runs, and nothing is restored.
func TestSkippableNeedsBlobs(t *testing.T) {
	home := t.TempDir()
	h := strings.Repeat("ab", 32)
	rs := &replayState{plan: Plan{Home: home}, execute: map[string]bool{},
		ckpts: map[ckptKey]ckptRecord{{0, "inner", 0}: {E: 0, B: "inner", Objs: map[string]string{"model": h}}}}
	if _, ok := rs.skippable(0, "inner", 0, 0, []string{"model"}); ok {
		t.Fatal("a block whose blob is absent is skippable")
	}
	p := blobPath(home, h)
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, ok := rs.skippable(0, "inner", 0, 0, []string{"model"}); !ok {
		t.Fatal("a block whose blob is present is not skippable")
	}
}
