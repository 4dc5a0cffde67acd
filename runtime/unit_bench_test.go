package runtime

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// BenchmarkLabelledSave measures one labelled save as the docparser app
// makes it: an HTTP request whose handler records a unit (a document by
// name, 20 pages' labels) and commits it; the response is sent once the
// run file is synced and linked into runs/.
func BenchmarkLabelledSave(b *testing.B) {
	base := newTestRun(b)
	base.SetEcho(false)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		u, err := New(Options{Like: base, Unit: true})
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		labels := strings.Split(req.URL.Query().Get("labels"), ",")
		end := IterationOf(u, "document", NoIndex, req.URL.Query().Get("doc"))
		i := 0
		for range Loop(u, "page", Range(len(labels))) {
			Log(u, "page_color", labels[i])
			i++
		}
		end()
		if err := u.Commit(); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Write([]byte(u.Tstamp))
	}))
	defer srv.Close()
	labels := strings.TrimSuffix(strings.Repeat("red,blue,", 10), ",")
	n := 0
	for b.Loop() {
		resp, err := http.Get(srv.URL + "/save?doc=doc" + strconv.Itoa(n%50) + ".txt&labels=" + labels)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
		n++
	}
}
