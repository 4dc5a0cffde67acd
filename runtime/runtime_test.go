package runtime

import (
	"bufio"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets tests re-run this binary as a child program.
func TestMain(m *testing.M) {
	if name := os.Getenv("FLOR_TEST_CHILD"); name != "" {
		children[name]()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

var children = map[string]func(){
	// many logs a few values in two loops and commits.
	"many": func() {
		r := childRun()
		Log(r, "worker", os.Getenv("FLOR_TEST_ID"))
		for e := range Loop(r, "epoch", Range(3)) {
			for s := range Loop(r, "step", Range(50)) {
				Log(r, "loss", float64(e*100+s))
			}
		}
		if err := r.Commit(); err != nil {
			panic(err)
		}
	},
	// badKwarg reads an int arg given a value that is not an int.
	"badKwarg": func() {
		r := childRun()
		_ = Arg(r, "lr", 0.1)
		_ = Arg(r, "epochs", 5)
		Log(r, "never", 1)
	},
	// killed logs, waits past a flush, logs again, then waits to be killed.
	"killed": func() {
		r := childRun()
		for e := range Loop(r, "epoch", Range(3)) {
			Log(r, "early", e)
		}
		time.Sleep(1500 * time.Millisecond)
		Log(r, "late", 1)
		os.Stdout.WriteString("ready\n")
		time.Sleep(time.Minute)
	},
}

func childRun() *Run {
	r, err := New(Options{Args: strings.Fields(os.Getenv("FLOR_TEST_ARGS")), Dir: os.Getenv("FLOR_TEST_DIR")})
	if err != nil {
		panic(err)
	}
	return r
}

func gitInit(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("git", "init", "-q", dir).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v\n%s", err, out)
	}
	return dir
}

func testEnv(extra map[string]string) func(string) string {
	return func(k string) string {
		if v, ok := extra[k]; ok {
			return v
		}
		switch k {
		case "FLOR_PROGRESS":
			return "0"
		case "FLOR_CHECKPOINT_EPSILON":
			return "0" // tests' loops take microseconds: capture them all
		}
		return ""
	}
}

// readRecords parses a run file.
func readRecords(t testing.TB, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var recs []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%s: bad record %q: %v", path, sc.Text(), err)
		}
		recs = append(recs, m)
	}
	return recs
}

// logged maps "ctxpath/name" to the values logged, context paths spelled
// as loop=iteration chains, so runs with different ctx ids compare.
func logged(t testing.TB, path string, internal bool) map[string][]any {
	ctxs := map[float64]string{0: ""}
	out := map[string][]any{}
	for _, rec := range readRecords(t, path) {
		switch rec["k"] {
		case "ctx":
			p := ctxs[rec["p"].(float64)]
			ctxs[rec["c"].(float64)] = p + "/" + rec["n"].(string) + "=" + json.Number(strings.TrimSpace(jsonText(rec["i"]))).String()
		case "log":
			if _, isInt := rec["int"]; isInt && !internal {
				continue
			}
			k := ctxs[rec["c"].(float64)] + "/" + rec["n"].(string)
			out[k] = append(out[k], rec["v"])
		}
	}
	return out
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestParseKwargs(t *testing.T) {
	kw, rest, err := ParseKwargs([]string{"-v", "--kwargs", "lr=5e-4", "epochs=3", "name=a=b", "--out", "x", "--kwargs=seed=7"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"lr": "5e-4", "epochs": "3", "name": "a=b", "seed": "7"}
	if !reflect.DeepEqual(kw, want) {
		t.Errorf("kwargs = %v, want %v", kw, want)
	}
	if !reflect.DeepEqual(rest, []string{"-v", "--out", "x"}) {
		t.Errorf("rest = %v", rest)
	}
	for _, bad := range [][]string{{"--kwargs"}, {"--kwargs", "lr"}, {"--kwargs", "=3"}, {"--kwargs", "--x"}} {
		if _, _, err := ParseKwargs(bad); !errors.Is(err, ErrKwargs) {
			t.Errorf("ParseKwargs(%q) error = %v, want ErrKwargs", bad, err)
		}
	}
	// Words after "--" belong to the program.
	if kw, rest, _ := ParseKwargs([]string{"--", "--kwargs", "a=1"}); len(kw) != 0 || len(rest) != 3 {
		t.Errorf("after --: kwargs %v rest %v", kw, rest)
	}
}

func TestParseArgCasts(t *testing.T) {
	for _, s := range []string{"yes", "y", "true", "T", "1", "on"} {
		if v, err := parseArg[bool](s); err != nil || !v {
			t.Errorf("bool %q = %v, %v", s, v, err)
		}
	}
	for _, s := range []string{"no", "n", "false", "F", "0", "off"} {
		if v, err := parseArg[bool](s); err != nil || v {
			t.Errorf("bool %q = %v, %v", s, v, err)
		}
	}
	if _, err := parseArg[bool]("maybe"); err == nil {
		t.Error("bool maybe: no error")
	}
	if v, err := parseArg[int]("1e3"); err != nil || v != 1000 {
		t.Errorf("int 1e3 = %v, %v", v, err)
	}
	for _, s := range []string{"1.5", "abc", ""} {
		if _, err := parseArg[int](s); err == nil {
			t.Errorf("int %q: no error", s)
		}
	}
	if v, err := parseArg[float64]("5e-4"); err != nil || v != 5e-4 {
		t.Errorf("float = %v, %v", v, err)
	}
	if _, err := parseArg[float64]("abc"); err == nil {
		t.Error("float abc: no error")
	}
	type mode string
	if v, err := parseArg[mode](" a b "); err != nil || v != " a b " {
		t.Errorf("string = %q, %v", v, err)
	}
	if _, err := parseArg[int64]("99999999999999999999"); err == nil {
		t.Error("int64 overflow: no error")
	}
}

func TestArgKwargOverridesAndRecords(t *testing.T) {
	r, err := New(Options{Args: []string{"--kwargs", "lr=0.5", "epochs=3", "flag=yes", "unused=1"}, Dir: gitInit(t), Stdout: discard{}, Stderr: discard{}, Env: testEnv(nil)})
	if err != nil {
		t.Fatal(err)
	}
	if v := Arg(r, "lr", 1e-3); v != 0.5 {
		t.Errorf("lr = %v", v)
	}
	if v := Arg(r, "epochs", 5); v != 3 {
		t.Errorf("epochs = %v", v)
	}
	if v := Arg(r, "flag", false); !v {
		t.Errorf("flag = %v", v)
	}
	if v := Arg(r, "name", "x"); v != "x" {
		t.Errorf("default = %v", v)
	}
	if err := r.Commit(); err != nil {
		t.Fatal(err)
	}
	var warned bool
	types := map[string]string{}
	for _, rec := range readRecords(t, r.File) {
		if rec["k"] == "log" && rec["arg"] == true {
			types[rec["n"].(string)] = rec["t"].(string)
		}
		if rec["k"] == "warn" && strings.Contains(rec["msg"].(string), "unused=1") {
			warned = true
		}
	}
	if want := map[string]string{"lr": "float", "epochs": "int", "flag": "bool", "name": "str"}; !reflect.DeepEqual(types, want) {
		t.Errorf("arg types = %v, want %v", types, want)
	}
	if !warned {
		t.Error("no warning for the kwarg no Arg read")
	}
}

func TestBadKwargExitsTwoAndRecordsNothing(t *testing.T) {
	dir := gitInit(t)
	home := filepath.Join(dir, ".flor")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "FLOR_TEST_CHILD=badKwarg", "FLOR_TEST_DIR="+dir, "FLOR_TEST_ARGS=--kwargs epochs=abc")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Fatalf("exit = %v, want code 2; output:\n%s", err, out)
	}
	for _, want := range []string{"epochs=abc", `"abc" is not a decimal integer`, `arg "epochs" expects an integer like its default 5`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("message %q lacks %q", out, want)
		}
	}
	if files, _ := filepath.Glob(filepath.Join(home, "runs", "*")); len(files) != 0 {
		t.Errorf("a bad kwarg left run files: %v", files)
	}
}

func TestRecordsValuesAndContexts(t *testing.T) {
	r := newTestRun(t)
	Log(r, "msg", "Hello \"world\"\n")
	for e := range Loop(r, "epoch", Range(2)) {
		for s := range Loop(r, "step", Range(3)) {
			Log(r, "loss", float64(e*10+s)+0.5)
		}
		Log(r, "val", math.NaN())
		Log(r, "inf", math.Inf(-1))
	}
	Log(r, "obj", map[string]int{"a": 1})
	type loss float64
	Log(r, "named", loss(0.25))
	Log(r, "big", uint64(math.MaxUint64))
	for d := range Loop(r, "doc", func(yield func(string) bool) { yield("a.pdf") }) {
		Log(r, "name", d)
	}
	end := IterationOf(r, "document", 7, "b.pdf")
	Log(r, "label", true)
	end()
	if err := r.Commit(); err != nil {
		t.Fatal(err)
	}
	got := logged(t, r.File, false)
	want := map[string][]any{
		"/msg":                 {"Hello \"world\"\n"},
		"/epoch=0/step=0/loss": {0.5}, "/epoch=0/step=1/loss": {1.5}, "/epoch=0/step=2/loss": {2.5},
		"/epoch=1/step=0/loss": {10.5}, "/epoch=1/step=1/loss": {11.5}, "/epoch=1/step=2/loss": {12.5},
		"/epoch=0/val": {"NaN"}, "/epoch=1/val": {"NaN"},
		"/epoch=0/inf": {"-Inf"}, "/epoch=1/inf": {"-Inf"},
		"/obj":              {map[string]any{"a": 1.0}},
		"/named":            {0.25},
		"/big":              {float64(math.MaxUint64)},
		"/doc=0/name":       {"a.pdf"},
		"/document=7/label": {true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("logged:\n got %v\nwant %v", got, want)
	}
	recs := readRecords(t, r.File)
	if recs[0]["k"] != "run" || recs[len(recs)-1]["k"] != "end" {
		t.Errorf("file does not start with run and end with end: %v ... %v", recs[0], recs[len(recs)-1])
	}
	var internal []string
	for _, rec := range recs {
		if rec["int"] == true {
			internal = append(internal, rec["n"].(string))
		}
		if rec["k"] == "ctx" && rec["n"] == "doc" && rec["v"] != "a.pdf" {
			t.Errorf("loop value not recorded: %v", rec)
		}
	}
	for _, name := range []string{"delta::prefix", "delta::iteration", "delta::step", "delta::suffix"} {
		if !strings.Contains(strings.Join(internal, " "), name) {
			t.Errorf("no %s among internal values %v", name, internal)
		}
	}
}

func TestTimestampsUnique(t *testing.T) {
	dir := gitInit(t)
	seen := map[string]bool{}
	now := time.Now()
	for range 5 {
		r, err := New(Options{Dir: dir, Stdout: discard{}, Env: testEnv(nil)})
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(r.Home, "runs"), 0o755); err != nil {
			t.Fatal(err)
		}
		f, err := r.createRunFile(now) // the same instant every time
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		if seen[r.Tstamp] {
			t.Fatalf("tstamp %s reused", r.Tstamp)
		}
		seen[r.Tstamp] = true
	}
}

func TestNotGit(t *testing.T) {
	_, err := New(Options{Dir: t.TempDir(), Env: testEnv(nil)})
	if !errors.Is(err, ErrNotGit) {
		t.Fatalf("err = %v, want ErrNotGit", err)
	}
	if !strings.Contains(err.Error(), "git init") {
		t.Errorf("error %q gives no hint", err)
	}
}

func TestKilledRunKeepsEarlyRecords(t *testing.T) {
	dir := gitInit(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "FLOR_TEST_CHILD=killed", "FLOR_TEST_DIR="+dir, "FLOR_PROGRESS=0", "FLOR_ECHO=0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("child said %q, %v", line, err)
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	files, _ := filepath.Glob(filepath.Join(dir, ".flor", "runs", "*.jsonl"))
	if len(files) != 1 {
		t.Fatalf("run files: %v", files)
	}
	got := logged(t, files[0], false)
	for e := range 3 {
		k := "/epoch=" + string(rune('0'+e)) + "/early"
		if len(got[k]) != 1 {
			t.Errorf("%s lost by the kill: %v", k, got)
		}
	}
	for _, rec := range readRecords(t, files[0]) {
		if rec["k"] == "end" {
			t.Error("a killed run has an end record")
		}
	}
}

// mlp is a stand-in for a model: exported slices gob encodes.
type mlp struct {
	W    []float64
	B    []float64
	Step int
}

func TestAssignInPlaceKeepsAliases(t *testing.T) {
	m := &mlp{W: []float64{1, 2, 3}, B: []float64{4}, Step: 9}
	alias := m.W
	data, err := encodeObject(m)
	if err != nil {
		t.Fatal(err)
	}
	m.W[0], m.B, m.Step = 100, nil, 0
	if err := decodeInto(m, data); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m, &mlp{W: []float64{1, 2, 3}, B: []float64{4}, Step: 9}) {
		t.Errorf("restored %+v", m)
	}
	if &alias[0] != &m.W[0] {
		t.Error("restore replaced the weights' backing array: aliases broke")
	}
	// A field that was zero when captured is zero again after restore.
	z := &mlp{W: []float64{1}}
	data, _ = encodeObject(z)
	z.Step = 5
	if err := decodeInto(z, data); err != nil || z.Step != 0 {
		t.Errorf("zero field not restored: %+v %v", z, err)
	}
}

func TestCheckpointRejects(t *testing.T) {
	if err := checkRestorable(mlp{}); !errors.Is(err, ErrCheckpoint) {
		t.Errorf("non-pointer: %v", err)
	}
	if err := checkRestorable((*mlp)(nil)); !errors.Is(err, ErrCheckpoint) {
		t.Errorf("nil pointer: %v", err)
	}
	if _, err := encodeObject(&struct{ f func() }{}); !errors.Is(err, ErrCheckpoint) {
		t.Errorf("unencodable: %v", err)
	}
	if err := checkRestorable(rand.NewPCG(1, 2)); err != nil {
		t.Errorf("PCG: %v", err)
	}
}

func TestUserCheckoutUntouched(t *testing.T) {
	dir := gitInit(t)
	write := func(name, s string) {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git := func(args ...string) string {
		cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@t"}, args...)...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	write("main.go", "package main\n")
	write(".gitignore", "data/\n*.log\n")
	write("keep.log", "tracked though ignored\n")
	git("add", "-f", "main.go", ".gitignore", "keep.log")
	git("commit", "-qm", "one")
	git("checkout", "-q", "--detach")
	write("main.go", "package main // edited\n")
	write("new.go", "package main\n")
	write("data/big.bin", "ignored\n")
	write("x.log", "ignored\n")
	write("sub/dir/util.go", "package sub\n")
	git("add", "new.go") // staged, not committed
	before := git("status", "--porcelain=v1", "--branch") + git("rev-parse", "HEAD") + git("diff", "--cached")

	r, err := New(Options{Dir: dir, Stdout: discard{}, Env: testEnv(nil)})
	if err != nil {
		t.Fatal(err)
	}
	Log(r, "x", 1)
	if err := r.Commit(); err != nil {
		t.Fatal(err)
	}
	after := git("status", "--porcelain=v1", "--branch") + git("rev-parse", "HEAD") + git("diff", "--cached")
	if before != after {
		t.Errorf("checkout changed:\nbefore %s\nafter %s", before, after)
	}
	if r.Snapshot == "" {
		t.Fatal("no snapshot")
	}
	files := strings.Fields(git("ls-tree", "-r", "--name-only", r.Snapshot))
	want := []string{".gitignore", "keep.log", "main.go", "new.go", "sub/dir/util.go"}
	if !reflect.DeepEqual(files, want) {
		t.Errorf("snapshot holds %v, want %v", files, want)
	}
	if got := git("show", r.Snapshot+":main.go"); got != "package main // edited\n" {
		t.Errorf("snapshot main.go = %q", got)
	}
	git("fsck", "--strict", "--no-dangling")
	if tip := strings.TrimSpace(git("rev-parse", "refs/heads/"+ShadowBranch)); tip != r.Snapshot {
		t.Errorf("flor.shadow = %s, run snapshot %s", tip, r.Snapshot)
	}
	// Same tree again: the run shares the snapshot.
	r2, err := New(Options{Dir: dir, Stdout: discard{}, Env: testEnv(nil)})
	if err != nil {
		t.Fatal(err)
	}
	Log(r2, "x", 2)
	if err := r2.Commit(); err != nil {
		t.Fatal(err)
	}
	if r2.Snapshot != r.Snapshot {
		t.Errorf("unchanged tree made a new snapshot %s (was %s)", r2.Snapshot, r.Snapshot)
	}
	excl, _ := os.ReadFile(filepath.Join(dir, ".git", "info", "exclude"))
	if !strings.Contains(string(excl), "/.flor/") {
		t.Errorf(".git/info/exclude lacks /.flor/: %q", excl)
	}
	if strings.Contains(git("status", "--porcelain"), ".flor") {
		t.Error(".flor shows in git status")
	}
}

func TestConcurrentRunsShareTheShadowBranch(t *testing.T) {
	dir := gitInit(t)
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const n = 16
	cmds := make([]*exec.Cmd, n)
	for i := range n {
		// Each program sees a different tree, so each needs its own commit.
		if err := os.WriteFile(filepath.Join(dir, "v"+string(rune('a'+i))+".txt"), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		cmds[i] = exec.Command(os.Args[0], "-test.run=^$")
		cmds[i].Env = append(os.Environ(), "FLOR_TEST_CHILD=many", "FLOR_TEST_DIR="+dir, "FLOR_ECHO=0", "FLOR_TEST_ID="+string(rune('a'+i)))
	}
	for _, c := range cmds {
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatalf("child: %v", err)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, ".flor", "runs", "*.jsonl"))
	if len(files) != n {
		t.Fatalf("%d run files, want %d", len(files), n)
	}
	out, err := exec.Command("git", "-C", dir, "rev-list", ShadowBranch).CombinedOutput()
	if err != nil {
		t.Fatalf("rev-list: %v\n%s", err, out)
	}
	reachable := map[string]bool{}
	for _, h := range strings.Fields(string(out)) {
		reachable[h] = true
	}
	for _, f := range files {
		recs := readRecords(t, f)
		snap, _ := recs[0]["snapshot"].(string)
		if !reachable[snap] {
			t.Errorf("%s: snapshot %q is not on %s", filepath.Base(f), snap, ShadowBranch)
		}
		if got := len(logged(t, f, false)); got != 1+3*50 {
			t.Errorf("%s: %d values, want %d", filepath.Base(f), got, 1+3*50)
		}
		if recs[len(recs)-1]["k"] != "end" {
			t.Errorf("%s does not end with an end record", filepath.Base(f))
		}
	}
}

func TestSnapshotStaleAndGlobalExcludes(t *testing.T) {
	dir := gitInit(t)
	cfg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", cfg)
	if err := os.MkdirAll(filepath.Join(cfg, "git"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cfg, "git", "ignore"), []byte("*.secret\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	main := filepath.Join(dir, "main.go")
	if err := os.WriteFile(main, []byte("package main\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "key.secret"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A source file newer than this (test) program: the code changed after
	// the build.
	future := time.Now().Add(time.Hour)
	if err := os.Chtimes(main, future, future); err != nil {
		t.Fatal(err)
	}
	r, err := New(Options{Dir: dir, Stdout: discard{}, Stderr: discard{}, Env: testEnv(nil)})
	if err != nil {
		t.Fatal(err)
	}
	Log(r, "x", 1)
	if err := r.Commit(); err != nil {
		t.Fatal(err)
	}
	if !r.Stale {
		t.Error("a source newer than the program did not mark the snapshot stale")
	}
	if recs := readRecords(t, r.File); recs[0]["stale"] != true {
		t.Errorf("the run record does not say stale: %v", recs[0])
	}
	out, err := exec.Command("git", "-C", dir, "ls-tree", "-r", "--name-only", r.Snapshot).CombinedOutput()
	if err != nil {
		t.Fatalf("ls-tree: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "key.secret") || !strings.Contains(string(out), "main.go") {
		t.Errorf("snapshot holds %q: want main.go without the globally ignored key.secret", out)
	}
}

func TestCaptureBudget(t *testing.T) {
	dir := gitInit(t)
	// A 0.1% budget against loops of microseconds: most captures are
	// skipped, the state after the main loop never is.
	r, err := New(Options{Dir: dir, Stdout: discard{}, Stderr: discard{},
		Env: testEnv(map[string]string{"FLOR_CHECKPOINT_EPSILON": "0.001"})})
	if err != nil {
		t.Fatal(err)
	}
	state := &mlp{W: make([]float64, 20000)}
	r.Checkpoint("m", state)
	const n = 200
	for e := range Loop(r, "epoch", Range(n)) {
		for i := range Loop(r, "step", Range(3)) {
			state.W[i] += float64(e)
		}
	}
	if err := r.Commit(); err != nil {
		t.Fatal(err)
	}
	ends, last := 0, -1.0
	for _, rec := range readRecords(t, r.File) {
		if rec["k"] == "ckpt" && rec["b"] == "" {
			ends++
			last = max(last, rec["e"].(float64))
		}
	}
	if ends == 0 || ends >= n {
		t.Errorf("%d of %d iterations captured: the budget did not thin them", ends, n)
	}
	if last != n-1 {
		t.Errorf("last captured iteration %v, want %d (the state after the loop)", last, n-1)
	}
	if _, err := New(Options{Dir: dir, Env: testEnv(map[string]string{"FLOR_CHECKPOINT_EPSILON": "lots"})}); err == nil {
		t.Error("a bad FLOR_CHECKPOINT_EPSILON was accepted")
	}
}
