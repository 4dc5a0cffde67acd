package planner

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/mod/modfile"

	"github.com/flordb/flor/analyzer"
)

// Planning analyses the working tree's program to find the new statements
// and their level. That type-checks the program and what it imports
// (go/packages), a third of a second or more, and a replay of a version
// already built would otherwise pay it again for a tree that has not
// changed. The analysis is kept in <home>/cache/analysis/<key>.json, the
// key a SHA-256 of flor's identity, the go command and its variables (as
// for versions, see cachekey.go), the program's directory, and the path
// and SHA-256 of every Go file, go.mod and go.sum of its module and of the
// directories its go.mod replaces modules with: what the analysis reads.
// Only analyses without errors are kept; the newest maxAnalyses stay.

// maxAnalyses bounds the kept analyses (a few kB each).
const maxAnalyses = 64

func analysisDir(home string) string { return filepath.Join(home, "cache", "analysis") }

// analyzeTree is analyze of the working tree's program in dir, from home's
// cache when the files it reads have not changed since.
func analyzeTree(ctx context.Context, home, dir string) (*analyzer.Analysis, error) {
	if home == "" || cacheMax() == 0 {
		return analyze(ctx, dir, nil)
	}
	key, ok := analysisKey(home, dir)
	if !ok {
		return analyze(ctx, dir, nil)
	}
	path := filepath.Join(analysisDir(home), key+".json")
	if data, err := os.ReadFile(path); err == nil {
		var a analyzer.Analysis
		if json.Unmarshal(data, &a) == nil {
			touch(path)
			return &a, nil
		}
	}
	a, err := analyze(ctx, dir, nil)
	if err != nil {
		return a, err
	}
	if data, jerr := json.Marshal(a); jerr == nil && os.MkdirAll(analysisDir(home), 0o755) == nil {
		if writeAtomic(path, data) == nil {
			trimAnalyses(analysisDir(home))
		}
	}
	return a, nil
}

// analysisKey is the key of dir's analysis; ok is false when dir is in no
// module.
func analysisKey(home, dir string) (string, bool) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", false
	}
	mod := abs
	for {
		if _, err := os.Stat(filepath.Join(mod, "go.mod")); err == nil {
			break
		}
		if filepath.Dir(mod) == mod {
			return "", false
		}
		mod = filepath.Dir(mod)
	}
	h := sha256.New()
	fmt.Fprintf(h, "format=%q\nflor=%q\ndir=%q\nmodule=%q\ngowork=%q\n", cacheFormat, florID(home), abs, mod, os.Getenv("GOWORK"))
	goTool(h)
	sourceHashes(h, mod)
	data, err := os.ReadFile(filepath.Join(mod, "go.mod"))
	if err != nil {
		return "", false
	}
	mf, err := modfile.Parse("go.mod", data, nil)
	if err != nil {
		return "", false
	}
	for _, r := range mf.Replace {
		if p := r.New.Path; modfile.IsDirectoryPath(p) {
			if !filepath.IsAbs(p) {
				p = filepath.Join(mod, filepath.FromSlash(p))
			}
			fmt.Fprintf(h, "replace %s=%q\n", r.Old.Path, p)
			sourceHashes(h, p)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:32], true
}

// sourceHashes writes to h the path and SHA-256 of each Go file, go.mod
// and go.sum under dir (not under dot, underscore or testdata
// directories, which go/packages does not load).
func sourceHashes(h io.Writer, dir string) {
	walkBuildFiles(h, dir, func(p, rel string, d fs.DirEntry) {
		name := d.Name()
		if !strings.HasSuffix(name, ".go") && name != "go.mod" && name != "go.sum" {
			return
		}
		data, err := os.ReadFile(p)
		if err != nil {
			fmt.Fprintf(h, "unreadable %q\n", p)
			return
		}
		fmt.Fprintf(h, "file %q %x\n", rel, sha256.Sum256(data))
	})
}

// trimAnalyses removes all but the newest maxAnalyses kept analyses.
func trimAnalyses(dir string) {
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(files) <= maxAnalyses {
		return
	}
	mtime := map[string]int64{}
	for _, f := range files {
		if st, err := os.Stat(f); err == nil {
			mtime[f] = st.ModTime().UnixNano()
		}
	}
	sort.Slice(files, func(i, j int) bool { return mtime[files[i]] > mtime[files[j]] })
	for _, f := range files[maxAnalyses:] {
		os.Remove(f)
	}
}
