// Command soak records many runs at once into one flor home while a reader
// loops over the store and a replay fills a new column, and checks that
// every row is there exactly once and that nothing failed on a lock.
//
//	go run ./bench/soak                # 64 recording programs
//	go run ./bench/soak -programs 8 -epochs 2 -steps 10
//
// It prints its figures; BENCHMARKS.md holds them.
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
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flordb/flor/internal/scratch"
	"github.com/flordb/flor/planner"
	"github.com/flordb/flor/storage"
)

const trainSrc = `package main

import "github.com/flordb/flor"

type model struct{ W float64 }

func main() {
	defer flor.Commit()
	epochs := flor.Arg("epochs", 3)
	steps := flor.Arg("steps", 50)
	lr := flor.Arg("lr", 0.01)
	m := &model{W: 1}
	flor.Checkpoint("model", m)
	for e := range flor.Loop("epoch", flor.Range(epochs)) {
		for s := range flor.Loop("step", flor.Range(steps)) {
			m.W = m.W*(1-lr) + float64(e*steps+s)*1e-3
			flor.Log("loss", m.W)
		}
		flor.Log("val", m.W*2)
	}
}
`

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fl := flag.NewFlagSet("soak", flag.ContinueOnError)
	fl.SetOutput(stderr)
	programs := fl.Int("programs", 64, "recording programs started at once")
	epochs := fl.Int("epochs", 3, "epochs per program")
	steps := fl.Int("steps", 2000, "steps per epoch")
	replayed := fl.Int("replayed", 2, "runs recorded first, then replayed during the soak")
	if err := fl.Parse(args); err != nil {
		return err
	}
	wd, _ := os.Getwd()
	root, err := scratch.Root(wd)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "flor-soak-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	dir := filepath.Join(tmp, "proj")
	p, err := scratch.New(dir, "example.com/soak", root, map[string][]byte{"main.go": []byte(trainSrc)})
	if err != nil {
		return err
	}
	if err := p.Commit("v1"); err != nil {
		return err
	}
	// build compiles the working tree's program.
	build := func(bin string) error {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
		cmd.Dir = dir
		cmd.Env = scratch.BuildEnv()
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build: %w\n%s", err, out)
		}
		return nil
	}
	bin := filepath.Join(tmp, "train-v1")
	if err := build(bin); err != nil {
		return err
	}
	home := filepath.Join(dir, ".flor")
	record := func(i int) error {
		cmd := exec.CommandContext(ctx, bin, "--kwargs", fmt.Sprintf("epochs=%d", *epochs), fmt.Sprintf("steps=%d", *steps), fmt.Sprintf("lr=0.0%d", 1+i%9))
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "FLOR_ECHO=0", "FLOR_PROGRESS=0", "FLOR_HOME=", "FLOR_CHECKPOINT_EPSILON=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("program %d: %w\n%s", i, err, out)
		}
		return nil
	}
	for i := range *replayed {
		if err := record(1000 + i); err != nil {
			return err
		}
	}
	// A new statement in the working tree: the replay carries it into the
	// runs recorded before, while the programs of the soak, built from the
	// new code, log it themselves (a user training on while replaying).
	src := strings.Replace(trainSrc, "\t\tflor.Log(\"val\", m.W*2)\n", "\t\tflor.Log(\"val\", m.W*2)\n\t\tflor.Log(\"val3\", m.W*3)\n", 1)
	if err := p.Write("main.go", []byte(src)); err != nil {
		return err
	}
	bin = filepath.Join(tmp, "train-v2")
	if err := build(bin); err != nil {
		return err
	}

	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, *programs+2)
	var recordDone atomic.Bool
	var recWall time.Duration
	wg.Add(1)
	go func() { // the recording programs, all at once
		defer wg.Done()
		var rg sync.WaitGroup
		for i := range *programs {
			rg.Add(1)
			go func() {
				defer rg.Done()
				if err := record(i); err != nil {
					errs <- err
				}
			}()
		}
		rg.Wait()
		recWall = time.Since(start)
		recordDone.Store(true)
	}()
	var reads, maxRows atomic.Int64
	var readTime atomic.Int64
	wg.Add(1)
	go func() { // a reader looping over the store while they record
		defer wg.Done()
		for !recordDone.Load() {
			t0 := time.Now()
			s, err := storage.Open(ctx, home, storage.WithMessages(io.Discard))
			if err != nil {
				errs <- fmt.Errorf("reader: %w", err)
				return
			}
			f, err := s.Dataframe(ctx, "loss")
			s.Close()
			if err != nil {
				errs <- fmt.Errorf("reader: %w", err)
				return
			}
			readTime.Add(int64(time.Since(t0)))
			reads.Add(1)
			if n := int64(f.Len()); n > maxRows.Load() {
				maxRows.Store(n)
			}
		}
	}()
	var replayWall time.Duration
	var progress bytes.Buffer
	wg.Add(1)
	go func() { // a replay of the runs recorded before, at the same time
		defer wg.Done()
		t0 := time.Now()
		opt := planner.Options{Names: []string{"val3"}, Workers: 2, Root: dir, Home: home, Progress: &progress}
		s, err := storage.Open(ctx, home, storage.WithMessages(io.Discard))
		if err != nil {
			errs <- fmt.Errorf("replay: %w", err)
			return
		}
		runs, err := planner.MissingRuns(ctx, s, opt.Names, "")
		s.Close()
		if err != nil {
			errs <- fmt.Errorf("replay: %w", err)
			return
		}
		// Only the runs recorded before the soak: the others are still
		// being written, and a run that is recording is not replayed.
		sched, err := planner.Plan(ctx, opt, runs[:min(len(runs), *replayed)])
		if err != nil {
			errs <- fmt.Errorf("replay: %w", err)
			return
		}
		for _, o := range planner.Execute(ctx, sched, opt) {
			if o.Err != nil {
				errs <- fmt.Errorf("replay of %s: %w\n%s", o.Row.Run.Tstamp, o.Err, progress.String())
			}
		}
		replayWall = time.Since(t0)
	}()
	wg.Wait()
	close(errs)
	var failed []error
	for err := range errs {
		failed = append(failed, err)
	}
	if len(failed) > 0 {
		return errors.Join(failed...)
	}
	// Exact counts, from a fresh ingest.
	t0 := time.Now()
	s, err := storage.Open(ctx, home, storage.WithMessages(io.Discard))
	if err != nil {
		return err
	}
	defer s.Close()
	finalIngest := time.Since(t0)
	count := func(q string) (n int64, err error) {
		err = s.DB().QueryRowContext(ctx, q).Scan(&n)
		return n, err
	}
	total := int64(*programs + *replayed)
	want := map[string]int64{
		"SELECT count(*) FROM runs WHERE status = 'finished'":                  total,
		"SELECT count(*) FROM logs WHERE value_name = 'loss'":                  total * int64(*epochs**steps),
		"SELECT count(*) FROM logs WHERE value_name = 'val'":                   total * int64(*epochs),
		"SELECT count(*) FROM logs WHERE value_name = 'val3' AND replayed":     int64(*replayed * *epochs),
		"SELECT count(*) FROM logs WHERE value_name = 'val3' AND NOT replayed": int64(*programs * *epochs),
		// The runs recorded before the edit, and those of the new code.
		"SELECT count(DISTINCT snapshot) FROM runs": 2,
		"SELECT count(*) FROM warnings":             0,
		// No value twice in one context of one file.
		"SELECT count(*) FROM (SELECT src, ctx_id, value_name, count(*) c FROM logs GROUP BY ALL HAVING c > 1)": 0,
	}
	var bad []string
	for q, w := range want {
		n, err := count(q)
		if err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
		if n != w {
			bad = append(bad, fmt.Sprintf("%s = %d, want %d", q, n, w))
		}
	}
	fmt.Fprintf(stdout, "soak: %d programs recording at once (%d epochs x %d steps), a reader loop, a replay of %d runs\n",
		*programs, *epochs, *steps, *replayed)
	fmt.Fprintf(stdout, "  recording wall %.2f s for all %d programs\n", recWall.Seconds(), *programs)
	if n := reads.Load(); n > 0 {
		fmt.Fprintf(stdout, "  reader: %d dataframes while recording, %.0f ms each on average, up to %d rows seen\n",
			n, float64(readTime.Load())/float64(n)/1e6, maxRows.Load())
	}
	fmt.Fprintf(stdout, "  replay wall %.2f s (during the recording)\n", replayWall.Seconds())
	fmt.Fprintf(stdout, "  final ingest %.2f s; rows: %d runs, %d loss, %d val, %d val3 replayed\n", finalIngest.Seconds(),
		total, total*int64(*epochs**steps), total*int64(*epochs), *replayed**epochs)
	if len(bad) > 0 {
		return fmt.Errorf("wrong counts:\n  %s", strings.Join(bad, "\n  "))
	}
	fmt.Fprintln(stdout, "  every count exact; no lock error")
	return nil
}
