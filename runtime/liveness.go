package runtime

import (
	"os"
	"time"

	"github.com/flordb/flor/internal/record"
)

// keepAlive refreshes the run file's modification time when nothing was
// written to it for record.LivenessInterval: readers on another host
// cannot ask whether this process lives, so a fresh file is how they tell
// a quiet run from a dead one. Called from the writer's loop on every
// tick.
func (w *recordWriter) keepAlive(now time.Time) {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	if w.file == nil || w.shut {
		return
	}
	if fi, err := w.file.Stat(); err == nil && now.Sub(fi.ModTime()) < record.LivenessInterval {
		return
	}
	_ = os.Chtimes(w.path, now, now) // best effort: the next write refreshes it too
}
