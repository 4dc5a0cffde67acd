package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"
)

func TestCompareSmall(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"-epochs", "1", "-train_size", "640", "-hidden", "8", "-pairs", "2", "-print_every", "5"}, &out)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	s := out.String()
	for _, re := range []string{
		`(?m)^pair 1  A  wall +[0-9.]+ s  cpu +[0-9.]+ s  accuracy 0\.[0-9]+$`,
		`(?m)^pair 1  B  wall`, `(?m)^pair 2  B  wall`, `(?m)^pair 2  A  wall`,
		`(?m)^B/A median: wall [0-9.]+ \(overhead [-+][0-9.]+%\), cpu [0-9.]+`,
		`(?m)^B/A of the fastest runs: wall [0-9.]+ \(overhead [-+][0-9.]+%\), cpu [0-9.]+`,
		`one recorded run wrote [1-9][0-9]* files`,
	} {
		if !regexp.MustCompile(re).MatchString(s) {
			t.Errorf("output does not match %s:\n%s", re, s)
		}
	}
}

func TestParseFlags(t *testing.T) {
	o, err := parseFlags([]string{"-epochs", "2", "-pairs", "4"}, io.Discard)
	if err != nil || o.Epochs != 2 || o.Pairs != 4 || o.Hidden != 128 {
		t.Fatalf("parseFlags = %+v, %v", o, err)
	}
	for _, args := range [][]string{{"-pairs", "0"}, {"-epochs", "-1"}, {"extra"}, {"-nope"}} {
		if _, err := parseFlags(args, io.Discard); !errors.Is(err, errUsage) {
			t.Errorf("parseFlags(%q) error = %v, want a usage error", strings.Join(args, " "), err)
		}
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{[]float64{3, 1, 2}, 2}, {[]float64{4, 1, 3, 2}, 2.5}, {[]float64{7}, 7}} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}
