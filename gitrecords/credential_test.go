package gitrecords

import (
	"context"
	"errors"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// httpRemote serves the world's bare remote over smart HTTP (git
// http-backend) behind basic authentication as u:p.
func httpRemote(t *testing.T, w *world) string {
	t.Helper()
	execPath, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		t.Skip("no git exec path")
	}
	backendPath := filepath.Join(strings.TrimSpace(string(execPath)), "git-http-backend")
	if _, err := os.Stat(backendPath); err != nil {
		t.Skip("no git http-backend")
	}
	runGit(t, w.remote, "config", "http.receivepack", "true")
	backend := &cgi.Handler{Path: backendPath, Env: []string{
		"GIT_PROJECT_ROOT=" + filepath.Dir(w.remote), "GIT_HTTP_EXPORT_ALL=1", "GIT_CONFIG_NOSYSTEM=1"}}
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, req *http.Request) {
		if u, p, ok := req.BasicAuth(); !ok || u != "u" || p != "p" {
			rw.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			rw.WriteHeader(http.StatusUnauthorized)
			return
		}
		backend.ServeHTTP(rw, req)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/" + filepath.Base(w.remote)
}

// helper configures in dir a credential helper that answers password
// and logs each action to log.
func helper(t *testing.T, dir, password, log string) {
	t.Helper()
	runGit(t, dir, "config", "credential.helper",
		`!f() { echo "$1" >> `+log+`; test "$1" = get && printf "username=u\npassword=`+password+`\n"; true; }; f`)
}

// An https remote that asks for authentication gets the credentials of
// git's credential helpers, which hear whether they worked; flor stores
// none. Wrong credentials are rejected, and the push fails with
// ErrCredentials.
func TestCredentialHelpers(t *testing.T) {
	ctx := context.Background()
	t.Setenv("HOME", t.TempDir()) // no user configuration: the clones' own
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	t.Setenv("GIT_TERMINAL_PROMPT", "0")
	w := newWorld(t, 2)
	a, b := w.clones[0], w.clones[1]
	url := httpRemote(t, w)
	recordRun(t, a, 0.1, 2)
	logA, logB := filepath.Join(t.TempDir(), "a.log"), filepath.Join(t.TempDir(), "b.log")
	helper(t, a, "p", logA)
	unchanged(t, a, b)
	// No helper, and no terminal to prompt on.
	if _, err := open(t, b).Pull(ctx, url, Options{}); !errors.Is(err, ErrCredentials) {
		t.Fatalf("pull without a helper: %v, want ErrCredentials", err)
	} else {
		t.Logf("no helper: %v", err)
	}
	helper(t, b, "wrong", logB)

	if _, err := open(t, a).Push(ctx, url, Options{}); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(logA); string(got) != "get\nstore\n" {
		t.Errorf("A's helper heard %q, want get then store", got)
	}
	_, err := open(t, b).Pull(ctx, url, Options{})
	if !errors.Is(err, ErrCredentials) {
		t.Fatalf("pull with a wrong password: %v, want ErrCredentials", err)
	}
	t.Logf("wrong password: %v", err)
	if got, _ := os.ReadFile(logB); string(got) != "get\nerase\n" {
		t.Errorf("B's helper heard %q, want get then erase", got)
	}
	helper(t, b, "p", logB)
	if _, err := open(t, b).Pull(ctx, url, Options{}); err != nil {
		t.Fatal(err)
	}
	if got := storeRuns(t, b); got["0.1"] != 2 {
		t.Fatalf("B's store after an authenticated pull: %v", got)
	}
	for _, d := range []string{a, b} {
		if cfg, _ := os.ReadFile(filepath.Join(d, ".git", "config")); strings.Contains(string(cfg), "u:p@") {
			t.Errorf("%s: credentials in .git/config", d)
		}
	}
}
