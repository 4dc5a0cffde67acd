package ui

import (
	"embed"
	"encoding/json"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"strings"

	"github.com/flordb/flor/storage"
)

// DefaultAddr is where flor ui listens unless told otherwise: loopback
// only, since the store may hold anything a program logged.
const DefaultAddr = "127.0.0.1:7373"

// DefaultMaxPoints is about how many points a series is downsampled to.
const DefaultMaxPoints = 2000

//go:embed assets
var assets embed.FS

// Options configures a Server.
type Options struct {
	// Repo is a directory inside the git repository whose flor.shadow
	// branch holds the runs' snapshots; "" disables code views.
	Repo string
	// MaxPoints bounds the points per series (DefaultMaxPoints when 0).
	MaxPoints int
}

// Server serves the UI over one open store.
type Server struct {
	store  *storage.Store
	opts   Options
	mux    *http.ServeMux
	series seriesCache
	runs   runsCache
}

// New returns the UI's handler over s.
func New(s *storage.Store, o Options) *Server {
	if o.MaxPoints <= 0 {
		o.MaxPoints = DefaultMaxPoints
	}
	srv := &Server{store: s, opts: o, mux: http.NewServeMux()}
	static, _ := fs.Sub(assets, "assets")
	srv.mux.Handle("/", http.FileServerFS(static))
	srv.mux.HandleFunc("/api/runs", srv.handleRuns)
	srv.mux.HandleFunc("/api/names", srv.handleNames)
	srv.mux.HandleFunc("/api/run", srv.handleRun)
	srv.mux.HandleFunc("/api/series", srv.handleSeries)
	srv.mux.HandleFunc("/api/compare", srv.handleCompare)
	srv.mux.HandleFunc("/api/hindsight", srv.handleHindsight)
	srv.mux.HandleFunc("/api/sql", srv.handleSQL)
	srv.mux.HandleFunc("/api/log", srv.handleLog)
	return srv
}

// ServeHTTP serves GET and HEAD only: nothing the UI does changes anything.
func (srv *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "flor ui only reads", http.StatusMethodNotAllowed)
		return
	}
	h := w.Header()
	// The page loads nothing from elsewhere and runs no inline script.
	h.Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	srv.mux.ServeHTTP(w, r)
}

// IsLoopback reports whether addr (host:port) listens on loopback only.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// writeJSON writes v as JSON. encoding/json escapes <, > and & in strings,
// so a hostile name cannot end a script or a tag even where JSON is
// mistaken for HTML.
func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(v)
}

// apiError is the JSON body of a failed request.
type apiError struct {
	Error string `json:"error"`
}

// fail writes err with a status chosen by what went wrong: the user's
// mistakes (a bad filter, SQL or name) are 400, unknown runs 404.
func fail(w http.ResponseWriter, err error) {
	code := http.StatusInternalServerError
	switch {
	case errors.Is(err, storage.ErrUnknownColumn), errors.Is(err, storage.ErrSQL), errors.Is(err, storage.ErrWhere),
		errors.Is(err, storage.ErrReadOnly),
		errors.Is(err, storage.ErrBadAxis), errors.Is(err, errBadRequest):
		code = http.StatusBadRequest
	case errors.Is(err, storage.ErrUnknownRun), errors.Is(err, errNotFound):
		code = http.StatusNotFound
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(apiError{Error: err.Error()})
}

var (
	errBadRequest = errors.New("bad request")
	errNotFound   = errors.New("not found")
)

// list splits a comma-separated query parameter, dropping empty items.
func list(r *http.Request, key string) []string {
	var out []string
	for _, v := range r.URL.Query()[key] {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}
