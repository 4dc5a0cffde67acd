package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/flordb/flor/internal/cli"
	"github.com/flordb/flor/ui"
)

// uiOptions is what flor ui was asked for.
type uiOptions struct {
	addr string
	open bool
}

var uiCmd = &spec[uiOptions]{
	Name:    "ui",
	Summary: "browse runs, charts and code diffs in a local web page",
	Usage: `Usage: flor ui [--addr 127.0.0.1:7373] [--open]

Serves a web page over the store: runs with their kwargs and metric
summaries (filter with a WHERE, sort, choose columns, export CSV or JSON),
charts of runs overlaid, one run's values, checkpoints and files, two
runs compared with the code diff of their snapshots, the names older runs
lack (replay candidates), and a read-only SQL console. It only reads.

While it runs it holds the store: other flor commands wait for it.

Flags:

	--addr host:port   where to listen (default 127.0.0.1:7373, loopback only;
	                   any other address prints a warning)
	--open             open the page in a browser

Examples:

	flor ui
	flor ui --addr 127.0.0.1:8080 --open
`,
	Flags: func(fs *flag.FlagSet, o *uiOptions) {
		fs.StringVar(&o.addr, "addr", ui.DefaultAddr, "`host:port` to listen on")
		fs.BoolVar(&o.open, "open", false, "open the page in a browser")
	},
	Args: func(o *uiOptions, pos []string) error {
		if len(pos) > 0 {
			return cli.Usagef("ui takes no arguments")
		}
		// A malformed address is a mistake on the command line, told
		// before the store is opened.
		host, port, err := net.SplitHostPort(o.addr)
		if err != nil {
			return cli.Usagef("--addr %s: want host:port, e.g. %s", o.addr, ui.DefaultAddr)
		}
		if n, err := strconv.Atoi(port); port != "" && (err != nil || n < 0 || n > 65535) {
			return cli.Usagef("--addr %s: port %q is not a number from 0 to 65535", o.addr, port)
		}
		if host != "" && host != "localhost" && net.ParseIP(host) == nil && strings.ContainsAny(host, " /\\") {
			return cli.Usagef("--addr %s: %q is not a host name or IP address", o.addr, host)
		}
		return nil
	},
	Run: runUI,
}

func runUI(ctx context.Context, e *env, o *uiOptions) error {
	addr, open := &o.addr, &o.open
	if !ui.IsLoopback(*addr) {
		fmt.Fprintf(e.stderr, "flor: warning: listening on %s, not loopback: anyone who can reach it can read every run\n", *addr)
	}
	s, err := e.open(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	url := "http://" + ln.Addr().String() + "/"
	fmt.Fprintf(e.stdout, "flor ui: %s (Ctrl-C stops)\n", url)
	if *open {
		openBrowser(url)
	}
	srv := &http.Server{Handler: ui.New(s, ui.Options{Repo: e.dir}), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func openBrowser(url string) {
	name, args := "xdg-open", []string{url}
	switch runtime.GOOS {
	case "darwin":
		name = "open"
	case "windows":
		name, args = "rundll32", []string{"url.dll,FileProtocolHandler", url}
	}
	exec.Command(name, args...).Start()
}
