package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/flordb/flor/examples"
)

// The flor the tests run replays on a machine busy with them: no measure
// for the user's next estimates.
func init() { os.Setenv("FLOR_MACHINE_COSTS", "off") }

// TestBenchSmall runs the whole bench on a tiny run: every replay must
// finish at its level with values that pass the checks, and the report
// must carry every figure.
func TestBenchSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds flor and the example, records a run and replays it four times")
	}
	// Every epoch checkpointed: a tiny run on a loaded machine would have
	// the capture budget thin them, and the report checks the first.
	t.Setenv("FLOR_CHECKPOINT_EPSILON", "0")
	var out, progress bytes.Buffer
	err := run(context.Background(), []string{"-epochs", "2", "-train_size", "640", "-hidden", "8",
		"-print_every", "5", "-workers", "2", "-single=false"}, &out, &progress)
	if err != nil {
		t.Fatalf("run: %v\n%s\n%s", err, progress.String(), out.String())
	}
	s := out.String()
	num := `[0-9]+\.[0-9]+`
	for _, re := range []string{
		`(?m)^machine: \S+, [0-9]+ CPUs, go[0-9.]+`,
		`(?m)^  wall ` + num + ` s, cpu ` + num + ` s`,
		`(?m)^  recorded: prefix ` + num + ` \+ 2 iterations ` + num + ` \+ suffix ` + num + ` = ` + num + ` s`,
		`(?m)^prefix +2 n_train( +` + num + `){10}$`,
		`(?m)^outer +2 acc_top( +` + num + `){10}$`,
		`(?m)^nested +2 loss_x( +` + num + `){10}$`,
		`(?m)^cached +2 n_train( +` + num + `){10}$`,
		`(?m)^  prefix W=2, version cached: plan ` + num + ` \+ cache ` + num + ` \+ run ` + num + ` \+ fin ` + num + ` = ` + num + ` s   target <= 1\.00: (PASS|MISS)$`,
		`(?m)^  flor replay --yes --workers 2 n_train: level prefix; n_train = 640$`,
		`(?m)^  flor replay --yes --workers 2 n_train: level prefix; n_train = 640 \(2 runs\)$`,
		`(?m)^  flor replay --yes --workers 2 acc_top: level outer loop without suffix; 2 values; acc_top\[e\] = val_acc\[e-1\] bit for bit$`,
		`(?m)^  flor replay --yes --workers 2 loss_x: level nested loop without suffix; 40 values; loss_x = 2·loss bit for bit at the 8 logged steps$`,
		`(?m)^    replay / original = ` + num + ` / ` + num + ` = ` + num + `   target <= 0\.10: (PASS|MISS)`,
		`(?m)^    replay / original = ` + num + ` / ` + num + ` = ` + num + `   target <= 1\.15/2 = 0\.575: (PASS|MISS)`,
		`(?m)^  outer +W=2 acc_top +took +` + num + ` s; estimated +` + num + ` s \( *[-+][0-9]+% (ok|MISS)\); revised +` + num + ` s \( *[-+][0-9]+% (ok|MISS)\)$`,
		`(?m)^    run phase beyond the prefix replay's: -?` + num + ` s for 2 epochs on 2 workers \(1 each\): per epoch, a restore \(3 objects, ` + num + ` MiB\)`,
		`(?m)^    one evaluation of the test set, timed in this process: ` + num + ` s$`,
	} {
		if !regexp.MustCompile(re).MatchString(s) {
			t.Errorf("the report does not match %s:\n%s", re, s)
		}
	}
}

// TestStatementsApply: each level's statement finds its place in the
// example, once, so the bench measures what it says when the example
// changes.
func TestStatementsApply(t *testing.T) {
	for _, lv := range levels {
		src, err := lv.source(lv.log)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Count(src, `flor.Log("`+lv.log+`"`); got != 1 {
			t.Errorf("%s: %d statements logging %s, want 1", lv.name, got, lv.log)
		}
		if len(src) <= len(examples.MNISTMain) {
			t.Errorf("%s: the source did not grow", lv.name)
		}
	}
}

func TestParseFlags(t *testing.T) {
	o, err := parseFlags([]string{"-epochs", "3", "-workers", "4", "-repeat", "2"}, io.Discard)
	if err != nil || o.Epochs != 3 || o.Workers != 4 || o.Repeat != 2 || o.Hidden != 128 || !o.Single ||
		strings.Join(o.Levels, ",") != "prefix,outer,nested" {
		t.Fatalf("parseFlags = %+v, %v", o, err)
	}
	if o, err := parseFlags([]string{"-levels", "outer, nested,outer"}, io.Discard); err != nil || strings.Join(o.Levels, ",") != "outer,nested" {
		t.Errorf("-levels: %q, %v", o.Levels, err)
	}
	for _, args := range [][]string{{"-levels", "outer,inner"}, {"-workers", "0"}, {"-repeat", "0"}, {"-epochs", "-1"}, {"-lr", "0"}, {"extra"}, {"-nope"}} {
		if _, err := parseFlags(args, io.Discard); !errors.Is(err, errUsage) {
			t.Errorf("parseFlags(%q) error = %v, want a usage error", strings.Join(args, " "), err)
		}
	}
}

func TestCases(t *testing.T) {
	b := &bench{o: options{Workers: 2, Single: true, Levels: []string{"nested", "prefix", "outer"}}}
	var got []string
	for _, c := range b.cases() {
		got = append(got, c.lv.name+"/"+string(rune('0'+c.workers)))
	}
	if want := "prefix/2 outer/2 outer/1 nested/2 nested/1"; strings.Join(got, " ") != want {
		t.Errorf("cases = %s, want %s", strings.Join(got, " "), want)
	}
	b.o.Workers = 1
	if n := len(b.cases()); n != 3 {
		t.Errorf("with one worker: %d cases, want 3 (no second replay with 1 worker)", n)
	}
	b.o.Levels = []string{"outer"}
	if n := len(b.cases()); n != 1 {
		t.Errorf("-levels outer: %d cases, want 1", n)
	}
}
