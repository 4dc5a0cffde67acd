package planner

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/flordb/flor/storage"
)

// replayNames plans and executes a replay of names over the runs matching
// where, and returns its outcomes, failing on any error.
func (p *project) replayNames(where string, names ...string) []*Outcome {
	p.t.Helper()
	ctx := context.Background()
	opt := p.options(names...)
	opt.Where = where
	s, err := p.plan(ctx, opt)
	if err != nil {
		p.t.Fatal(err)
	}
	outs := Execute(ctx, s, opt)
	for _, o := range outs {
		if o.Err != nil || len(o.Divergences) > 0 {
			p.t.Fatalf("replay of %v: %v, divergences %v", names, o.Err, o.Divergences)
		}
	}
	return outs
}

// values are a name's values in the store, as JSON text, smallest first.
func (p *project) values(name string) string {
	p.t.Helper()
	ctx := context.Background()
	st, err := storage.Open(ctx, p.home, storage.WithMessages(&bytes.Buffer{}))
	if err != nil {
		p.t.Fatal(err)
	}
	defer st.Close()
	var s string
	q := `SELECT coalesce(string_agg(value, ' ' ORDER BY CAST(value AS DOUBLE)), '') FROM logs WHERE value_name = ?`
	if err := st.DB().QueryRowContext(ctx, q, name).Scan(&s); err != nil {
		p.t.Fatal(err)
	}
	return s
}

// versionLog is the version log an outcome's run log points to.
func versionLog(t *testing.T, o *Outcome) string {
	t.Helper()
	runLog, err := os.ReadFile(o.Log)
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(runLog), "(see ")
	path, _, ok2 := strings.Cut(rest, ")")
	if !ok || !ok2 {
		t.Fatalf("the run log names no version log:\n%s", runLog)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// A second replay of a version built before reuses its build: the runs
// of another replay of the same statement find it in the cache, and the
// values are those a fresh build gives, bit for bit. Other statements
// make another version.
func TestVersionCacheReuse(t *testing.T) {
	p := newProject(t, []string{"lr=0.5"}, []string{"lr=0.25"})
	addW2(p)
	first := p.replayNames("lr = 0.5", "w2")
	if len(first) != 1 || first[0].Cached {
		t.Fatalf("first replay: %d outcomes, cached %v", len(first), len(first) == 1 && first[0].Cached)
	}
	if log := versionLog(t, first[0]); !strings.Contains(log, "go build") || !strings.Contains(log, "cache: stored as") {
		t.Errorf("the first version log does not build and store the version:\n%s", log)
	}
	entries, err := CacheEntries(p.home)
	if err != nil || len(entries) != 1 {
		t.Fatalf("cache entries %v, %v; want 1", entries, err)
	}

	second := p.replayNames("", "w2")
	if len(second) != 1 || !second[0].Cached {
		t.Fatalf("second replay: %d outcomes, want one reusing the cached version", len(second))
	}
	log := versionLog(t, second[0])
	if strings.Contains(log, "go build") || !strings.Contains(log, "cached: reused") {
		t.Errorf("the second version log builds, or does not say it reused the cache:\n%s", log)
	}
	if !strings.Contains(strings.Join(second[0].Notes, "\n"), "reused from the cache") {
		t.Errorf("notes %q do not say the version was reused", second[0].Notes)
	}
	// w2 = 2w each epoch: lr 0.5 gives w 0.5, 1.25, 2.625; lr 0.25 gives
	// 0.75, 1.5625, 3.171875.
	if got, want := p.values("w2"), "1 1.5 2.5 3.125 5.25 6.34375"; got != want {
		t.Errorf("w2 = %s, want %s", got, want)
	}

	p.edit("\t\tflor.Log(\"w\", m.W)\n", "\t\tflor.Log(\"w\", m.W)\n\t\tflor.Log(\"w3\", m.W*3)\n")
	third := p.replayNames("", "w3")
	if len(third) != 2 || third[0].Cached || third[1].Cached {
		t.Errorf("other statements reused a cached version")
	}
	if entries, _ := CacheEntries(p.home); len(entries) != 2 {
		t.Errorf("%d cache entries, want 2", len(entries))
	}
}

// The key tells versions apart by statements, build settings and working
// tree sources, and is the same for the same inputs.
func TestVersionCacheKey(t *testing.T) {
	p := newProject(t, []string{"lr=0.5"})
	addW2(p)
	ctx := context.Background()
	st, err := storage.Open(ctx, p.home, storage.WithMessages(&bytes.Buffer{}))
	if err != nil {
		t.Fatal(err)
	}
	runs, err := MissingRuns(ctx, st, []string{"w2"}, "")
	st.Close()
	if err != nil || len(runs) != 1 {
		t.Fatalf("runs %v, %v", runs, err)
	}
	run := runs[0]
	key := func(opt Options, r *Run) string {
		t.Helper()
		k, err := cacheKey(opt, r)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	base := key(p.options("w2"), run)
	if again := key(p.options("w2"), run); again != base {
		t.Errorf("the key changed between two calls: %s, %s", base, again)
	}
	if key(p.options("w2", "w"), run) == base {
		t.Error("other names give the same key")
	}
	tagged := *run
	tagged.Build.Tags = "special"
	if key(p.options("w2"), &tagged) == base {
		t.Error("other build tags give the same key")
	}
	cgo := *run
	cgo.Build.Settings = map[string]string{"CGO_ENABLED": "0"}
	if key(p.options("w2"), &cgo) == base {
		t.Error("other build settings give the same key")
	}
	// The same statement, other code around it.
	src := strings.Replace(trainSrc, "\t\tflor.Log(\"w\", m.W)\n", "\t\tflor.Log(\"w\", m.W)\n\t\tflor.Log(\"w2\", m.W*2)\n", 1)
	if err := p.p.Write("main.go", []byte(strings.Replace(src, "m.W*(1-lr)", "m.W*(1-lr)*1", 1))); err != nil {
		t.Fatal(err)
	}
	if key(p.options("w2"), run) == base {
		t.Error("other working tree sources give the same key")
	}
}

// writeEntry makes a cache entry of size bytes, last used at used.
func writeEntry(t *testing.T, dir, key string, size int, used time.Time) {
	t.Helper()
	e := filepath.Join(dir, key)
	if err := os.MkdirAll(filepath.Join(e, entrySrc), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e, entryBin), make([]byte, size), 0o755); err != nil {
		t.Fatal(err)
	}
	m, _ := json.Marshal(cacheMeta{Snapshot: key, Filename: ".", Size: int64(size), Created: used})
	if err := os.WriteFile(filepath.Join(e, entryMeta), m, 0o644); err != nil {
		t.Fatal(err)
	}
	touch(filepath.Join(e, entryUsed))
	if err := os.Chtimes(filepath.Join(e, entryUsed), used, used); err != nil {
		t.Fatal(err)
	}
}

// Eviction removes the least recently used entries until the rest fit.
func TestVersionCacheEvict(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	writeEntry(t, dir, "old", 400, now.Add(-3*time.Hour))
	writeEntry(t, dir, "mid", 400, now.Add(-2*time.Hour))
	writeEntry(t, dir, "new", 400, now.Add(-time.Hour))
	if err := os.MkdirAll(filepath.Join(dir, tmpPrefix+"x"), 0o755); err != nil {
		t.Fatal(err)
	}
	n, err := evict(dir, 1000)
	if err != nil || n != 1 {
		t.Fatalf("evict: %d removed, %v; want 1", n, err)
	}
	es, _ := entries(dir)
	if len(es) != 2 || es[0].Key != "new" || es[1].Key != "mid" {
		t.Errorf("left %v, want new and mid", es)
	}
	if n, _ := evict(dir, 400); n != 1 {
		t.Errorf("evict to 400: %d removed, want 1", n)
	}
	if es, _ := entries(dir); len(es) != 1 || es[0].Key != "new" {
		t.Errorf("left %v, want new", es)
	}
	if n, _ := evict(dir, 0); n != 1 {
		t.Errorf("evict to 0: %d removed, want 1", n)
	}
}

// A version larger than the whole bound is not stored.
func TestVersionCacheTooBig(t *testing.T) {
	home := t.TempDir()
	work := t.TempDir()
	tree := filepath.Join(work, "src")
	os.MkdirAll(tree, 0o755)
	os.WriteFile(filepath.Join(tree, "main.go"), []byte("package main\n"), 0o644)
	bin := filepath.Join(work, "bin")
	os.WriteFile(bin, make([]byte, 4096), 0o755)
	logf := filepath.Join(work, "log")
	os.WriteFile(logf, []byte("version\n"), 0o644)
	v := &version{key: "k", tree: tree, pkg: tree, bin: bin, log: logf}
	err := storeEntry(home, 1024, &Run{Snapshot: "s", Filename: "."}, []string{"x"}, v)
	if !errors.Is(err, errTooBig) {
		t.Fatalf("store: %v, want errTooBig", err)
	}
	if es, _ := CacheEntries(home); len(es) != 0 {
		t.Errorf("entries %v, want none", es)
	}
	if err := storeEntry(home, 1<<20, &Run{Snapshot: "s", Filename: "."}, []string{"x"}, v); err != nil {
		t.Fatal(err)
	}
	es, _ := CacheEntries(home)
	if len(es) != 1 || es[0].Snapshot != "s" || es[0].Size < 4096 {
		t.Errorf("entries %+v, want one of snapshot s", es)
	}
	if tmps, _ := filepath.Glob(filepath.Join(CacheDir(home), tmpPrefix+"*")); len(tmps) != 0 {
		t.Errorf("temporary entries left: %v", tmps)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "123": 123, "2G": 2 << 30, "2GiB": 2 << 30, "512M": 512 << 20, "64kb": 64 << 10} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "lots", "2T"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q): no error", in)
		}
	}
}

// The working tree's analysis is kept while its files do not change, and
// planning from the kept one finds what a fresh one does.
func TestAnalysisCache(t *testing.T) {
	p := newProject(t, []string{"lr=0.5"})
	addW2(p)
	ctx := context.Background()
	fresh, err := analyze(ctx, p.dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := analyzeTree(ctx, p.home, p.dir); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(analysisDir(p.home), "*.json"))
	if len(files) != 1 {
		t.Fatalf("kept analyses %v, want 1", files)
	}
	kept, err := analyzeTree(ctx, p.home, p.dir)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := levelOf(fresh, []string{"w2"})
	got, err := levelOf(kept, []string{"w2"})
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("level from the kept analysis %+v, %v; want %+v", got, err, want)
	}
	if !reflect.DeepEqual(kept.Logs, fresh.Logs) || !reflect.DeepEqual(kept.Warnings(), fresh.Warnings()) {
		t.Errorf("the kept analysis' statements or warnings differ from a fresh one's")
	}
	// A change to the module's files is another analysis.
	p.edit("\t\tflor.Log(\"w\", m.W)\n", "\t\tflor.Log(\"w\", m.W)\n\t\tflor.Log(\"w3\", m.W*3)\n")
	other, err := analyzeTree(ctx, p.home, p.dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := levelOf(other, []string{"w3"}); err != nil {
		t.Errorf("after an edit, the kept analysis was used: %v", err)
	}
	if n, _, err := CleanCache(ctx, p.home, &bytes.Buffer{}); err != nil || n != 0 {
		t.Fatalf("clean: %d, %v", n, err)
	}
	if _, err := os.Stat(analysisDir(p.home)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("flor cache clean left the kept analyses: %v", err)
	}
}

// A cached version that panics is summarised as a fresh one is: where in
// the program the panic happened.
func TestVersionCachePanicSummary(t *testing.T) {
	p := newProject(t, []string{"lr=0.5"})
	p.edit("\t\tflor.Log(\"w\", m.W)\n", "\t\tflor.Log(\"w\", m.W)\n\t\tflor.Log(\"boom\", []float64{m.W}[e])\n")
	ctx := context.Background()
	opt := p.options("boom")
	opt.Workers = 1
	want := "panic: runtime error: index out of range [1] with length 1 (at main.go:16)"
	for i, cached := range []bool{false, true} {
		s, err := p.plan(ctx, opt)
		if err != nil {
			t.Fatal(err)
		}
		outs := Execute(ctx, s, opt)
		if len(outs) != 1 || outs[0].Cached != cached {
			t.Fatalf("replay %d: %d outcomes, want 1 with cached %v", i+1, len(outs), cached)
		}
		if o := outs[0]; !errors.Is(o.Err, ErrWorker) || !strings.HasSuffix(o.Err.Error(), want) {
			t.Errorf("replay %d: %v, want it to end with %s", i+1, o.Err, want)
		}
	}
}

// A damaged entry is removed and the version prepared afresh.
func TestVersionCacheDamagedEntry(t *testing.T) {
	p := newProject(t, []string{"lr=0.5"}, []string{"lr=0.25"})
	addW2(p)
	p.replayNames("lr = 0.5", "w2")
	es, _ := CacheEntries(p.home)
	if len(es) != 1 {
		t.Fatalf("%d entries, want 1", len(es))
	}
	if err := os.Remove(filepath.Join(CacheDir(p.home), es[0].Key, entryBin)); err != nil {
		t.Fatal(err)
	}
	outs := p.replayNames("", "w2")
	if len(outs) != 1 || outs[0].Cached {
		t.Fatalf("a damaged entry was used")
	}
	if notes := strings.Join(outs[0].Notes, "\n"); !strings.Contains(notes, "could not be used") {
		t.Errorf("notes %q do not say the cached build was unusable", notes)
	}
	if got, want := p.values("w2"), "1 1.5 2.5 3.125 5.25 6.34375"; got != want {
		t.Errorf("w2 = %s, want %s", got, want)
	}
	if es, _ := CacheEntries(p.home); len(es) != 1 {
		t.Errorf("%d entries after the fresh preparation, want 1", len(es))
	}
}
