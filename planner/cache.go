package planner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The version cache keeps prepared and built versions in the flor home, so
// that a replay of a version prepared before (other runs of it, or the same
// runs again after a failure) skips materialising, propagating, analysing,
// instrumenting and building it.
//
// An entry, <home>/cache/versions/<key>/, holds the built program (bin),
// the materialised and instrumented tree it was built from (src), what the
// replay needs of the analysis (meta.json: level, notes, checkpoint
// coverage), the preparation's log (prepare.log), and a file whose
// modification time is the entry's last use (used).
//
// The key is a SHA-256 over everything the entry is a function of:
//   - the run's snapshot commit and program (its directory);
//   - the new statements' names and the Go sources of the working tree's
//     program package, which propagation carries them from;
//   - the run's build settings (tags, cgo, GOAMD64..., see buildKey);
//   - flor itself: the executable's SHA-256 (its build info's vcs.revision
//     when that is unmodified), since flor's own code propagates and
//     instruments;
//   - the go command (its path, size and modification time) and the shell
//     variables that change a build (GOFLAGS, GOTOOLCHAIN, CC, ...);
//   - the directories the version's go.mod replaces modules with outside
//     its snapshot (the checkout's copies), by the path, size and
//     modification time of their files.
//
// Entries are evicted by size, oldest used first, to stay within
// FLOR_CACHE_MAX bytes (default 2 GiB; suffixes K, M, G; 0 turns the
// cache off); `flor cache clean` removes them all.

// CacheMaxEnv names the variable bounding the version cache's size.
const CacheMaxEnv = "FLOR_CACHE_MAX"

// DefaultCacheMax is the version cache's bound when CacheMaxEnv is unset.
const DefaultCacheMax = 2 << 30

// cacheFormat changes when an entry's layout or its key's inputs do.
const cacheFormat = "flor-version-cache-1"

// ErrCache: the version cache cannot be read or changed.
var ErrCache = errors.New("version cache")

// CacheDir is where home's version cache is.
func CacheDir(home string) string { return filepath.Join(home, "cache", "versions") }

// Files of an entry.
const (
	entryMeta = "meta.json"
	entryBin  = "bin"
	entrySrc  = "src"
	entryLog  = "prepare.log"
	entryUsed = "used"
	tmpPrefix = ".tmp-"
)

// cacheMeta is an entry's meta.json.
type cacheMeta struct {
	Snapshot string    `json:"snapshot"`
	Filename string    `json:"filename"`
	Names    []string  `json:"names"`
	Pkg      string    `json:"pkg"`   // the program's directory in src
	Built    string    `json:"built"` // the tree it was built in, as its panics name files
	Level    Level     `json:"level"`
	Notes    []string  `json:"notes"`
	Carried  bool      `json:"carried"` // state carried across iterations that no checkpoint covers
	Extras   bool      `json:"extras"`  // a skip block keeps state of its own
	Size     int64     `json:"size"`
	Created  time.Time `json:"created"`
}

// cacheMax is the cache's bound from the environment; 0 turns it off.
func cacheMax() int64 {
	n, err := parseSize(os.Getenv(CacheMaxEnv))
	if err != nil {
		return DefaultCacheMax
	}
	return n
}

// parseSize reads a byte count with an optional K, M or G suffix (powers
// of 1024; "KiB", "MB" and the like read the same).
func parseSize(s string) (int64, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	if s == "" {
		return 0, fmt.Errorf("%w: empty size", ErrCache)
	}
	s = strings.TrimSuffix(strings.TrimSuffix(s, "B"), "I")
	mult := int64(1)
	if i := strings.IndexAny(s, "KMG"); i >= 0 && i == len(s)-1 {
		mult = map[byte]int64{'K': 1 << 10, 'M': 1 << 20, 'G': 1 << 30}[s[i]]
		s = s[:i]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%w: bad size %q", ErrCache, s)
	}
	return n * mult, nil
}

// cachedVersions reports, of a run, whether its version is in the cache
// for opt's statements: its replay then pays no build.
func cachedVersions(opt Options) func(*Run) bool {
	seen := map[string]bool{}
	return func(r *Run) bool {
		if cacheMax() == 0 {
			return false
		}
		vk := versionKey(r) + "\x00" + buildKey(r.Build)
		if hit, ok := seen[vk]; ok {
			return hit
		}
		key, err := cacheKey(opt, r)
		_, serr := os.Stat(filepath.Join(CacheDir(opt.Home), key, entryMeta))
		seen[vk] = err == nil && serr == nil
		return seen[vk]
	}
}

// readMeta reads an entry's meta.json.
func readMeta(dir string) (cacheMeta, error) {
	var m cacheMeta
	data, err := os.ReadFile(filepath.Join(dir, entryMeta))
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return m, fmt.Errorf("%w: %s: %w", ErrCache, dir, err)
	}
	return m, nil
}

// fromCache readies v from the cache entry of row's version, when there
// is one, and reports whether it did. A damaged entry is removed, and the
// version prepared afresh.
func (p *replayer) fromCache(row *Row, v *version) bool {
	if cacheMax() == 0 {
		return false
	}
	key, err := cacheKey(p.opt, row.Run)
	if err != nil {
		return false // the preparation will say what is wrong
	}
	v.key = key
	dir := filepath.Join(CacheDir(p.opt.Home), key)
	m, err := readMeta(dir)
	if err != nil {
		return false
	}
	if err := p.useEntry(row, v, dir, m); err != nil {
		if v.work != "" {
			os.RemoveAll(v.work)
		}
		v.reset()
		os.RemoveAll(dir)
		v.notes = append(v.notes, fmt.Sprintf("the cached build of version %s could not be used (%v): removed, and the version prepared again",
			short(row.Run.Snapshot), err))
		return false
	}
	return true
}

// reset clears what a failed use of a cache entry set of v (not its once,
// which is running), keeping its key.
func (v *version) reset() {
	v.work, v.tree, v.pkg, v.bin, v.log, v.built = "", "", "", "", "", ""
	v.level, v.notes, v.carried, v.extras, v.cached = Level{}, nil, false, false, false
}

// useEntry copies the entry's tree and program into a work directory of
// v's own, since a replayed program may write where it runs, and fills in
// v from the entry's meta.
func (p *replayer) useEntry(row *Row, v *version, dir string, m cacheMeta) error {
	run := row.Run
	work, err := os.MkdirTemp(p.workRoot, workPrefix)
	if err != nil {
		return err
	}
	v.work = work
	if err := writeOwner(work); err != nil {
		return err
	}
	if p.opt.KeepWork {
		os.WriteFile(filepath.Join(work, "keep"), nil, 0o644)
	}
	p.status(row, "cached version "+short(run.Snapshot)+": reusing its build")
	v.tree = filepath.Join(work, "src")
	if err := copyTree(filepath.Join(dir, entrySrc), v.tree); err != nil {
		return err
	}
	v.bin = filepath.Join(work, "replay-bin")
	if err := linkOrCopy(filepath.Join(dir, entryBin), v.bin); err != nil {
		return err
	}
	v.pkg = filepath.Join(v.tree, filepath.FromSlash(m.Pkg))
	v.level, v.carried, v.extras, v.built = m.Level, m.Carried, m.Extras, m.Built
	v.build, v.cached = run.Build, true
	v.notes = append(slices.Clone(m.Notes), fmt.Sprintf("version %s was prepared and built by an earlier replay (%s): reused from the cache",
		short(run.Snapshot), m.Created.Local().Format(time.DateTime)))
	v.log = filepath.Join(p.opt.Home, "logs", fmt.Sprintf("%s-version-%s.log", p.id, short(run.Snapshot)))
	var log strings.Builder
	fmt.Fprintf(&log, "version %s of %s, work directory %s\n", run.Snapshot, run.Filename, work)
	fmt.Fprintf(&log, "cached: reused the version prepared and built on %s, cache entry %s (its preparation: %s)\n",
		m.Created.Format(time.RFC3339), dir, filepath.Join(dir, entryLog))
	for _, n := range m.Notes {
		fmt.Fprintf(&log, "note: %s\n", n)
	}
	if err := os.WriteFile(v.log, []byte(log.String()), 0o644); err != nil {
		return err
	}
	touch(filepath.Join(dir, entryUsed))
	return nil
}

// keepVersion records what the replay needs of a freshly prepared v's
// analysis and stores v in the cache, saying so in its log.
func (p *replayer) keepVersion(row *Row, v *version) {
	v.carried = len(v.a.UncoveredCarried()) > 0
	v.extras = hasExtras(v.a)
	v.built = v.tree
	max := cacheMax()
	if v.key == "" || max == 0 {
		return
	}
	// The working tree may have changed while the version was prepared:
	// store it only under the key of what it was prepared from.
	msg := "cache: stored as " + filepath.Join(CacheDir(p.opt.Home), v.key)
	if key, err := cacheKey(p.opt, row.Run); err != nil || key != v.key {
		msg = "cache: not stored: its sources (the working tree's program, or a directory go.mod replaces a module with) changed while it was prepared"
	} else if err := storeEntry(p.opt.Home, max, row.Run, p.opt.Names, v); err != nil {
		msg = "cache: not stored: " + err.Error()
	}
	if f, err := os.OpenFile(v.log, os.O_APPEND|os.O_WRONLY, 0); err == nil {
		fmt.Fprintln(f, msg)
		f.Close()
	}
}

// errTooBig: an entry larger than the whole cache's bound.
var errTooBig = errors.New("larger than the cache's bound (" + CacheMaxEnv + ")")

// storeEntry puts the prepared v into home's cache: built in a temporary
// directory there and renamed into place, so that no reader sees half an
// entry; an entry already there (another replay's) is kept. Then the
// cache is evicted down to max.
func storeEntry(home string, max int64, run *Run, names []string, v *version) error {
	dir := CacheDir(home)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("%w: %w", ErrCache, err)
	}
	sweepTmp(dir)
	tmp, err := os.MkdirTemp(dir, tmpPrefix)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCache, err)
	}
	done := false
	defer func() {
		if !done {
			os.RemoveAll(tmp)
		}
	}()
	if err := writeOwner(tmp); err != nil {
		return fmt.Errorf("%w: %w", ErrCache, err)
	}
	if err := copyTree(v.tree, filepath.Join(tmp, entrySrc)); err != nil {
		return fmt.Errorf("%w: %w", ErrCache, err)
	}
	if err := linkOrCopy(v.bin, filepath.Join(tmp, entryBin)); err != nil {
		return fmt.Errorf("%w: %w", ErrCache, err)
	}
	if err := copyFile(v.log, filepath.Join(tmp, entryLog), 0o644); err != nil {
		return fmt.Errorf("%w: %w", ErrCache, err)
	}
	pkg, _ := filepath.Rel(v.tree, v.pkg)
	m := cacheMeta{Snapshot: run.Snapshot, Filename: run.Filename, Names: names, Pkg: filepath.ToSlash(pkg),
		Built: v.built, Level: v.level, Notes: v.notes, Carried: v.carried, Extras: v.extras, Created: time.Now().UTC()}
	m.Size = dirSize(tmp)
	if m.Size > max {
		return fmt.Errorf("%w: %s", errTooBig, bytesize(m.Size))
	}
	data, _ := json.MarshalIndent(m, "", "  ")
	if err := os.WriteFile(filepath.Join(tmp, entryMeta), data, 0o644); err != nil {
		return fmt.Errorf("%w: %w", ErrCache, err)
	}
	touch(filepath.Join(tmp, entryUsed))
	if err := removeOwner(tmp); err != nil {
		return fmt.Errorf("%w: %w", ErrCache, err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, v.key)); err != nil {
		if _, serr := os.Stat(filepath.Join(dir, v.key, entryMeta)); serr == nil {
			return nil // stored by another replay meanwhile
		}
		return fmt.Errorf("%w: %w", ErrCache, err)
	}
	done = true
	_, err = evict(dir, max)
	return err
}

// sweepTmp removes the temporary entries of stores whose process is gone.
func sweepTmp(dir string) {
	tmps, _ := filepath.Glob(filepath.Join(dir, tmpPrefix+"*"))
	for _, t := range tmps {
		if st, err := os.Stat(t); err == nil && st.IsDir() && ownerGone(t) {
			os.RemoveAll(t)
		}
	}
}

// CacheEntry is one prepared version in a version cache.
type CacheEntry struct {
	Key      string
	Snapshot string
	Filename string
	Names    []string
	Size     int64
	Created  time.Time
	Used     time.Time // last reused, or stored
}

// CacheEntries lists the entries of home's version cache, most recently
// used first.
func CacheEntries(home string) ([]CacheEntry, error) {
	return entries(CacheDir(home))
}

func entries(dir string) ([]CacheEntry, error) {
	des, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCache, err)
	}
	var out []CacheEntry
	for _, d := range des {
		if !d.IsDir() || strings.HasPrefix(d.Name(), ".") {
			continue
		}
		e := CacheEntry{Key: d.Name()}
		p := filepath.Join(dir, d.Name())
		if m, err := readMeta(p); err == nil {
			e.Snapshot, e.Filename, e.Names, e.Size, e.Created = m.Snapshot, m.Filename, m.Names, m.Size, m.Created
		} else {
			e.Size = dirSize(p) // damaged: it still takes room
		}
		if st, err := os.Stat(filepath.Join(p, entryUsed)); err == nil {
			e.Used = st.ModTime()
		}
		out = append(out, e)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Used.After(out[j].Used) })
	return out, nil
}

// evict removes entries of the cache in dir, least recently used first,
// until they hold max bytes or less; it returns how many it removed.
func evict(dir string, max int64) (int, error) {
	es, err := entries(dir)
	if err != nil {
		return 0, err
	}
	var total int64
	for _, e := range es {
		total += e.Size
	}
	n := 0
	for i := len(es) - 1; i >= 0 && total > max; i-- {
		if err := os.RemoveAll(filepath.Join(dir, es[i].Key)); err != nil {
			return n, fmt.Errorf("%w: %w", ErrCache, err)
		}
		total -= es[i].Size
		n++
	}
	return n, nil
}

// CacheBound is the version cache's size bound, from FLOR_CACHE_MAX.
func CacheBound() int64 { return cacheMax() }

// CleanCache removes every entry of home's version cache, and the kept
// analyses of the working tree (see plancache.go), once the replay
// in progress (if any) has finished, and returns how many entries and
// bytes it removed. Waiting is said on say.
func CleanCache(ctx context.Context, home string, say io.Writer) (int, int64, error) {
	lock, err := lockReplay(ctx, home, say)
	if err != nil {
		return 0, 0, err
	}
	defer lock.unlock()
	dir := CacheDir(home)
	es, err := entries(dir)
	if err != nil {
		return 0, 0, err
	}
	var n int
	var size int64
	for _, e := range es {
		if err := os.RemoveAll(filepath.Join(dir, e.Key)); err != nil {
			return n, size, fmt.Errorf("%w: %w", ErrCache, err)
		}
		n++
		size += e.Size
	}
	sweepTmp(dir)
	if err := os.RemoveAll(analysisDir(home)); err != nil {
		return n, size, fmt.Errorf("%w: %w", ErrCache, err)
	}
	return n, size, nil
}
