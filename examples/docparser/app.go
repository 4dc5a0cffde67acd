package main

import (
	"context"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/flordb/flor"
	"github.com/flordb/flor/reader"
)

var page = template.Must(template.New("page").Parse(`<!doctype html>
<title>docparser</title>
<h1>Documents</h1>
{{range .Docs}}<h2>{{.Name}}</h2>
<form method="post" action="/label">
<input type="hidden" name="doc" value="{{.Name}}">
<table border="1"><tr><th>page</th><th>words</th><th>heading</th><th>page one</th><th>predicted first</th><th>label: first page</th></tr>
{{range .Pages}}<tr><td>{{.Page}}</td><td>{{.Words}}</td><td>{{.Heading}}</td><td>{{.PageOne}}</td><td class="pred">{{.Pred}}</td>
<td><input type="checkbox" name="first" value="{{.Page}}"{{if .Label}} checked{{end}}> <span class="label">{{.LabelText}}</span></td></tr>
{{end}}</table>
<button>save labels</button></form>
{{end}}`))

type pageRow struct {
	Page             int64
	Words            any
	Heading, PageOne any
	Pred             string
	Label            bool
	LabelText        string
}

type docView struct {
	Name  string
	Pages []pageRow
}

// app is the web app: it reads on every request (the reader holds no
// store between calls) and records each save as its own run (a unit).
type app struct{ rd *reader.Reader }

func (a *app) index(w http.ResponseWriter, req *http.Request) {
	data, err := latestBy(req.Context(), a.rd, "n_words", "heading", "page_one", "pred_first_page", "first_page")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	byDoc := map[string][]pageRow{}
	for k, f := range data {
		if f["n_words"] == nil {
			continue // a page only labelled or predicted, not featurized
		}
		r := pageRow{Page: k.page, Words: f["n_words"], Heading: f["heading"], PageOne: f["page_one"], Pred: "-", LabelText: "unlabelled"}
		if p, ok := f["pred_first_page"].(bool); ok {
			r.Pred = strconv.FormatBool(p)
		}
		if l, ok := f["first_page"].(bool); ok {
			r.Label, r.LabelText = l, strconv.FormatBool(l)
		}
		byDoc[k.doc] = append(byDoc[k.doc], r)
	}
	var docs []docView
	for name, rows := range byDoc {
		sort.Slice(rows, func(i, j int) bool { return rows[i].Page < rows[j].Page })
		docs = append(docs, docView{name, rows})
	}
	sort.Slice(docs, func(i, j int) bool { return docs[i].Name < docs[j].Name })
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := page.Execute(w, struct{ Docs []docView }{docs}); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

// label saves a human's labels of one document: FlorDB's
// flor.iteration("document", None, name) with a page loop, as one run.
func (a *app) label(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		http.Error(w, "POST labels", http.StatusMethodNotAllowed)
		return
	}
	if err := req.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	doc := req.Form.Get("doc")
	n, err := strconv.Atoi(req.Form.Get("pages"))
	if doc == "" || err != nil || n <= 0 {
		// The form posts its checkboxes; the number of pages is the
		// document's as featurized.
		n, err = a.pages(req.Context(), doc)
		if err != nil || n == 0 {
			http.Error(w, fmt.Sprintf("unknown document %q", doc), http.StatusBadRequest)
			return
		}
	}
	first := map[int]bool{}
	for _, v := range req.Form["first"] {
		i, err := strconv.Atoi(v)
		if err != nil || i < 0 || i >= n {
			http.Error(w, fmt.Sprintf("bad page %q", v), http.StatusBadRequest)
			return
		}
		first[i] = true
	}
	u := flor.Begin()
	end := u.Iteration("document", flor.NoIndex, doc)
	for i := range u.Loop("page", n) {
		u.Log("first_page", first[i])
	}
	end()
	if err := u.Commit(); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	http.Redirect(w, req, "/", http.StatusSeeOther)
}

func (a *app) pages(ctx context.Context, doc string) (int, error) {
	f, err := a.rd.Dataframe(ctx, reader.Query{Names: []string{"n_words"}, Where: "document_value = '" + strings.ReplaceAll(doc, "'", "''") + "'", Latest: true})
	if err != nil {
		return 0, err
	}
	return f.Len(), nil
}

func (a *app) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/", a.index)
	mux.HandleFunc("/label", a.label)
	return mux
}

func serve(ctx context.Context, addr string) error {
	rd, err := reader.Open()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Printf("listening on http://%s/\n", ln.Addr())
	return http.Serve(ln, (&app{rd: rd}).handler())
}
