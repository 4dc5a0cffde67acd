package planner

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/flordb/flor/gitrecords"
	"github.com/flordb/flor/internal/scratch"
	"github.com/flordb/flor/storage"
)

// A teammate's clone replays a new statement over runs it pulled: with
// their checkpoints (workers start mid-run from A's captures), and without
// them (--no-checkpoints: the schedule says each run replays from the
// start on one worker). Either way the values are a fresh run's.
func TestReplayPulledRuns(t *testing.T) {
	a := newProject(t, []string{"lr=0.5"}, []string{"lr=0.25"})
	ctx := context.Background()
	base := t.TempDir()
	remote := filepath.Join(base, "remote.git")
	git := func(dir string, args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git(base, "init", "-q", "--bare", remote)
	git(a.dir, "push", "-q", remote, "HEAD:refs/heads/main")
	clone := func(name string) *project {
		dir := filepath.Join(base, name, "proj")
		git(base, "clone", "-q", "-b", "main", remote, dir)
		b := &project{t: t, dir: dir, home: filepath.Join(dir, ".flor"), p: &scratch.Project{Dir: dir}, src: trainSrc}
		repo, err := gitrecords.Open(dir, b.home)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := repo.Pull(ctx, remote, gitrecords.Options{}); err != nil {
			t.Fatal(err)
		}
		if n := len(b.runs()); n != 2 {
			t.Fatalf("%s has %d runs after the pull, want 2", name, n)
		}
		addW2(b)
		return b
	}
	push := func(noCheckpoints bool) {
		t.Helper()
		repo, err := gitrecords.Open(a.dir, a.home)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := repo.Push(ctx, remote, gitrecords.Options{NoCheckpoints: noCheckpoints}); err != nil {
			t.Fatal(err)
		}
	}
	replay := func(b *project) (notes []string) {
		t.Helper()
		opt := b.options("w2")
		s, err := b.plan(ctx, opt)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range Execute(ctx, s, opt) {
			if o.Err != nil {
				t.Fatalf("replay of %s: %v", o.Row.Run.Tstamp, o.Err)
			}
		}
		return s.Notes
	}

	push(true)
	bare := clone("b1")
	if ents, _ := os.ReadDir(filepath.Join(bare.home, "objects")); len(ents) != 0 {
		t.Fatalf("b1 has checkpoint blobs: %v", ents)
	}
	notes := replay(bare)
	if n := countContaining(notes, "replays from the start on one worker"); n != 2 {
		t.Errorf("schedule notes %q: want one per run that its blobs are absent", notes)
	}
	push(false)
	full := clone("b2")
	if notes := replay(full); countContaining(notes, "blobs") != 0 {
		t.Errorf("notes with the blobs pulled: %q", notes)
	}

	// A fresh run of the edited program, in a home of its own.
	fresh := filepath.Join(base, "fresh")
	bin := filepath.Join(base, "train2")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir, build.Env = full.dir, scratch.BuildEnv()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, lr := range []string{"lr=0.5", "lr=0.25"} {
		cmd := exec.Command(bin, "--kwargs", lr)
		cmd.Dir = full.dir
		cmd.Env = append(os.Environ(), "FLOR_ECHO=0", "FLOR_PROGRESS=0", "FLOR_HOME="+fresh)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("fresh run: %v\n%s", err, out)
		}
	}
	want := w2Values(t, fresh)
	if len(want) != 6 {
		t.Fatalf("fresh runs: %v", want)
	}
	for _, b := range []*project{bare, full} {
		if got := w2Values(t, b.home); !slices.Equal(got, want) {
			t.Errorf("%s: replayed w2 %v, fresh run's %v", b.dir, got, want)
		}
	}
}

func countContaining(list []string, sub string) int {
	n := 0
	for _, s := range list {
		if strings.Contains(s, sub) {
			n++
		}
	}
	return n
}

// w2Values lists lr, epoch and w2 of every dataframe row with a w2.
func w2Values(t *testing.T, home string) []string {
	t.Helper()
	ctx := context.Background()
	st, err := storage.Open(ctx, home, storage.WithMessages(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	f, err := st.Dataframe(ctx, "lr", "w2")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := range f.Len() {
		if f.Value(i, "w2") != nil {
			out = append(out, fmt.Sprint(f.Value(i, "lr"), " ", f.Value(i, "epoch"), " ", f.Value(i, "w2")))
		}
	}
	slices.Sort(out)
	return out
}
