package gitrecords

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
)

func TestPushPull(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, 2)
	a, b := w.clones[0], w.clones[1]
	aFile := recordRun(t, a, 0.1, 3)
	recordRun(t, a, 0.2, 3)
	recordRun(t, b, 0.3, 2)
	unchanged(t, a, b)

	var progress bytes.Buffer
	res, err := open(t, a).Push(ctx, "", Options{Progress: &progress})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Pushed || res.Runs != 2 || res.Objects == 0 {
		t.Fatalf("push: %+v", res)
	}
	if refHash(t, w.remote, string(RecordsRef)) != res.Commit.String() {
		t.Fatalf("remote records ref is not the pushed commit")
	}

	res, err = open(t, b).Pull(ctx, "origin", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Runs != 3 || res.Written == 0 || len(res.Conflicts) != 0 {
		t.Fatalf("pull: %+v", res)
	}
	got := storeRuns(t, b)
	want := map[string]int{"0.1": 3, "0.2": 3, "0.3": 2}
	if !equalMaps(got, want) {
		t.Fatalf("B's store: loss values per lr = %v, want %v", got, want)
	}
	// A's code snapshots came with its runs.
	snap := snapshotOf(t, aFile)
	if !open(t, b).isAncestor(plumbing.NewHash(snap), mustTip(t, b, ShadowRef)) {
		t.Fatalf("A's snapshot %s is not on B's flor.shadow", snap)
	}

	// Pulling twice changes nothing.
	before, tip := listHome(t, b), mustTip(t, b, RecordsRef)
	res, err = open(t, b).Pull(ctx, "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Written+res.Extended+res.Fetched+res.Recorded != 0 || mustTip(t, b, RecordsRef) != tip {
		t.Fatalf("second pull changed something: %+v", res)
	}
	if after := listHome(t, b); !slices.Equal(before, after) {
		t.Fatalf("second pull changed the home:\n%v\n%v", before, after)
	}

	// B pushes the union; A pulls it and has B's run too.
	if _, err := open(t, b).Push(ctx, "", Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := open(t, a).Pull(ctx, "", Options{}); err != nil {
		t.Fatal(err)
	}
	if got := storeRuns(t, a); !equalMaps(got, want) {
		t.Fatalf("A's store after pulling B: %v, want %v", got, want)
	}

	// Pushing the same runs again adds nothing to the remote.
	objs := countObjects(t, w.remote)
	remoteTip := refHash(t, w.remote, string(RecordsRef))
	res, err = open(t, a).Push(ctx, "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Pushed || res.Recorded != 0 || refHash(t, w.remote, string(RecordsRef)) != remoteTip || countObjects(t, w.remote) != objs {
		t.Fatalf("pushing again changed the remote: %+v", res)
	}

	st, err := open(t, a).Status("")
	if err != nil {
		t.Fatal(err)
	}
	if st.LocalRuns != 3 || st.Unrecorded != 0 || st.RecordedRuns != 3 || !st.Tracked || st.Pushed != 3 || st.BlobBytes == 0 || st.RecordBytes == 0 {
		t.Fatalf("status: %+v", st)
	}
	recordRun(t, a, 0.4, 1)
	if st, _ := open(t, a).Status(""); st.Unrecorded != 1 || st.Pushed != 3 {
		t.Fatalf("status with a new run: %+v", st)
	}
}

// A run file that grew after it was pushed replaces the shorter version;
// two different files for one name are both kept.
func TestPrefixAndConflict(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, 2)
	a, b := w.clones[0], w.clones[1]
	full := recordRun(t, a, 0.1, 3)
	other := recordRun(t, a, 0.2, 3)
	unchanged(t, a, b)
	data, _ := os.ReadFile(full)
	otherData, _ := os.ReadFile(other)
	// B holds a prefix of one run (as if pushed while it was running) and
	// a different file under the other's name.
	cut := bytes.LastIndexByte(data[:len(data)-1], '\n') + 1
	writeRun(t, b, filepath.Base(full), data[:cut])
	changed := bytes.Replace(otherData, []byte(`"lr=0.2"`), []byte(`"lr=0.25"`), 1)
	if bytes.Equal(changed, otherData) {
		t.Fatal("test setup: nothing replaced")
	}
	writeRun(t, b, filepath.Base(other), changed)

	if _, err := open(t, a).Push(ctx, "", Options{}); err != nil {
		t.Fatal(err)
	}
	res, err := open(t, b).Pull(ctx, "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(home(b), runsDir, filepath.Base(full))); !bytes.Equal(got, data) {
		t.Fatalf("the prefix was not extended to the longer file")
	}
	if len(res.Conflicts) != 1 || res.Conflicts[0].Path != runsDir+"/"+filepath.Base(other) {
		t.Fatalf("conflicts: %+v", res.Conflicts)
	}
	if got, _ := os.ReadFile(filepath.Join(home(b), runsDir, filepath.Base(other))); !bytes.Equal(got, changed) {
		t.Fatalf("B's own version was not kept")
	}
	kept, err := os.ReadFile(filepath.Join(home(b), filepath.FromSlash(res.Conflicts[0].Kept)))
	if err != nil || !bytes.Equal(kept, otherData) {
		t.Fatalf("A's version was not kept at %s: %v", res.Conflicts[0].Kept, err)
	}
	// Pulling again reports nothing new; pushing and pulling back keeps
	// both versions on A's side too.
	if res, err := open(t, b).Pull(ctx, "", Options{}); err != nil || len(res.Conflicts) != 0 {
		t.Fatalf("second pull: %+v %v", res, err)
	}
	if _, err := open(t, b).Push(ctx, "", Options{}); err != nil {
		t.Fatal(err)
	}
	res, err = open(t, a).Pull(ctx, "", Options{})
	if err != nil || len(res.Conflicts) != 1 {
		t.Fatalf("A's pull: %+v %v", res, err)
	}
	if got, _ := os.ReadFile(other); !bytes.Equal(got, otherData) {
		t.Fatalf("A's own version was replaced")
	}
	// The store reads one version of each run (conflicts/ is not read).
	if got := storeRuns(t, a); got["0.1"] != 3 || got["0.2"] != 3 || len(got) != 2 {
		t.Fatalf("A's store: %v", got)
	}
}

func TestNoCheckpoints(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, 2)
	a, b := w.clones[0], w.clones[1]
	recordRun(t, a, 0.1, 4)
	unchanged(t, a, b)
	res, err := open(t, a).Push(ctx, "", Options{NoCheckpoints: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Objects != 0 {
		t.Fatalf("--no-checkpoints pushed %d objects", res.Objects)
	}
	if _, err := open(t, b).Pull(ctx, "", Options{}); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(filepath.Join(home(b), objectsDir)); len(ents) != 0 {
		t.Fatalf("B has checkpoint blobs: %v", ents)
	}
	if got := storeRuns(t, b); got["0.1"] != 4 {
		t.Fatalf("B's store reads %v, want 4 loss values of lr=0.1", got)
	}
	// A later push with checkpoints adds the blobs to the same runs.
	if res, err := open(t, a).Push(ctx, "", Options{}); err != nil || res.Objects == 0 || res.Runs != 1 {
		t.Fatalf("push with checkpoints: %+v %v", res, err)
	}
}

// A fresh clone that fetches the records ref rebuilds its home with
// Unpack, and reads the runs.
func TestUnpack(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, 2)
	a, c := w.clones[0], w.clones[1]
	recordRun(t, a, 0.1, 2)
	recordRun(t, a, 0.2, 2)
	unchanged(t, a, c)
	if _, err := open(t, c).Unpack(ctx, Options{}); !errors.Is(err, ErrNoRecords) {
		t.Fatalf("unpack without records: %v, want ErrNoRecords", err)
	}
	if _, err := open(t, a).Push(ctx, "", Options{}); err != nil {
		t.Fatal(err)
	}
	runGit(t, c, "fetch", "-q", "origin", "refs/flor/records:refs/flor/records")
	res, err := open(t, c).Unpack(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Runs != 2 || res.Written == 0 {
		t.Fatalf("unpack: %+v", res)
	}
	// A clone with no records of its own takes the remote's commit as it is.
	d := filepath.Join(t.TempDir(), "d")
	runGit(t, a, "clone", "-q", w.remote, d)
	unchanged(t, d)
	if _, err := open(t, d).Pull(ctx, "", Options{}); err != nil {
		t.Fatal(err)
	}
	if got := mustTip(t, d, RecordsRef).String(); got != refHash(t, w.remote, string(RecordsRef)) {
		t.Fatalf("pull into a clone without records made a commit of its own: %s", got)
	}
	if got := storeRuns(t, c); got["0.1"] != 2 || got["0.2"] != 2 {
		t.Fatalf("store after unpack: %v", got)
	}
	if !slices.Equal(listHome(t, a), listHome(t, c)) {
		t.Fatalf("unpacked home differs:\n%v\n%v", listHome(t, a), listHome(t, c))
	}
	if res, err := open(t, c).Unpack(ctx, Options{}); err != nil || res.Written+res.Extended != 0 {
		t.Fatalf("second unpack: %+v %v", res, err)
	}
}

func TestFinishedReplays(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, 2)
	a, b := w.clones[0], w.clones[1]
	run := recordRun(t, a, 0.1, 2)
	unchanged(t, a, b)
	// A finished replay and one in progress, laid out as the planner does.
	data, _ := os.ReadFile(run)
	name := strings.TrimSuffix(filepath.Base(run), ".jsonl")
	for _, d := range []string{"r1", "tmp-r2"} {
		os.MkdirAll(filepath.Join(home(a), replayDir, d), 0o755)
		os.WriteFile(filepath.Join(home(a), replayDir, d, name+"-w0.jsonl"), data[:bytes.IndexByte(data, '\n')+1], 0o644)
	}
	res, err := open(t, a).Push(ctx, "", Options{})
	if err != nil || res.ReplayFiles != 1 {
		t.Fatalf("push: %+v %v", res, err)
	}
	if _, err := open(t, b).Pull(ctx, "", Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(home(b), replayDir, "r1", name+"-w0.jsonl")); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(filepath.Join(home(b), replayDir)); len(ents) != 1 {
		t.Fatalf("replay dirs in B: %v", ents)
	}
}

func TestRemoteErrors(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, 1)
	unchanged(t, w.clones[0])
	if _, err := open(t, w.clones[0]).Push(ctx, "nowhere", Options{}); !errors.Is(err, ErrNoRemote) {
		t.Fatalf("push to an unknown remote: %v, want ErrNoRemote", err)
	}
	if _, err := Open(t.TempDir(), "x"); !errors.Is(err, ErrNotGit) {
		t.Fatalf("open outside git: %v, want ErrNotGit", err)
	}
	// A path works as a remote, with nothing recorded yet.
	if _, err := open(t, w.clones[0]).Push(ctx, w.remote, Options{}); err != nil {
		t.Fatal(err)
	}
}

func TestClassify(t *testing.T) {
	for p, want := range map[string]kind{
		"runs/20261128T051852.123456Z.jsonl":                       kindRun,
		"runs/20261128T051852.123456Z-a1b2c3.jsonl":                kindRun,
		"runs/../x.jsonl":                                          kindNone,
		"runs/.tmp-1.jsonl":                                        kindNone,
		"replay/r1/a-w0.jsonl":                                     kindReplay,
		"replay/tmp-r1/a-w0.jsonl":                                 kindNone,
		"objects/ab/" + strings.Repeat("c", 62):                    kindObject,
		"objects/ab/" + strings.Repeat("c", 61):                    kindNone,
		"objects/ab/.tmp-1":                                        kindNone,
		ConflictPath("runs/a.jsonl", plumbing.NewHash("1a2b3c4d")): kindConflict,
		"flor.duckdb":                                              kindNone,
	} {
		if got := classify(p); got != want {
			t.Errorf("classify(%q) = %d, want %d", p, got, want)
		}
	}
}

func writeRun(t testing.TB, dir, name string, data []byte) {
	t.Helper()
	os.MkdirAll(filepath.Join(home(dir), runsDir), 0o755)
	if err := os.WriteFile(filepath.Join(home(dir), runsDir, name), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func equalMaps(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func mustTip(t testing.TB, dir string, name plumbing.ReferenceName) plumbing.Hash {
	t.Helper()
	h, err := open(t, dir).tip(name)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func snapshotOf(t testing.TB, runFile string) string {
	t.Helper()
	data, _ := os.ReadFile(runFile)
	_, rest, ok := bytes.Cut(data, []byte(`"snapshot":"`))
	if !ok {
		t.Fatalf("%s has no snapshot", runFile)
	}
	return string(rest[:40])
}

// countObjects is the number of objects in a repository, loose and packed.
func countObjects(t testing.TB, gitDir string) string {
	t.Helper()
	return runGit(t, gitDir, "count-objects", "-v")
}
