package ui

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/flordb/flor/analyzer"
	"github.com/flordb/flor/storage"
)

type candidateJSON struct {
	Name    string   `json:"name"`
	Lacking []string `json:"lacking"` // run ids
	Command string   `json:"command"`
}

// replayStateJSON is one run's replay, as the planner leaves it in the home:
// replay/tmp-<id> while it runs, replay/<id> once published, and its log
// logs/<id>.log, which ends in "replay failed: ..." when it failed.
type replayStateJSON struct {
	ID    string `json:"id"`
	State string `json:"state"` // finished | in progress | failed | stopped
	Files int    `json:"files"` // run files it published or is writing
	Log   string `json:"log,omitempty"`
	Error string `json:"error,omitempty"` // why it failed
}

// Where the replay candidates' names come from.
const (
	fromCode   = "code"       // the analyzer over the program in the working tree
	fromNewest = "newest run" // what the newest run logged
)

type hindsightJSON struct {
	Newest  string `json:"newest"`  // run id
	Program string `json:"program"` // its program (run filename)
	Source  string `json:"source"`  // fromCode or fromNewest
	// SourceNote tells why the working tree's code was not used.
	SourceNote string            `json:"sourceNote,omitempty"`
	Candidates []candidateJSON   `json:"candidates"`
	Replays    []replayStateJSON `json:"replays"`
	Logs       []string          `json:"logs"`
}

// handleHindsight names the values the newest code logs that older runs
// of its program lack (the replay candidates, with the command that fills
// them in), the replays in the home with their states, and the replay logs.
func (srv *Server) handleHindsight(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	runs, err := srv.store.Runs(ctx)
	if err != nil {
		fail(w, err)
		return
	}
	out := hindsightJSON{Candidates: []candidateJSON{}, Replays: []replayStateJSON{}, Logs: []string{}}
	if len(runs) > 0 {
		newest := runs[len(runs)-1]
		out.Newest, out.Program = newest.ID(), newest.Filename
		names, err := srv.codeNames(ctx, newest.Filename)
		out.Source = fromCode
		if err != nil {
			out.Source, out.SourceNote = fromNewest, err.Error()
			if names, err = srv.runNames(ctx, newest.ID()); err != nil {
				fail(w, err)
				return
			}
		}
		if err := srv.candidates(ctx, &out, runs, names); err != nil {
			fail(w, err)
			return
		}
	}
	home := srv.store.Home()
	if ents, err := os.ReadDir(filepath.Join(home, "logs")); err == nil {
		for _, e := range ents {
			if e.Type().IsRegular() {
				out.Logs = append(out.Logs, e.Name())
			}
		}
	}
	out.Replays = replays(home, out.Logs)
	writeJSON(w, out)
}

// codeNames lists the names the program's code in the working tree logs
// (flor.Log, not flor.Arg), as the analyzer finds them.
func (srv *Server) codeNames(ctx context.Context, program string) ([]string, error) {
	repo, err := srv.repo()
	if err != nil {
		return nil, err
	}
	wt, err := repo.Worktree()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoRepo, err)
	}
	dir := filepath.Join(wt.Filesystem.Root(), filepath.FromSlash(program))
	a, err := analyzer.Analyze(ctx, dir)
	if a == nil {
		return nil, err
	}
	var names []string
	for _, l := range a.Logs {
		if l.Kind == analyzer.KindLog && l.Name != "" && !slices.Contains(names, l.Name) {
			names = append(names, l.Name)
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%s: the analyzer found no flor.Log with a constant name", program)
	}
	return names, nil
}

// runNames lists the names a run logged, its args left out.
func (srv *Server) runNames(ctx context.Context, id string) ([]string, error) {
	d, err := srv.store.RunDetail(ctx, id)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, v := range d.Values {
		if !v.Arg {
			names = append(names, v.Name)
		}
	}
	return names, nil
}

// candidates fills in which of names the runs of out.Program lack.
func (srv *Server) candidates(ctx context.Context, out *hindsightJSON, runs []storage.Run, names []string) error {
	lacking, err := srv.store.Lacking(ctx, names)
	if err != nil {
		return err
	}
	program := map[string]bool{}
	for _, r := range runs {
		if r.Filename == out.Program {
			program[r.ID()] = true
		}
	}
	for _, n := range names {
		var ids []string
		for _, id := range lacking[n] {
			if program[id] {
				ids = append(ids, id)
			}
		}
		if len(ids) > 0 {
			out.Candidates = append(out.Candidates, candidateJSON{Name: n, Lacking: ids, Command: "flor replay " + shellQuote(n)})
		}
	}
	return nil
}

// replays lists the replays of runs in the home: the published and
// in-progress directories, and the run logs (<id>.log) of those that left
// none, failed or stopped.
func replays(home string, logs []string) []replayStateJSON {
	byID := map[string]*replayStateJSON{}
	var ids []string
	add := func(id string) *replayStateJSON {
		if byID[id] == nil {
			byID[id] = &replayStateJSON{ID: id}
			ids = append(ids, id)
		}
		return byID[id]
	}
	if ents, err := os.ReadDir(filepath.Join(home, "replay")); err == nil {
		for _, e := range ents {
			if !e.IsDir() {
				continue
			}
			id, state := e.Name(), "finished"
			if rest, ok := strings.CutPrefix(id, "tmp-"); ok {
				id, state = rest, "in progress"
			}
			rp := add(id)
			rp.State = state
			files, _ := filepath.Glob(filepath.Join(home, "replay", e.Name(), "*.jsonl"))
			rp.Files = len(files)
		}
	}
	for _, name := range logs {
		id, ok := strings.CutSuffix(name, ".log")
		if !ok || strings.Contains(id, "-version-") {
			continue // a version's build log, not a run's replay
		}
		rp := add(id)
		rp.Log = name
		if rp.State != "" {
			continue
		}
		rp.State = "stopped" // no directory, no failure written: killed
		if msg, ok := failure(filepath.Join(home, "logs", name)); ok {
			rp.State, rp.Error = "failed", msg
		}
	}
	slices.Sort(ids)
	out := make([]replayStateJSON, len(ids))
	for i, id := range ids {
		out[i] = *byID[id]
	}
	return out
}

// failure returns the error a replay log ends with, as the planner writes
// it: "replay failed: <error>".
func failure(path string) (string, bool) {
	f, err := os.Open(path)
	if err != nil {
		return "", false
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > maxLog {
		f.Seek(fi.Size()-maxLog, 0)
	}
	var msg string
	found := false
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), maxLog)
	for sc.Scan() {
		if rest, ok := bytes.CutPrefix(sc.Bytes(), []byte("replay failed: ")); ok {
			msg, found = string(rest), true
		}
	}
	return msg, found
}

// maxLog bounds how much of a replay log is served: its tail.
const maxLog = 256 << 10

// handleLog serves the tail of one replay log as text.
func (srv *Server) handleLog(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("name")
	if name == "" || name != filepath.Base(name) || strings.HasPrefix(name, ".") {
		fail(w, errNotFound)
		return
	}
	f, err := os.Open(filepath.Join(srv.store.Home(), "logs", name))
	if err != nil {
		fail(w, errNotFound)
		return
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > maxLog {
		f.Seek(fi.Size()-maxLog, 0)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	buf := make([]byte, maxLog)
	n, _ := f.Read(buf)
	w.Write(buf[:n])
}

// shellQuote quotes a name for a shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '_' || r == '-' || r == '.' || r == ':' || '0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z')
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
