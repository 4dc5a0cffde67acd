package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/flordb/flor/internal/scratch"
	"github.com/flordb/flor/storage"
)

// The flor the tests run replays on a machine busy with them: no measure
// for the user's next estimates.
func init() { os.Setenv("FLOR_MACHINE_COSTS", "off") }

// newFeature is the page feature added after featurize was recorded:
// FlorDB's issue 135, hindsight logging on a loop that is not training.
const (
	featureAnchor = "\t\t\tflor.Log(\"page_one\", f.PageOne)\n"
	featureStmt   = "\t\t\tflor.Log(\"n_lines\", strings.Count(pages[i], \"\\n\")+1)\n"
)

// docparserProject lays out the example (its Go files and documents) as
// a git project of its own, building against this flor checkout.
func docparserProject(t *testing.T, dir string, mainGo string) *scratch.Project {
	t.Helper()
	wd, _ := os.Getwd()
	root, err := scratch.Root(wd)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	srcs, _ := filepath.Glob("*.go")
	for _, s := range srcs {
		if strings.HasSuffix(s, "_test.go") {
			continue
		}
		data, err := os.ReadFile(s)
		if err != nil {
			t.Fatal(err)
		}
		files[s] = data
	}
	if mainGo != "" {
		files["main.go"] = []byte(mainGo)
	}
	docs, _ := filepath.Glob("testdata/docs/*.txt")
	for _, d := range docs {
		data, err := os.ReadFile(d)
		if err != nil {
			t.Fatal(err)
		}
		files["docs/"+filepath.Base(d)] = data
	}
	p, err := scratch.New(dir, "docparser", root, files)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Commit("docparser"); err != nil {
		t.Fatal(err)
	}
	return p
}

// goBuild builds pkg (run in dir) into a temporary binary.
func goBuild(t *testing.T, dir, pkg string, env []string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "prog")
	cmd := exec.Command("go", "build", "-o", bin, pkg)
	cmd.Dir, cmd.Env = dir, env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	return bin
}

// runIn runs bin in dir with the store in dir/.flor and returns how long it took.
func runIn(t *testing.T, dir, bin string, args ...string) (time.Duration, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "FLOR_HOME=", "FLOR_PROGRESS=0", "FLOR_ECHO=0")
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(bin), strings.Join(args, " "), err, out)
	}
	return time.Since(start), string(out)
}

// pageValues reads name's values by run order, document and page.
func pageValues(t *testing.T, dir, name string) map[string]any {
	t.Helper()
	ctx := context.Background()
	st, err := storage.Open(ctx, filepath.Join(dir, ".flor"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	f, err := st.Dataframe(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	runs := map[string]int{}
	out := map[string]any{}
	for i := range f.Rows {
		v := f.Value(i, name)
		if v == nil {
			continue
		}
		ts, _ := f.Value(i, "tstamp").(time.Time)
		k := ts.UTC().Format(time.RFC3339Nano)
		if _, ok := runs[k]; !ok {
			runs[k] = len(runs)
		}
		out[fmt.Sprintf("run%d %v page=%v", runs[k], f.Value(i, "document_value"), f.Value(i, "page"))] = v
	}
	return out
}

// TestHindsightFeature records featurize with the committed code, adds a
// page feature in the working tree, and replays it into the old run with
// the flor command: the filled values must equal a fresh featurize run
// of the new code, and the replay must not touch the other features.
func TestHindsightFeature(t *testing.T) { hindsight(t, false) }

// TestHindsightBesideLabelSaves is the same with a label save from the
// app in the store: the save is a unit run of the same program (document
// and page loops, no n_lines), marked so in its header, and replay leaves
// it out instead of rerunning `docparser serve`.
func TestHindsightBesideLabelSaves(t *testing.T) { hindsight(t, true) }

func hindsight(t *testing.T, withLabel bool) {
	if testing.Short() {
		t.Skip("builds the example and flor, records and replays")
	}
	wd, _ := os.Getwd()
	root, err := scratch.Root(wd)
	if err != nil {
		t.Fatal(err)
	}
	base := t.TempDir()
	proj := docparserProject(t, filepath.Join(base, "proj"), "")
	bin := goBuild(t, proj.Dir, ".", scratch.BuildEnv())
	tFeat, _ := runIn(t, proj.Dir, bin, "featurize")
	if withLabel {
		labelOnce(t, proj.Dir, bin)
	}
	before := pageValues(t, proj.Dir, "n_words")

	orig, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(orig), featureAnchor) {
		t.Fatalf("the example changed: no %q", featureAnchor)
	}
	newest := strings.Replace(string(orig), featureAnchor, featureAnchor+featureStmt, 1)
	if err := proj.Write("main.go", []byte(newest)); err != nil {
		t.Fatal(err)
	}

	fresh := docparserProject(t, filepath.Join(base, "fresh"), newest)
	runIn(t, fresh.Dir, goBuild(t, fresh.Dir, ".", scratch.BuildEnv()), "featurize")
	want := pageValues(t, fresh.Dir, "n_lines")
	if len(want) == 0 {
		t.Fatal("a fresh featurize logged no n_lines")
	}

	flor := goBuild(t, root, "./cmd/flor", append(os.Environ(), "GOWORK=off"))
	tReplay, out := runIn(t, proj.Dir, flor, "replay", "--yes", "n_lines")
	t.Logf("featurize %v, replay of n_lines %v\n%s", tFeat, tReplay, out)
	if got := pageValues(t, proj.Dir, "n_lines"); !reflect.DeepEqual(got, want) {
		t.Errorf("replayed n_lines differs from a fresh run of the new code:\n got %v\nwant %v\n%s", got, want, out)
	}
	if after := pageValues(t, proj.Dir, "n_words"); !reflect.DeepEqual(after, before) {
		t.Errorf("the replay changed n_words:\n got %v\nwant %v", after, before)
	}
	if _, out := runIn(t, proj.Dir, flor, "replay", "--yes", "n_lines"); !strings.Contains(out, "nothing to replay") {
		t.Errorf("second replay did something:\n%s", out)
	}
}

// labelOnce saves one label through the app: a run of the same program
// with a page loop, which replay must leave alone.
func labelOnce(t *testing.T, dir, bin string) {
	t.Helper()
	srv := exec.Command(bin, "serve", "-addr", "127.0.0.1:0")
	srv.Dir = dir
	srv.Env = append(os.Environ(), "FLOR_HOME=", "FLOR_PROGRESS=0", "FLOR_ECHO=0")
	stdout, _ := srv.StdoutPipe()
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { srv.Process.Kill(); srv.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	base := strings.TrimSpace(strings.TrimPrefix(line, "listening on "))
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.PostForm(base+"label", url.Values{"doc": {"bundle-a.txt"}, "pages": {"2"}, "first": {"0"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("label: status %d", resp.StatusCode)
	}
}
