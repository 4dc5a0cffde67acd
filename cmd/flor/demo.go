package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"time"

	"github.com/flordb/flor/examples"
	"github.com/flordb/flor/internal/cli"
	"github.com/flordb/flor/internal/scratch"
)

// demoOptions is what flor demo was asked for.
type demoOptions struct {
	dir               string // "": a new temporary directory
	epochs, trainSize int
}

var demoCmd = &spec[demoOptions]{
	Name:    "demo",
	Summary: "record, query and replay the MNIST example in a scratch project",
	Usage: `Usage: flor demo [--dir DIR] [--epochs N] [--train-size N]

Shows the whole story on real MNIST in a scratch git project: it lays out
the example training program (examples/mnist), records two runs with
different --kwargs, prints their dataframe, then adds a statement the runs
never logged — the test accuracy at the top of each epoch — and replays it
into both runs from their checkpoints, without re-training.

The project is left in DIR (default: a new temporary directory) to explore
with flor runs, flor dataframe and flor query.

Flags:

	--dir DIR         where to make the project (must not exist or be empty)
	--epochs N        epochs per run (default 2)
	--train-size N    training images per run (default 10000)

Examples:

	go run ./cmd/flor demo
	go run ./cmd/flor demo --dir /tmp/flor-demo --epochs 3
`,
	Flags: func(fs *flag.FlagSet, o *demoOptions) {
		fs.StringVar(&o.dir, "dir", "", "")
		fs.IntVar(&o.epochs, "epochs", 2, "")
		fs.IntVar(&o.trainSize, "train-size", 10000, "")
	},
	Args: func(o *demoOptions, pos []string) error {
		if len(pos) > 0 {
			return cli.Usagef("demo takes no arguments")
		}
		if o.epochs < 1 || o.trainSize < 100 {
			return cli.Usagef("--epochs must be at least 1 and --train-size at least 100")
		}
		return nil
	},
	Run: runDemo,
}

func runDemo(ctx context.Context, e *env, o *demoOptions) error {
	src, err := florSource(e.dir)
	if err != nil {
		return err
	}
	if o.dir == "" {
		if o.dir, err = os.MkdirTemp("", "flor-demo-"); err != nil {
			return err
		}
	} else if entries, err := os.ReadDir(o.dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("demo: %s is not empty", o.dir)
	}
	proj := filepath.Join(o.dir, "mnist")
	start := time.Now()
	say := func(format string, a ...any) { fmt.Fprintf(e.stdout, "\n== "+format+"\n", a...) }

	say("a scratch git project in %s, holding the MNIST example", proj)
	if err := layOut(proj, src); err != nil {
		return err
	}
	bin := filepath.Join(o.dir, "train")
	if err := goCmd(ctx, proj, e, "build", "-o", bin, "."); err != nil {
		return fmt.Errorf("demo: building the example: %w", err)
	}
	sub := &env{stdin: e.stdin, stdout: e.stdout, stderr: e.stderr, dir: proj,
		getenv: func(k string) string {
			if k == "FLOR_HOME" {
				return ""
			}
			return e.getenv(k)
		}}
	common := []string{fmt.Sprintf("epochs=%d", o.epochs), fmt.Sprintf("train_size=%d", o.trainSize), "print_every=100"}
	for i, kw := range [][]string{{"hidden=64", "lr=0.001"}, {"hidden=32", "lr=0.003"}} {
		args := append([]string{"--kwargs"}, append(kw, common...)...)
		say("run %d: train %s", i+1, strings.Join(args, " "))
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Dir = proj
		cmd.Stdout, cmd.Stderr = e.stdout, e.stderr
		cmd.Env = append(os.Environ(), "FLOR_HOME=", "FLOR_PROGRESS=0")
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("demo: run %d: %w", i+1, err)
		}
	}

	say("flor dataframe hidden lr loss val_acc")
	if err := dataframeCmd.Bind(sub).Run(ctx, []string{"--max-rows", "16", "hidden", "lr", "loss", "val_acc"}); err != nil {
		return fmt.Errorf("demo: flor dataframe: %w", err)
	}

	say("hindsight: add a statement the runs never logged, at the top of the epoch loop")
	main := filepath.Join(proj, "main.go")
	code, err := os.ReadFile(main)
	if err != nil {
		return err
	}
	const anchor = "\t\tperm := rng.Perm(n)"
	if !bytes.Contains(code, []byte(anchor)) {
		return fmt.Errorf("demo: the example has changed: no %q in main.go", strings.TrimSpace(anchor))
	}
	stmt := "\t\tflor.Log(\"acc_top\", mlp.Evaluate(model, test)) // test accuracy before the epoch trains\n"
	code = bytes.Replace(code, []byte(anchor), []byte(stmt+anchor), 1)
	if err := os.WriteFile(main, code, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "+%s", stmt)

	say("flor replay --yes acc_top")
	if err := replayCmd.Bind(sub).Run(ctx, []string{"--yes", "acc_top"}); err != nil {
		return fmt.Errorf("demo: flor replay: %w", err)
	}
	say("done in %.0fs. acc_top of epoch e is the accuracy before epoch e trained:\n"+
		"epoch 0 shows the untrained model, epoch e>0 the val_acc of epoch e-1.\n"+
		"Explore: cd %s && go run %s/cmd/flor dataframe hidden lr val_acc acc_top", time.Since(start).Seconds(), proj, src)
	return nil
}

// florSource finds the flor module's source tree, which the demo project
// builds against: this command's own source when it was built from a
// checkout, else the module containing dir.
func florSource(dir string) (string, error) {
	if _, file, _, ok := goruntime.Caller(0); ok && filepath.IsAbs(file) {
		if root, err := scratch.Root(filepath.Dir(file)); err == nil {
			return root, nil
		}
	}
	if root, err := scratch.Root(dir); err == nil {
		return root, nil
	}
	return "", errors.New("demo: the flor source tree was not found; run the demo from a flor checkout: go run ./cmd/flor demo")
}

// layOut writes the demo project and commits it.
func layOut(proj, src string) error {
	p, err := scratch.New(proj, "mnistdemo", src, map[string][]byte{"main.go": examples.MNISTMain})
	if err != nil {
		return err
	}
	return p.Commit("the MNIST example")
}

// goCmd runs the go command in dir, its output on e's streams.
func goCmd(ctx context.Context, dir string, e *env, args ...string) error {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Env = scratch.BuildEnv()
	if err := cmd.Run(); err != nil {
		io.Copy(e.stderr, &out)
		return err
	}
	return nil
}
