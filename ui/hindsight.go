package ui

import (
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

type candidateJSON struct {
	Name    string   `json:"name"`
	Lacking []string `json:"lacking"` // run ids
	Command string   `json:"command"`
}

type replayDirJSON struct {
	ID     string `json:"id"`
	State  string `json:"state"` // finished | in progress
	Values int    `json:"files"`
}

type hindsightJSON struct {
	Newest     string          `json:"newest"` // run id
	Candidates []candidateJSON `json:"candidates"`
	Replays    []replayDirJSON `json:"replays"`
	Logs       []string        `json:"logs"`
}

// handleHindsight names the values the newest run logs that older runs
// lack (the replay candidates, with the command that fills them in), the
// replays in the home, and the replay logs.
func (srv *Server) handleHindsight(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	runs, err := srv.store.Runs(ctx)
	if err != nil {
		fail(w, err)
		return
	}
	out := hindsightJSON{Candidates: []candidateJSON{}, Replays: []replayDirJSON{}, Logs: []string{}}
	if len(runs) > 0 {
		newest := runs[len(runs)-1]
		out.Newest = newest.ID()
		d, err := srv.store.RunDetail(ctx, newest.ID())
		if err != nil {
			fail(w, err)
			return
		}
		var names []string
		for _, v := range d.Values {
			if !v.Arg {
				names = append(names, v.Name)
			}
		}
		lacking, err := srv.store.Lacking(ctx, names)
		if err != nil {
			fail(w, err)
			return
		}
		for _, n := range names {
			if ids := lacking[n]; len(ids) > 0 {
				out.Candidates = append(out.Candidates, candidateJSON{Name: n, Lacking: ids, Command: "flor replay " + shellQuote(n)})
			}
		}
	}
	home := srv.store.Home()
	if ents, err := os.ReadDir(filepath.Join(home, "replay")); err == nil {
		for _, e := range ents {
			if !e.IsDir() {
				continue
			}
			id, state := e.Name(), "finished"
			if rest, ok := strings.CutPrefix(id, "tmp-"); ok {
				id, state = rest, "in progress"
			}
			files, _ := os.ReadDir(filepath.Join(home, "replay", e.Name()))
			out.Replays = append(out.Replays, replayDirJSON{ID: id, State: state, Values: len(files)})
		}
	}
	if ents, err := os.ReadDir(filepath.Join(home, "logs")); err == nil {
		for _, e := range ents {
			if e.Type().IsRegular() {
				out.Logs = append(out.Logs, e.Name())
			}
		}
	}
	slices.Sort(out.Logs)
	writeJSON(w, out)
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
