package planner

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flordb/flor/analyzer"
	"github.com/flordb/flor/internal/scratch"
)

// ensureCommit's output for each way main's file can import flor; every
// output must build.
var commitCases = []struct{ name, in, want string }{
	{"blank import",
		"package main\n\nimport _ \"github.com/flordb/flor\"\n\nfunc main() {\n\tprintln(1)\n}\n",
		"package main\n\nimport florreplay \"github.com/flordb/flor\"\n\nimport _ \"github.com/flordb/flor\"\n\nfunc main() {\n\tdefer florreplay.Commit() // added for replay\n\n\tprintln(1)\n}\n"},
	{"dot import",
		"package main\n\nimport . \"github.com/flordb/flor\"\n\nfunc main() {\n\tLog(\"x\", 1)\n}\n",
		"package main\n\nimport florreplay \"github.com/flordb/flor\"\n\nimport . \"github.com/flordb/flor\"\n\nfunc main() {\n\tdefer florreplay.Commit() // added for replay\n\n\tLog(\"x\", 1)\n}\n"},
	{"dot import that commits",
		"package main\n\nimport . \"github.com/flordb/flor\"\n\nfunc main() {\n\tdefer Commit()\n\tLog(\"x\", 1)\n}\n",
		"package main\n\nimport . \"github.com/flordb/flor\"\n\nfunc main() {\n\tdefer Commit()\n\tLog(\"x\", 1)\n}\n"},
	{"renamed import",
		"package main\n\nimport fl \"github.com/flordb/flor\"\n\nfunc main() {\n\tfl.Log(\"x\", 1)\n}\n",
		"package main\n\nimport fl \"github.com/flordb/flor\"\n\nfunc main() {\n\tdefer fl.Commit() // added for replay\n\n\tfl.Log(\"x\", 1)\n}\n"},
	{"renamed import that commits",
		"package main\n\nimport fl \"github.com/flordb/flor\"\n\nfunc main() {\n\tdefer fl.Commit()\n}\n",
		"package main\n\nimport fl \"github.com/flordb/flor\"\n\nfunc main() {\n\tdefer fl.Commit()\n}\n"},
	{"blank and named imports",
		"package main\n\nimport (\n\t_ \"github.com/flordb/flor\"\n\tfl \"github.com/flordb/flor\"\n)\n\nfunc main() {\n\tfl.Log(\"x\", 1)\n}\n",
		"package main\n\nimport (\n\t_ \"github.com/flordb/flor\"\n\tfl \"github.com/flordb/flor\"\n)\n\nfunc main() {\n\tdefer fl.Commit() // added for replay\n\n\tfl.Log(\"x\", 1)\n}\n"},
	{"plain import",
		"package main\n\nimport \"github.com/flordb/flor\"\n\nfunc main() {\n\tflor.Log(\"x\", 1)\n}\n",
		"package main\n\nimport \"github.com/flordb/flor\"\n\nfunc main() {\n\tdefer flor.Commit() // added for replay\n\n\tflor.Log(\"x\", 1)\n}\n"},
}

func TestEnsureCommitImports(t *testing.T) {
	dirs := map[string]string{}
	files := map[string][]byte{}
	for i, c := range commitCases {
		dir := filepath.Join("case", string(rune('a'+i)))
		dirs[c.name] = dir
		files[filepath.ToSlash(filepath.Join(dir, "main.go"))] = []byte(c.in)
	}
	wd, _ := os.Getwd()
	root, err := scratch.Root(wd)
	if err != nil {
		t.Fatal(err)
	}
	mod := t.TempDir()
	if _, err := scratch.New(mod, "example.com/commit", root, files); err != nil {
		t.Fatal(err)
	}
	for _, c := range commitCases {
		path := filepath.Join(mod, dirs[c.name], "main.go")
		if err := ensureCommit(&analyzer.Analysis{Files: []string{path}}); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		got, _ := os.ReadFile(path)
		if diff := cmp.Diff(c.want, string(got)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", c.name, diff)
		}
	}
	if testing.Short() {
		return
	}
	// What was written compiles.
	vet := exec.Command("go", "vet", "./...")
	vet.Dir = mod
	vet.Env = scratch.BuildEnv()
	if out, err := vet.CombinedOutput(); err != nil {
		t.Errorf("go vet of the rewritten programs: %v\n%s", err, out)
	}
}
