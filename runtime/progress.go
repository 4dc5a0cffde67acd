package runtime

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// progress draws one bar per open loop on a terminal, like tqdm's nested
// bars: the outer bar stays while inner ones come and go. Echo lines are
// printed above the bars.
type progress struct {
	mu     sync.Mutex
	out    io.Writer
	width  int
	frames []*barState
	drawn  int // lines on screen
	last   time.Time
}

type barState struct {
	f     *frame
	name  string
	n     int64
	total int
	start time.Time
}

// newProgress returns nil unless w is a terminal.
func newProgress(w io.Writer) *progress {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	width, _, err := term.GetSize(int(f.Fd()))
	if err != nil || width < 20 {
		width = 80
	}
	return &progress{out: w, width: width}
}

func (p *progress) push(f *frame) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.frames = append(p.frames, &barState{f: f, name: f.name, total: f.total, start: time.Now()})
	p.drawLocked(true)
}

func (p *progress) step(f *frame) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, b := range p.frames {
		if b.f == f {
			b.n = f.iter
		}
	}
	p.drawLocked(false)
}

func (p *progress) pop(f *frame) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, b := range p.frames {
		if b.f == f {
			p.frames = append(p.frames[:i], p.frames[i+1:]...)
			break
		}
	}
	p.drawLocked(true)
}

func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.frames = nil
	p.clearLocked()
}

// print writes an echo line above the bars.
func (p *progress) print(w io.Writer, line []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clearLocked()
	_, _ = w.Write(line)
	p.drawLocked(true)
}

func (p *progress) clearLocked() {
	if p.drawn == 0 {
		return
	}
	// Up to the first bar line, then clear to the end of the screen.
	fmt.Fprintf(p.out, "\r\x1b[%dA\x1b[J", p.drawn)
	p.drawn = 0
}

// drawLocked redraws at most ten times a second unless forced.
func (p *progress) drawLocked(force bool) {
	now := time.Now()
	if !force && now.Sub(p.last) < 100*time.Millisecond {
		return
	}
	p.last = now
	p.clearLocked()
	var sb strings.Builder
	for _, b := range p.frames {
		sb.WriteString(b.render(p.width - 1))
		sb.WriteByte('\n')
	}
	fmt.Fprint(p.out, sb.String())
	p.drawn = len(p.frames)
}

func (b *barState) render(width int) string {
	// At the start of iteration n, n iterations are done (as tqdm counts).
	done := max(b.n, 0)
	el := time.Since(b.start)
	rate := ""
	if done > 0 {
		per := el / time.Duration(done)
		if per >= time.Second {
			rate = fmt.Sprintf("%.2fs/it", per.Seconds())
		} else {
			rate = fmt.Sprintf("%.1fit/s", float64(done)/el.Seconds())
		}
	}
	if b.total <= 0 {
		return trim(fmt.Sprintf("%s: %d [%s, %s]", b.name, done, el.Truncate(time.Second), rate), width)
	}
	head := fmt.Sprintf("%s: %3d%%|", b.name, 100*done/int64(b.total))
	tail := fmt.Sprintf("| %d/%d [%s, %s]", done, b.total, el.Truncate(time.Second), rate)
	barw := width - len(head) - len(tail)
	if barw < 5 {
		return trim(head+tail, width)
	}
	fill := int(int64(barw) * done / int64(b.total))
	fill = min(fill, barw)
	return head + strings.Repeat("█", fill) + strings.Repeat(" ", barw-fill) + tail
}

func trim(s string, w int) string {
	if len(s) > w && w > 0 {
		return s[:w]
	}
	return s
}
