package main

import (
	"bufio"
	"bytes"
	"encoding/gob"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5"

	"github.com/flordb/flor/examples/mnist/mlp"
)

// binary is the example built once for all tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "mnist-example-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "mnist")
	// -trimpath: the runtime then takes the repository of the working
	// directory (a temporary one) as the program's, not this source tree.
	out, err := exec.Command("go", "build", "-trimpath", "-o", binary, ".").CombinedOutput()
	code := 1
	if err != nil {
		os.Stderr.Write(out)
		os.Stderr.WriteString("go build: " + err.Error() + "\n")
	} else {
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// runResult is one run of the example.
type runResult struct {
	code           int
	stdout, stderr string
	home           string
}

// runExample runs the example in a fresh git repository with its flor
// directory in a temporary directory.
func runExample(t *testing.T, env []string, args ...string) runResult {
	t.Helper()
	repo := t.TempDir()
	if _, err := git.PlainInit(repo, false); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(repo, "main.go"), []byte("package main\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	home := filepath.Join(t.TempDir(), "flor")
	cmd := exec.Command(binary, args...)
	cmd.Dir = repo
	// Tiny runs: capture every iteration, whatever the capture budget.
	cmd.Env = append(append(os.Environ(), "FLOR_HOME="+home, "FLOR_PROGRESS=0", "FLOR_CHECKPOINT_EPSILON=0"), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := runResult{stdout: stdout.String(), stderr: stderr.String(), home: home}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		res.code = exit.ExitCode()
	case err != nil:
		t.Fatalf("running %s: %v", binary, err)
	}
	return res
}

// record is the part of a run-file line the tests read.
type record struct {
	K    string            `json:"k"`
	C    int               `json:"c"`
	P    int               `json:"p"`
	N    string            `json:"n"`
	I    int               `json:"i"`
	T    string            `json:"t"`
	V    json.RawMessage   `json:"v"`
	Arg  bool              `json:"arg"`
	Int  bool              `json:"int"`
	E    int               `json:"e"`
	B    *string           `json:"b"`
	Objs map[string]string `json:"objs"`
}

func readRun(t *testing.T, home string) []record {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(home, "runs", "*.jsonl"))
	if err != nil || len(files) != 1 {
		t.Fatalf("%s/runs: want one run file, found %v (%v)", home, files, err)
	}
	f, err := os.Open(files[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var recs []record
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var r record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%s: %v in %s", files[0], err, sc.Text())
		}
		recs = append(recs, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return recs
}

// logged is a user value with the epoch and step it was logged in (-1
// outside those loops).
type logged struct {
	name        string
	epoch, step int
	v           float64
}

func userLogs(t *testing.T, recs []record) (args map[string]string, logs []logged) {
	t.Helper()
	ctx := map[int]record{}
	args = map[string]string{}
	for _, r := range recs {
		switch {
		case r.K == "ctx":
			ctx[r.C] = r
		case r.K == "log" && r.Arg:
			args[r.N] = string(r.V)
		case r.K == "log" && !r.Int:
			l := logged{name: r.N, epoch: -1, step: -1}
			if err := json.Unmarshal(r.V, &l.v); err != nil {
				t.Fatalf("log %s: value %s: %v", r.N, r.V, err)
			}
			for c := r.C; c != 0; c = ctx[c].P {
				switch ctx[c].N {
				case "epoch":
					l.epoch = ctx[c].I
				case "step":
					l.step = ctx[c].I
				}
			}
			logs = append(logs, l)
		}
	}
	return args, logs
}

var smallKwargs = []string{"--kwargs", "train_size=3000", "hidden=32", "epochs=3", "print_every=20", "lr=0.002"}

// TestRecordedRun runs the example on a small configuration and checks
// what it recorded: its arguments, the losses every print_every steps, the
// per-epoch validation accuracy, the final accuracy and the checkpoints.
func TestRecordedRun(t *testing.T) {
	res := runExample(t, []string{"FLOR_ECHO=0"}, smallKwargs...)
	if res.code != 0 {
		t.Fatalf("exit %d\nstderr: %s", res.code, res.stderr)
	}
	if res.stdout != "" {
		t.Errorf("FLOR_ECHO=0 but the program printed %q", res.stdout)
	}
	recs := readRun(t, res.home)
	args, logs := userLogs(t, recs)
	wantArgs := map[string]string{"hidden": "32", "epochs": "3", "batch_size": "32", "lr": "0.002",
		"seed": "42", "print_every": "20", "train_size": "3000"}
	for k, v := range wantArgs {
		if args[k] != v {
			t.Errorf("arg %s recorded as %q, want %q", k, args[k], v)
		}
	}
	if len(args) != len(wantArgs) {
		t.Errorf("recorded args %v, want %v", args, wantArgs)
	}

	// 3000 images in batches of 32 are 94 steps: losses at 0, 20, ..., 80.
	var losses, vals, final []logged
	for _, l := range logs {
		switch l.name {
		case "loss":
			losses = append(losses, l)
		case "val_acc":
			vals = append(vals, l)
		case "accuracy":
			final = append(final, l)
		default:
			t.Errorf("unexpected value %s logged", l.name)
		}
	}
	if len(losses) != 15 || len(vals) != 3 || len(final) != 1 {
		t.Fatalf("logged %d losses, %d val_acc, %d accuracy; want 15, 3, 1", len(losses), len(vals), len(final))
	}
	for i, l := range losses {
		if l.epoch != i/5 || l.step != 20*(i%5) {
			t.Errorf("loss %d logged at epoch %d step %d, want epoch %d step %d", i, l.epoch, l.step, i/5, 20*(i%5))
		}
	}
	for i, v := range vals {
		if v.epoch != i || v.step != -1 {
			t.Errorf("val_acc %d logged at epoch %d step %d", i, v.epoch, v.step)
		}
	}
	if final[0].epoch != -1 || final[0].v != vals[2].v {
		t.Errorf("accuracy %v at epoch %d, want %v outside the loop", final[0].v, final[0].epoch, vals[2].v)
	}
	if !(losses[14].v < losses[0].v) || vals[2].v < 0.8 {
		t.Errorf("did not learn: loss %v -> %v, val_acc %v", losses[0].v, losses[14].v, vals)
	}

	ends := 0
	for _, r := range recs {
		if r.K == "ckpt" && r.B != nil && *r.B == "" {
			ends++
			for _, name := range []string{"model", "optimizer", "rng"} {
				if r.Objs[name] == "" {
					t.Errorf("checkpoint of epoch %d has no %s", r.E, name)
				}
			}
		}
	}
	if ends != 3 {
		t.Errorf("%d end-of-epoch checkpoints, want 3", ends)
	}
	if recs[len(recs)-1].K != "end" {
		t.Errorf("last record is %q, want end", recs[len(recs)-1].K)
	}
}

// TestRunsAreIdentical: the same arguments give the same values, bit for bit.
func TestRunsAreIdentical(t *testing.T) {
	r1 := runExample(t, []string{"FLOR_ECHO=0"}, smallKwargs...)
	r2 := runExample(t, []string{"FLOR_ECHO=0"}, smallKwargs...)
	if r1.code != 0 || r2.code != 0 {
		t.Fatalf("exits %d, %d\n%s\n%s", r1.code, r2.code, r1.stderr, r2.stderr)
	}
	_, l1 := userLogs(t, readRun(t, r1.home))
	_, l2 := userLogs(t, readRun(t, r2.home))
	if len(l1) != len(l2) || len(l1) == 0 {
		t.Fatalf("%d and %d values logged", len(l1), len(l2))
	}
	for i := range l1 {
		if l1[i].name != l2[i].name || math.Float64bits(l1[i].v) != math.Float64bits(l2[i].v) {
			t.Fatalf("value %d: %s=%v, then %s=%v", i, l1[i].name, l1[i].v, l2[i].name, l2[i].v)
		}
	}
}

// TestCheckpointResumesRun is what replay relies on: the state recorded at
// the end of epoch 0 (model, optimizer, random source), decoded as the
// runtime decodes it, trains epochs 1 and 2 to the very values the run
// logged.
func TestCheckpointResumesRun(t *testing.T) {
	res := runExample(t, []string{"FLOR_ECHO=0"}, smallKwargs...)
	if res.code != 0 {
		t.Fatalf("exit %d\nstderr: %s", res.code, res.stderr)
	}
	recs := readRun(t, res.home)
	_, logs := userLogs(t, recs)
	var objs map[string]string
	for _, r := range recs {
		if r.K == "ckpt" && r.E == 0 && r.B != nil && *r.B == "" {
			objs = r.Objs
		}
	}
	if objs == nil {
		t.Fatal("no end-of-epoch-0 checkpoint")
	}
	blob := func(name string) []byte {
		h := objs[name]
		if len(h) < 3 {
			t.Fatalf("checkpoint %s: hash %q", name, h)
		}
		b, err := os.ReadFile(filepath.Join(res.home, "objects", h[:2], h[2:]))
		if err != nil {
			t.Fatalf("checkpoint %s: %v", name, err)
		}
		return b
	}
	var model mlp.MLP
	var opt mlp.Adam
	if err := gob.NewDecoder(bytes.NewReader(blob("model"))).Decode(&model); err != nil {
		t.Fatalf("decoding model: %v", err)
	}
	if err := gob.NewDecoder(bytes.NewReader(blob("optimizer"))).Decode(&opt); err != nil {
		t.Fatalf("decoding optimizer: %v", err)
	}
	pcg := new(rand.PCG)
	if err := pcg.UnmarshalBinary(blob("rng")); err != nil {
		t.Fatalf("decoding rng: %v", err)
	}
	rng := rand.New(pcg)

	dir, err := mlp.DataDir("")
	if err != nil {
		t.Fatal(err)
	}
	train, test, err := mlp.Load(dir, 3000)
	if err != nil {
		t.Fatal(err)
	}
	const batchSize, printEvery = 32, 20
	n := train.N
	steps := (n + batchSize - 1) / batchSize
	var got []logged
	for epoch := 1; epoch < 3; epoch++ {
		perm := rng.Perm(n)
		for step := range steps {
			loss := mlp.TrainStep(&model, &opt, train, perm[step*batchSize:min((step+1)*batchSize, n)])
			if step%printEvery == 0 {
				got = append(got, logged{"loss", epoch, step, loss})
			}
		}
		got = append(got, logged{"val_acc", epoch, -1, mlp.Evaluate(&model, test)})
	}
	var want []logged
	for _, l := range logs {
		if l.epoch >= 1 {
			want = append(want, l)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("resumed training logged %d values, the run %d", len(got), len(want))
	}
	for i := range want {
		if got[i].name != want[i].name || got[i].epoch != want[i].epoch || got[i].step != want[i].step ||
			math.Float64bits(got[i].v) != math.Float64bits(want[i].v) {
			t.Errorf("resumed %+v, recorded %+v", got[i], want[i])
		}
	}
}

func TestEchoPrintsValues(t *testing.T) {
	res := runExample(t, nil, "--kwargs", "train_size=640", "hidden=8", "epochs=1", "print_every=10")
	if res.code != 0 {
		t.Fatalf("exit %d\nstderr: %s", res.code, res.stderr)
	}
	for _, want := range []string{"hidden: 8", "epoch: 0, step: 10, loss: ", "epoch: 0, val_acc: ", "accuracy: "} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, res.stdout)
		}
	}
}

func TestBadInputFailsBeforeRecording(t *testing.T) {
	empty := t.TempDir()
	for _, c := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"missing data", []string{"-data", empty}, 1, "MNIST data files not found"},
		{"missing data after kwargs", []string{"--kwargs", "epochs=1", "-data", empty}, 1, empty},
		{"bad hidden", []string{"--kwargs", "hidden=0"}, 1, "hidden=0"},
		{"train_size too big", []string{"--kwargs", "train_size=70000"}, 1, "train_size 70000 exceeds"},
		{"stray argument", []string{"extra"}, 2, `unexpected argument "extra"`},
		{"unknown flag", []string{"-nope"}, 2, "-nope"},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := runExample(t, nil, c.args...)
			if res.code != c.code || !strings.Contains(res.stderr, c.msg) {
				t.Fatalf("exit %d, stderr %q; want exit %d and %q", res.code, res.stderr, c.code, c.msg)
			}
			if files, _ := filepath.Glob(filepath.Join(res.home, "runs", "*")); len(files) != 0 {
				t.Errorf("a failed start left run files %v", files)
			}
		})
	}
}
