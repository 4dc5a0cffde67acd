package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flordb/flor/examples"
	"github.com/flordb/flor/internal/scratch"
	"github.com/flordb/flor/storage"
)

// The end-to-end replay test: a git project with two committed versions of
// the MNIST example (the second renames a variable), runs of each with
// different --kwargs, then new statements in the working tree. Replayed
// values must equal, bit for bit, those of fresh runs of the new code.

// newStatements are added to the newest version, at the top of the epoch
// loop, inside the step loop, before the main loop and after it.
var newStatements = []struct{ anchor, stmt string }{
	{"\t\tperm := rng.Perm(n)", "\t\tflor.Log(\"acc_top\", mlp.Evaluate(net, test))\n"},
	{"\t\t\tif step%printEvery == 0 {", "\t\t\tflor.Log(\"loss_x\", loss*float64(len(batch)))\n"},
	{"\tn := train.N\n", "\tflor.Log(\"n_train\", train.N)\n"},
	{"\tflor.Log(\"accuracy\"", "\tflor.Log(\"train_acc\", mlp.Evaluate(net, train))\n"},
}

var runKwargs = [][]string{
	{"hidden=16", "epochs=3", "train_size=1500", "print_every=20"},
	{"hidden=12", "epochs=3", "train_size=1500", "print_every=20", "lr=0.003", "seed=5"},
}

type e2eProject struct {
	t *testing.T
	*scratch.Project
	dir string
}

func newE2EProject(t *testing.T, dir string) *e2eProject {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root, err := scratch.Root(wd)
	if err != nil {
		t.Fatal(err)
	}
	p, err := scratch.New(dir, "mnistproj", root, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &e2eProject{t: t, Project: p, dir: dir}
}

func (p *e2eProject) write(name, content string) {
	p.t.Helper()
	if err := p.Write(name, []byte(content)); err != nil {
		p.t.Fatal(err)
	}
}

func (p *e2eProject) commit(msg string) {
	p.t.Helper()
	if err := p.Commit(msg); err != nil {
		p.t.Fatal(err)
	}
}

// train builds the working tree's program and runs it once per kwargs.
func (p *e2eProject) train(kwargs ...[]string) {
	p.t.Helper()
	bin := filepath.Join(p.t.TempDir(), "train")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = p.dir
	build.Env = scratch.BuildEnv()
	if out, err := build.CombinedOutput(); err != nil {
		p.t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, kw := range kwargs {
		cmd := exec.Command(bin, append([]string{"--kwargs"}, kw...)...)
		cmd.Dir = p.dir
		cmd.Env = append(os.Environ(), "FLOR_ECHO=0", "FLOR_PROGRESS=0", "FLOR_HOME=")
		if out, err := cmd.CombinedOutput(); err != nil {
			p.t.Fatalf("train %v: %v\n%s", kw, err, out)
		}
	}
}

// flor runs a flor command in the project, in-process.
func (p *e2eProject) flor(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	en := &env{stdin: strings.NewReader(""), stdout: &o, stderr: &e, dir: p.dir,
		getenv: func(k string) string {
			if k == "FLOR_HOME" {
				return ""
			}
			return os.Getenv(k)
		}}
	code = en.run(context.Background(), args...)
	return code, o.String(), e.String()
}

// checkout describes the user's checkout: HEAD, branch, index, status.
func (p *e2eProject) checkout() string {
	var b strings.Builder
	for _, args := range [][]string{{"rev-parse", "HEAD"}, {"symbolic-ref", "HEAD"}, {"status", "--porcelain=v1"},
		{"diff"}, {"ls-files", "--stage"}, {"branch", "--list"}} {
		cmd := exec.Command("git", args...)
		cmd.Dir = p.dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			p.t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		b.Write(out)
	}
	return b.String()
}

// values reads name's values by run (identified by its kwargs) and loop
// position, from the project's store.
func values(t *testing.T, dir, name string) map[string]any {
	t.Helper()
	ctx := context.Background()
	st, err := storage.Open(ctx, filepath.Join(dir, ".flor"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	runs, err := st.Runs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	kw := map[string]string{}
	for _, r := range runs {
		kw[r.Tstamp.UTC().Format(time.RFC3339Nano)] = fmt.Sprint(r.Kwargs)
	}
	f, err := st.Dataframe(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]any{}
	for i := range f.Rows {
		v := f.Value(i, name)
		if v == nil {
			continue
		}
		ts, _ := f.Value(i, "tstamp").(time.Time)
		key := kw[ts.UTC().Format(time.RFC3339Nano)]
		for _, c := range []string{"epoch", "step"} {
			if f.Col(c) >= 0 {
				key += fmt.Sprintf(" %s=%v", c, f.Value(i, c))
			}
		}
		out[key] = v
	}
	return out
}

func TestReplayEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and trains several versions of the MNIST example")
	}
	base := t.TempDir()
	proj := newE2EProject(t, filepath.Join(base, "proj"))
	v1 := string(examples.MNISTMain)
	v2 := strings.NewReplacer("model := ", "net := ", "(model,", "(net,", ", model)", ", net)", "(model)", "(net)").Replace(v1)
	if v2 == v1 || strings.Contains(v2, "model)") {
		t.Fatalf("the example changed: the rename did not apply cleanly")
	}
	proj.write("main.go", v1)
	proj.commit("v1")
	proj.train(runKwargs[0])
	proj.write("main.go", v2)
	proj.commit("v2: model is net")
	proj.train(runKwargs[1])

	newest := v2
	for _, s := range newStatements {
		if !strings.Contains(newest, s.anchor) {
			t.Fatalf("the example changed: no %q", s.anchor)
		}
		newest = strings.Replace(newest, s.anchor, s.stmt+s.anchor, 1)
	}
	proj.write("main.go", newest)
	before := proj.checkout()

	// Fresh runs of the new code, in a project of their own.
	fresh := newE2EProject(t, filepath.Join(base, "fresh"))
	fresh.write("main.go", newest)
	fresh.commit("new")
	fresh.train(runKwargs...)

	// The schedule says what the self-check compares: val_acc, which an
	// outer-loop replay of acc_top does not keep, is evaluated in each
	// worker's first iteration only, unless --full-check.
	for _, c := range []struct{ flag, want string }{
		{"--dry-run", "self-check: first iteration of each worker; 1 statement skipped after it (val_acc at main.go:"},
		{"--full-check", "self-check: every iteration (--full-check): no statement skipped"},
	} {
		args := []string{"replay", "--dry-run", c.flag, "acc_top"}
		if code, stdout, stderr := proj.flor(args...); code != 0 || !strings.Contains(stdout, c.want) {
			t.Errorf("flor %v: exit %d, want the schedule to say %q\n%s\n%s", args, code, c.want, stdout, stderr)
		}
	}

	for _, c := range []struct {
		name string
		args []string
	}{
		{"acc_top", nil},
		{"loss_x", []string{"--workers", "2"}},
		{"n_train", nil},
		{"train_acc", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := append(append([]string{"replay", "--yes"}, c.args...), c.name)
			code, stdout, stderr := proj.flor(args...)
			if code != 0 {
				t.Fatalf("flor %v: exit %d\n%s\n%s", args, code, stdout, stderr)
			}
			got, want := values(t, proj.dir, c.name), values(t, fresh.dir, c.name)
			if len(want) == 0 {
				t.Fatalf("fresh runs logged no %s", c.name)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("replayed %s differs from fresh runs of the new code:\n got %v\nwant %v\n%s", c.name, got, want, stdout)
			}
			if after := proj.checkout(); after != before {
				t.Errorf("replay changed the checkout:\nbefore:\n%s\nafter:\n%s", before, after)
			}
			// Again: nothing is missing, nothing is done.
			if code, stdout, _ := proj.flor(args...); code != 0 || !strings.Contains(stdout, "nothing to replay") {
				t.Errorf("second replay: exit %d\n%s", code, stdout)
			}
		})
	}

	t.Run("errors", func(t *testing.T) {
		code, stdout, _ := proj.flor("replay", "--yes", "acc_top", "lr > 100")
		if code != 0 || !strings.Contains(stdout, "nothing to replay") {
			t.Errorf("WHERE matching nothing: exit %d\n%s", code, stdout)
		}
		proj.write("extra.go", "package main\n\nfunc init() { _ = 1 }\n")
		code, _, stderr := proj.flor("replay", "--yes", "nosuch")
		if code != 1 || !strings.Contains(stderr, `"nosuch"`) {
			t.Errorf("unknown name: exit %d\n%s", code, stderr)
		}
		os.Remove(filepath.Join(proj.dir, "extra.go"))
		code, _, stderr = proj.flor("replay")
		if code != 2 {
			t.Errorf("no name: exit %d\n%s", code, stderr)
		}
	})

	t.Run("killed replay leaves nothing and reruns", func(t *testing.T) {
		proj.write("main.go", strings.Replace(newest, "\t\t\tflor.Log(\"loss_x\"", "\t\t\tflor.Log(\"loss_y\", loss*2)\n\t\t\tflor.Log(\"loss_x\"", 1))
		bin := filepath.Join(t.TempDir(), "flor")
		if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
		cmd := exec.Command(bin, "replay", "--yes", "--workers", "1", "loss_y")
		cmd.Dir = proj.dir
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		stderr, _ := cmd.StderrPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "replaying") {
				break
			}
		}
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // flor and its workers
		cmd.Wait()
		if got := values(t, proj.dir, "loss_y"); len(got) != 0 {
			t.Errorf("a killed replay left %d values", len(got))
		}
		code, stdout, stderr2 := proj.flor("replay", "--yes", "loss_y")
		if code != 0 {
			t.Fatalf("rerun: exit %d\n%s\n%s", code, stdout, stderr2)
		}
		got := values(t, proj.dir, "loss_y")
		lossx := values(t, proj.dir, "loss_x")
		if len(got) != len(lossx) || len(got) == 0 {
			t.Errorf("rerun filled %d values, want %d", len(got), len(lossx))
		}
	})

	t.Run("a version that no longer builds", func(t *testing.T) {
		// v3 embeds a file git ignores: its snapshot cannot build.
		proj.write("main.go", v2)
		proj.write(".gitignore", "secret.txt\n")
		proj.write("secret.txt", "local only\n")
		proj.write("embed.go", "package main\n\nimport _ \"embed\"\n\n//go:embed secret.txt\nvar secret string\n")
		proj.commit("v3")
		proj.train(runKwargs[0])
		proj.write("main.go", strings.Replace(v2, "\tn := train.N\n", "\tflor.Log(\"n_test\", test.N)\n\tn := train.N\n", 1))
		code, stdout, stderr := proj.flor("replay", "--yes", "n_test")
		if code != 1 {
			t.Errorf("exit %d, want 1\n%s\n%s", code, stdout, stderr)
		}
		if !strings.Contains(stdout, "secret.txt") || !strings.Contains(stdout, "log: ") {
			t.Errorf("the build failure is not reported with its log:\n%s", stdout)
		}
		if got := values(t, proj.dir, "n_test"); len(got) != 2 {
			t.Errorf("the versions that build should have replayed: %v", got)
		}
	})
}
