// Command docparser is FlorDB's Document Parser in Go: flor's log
// statements as a feature store (featurize), a human feedback loop (the
// web app's label saves, each its own run), a model registry (train
// checkpoints per epoch; infer loads the best by val_recall) and a build
// DAG (the Makefile), with lineage recorded by package reader.
//
//	docparser featurize          # document and page loops: page text and features
//	docparser serve -addr :8080  # pages, features, predictions, labels; accepts labels
//	docparser train              # logistic regression on the latest features and labels
//	docparser infer              # the best checkpoint by val_recall predicts first pages
//
// Documents are plain text with form-feed page breaks in docs/ (the
// testdata ships three bundles, each several documents long); the task
// is FlorDB's segmentation: which pages start a document.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode"

	"github.com/flordb/flor"
	"github.com/flordb/flor/reader"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: docparser featurize|serve|train|infer [flags]")
		os.Exit(2)
	}
	cmd, args := os.Args[1], os.Args[2:]
	fs := flag.NewFlagSet(cmd, flag.ExitOnError)
	dir := fs.String("docs", "docs", "directory of documents (.txt, form feeds between pages)")
	addr := fs.String("addr", "127.0.0.1:8080", "serve: address to listen on")
	fs.Parse(args)
	ctx := context.Background()
	var err error
	switch cmd {
	case "featurize":
		err = featurize(*dir)
	case "serve":
		err = serve(ctx, *addr)
	case "train":
		err = train(ctx)
	case "infer":
		err = infer(ctx)
	default:
		err = fmt.Errorf("unknown command %q", cmd)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "docparser:", err)
		os.Exit(1)
	}
}

// loadDocs reads every .txt of dir: name → pages.
func loadDocs(dir string) ([]string, map[string][]string, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.txt"))
	if err != nil {
		return nil, nil, err
	}
	sort.Strings(paths)
	docs := map[string][]string{}
	var names []string
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, nil, err
		}
		n := filepath.Base(p)
		names = append(names, n)
		docs[n] = strings.Split(string(data), "\f")
	}
	if len(names) == 0 {
		return nil, nil, fmt.Errorf("no .txt documents in %s", dir)
	}
	return names, docs, nil
}

// Features of one page.
type features struct {
	Words   int  // words on the page
	Heading bool // the first line is in capitals: a title
	PageOne bool // the page says "Page 1"
}

func pageFeatures(text string) features {
	f := features{Words: len(strings.Fields(text))}
	first := strings.TrimSpace(strings.SplitN(strings.TrimSpace(text), "\n", 2)[0])
	f.Heading = first != "" && strings.IndexFunc(first, unicode.IsLower) < 0
	f.PageOne = strings.Contains(text, "Page 1 ")
	return f
}

// featurize is the feature store's writer: the document and page loops.
func featurize(dir string) error {
	defer flor.Commit()
	names, docs, err := loadDocs(dir)
	if err != nil {
		return err
	}
	for name := range flor.Loop("document", seq(names)) {
		pages := docs[name]
		for i := range flor.Loop("page", flor.Range(len(pages))) {
			f := pageFeatures(pages[i])
			flor.Log("text", pages[i])
			flor.Log("n_words", f.Words)
			flor.Log("heading", f.Heading)
			flor.Log("page_one", f.PageOne)
		}
	}
	return nil
}

func seq(xs []string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for _, x := range xs {
			if !yield(x) {
				return
			}
		}
	}
}

// pageKey is a page of a document, by the document's name.
type pageKey struct {
	doc  string
	page int64
}

// latestBy reads the newest value of each name per page, keyed by the
// document's name (featurize's loop and the app's NoIndex iterations
// agree on it).
func latestBy(ctx context.Context, rd *reader.Reader, names ...string) (map[pageKey]map[string]any, error) {
	out := map[pageKey]map[string]any{}
	for _, n := range names {
		f, err := rd.Dataframe(ctx, reader.Query{Names: []string{n}, Latest: true})
		if err != nil {
			return nil, err
		}
		if f.Col("document_value") < 0 || f.Col("page") < 0 {
			continue // nothing logged yet
		}
		for i := range f.Len() {
			doc, _ := f.Value(i, "document_value").(string)
			page, _ := f.Value(i, "page").(int64)
			k := pageKey{doc, page}
			if out[k] == nil {
				out[k] = map[string]any{}
			}
			out[k][n] = f.Value(i, n)
		}
	}
	return out, nil
}
