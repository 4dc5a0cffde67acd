package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/flordb/flor/internal/record"
	"github.com/flordb/flor/reader"
)

// TestFeedbackLoop runs the DAG end to end in a fresh repository:
// featurize; the app, while labels are posted by concurrent requests
// (each save its own run, a correction winning over the first save);
// train; infer; the predictions visible in the app next to the labels;
// and the lineage of the chain.
func TestFeedbackLoop(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "docparser")
	// -trimpath: the runtime takes the repository of the working
	// directory (a temporary one) as the program's.
	if out, err := exec.Command("go", "build", "-trimpath", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	repo := t.TempDir()
	if out, err := exec.Command("git", "init", "-q", repo).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v\n%s", err, out)
	}
	if err := os.WriteFile(filepath.Join(repo, "main.go"), []byte("package main\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	names, docs, err := loadDocs("testdata/docs")
	if err != nil {
		t.Fatal(err)
	}
	home := filepath.Join(repo, ".flor")
	env := append(os.Environ(), "FLOR_HOME="+home, "FLOR_PROGRESS=0", "FLOR_ECHO=0", "FLOR_CHECKPOINT_EPSILON=0")
	step := func(args ...string) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Dir, cmd.Env = repo, env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("docparser %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	abs, _ := filepath.Abs("testdata/docs")
	step("featurize", "-docs", abs)

	srv := exec.Command(bin, "serve", "-addr", "127.0.0.1:0")
	srv.Dir, srv.Env = repo, env
	stdout, _ := srv.StdoutPipe()
	srv.Stderr = os.Stderr
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { srv.Process.Kill(); srv.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	base := strings.TrimSpace(strings.TrimPrefix(line, "listening on "))

	post := func(doc string, first []int) error {
		form := url.Values{"doc": {doc}, "pages": {fmt.Sprint(len(docs[doc]))}}
		for _, i := range first {
			form.Add("first", fmt.Sprint(i))
		}
		c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := c.PostForm(base+"label", form)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther {
			return fmt.Errorf("label %s: status %d", doc, resp.StatusCode)
		}
		return nil
	}
	truth := map[string][]int{}
	for _, n := range names {
		for i, p := range docs[n] {
			if strings.Contains(p, "Page 1 ") {
				truth[n] = append(truth[n], i)
			}
		}
	}
	// First saves are wrong (every page a first page), posted at once;
	// then the corrections, at once too.
	var wg sync.WaitGroup
	errs := make(chan error, 2*len(names))
	for round, labels := range []func(string) []int{
		func(n string) []int {
			var all []int
			for i := range docs[n] {
				all = append(all, i)
			}
			return all
		},
		func(n string) []int { return truth[n] },
	} {
		for _, n := range names {
			wg.Add(1)
			go func() { defer wg.Done(); errs <- post(n, labels(n)) }()
		}
		wg.Wait()
		_ = round
	}
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	rd := reader.At(home, reader.WithMessages(nil))
	ctx := context.Background()
	runs, err := rd.Runs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := 1 + 2*len(names); len(runs) != want {
		t.Fatalf("%d runs after featurize and %d saves, want %d", len(runs), 2*len(names), want)
	}

	step("train")
	step("infer")

	resp, err := http.Get(base)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	html := string(body)
	pages := 0
	for _, n := range names {
		pages += len(docs[n])
	}
	if got := strings.Count(html, `<td class="pred">true</td>`) + strings.Count(html, `<td class="pred">false</td>`); got != pages {
		t.Errorf("%d pages with a prediction in the app, want all %d:\n%s", got, pages, html)
	}
	firsts := 0
	for _, n := range names {
		firsts += len(truth[n])
	}
	if got := strings.Count(html, `<td class="pred">true</td>`); got != firsts {
		t.Errorf("%d pages predicted first, want the %d first pages", got, firsts)
	}
	if got := strings.Count(html, `<span class="label">true</span>`); got != firsts {
		t.Errorf("%d pages labelled first in the app, want the corrections' %d", got, firsts)
	}

	// Lineage: infer read train, train read featurize and the saves.
	runs, err = rd.Runs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	trainRun := runs[len(runs)-2]
	_, from, to, err := rd.Lineage(ctx, record.FormatTime(trainRun.Tstamp))
	if err != nil {
		t.Fatal(err)
	}
	if len(from) != 1+len(names) || len(to) != 1 || !to[0].Tstamp.Equal(runs[len(runs)-1].Tstamp) {
		t.Errorf("train built from %d runs (want featurize and the %d corrections), built on by %v (want infer)", len(from), len(names), to)
	}
}
