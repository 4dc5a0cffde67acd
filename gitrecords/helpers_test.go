package gitrecords

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/flordb/flor/runtime"
	"github.com/flordb/flor/storage"
)

// gitEnv gives the test's own git commands an identity: CI has no
// ~/.gitconfig.
var gitEnv = []string{
	"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.invalid",
	"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.invalid",
	"GIT_CONFIG_NOSYSTEM=1",
}

func runGit(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), gitEnv...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s in %s: %v\n%s", strings.Join(args, " "), dir, err, out)
	}
	return strings.TrimSpace(string(out))
}

// world is a bare remote and clones of it.
type world struct {
	remote string
	clones []string
}

// newWorld makes a bare repository with one commit on main and n clones.
func newWorld(t testing.TB, n int) *world {
	t.Helper()
	base := t.TempDir()
	w := &world{remote: filepath.Join(base, "remote.git")}
	runGit(t, base, "init", "-q", "--bare", "-b", "main", w.remote)
	seed := filepath.Join(base, "seed")
	runGit(t, base, "init", "-q", "-b", "main", seed)
	os.WriteFile(filepath.Join(seed, "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o644)
	runGit(t, seed, "add", "main.go")
	runGit(t, seed, "commit", "-q", "-m", "seed")
	runGit(t, seed, "push", "-q", w.remote, "main")
	for i := range n {
		c := filepath.Join(base, fmt.Sprintf("clone%d", i))
		runGit(t, base, "clone", "-q", w.remote, c)
		w.clones = append(w.clones, c)
	}
	return w
}

// gitState is what flor must leave alone in a clone.
type gitState struct{ head, branch, status, branches string }

func stateOf(t testing.TB, dir string) gitState {
	t.Helper()
	return gitState{
		head:     runGit(t, dir, "rev-parse", "HEAD"),
		branch:   runGit(t, dir, "symbolic-ref", "HEAD"),
		status:   runGit(t, dir, "status", "--porcelain", "--untracked-files=all"),
		branches: userBranches(runGit(t, dir, "for-each-ref", "--format=%(refname) %(objectname)", "refs/heads/")),
	}
}

// unchanged checks, at the end of a test, that each clone's HEAD, branch,
// user branches and status are as they were when it was called.
func unchanged(t *testing.T, dirs ...string) {
	t.Helper()
	before := map[string]gitState{}
	for _, d := range dirs {
		before[d] = stateOf(t, d)
	}
	t.Cleanup(func() {
		for _, d := range dirs {
			if got := stateOf(t, d); got != before[d] {
				t.Errorf("%s: git state changed:\nbefore %+v\nafter  %+v", d, before[d], got)
			}
		}
	})
}

// userBranches drops flor.shadow, flor's own branch, from a ref listing.
func userBranches(list string) string {
	var keep []string
	for _, l := range strings.Split(list, "\n") {
		if !strings.HasPrefix(l, "refs/heads/flor.shadow ") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

type model struct{ W []float64 }

func testEnv(k string) string {
	switch k {
	case "FLOR_PROGRESS", "FLOR_ECHO":
		return "0"
	case "FLOR_CHECKPOINT_EPSILON":
		return "0"
	}
	return ""
}

// recordRun records a run in dir through the runtime, as a program would:
// an lr argument, an epoch loop logging loss, a checkpointed model.
func recordRun(t testing.TB, dir string, lr float64, epochs int) string {
	t.Helper()
	r, err := runtime.New(runtime.Options{Dir: dir, Args: []string{"--kwargs", fmt.Sprintf("lr=%g", lr)},
		Stdout: io.Discard, Stderr: io.Discard, Env: testEnv})
	if err != nil {
		t.Fatal(err)
	}
	rate := runtime.Arg(r, "lr", 0.0)
	m := &model{W: make([]float64, 64)}
	r.Checkpoint("model", m)
	for e := range runtime.Loop(r, "epoch", runtime.Range(epochs)) {
		for i := range m.W {
			m.W[i] += rate * float64(e+i)
		}
		runtime.Log(r, "loss", rate*float64(e))
	}
	if err := r.Commit(); err != nil {
		t.Fatal(err)
	}
	return r.File
}

func home(dir string) string { return filepath.Join(dir, ".flor") }

func open(t testing.TB, dir string) *Repo {
	t.Helper()
	r, err := Open(dir, home(dir))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// listHome lists the home's record files with their sizes.
func listHome(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	for _, sub := range []string{runsDir, replayDir, objectsDir, conflictsDir} {
		filepath.Walk(filepath.Join(home(dir), sub), func(p string, info os.FileInfo, err error) error {
			if err == nil && info.Mode().IsRegular() {
				rel, _ := filepath.Rel(home(dir), p)
				out = append(out, fmt.Sprintf("%s %d", filepath.ToSlash(rel), info.Size()))
			}
			return nil
		})
	}
	sort.Strings(out)
	return out
}

// storeRuns reads the home through the store (real DuckDB): each run's
// lr kwarg and the number of loss values it logged.
func storeRuns(t testing.TB, dir string) map[string]int {
	t.Helper()
	ctx := context.Background()
	s, err := storage.Open(ctx, home(dir), storage.WithMessages(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	runs, err := s.Runs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f, err := s.Dataframe(ctx, "lr", "loss")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, r := range runs {
		out[r.Kwargs["lr"]] += 0
	}
	for i := range f.Len() {
		if f.Value(i, "loss") != nil {
			out[fmt.Sprint(f.Value(i, "lr"))]++
		}
	}
	return out
}

func refHash(t testing.TB, gitDir, ref string) string {
	t.Helper()
	cmd := exec.Command("git", "--git-dir", gitDir, "rev-parse", "--verify", "-q", ref)
	out, _ := cmd.Output()
	return strings.TrimSpace(string(out))
}
