package planner

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	goruntime "runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"golang.org/x/mod/modfile"
)

// cacheKey is the key of run's version replaying opt.Names.
func cacheKey(opt Options, run *Run) (string, error) {
	h := sha256.New()
	field := func(k, v string) { fmt.Fprintf(h, "%s=%q\n", k, v) }
	field("format", cacheFormat)
	field("flor", florID(opt.Home))
	field("root", opt.Root)
	field("snapshot", run.Snapshot)
	field("filename", run.Filename)
	for _, n := range opt.Names {
		field("name", n)
	}
	srcs := readGoFiles(filepath.Join(opt.Root, filepath.FromSlash(run.Filename)))
	for _, name := range slices.Sorted(mapKeys(srcs)) {
		field("source "+name, string(srcs[name]))
	}
	field("build", buildKey(run.Build))
	goTool(h)
	if err := replacedDirs(h, opt.Root, run); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil))[:32], nil
}

// buildVars are the shell's variables that change what go build makes,
// beside the recorded settings buildEnv sets over them.
var buildVars = []string{"GOFLAGS", "GOTOOLCHAIN", "GOROOT", "GOPATH", "GOEXPERIMENT", "GODEBUG",
	"CC", "CXX", "CGO_ENABLED", "CGO_CFLAGS", "CGO_CPPFLAGS", "CGO_CXXFLAGS", "CGO_LDFLAGS",
	"GOAMD64", "GOARM64", "GO386", "GOARM", "PKG_CONFIG_PATH"}

// goTool writes the go command and the variables of buildVars to h.
func goTool(h io.Writer) {
	if p, err := exec.LookPath("go"); err == nil {
		fmt.Fprintf(h, "go=%q\n", p)
		if st, err := os.Stat(p); err == nil {
			fmt.Fprintf(h, "go stat=%d %d\n", st.Size(), st.ModTime().UnixNano())
		}
	}
	for _, k := range buildVars {
		fmt.Fprintf(h, "env %s=%q\n", k, os.Getenv(k))
	}
}

// replacedDirs writes to h a fingerprint of each directory run's go.mod
// (read from its snapshot) replaces a module with outside the snapshot:
// the version builds against their current files.
func replacedDirs(h io.Writer, root string, run *Run) error {
	repo, err := git.PlainOpenWithOptions(root, &git.PlainOpenOptions{EnableDotGitCommonDir: true})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrSnapshot, err)
	}
	c, err := repo.CommitObject(plumbing.NewHash(run.Snapshot))
	if err != nil {
		return fmt.Errorf("%w: commit %s: %w", ErrSnapshot, short(run.Snapshot), err)
	}
	tree, err := c.Tree()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrSnapshot, err)
	}
	has := func(p string) bool { _, err := tree.File(p); return err == nil }
	mod := path.Clean(run.Filename)
	for !has(path.Join(mod, "go.mod")) {
		if mod == "." || mod == "/" {
			return fmt.Errorf("%w: no go.mod at or above %s in the snapshot", ErrBuild, run.Filename)
		}
		mod = path.Dir(mod)
	}
	f, err := tree.File(path.Join(mod, "go.mod"))
	if err != nil {
		return fmt.Errorf("%w: %w", ErrSnapshot, err)
	}
	text, err := f.Contents()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrSnapshot, err)
	}
	mf, err := modfile.Parse("go.mod", []byte(text), nil)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBuild, err)
	}
	for _, r := range mf.Replace {
		p := r.New.Path
		if !modfile.IsDirectoryPath(p) {
			continue
		}
		dir := p
		if !filepath.IsAbs(p) {
			in := path.Join(mod, p)
			if filepath.IsLocal(in) && has(path.Join(in, "go.mod")) {
				continue // in the snapshot: its hash covers it
			}
			dir = filepath.Join(root, filepath.FromSlash(mod), filepath.FromSlash(p))
		}
		fmt.Fprintf(h, "replace %s=%q\n", r.Old.Path, dir)
		fingerprint(h, dir)
	}
	return nil
}

// fingerprint writes the path, size and modification time of each file
// under dir that a build may read to h.
func fingerprint(h io.Writer, dir string) {
	walkBuildFiles(h, dir, func(p, rel string, d fs.DirEntry) {
		if info, err := d.Info(); err == nil {
			fmt.Fprintf(h, "file %q %d %d\n", rel, info.Size(), info.ModTime().UnixNano())
		}
	})
}

// walkBuildFiles calls fn for each file under dir that the go command may
// read, skipping dot, underscore and testdata directories as it does, and
// writes a line to h for each path it cannot read, so that a change in
// what is readable changes the hash too.
func walkBuildFiles(h io.Writer, dir string, fn func(p, rel string, d fs.DirEntry)) {
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			fmt.Fprintf(h, "unreadable %q\n", p)
			return nil
		}
		name := d.Name()
		if d.IsDir() {
			if p != dir && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		fn(p, rel, d)
		return nil
	})
}

var florIDOnce struct {
	sync.Once
	id string
}

// florID identifies the flor code running: its build info's vcs.revision
// when the build was of an unmodified checkout, else the SHA-256 of its
// executable, kept in home beside the executable's size and modification
// time so that it is hashed once per build.
func florID(home string) string {
	florIDOnce.Do(func() { florIDOnce.id = computeFlorID(home) })
	return florIDOnce.id
}

func computeFlorID(home string) string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		var rev, modified string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value
			}
		}
		if rev != "" && modified == "false" {
			return "rev " + rev + " " + goruntime.Version()
		}
	}
	exe, err := os.Executable()
	if err != nil {
		return "unknown " + time.Now().String() // never shared: no entry is reused
	}
	st, err := os.Stat(exe)
	if err != nil {
		return "unknown " + time.Now().String()
	}
	stamp := fmt.Sprintf("%s %d %d", exe, st.Size(), st.ModTime().UnixNano())
	memo := filepath.Join(home, "cache", "flor-id")
	if data, err := os.ReadFile(memo); err == nil {
		if s, sum, ok := strings.Cut(strings.TrimSpace(string(data)), "\t"); ok && s == stamp {
			return "exe " + sum
		}
	}
	f, err := os.Open(exe)
	if err != nil {
		return "unknown " + time.Now().String()
	}
	defer f.Close()
	sh := sha256.New()
	if _, err := io.Copy(sh, f); err != nil {
		return "unknown " + time.Now().String()
	}
	sum := hex.EncodeToString(sh.Sum(nil))
	if os.MkdirAll(filepath.Dir(memo), 0o755) == nil {
		_ = writeAtomic(memo, []byte(stamp+"\t"+sum+"\n"))
	}
	return "exe " + sum
}
