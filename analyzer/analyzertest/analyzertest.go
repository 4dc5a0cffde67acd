package analyzertest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"

	"github.com/flordb/flor/internal/scratch"
)

// Case is one golden archive.
type Case struct {
	Name    string
	Path    string
	Archive *txtar.Archive
	In      map[string][]byte // in/ files, by name relative to in/
	Out     map[string][]byte // out/ files, by name relative to out/
	dirty   bool
}

// ReadCases reads every *.txtar file of dir.
func ReadCases(t testing.TB, dir string) []*Case {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.txtar"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no golden cases in %s (%v)", dir, err)
	}
	var cases []*Case
	for _, p := range paths {
		ar, err := txtar.ParseFile(p)
		if err != nil {
			t.Fatal(err)
		}
		c := &Case{Name: strings.TrimSuffix(filepath.Base(p), ".txtar"), Path: p, Archive: ar,
			In: map[string][]byte{}, Out: map[string][]byte{}}
		for _, f := range ar.Files {
			switch {
			case strings.HasPrefix(f.Name, "in/"):
				c.In[strings.TrimPrefix(f.Name, "in/")] = f.Data
			case strings.HasPrefix(f.Name, "out/"):
				c.Out[strings.TrimPrefix(f.Name, "out/")] = f.Data
			}
		}
		if len(c.In) == 0 {
			t.Fatalf("%s: no in/ files", p)
		}
		cases = append(cases, c)
	}
	return cases
}

// Section returns the contents of the archive file name.
func (c *Case) Section(name string) (string, bool) {
	for _, f := range c.Archive.Files {
		if f.Name == name {
			return string(f.Data), true
		}
	}
	return "", false
}

// Set replaces (or adds, or with data nil removes) the archive file name;
// Save writes the archive back.
func (c *Case) Set(name string, data []byte) {
	c.dirty = true
	for i, f := range c.Archive.Files {
		if f.Name == name {
			if data == nil {
				c.Archive.Files = slices.Delete(c.Archive.Files, i, i+1)
			} else {
				c.Archive.Files[i].Data = data
			}
			return
		}
	}
	if data != nil {
		c.Archive.Files = append(c.Archive.Files, txtar.File{Name: name, Data: data})
	}
}

// SetOut replaces the out/ files with files (nil: none).
func (c *Case) SetOut(files map[string][]byte) {
	c.dirty = true
	c.Archive.Files = slices.DeleteFunc(c.Archive.Files, func(f txtar.File) bool { return strings.HasPrefix(f.Name, "out/") })
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		c.Archive.Files = append(c.Archive.Files, txtar.File{Name: "out/" + n, Data: files[n]})
	}
	c.Out = files
}

// Save writes the archive back when Set or SetOut changed it.
func (c *Case) Save(t testing.TB) {
	t.Helper()
	if !c.dirty {
		return
	}
	if err := os.WriteFile(c.Path, txtar.Format(c.Archive), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Module is a temporary module, in its own git repository, whose main
// packages build against the flor module of this working tree.
type Module struct {
	Dir  string // the module's root
	Root string // the flor module's root
}

// NewModule makes a Module, laid out by internal/scratch. The flor module
// is found by walking up from the current directory.
func NewModule(t testing.TB) *Module {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root, err := scratch.Root(wd)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := scratch.New(dir, "flortest", root, nil); err != nil {
		t.Fatal(err)
	}
	return &Module{Dir: dir, Root: root}
}

// Write writes files into the module's directory dir.
func (m *Module) Write(t testing.TB, dir string, files map[string][]byte) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(m.Dir, dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// Env is the environment programs and the go command run with: no
// network, no workspace, flor's echo and progress bar off.
func (m *Module) Env(extra ...string) []string {
	// Programs of a few microseconds an iteration: capture every one,
	// whatever the capture budget, so records compare exactly.
	env := append(os.Environ(), "GOWORK=off", "GOPROXY=off", "FLOR_ECHO=0", "FLOR_PROGRESS=0", "FLOR_CHECKPOINT_EPSILON=0")
	return append(env, extra...)
}

// Build builds the main packages in dirs (relative to the module) with one
// go command and returns each binary's path, by dir.
func (m *Module) Build(t testing.TB, dirs ...string) map[string]string {
	t.Helper()
	bin := t.TempDir() // outside the repository, which runs snapshot
	// No symbol table or DWARF: linking is most of the time spent here.
	args := []string{"build", "-ldflags=-s -w", "-o", bin + string(filepath.Separator)}
	bins := map[string]string{}
	for _, d := range dirs {
		args = append(args, "./"+d)
		bins[d] = filepath.Join(bin, filepath.Base(d))
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = m.Dir
	cmd.Env = m.Env()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bins
}

// Run runs a binary with args in the module directory dir with
// FLOR_HOME=home and returns its standard output and the run's records.
func (m *Module) Run(t testing.TB, binary, dir, home string, args ...string) (stdout string, run *Run) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = filepath.Join(m.Dir, dir)
	cmd.Env = m.Env("FLOR_HOME=" + home)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\nstderr:\n%s", binary, err, errb.String())
	}
	files, _ := filepath.Glob(filepath.Join(home, "runs", "*.jsonl"))
	if len(files) != 1 {
		t.Fatalf("%s: want one run file in %s, found %d", binary, home, len(files))
	}
	return out.String(), ReadRun(t, files[0])
}

// Run is a run file, read.
type Run struct {
	Path string
	Head map[string]any // the run record
	// Logs holds the user's log records (not internal ones), one line
	// each: the loop context chain, the name, the type and the value.
	Logs []string
	// Ckpts holds the end-of-iteration checkpoint records (b = ""): the
	// iteration and each object's blob hash.
	Ckpts []string
}

// ReadRun reads the run file at path.
func ReadRun(t testing.TB, path string) *Run {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type ctx struct {
		P int64           `json:"p"`
		N string          `json:"n"`
		I int64           `json:"i"`
		V json.RawMessage `json:"v"`
	}
	ctxs := map[int64]ctx{}
	var chain func(c int64) string
	chain = func(c int64) string {
		x, ok := ctxs[c]
		if !ok {
			return ""
		}
		s := fmt.Sprintf("%s[%d]", x.N, x.I)
		if len(x.V) > 0 {
			s = fmt.Sprintf("%s[%d=%s]", x.N, x.I, x.V)
		}
		if p := chain(x.P); p != "" {
			return p + "/" + s
		}
		return s
	}
	r := &Run{Path: path}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for sc.Scan() {
		var rec struct {
			K    string            `json:"k"`
			C    int64             `json:"c"`
			P    int64             `json:"p"`
			N    string            `json:"n"`
			I    int64             `json:"i"`
			T    string            `json:"t"`
			V    json.RawMessage   `json:"v"`
			Arg  bool              `json:"arg"`
			Int  bool              `json:"int"`
			E    int64             `json:"e"`
			B    *string           `json:"b"`
			Objs map[string]string `json:"objs"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("%s: %v: %s", path, err, sc.Text())
		}
		switch rec.K {
		case "run":
			if err := json.Unmarshal(sc.Bytes(), &r.Head); err != nil {
				t.Fatal(err)
			}
		case "ctx":
			ctxs[rec.C] = ctx{P: rec.P, N: rec.N, I: rec.I, V: rec.V}
		case "log":
			if rec.Int {
				continue
			}
			kind := "log"
			if rec.Arg {
				kind = "arg"
			}
			r.Logs = append(r.Logs, fmt.Sprintf("%s %s %s %s %s", dashed(chain(rec.C)), kind, rec.N, rec.T, rec.V))
		case "ckpt":
			if rec.B == nil || *rec.B != "" {
				continue
			}
			names := make([]string, 0, len(rec.Objs))
			for n := range rec.Objs {
				names = append(names, n+"="+rec.Objs[n])
			}
			sort.Strings(names)
			r.Ckpts = append(r.Ckpts, fmt.Sprintf("e=%d %s", rec.E, strings.Join(names, " ")))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return r
}

func dashed(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// LogsNamed returns the log lines of r for the given names.
func (r *Run) LogsNamed(names ...string) []string {
	var out []string
	for _, l := range r.Logs {
		f := strings.Fields(l)
		if len(f) > 2 && slices.Contains(names, f[2]) {
			out = append(out, l)
		}
	}
	return out
}

// Replay replays run r with binary (built from module directory dir): only
// names are written, no block is forced to run, every iteration of the
// main loop and the code after it run. It returns the replay's records.
func (m *Module) Replay(t testing.TB, binary, dir string, r *Run, names []string, args ...string) *Run {
	t.Helper()
	home := filepath.Dir(filepath.Dir(r.Path))
	outDir := filepath.Join(home, "replay", "tmp-golden")
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(outDir, "w0.jsonl")
	plan := map[string]any{
		"id": "golden", "home": home, "projid": r.Head["projid"], "tstamp": r.Head["tstamp"],
		"filename": r.Head["filename"], "snapshot": r.Head["snapshot"], "record": r.Path, "out": out,
		"names": names, "execute": []string{}, "start": 0, "stop": -1, "mode": "loop", "suffix": true,
	}
	data, err := json.Marshal(plan)
	if err != nil {
		t.Fatal(err)
	}
	pf := filepath.Join(outDir, "plan.json")
	if err := os.WriteFile(pf, data, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, args...)
	cmd.Dir = filepath.Join(m.Dir, dir)
	cmd.Env = m.Env("FLOR_HOME="+home, "FLOR_REPLAY="+pf)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("replay %s: %v\n%s", binary, err, b)
	}
	return ReadRun(t, out)
}
