package ui

import (
	"net/http"
	"os"
	"path/filepath"
)

type valueJSON struct {
	Name     string `json:"name"`
	N        int64  `json:"n"`
	Value    any    `json:"value"`
	InLoop   bool   `json:"inLoop"`
	Arg      bool   `json:"arg"`
	Replayed bool   `json:"replayed"`
}

type objectJSON struct {
	Name string `json:"name"`
	Hash string `json:"hash"`
	Size int64  `json:"size"` // -1 when the blob is missing
}

type checkpointJSON struct {
	Iteration  int64        `json:"iteration"`
	Block      string       `json:"block"`
	Occurrence int64        `json:"occurrence"`
	Objects    []objectJSON `json:"objects"`
}

type replayJSON struct {
	ID    string   `json:"id"`
	Names []string `json:"names"`
	Path  string   `json:"path"`
}

type runDetailJSON struct {
	runJSON
	Argv        []string         `json:"argv"`
	Host        string           `json:"host"`
	PID         int64            `json:"pid"`
	Values      []valueJSON      `json:"values"`
	Checkpoints []checkpointJSON `json:"checkpoints"`
	Replays     []replayJSON     `json:"replays"`
	Warnings    []string         `json:"warnings"`
	Files       []fileJSON       `json:"files"`
	FilesError  string           `json:"filesError,omitempty"`
}

// handleRun serves one run: its values, checkpoints with their sizes,
// replays, warnings and its snapshot's files.
func (srv *Server) handleRun(w http.ResponseWriter, r *http.Request) {
	d, err := srv.store.RunDetail(r.Context(), r.URL.Query().Get("id"))
	if err != nil {
		fail(w, err)
		return
	}
	out := runDetailJSON{runJSON: toRunJSON(d.Run), Argv: d.Argv, Host: d.Host, PID: d.PID,
		Values: []valueJSON{}, Checkpoints: []checkpointJSON{}, Replays: []replayJSON{}, Warnings: d.Warnings}
	for _, v := range d.Values {
		out.Values = append(out.Values, valueJSON{v.Name, v.N, jsonValue(v.Value), v.InLoop, v.Arg, v.Replayed})
	}
	for _, c := range d.Checkpoints {
		cj := checkpointJSON{Iteration: c.Iteration, Block: c.Block, Occurrence: c.Occurrence, Objects: []objectJSON{}}
		for name, h := range c.Objects {
			cj.Objects = append(cj.Objects, objectJSON{Name: name, Hash: h, Size: srv.blobSize(h)})
		}
		out.Checkpoints = append(out.Checkpoints, cj)
	}
	for _, rp := range d.Replays {
		out.Replays = append(out.Replays, replayJSON{rp.ID, rp.Names, rp.Path})
	}
	if d.Snapshot != "" {
		files, err := srv.snapshotFiles(d.Snapshot)
		if err != nil {
			out.FilesError = err.Error()
		}
		out.Files = files
	}
	writeJSON(w, out)
}

// blobSize is the size of a checkpoint blob (objects/<2 hex>/<62 hex>).
func (srv *Server) blobSize(h string) int64 {
	if len(h) != 64 || !isHex(h) {
		return -1
	}
	fi, err := os.Stat(filepath.Join(srv.store.Home(), "objects", h[:2], h[2:]))
	if err != nil {
		return -1
	}
	return fi.Size()
}

func isHex(s string) bool {
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
