package ui

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

const chromium = "/usr/bin/chromium"

// TestBrowser drives the page in a real Chromium over a store of four
// runs: the runs table and its kwargs columns, a filter, a chart with one
// series per run, the compare page's code diff, and hostile names shown as
// text. Screenshots go to the test's artifact directory (go test
// -artifacts); FLOR_UI_SCREENSHOTS names another directory for them.
func TestBrowser(t *testing.T) {
	if _, err := os.Stat(chromium); err != nil {
		t.Skip("no " + chromium + " (apt-get install chromium)")
	}
	fx, ts := newTestServer(t)
	shots := t.ArtifactDir()
	if d := os.Getenv("FLOR_UI_SCREENSHOTS"); d != "" {
		shots = d
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox,
		chromedp.WindowSize(1280, 860), chromedp.Flag("disable-dev-shm-usage", true))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	// A bound on a hung browser, not a timing assertion.
	ctx, cancel = context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var dialogs atomic.Int32
	events := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for _, err := range events {
			if err != nil {
				return
			}
			dialogs.Add(1)
			chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}()
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	shot := func(name string) {
		t.Helper()
		buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(shots, name), buf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ready := func(view string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := chromedp.Poll[bool](`document.body.dataset.ready === '`+view+`'`)(ctx, t)
			return err
		})
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}

	// Runs: a row per run, kwargs as columns, the hostile kwarg as text.
	do("runs page", chromedp.Navigate(ts.URL+"/#/runs?metrics=loss,val_acc&sort=kw:lr"), ready("runs"))
	rows := evaluate[int](t, ctx, `document.querySelectorAll('#runs tbody tr').length`)
	heads := evaluate[[]string](t, ctx, `[...document.querySelectorAll('#runs th')].map(th => th.textContent)`)
	note := evaluate[string](t, ctx, `[...document.querySelectorAll('#runs td')].map(td => td.textContent).find(s => s.includes('onerror')) || ''`)
	imgs := evaluate[int](t, ctx, `document.querySelectorAll('main img').length`)
	fcp := evaluate[float64](t, ctx, `(performance.getEntriesByName('first-contentful-paint')[0] || {startTime: -1}).startTime`)
	shot("runs.png")
	t.Logf("first contentful paint of the runs page: %.0f ms", fcp)
	if rows != 4 {
		t.Errorf("%d rows, want 4", rows)
	}
	for _, h := range []string{"tstamp", "status", "lr", "hidden", "note", "loss last", "loss min", "val_acc max"} {
		if !contains(heads, h) {
			t.Errorf("no column %q in %q", h, heads)
		}
	}
	if note != `<img src=x onerror=alert(2)>` || imgs != 0 {
		t.Errorf("hostile kwarg: cell %q, %d img elements", note, imgs)
	}

	// A filter narrows the rows.
	do("filter",
		chromedp.SetValue(chromedp.CSS(`#filter input[name=where]`), `lr >= 0.003 OR hidden = 512`),
		chromedp.Click(chromedp.CSS(`#filter button`)),
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := chromedp.Poll[bool](`document.querySelectorAll('#runs tbody tr').length === 3`)(ctx, t)
			return err
		}))
	if count := text(`#run-count`); count != "3 runs" {
		t.Errorf("after the filter: %q", count)
	}

	// A chart draws one series per run.
	do("chart", chromedp.Navigate(ts.URL+"/#/charts?names=loss&runs="+strings.Join(fx.ids, ",")), ready("charts"))
	series := evaluate[int](t, ctx, `window.florCharts.loss.series.length - 1`)
	labels := evaluate[[]string](t, ctx, `window.florCharts.loss.series.slice(1).map(s => s.label)`)
	shot("chart.png")
	if series != 4 {
		t.Errorf("%d series drawn, want 4 (%q)", series, labels)
	}
	// Smoothing adds the raw line beneath each smoothed one.
	do("smoothed chart", chromedp.Navigate(ts.URL+"/#/charts?names=loss&smooth=0.6&runs="+strings.Join(fx.ids[:2], ",")), ready("charts"))
	if series := evaluate[int](t, ctx, `window.florCharts.loss.series.length - 1`); series != 4 {
		t.Errorf("smoothed: %d series, want 2 raw + 2 smoothed", series)
	}

	// Grouped by a kwarg: per group a mean line over a min/max band. All
	// four runs share note: one group, whose band is wide where they differ.
	do("grouped chart", chromedp.Navigate(ts.URL+"/#/charts?names=loss&by=note&runs="+strings.Join(fx.ids, ",")), ready("charts"))
	grouped := evaluate[[]int](t, ctx, `(u => [u.series.length - 1, u.bands.length,
		u.data[1].filter((hi, j) => hi != null && u.data[2][j] != null && hi > u.data[2][j]).length])(window.florCharts.loss)`)
	shot("grouped.png")
	if len(grouped) != 3 || grouped[0] != 3 || grouped[1] != 1 || grouped[2] == 0 {
		t.Errorf("grouped by note: [series, bands, points where max > min] = %v, want [3 1 >0]", grouped)
	}
	do("chart by lr", chromedp.Navigate(ts.URL+"/#/charts?names=loss&by=lr&runs="+strings.Join(fx.ids, ",")), ready("charts"))
	if bands := evaluate[int](t, ctx, `window.florCharts.loss.bands.length`); bands != 4 {
		t.Errorf("grouped by lr: %d bands, want one per value (4)", bands)
	}

	// A hostile name is a chart title, as text.
	do("hostile chart", chromedp.Navigate(ts.URL+"/#/charts?names="+urlQuery(hostile)+"&runs="+fx.ids[0]), ready("charts"))
	title := text(`.chart h3`)
	scripts := evaluate[int](t, ctx, `document.querySelectorAll('main script').length`)
	if title != hostile || scripts != 0 {
		t.Errorf("hostile name: title %q, %d script elements in main", title, scripts)
	}

	// Compare shows the code diff between the snapshots.
	do("compare", chromedp.Navigate(ts.URL+"/#/compare?a="+fx.ids[0]+"&b="+fx.ids[3]), ready("compare"))
	diff := text(`#code-diff`)
	shot("compare.png")
	if !strings.Contains(diff, `+		flor.Log("acc_top", accTop())`) {
		t.Errorf("code diff:\n%s", diff)
	}

	// The run page lists hostile names as text too.
	do("run page", chromedp.Navigate(ts.URL+"/#/run/"+fx.ids[0]), ready("run"))
	if values := text(`#values`); !strings.Contains(values, hostile) || !strings.Contains(values, "grad_norm") {
		t.Errorf("values table:\n%s", values)
	}
	// Hindsight: the fixture's code does not build, so the candidates are
	// the newest run's names, and the page says why.
	do("hindsight", chromedp.Navigate(ts.URL+"/#/hindsight"), ready("hindsight"))
	if c, src := text(`#candidates`), text(`#candidates-source`); !strings.Contains(c, "acc_top") || !strings.Contains(src, "not from the code") {
		t.Errorf("hindsight: candidates %q, source %q", c, src)
	}
	if n := dialogs.Load(); n != 0 {
		t.Errorf("%d JavaScript dialogs opened: a hostile value ran as code", n)
	}
}

func evaluate[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return v
}

func contains(xs []string, x string) bool {
	for _, s := range xs {
		if s == x {
			return true
		}
	}
	return false
}

func urlQuery(s string) string {
	r := strings.NewReplacer("<", "%3C", ">", "%3E", "(", "%28", ")", "%29", "/", "%2F")
	return r.Replace(s)
}
