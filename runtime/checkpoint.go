package runtime

import (
	"bytes"
	"crypto/sha256"
	"encoding"
	"encoding/gob"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/flordb/flor/internal/record"
)

// ErrCheckpoint: an object cannot be checkpointed or restored.
var ErrCheckpoint = errors.New("checkpoint")

// ErrCorruptBlob: a checkpoint blob's bytes do not hash to its name, its
// content address. Restoring it would replay wrong values.
var ErrCorruptBlob = errors.New("corrupt blob")

// registration is one object registered with Checkpoint.
type registration struct {
	name string
	ptr  any
}

// Checkpoint registers ptr under name. Its state is captured at the end of
// every iteration of the main loop and of every block nested in it, and
// restored in replay. ptr must be a non-nil pointer (or map) whose value
// encoding/gob handles, or implement encoding.BinaryMarshaler and
// encoding.BinaryUnmarshaler.
func (r *Run) Checkpoint(name string, ptr any) {
	if r.off {
		return
	}
	if err := r.ensureStarted(); err != nil {
		r.fatal(err)
	}
	if err := checkRestorable(ptr); err != nil {
		r.fatal(fmt.Errorf("flor.Checkpoint(%q): %w", name, err))
	}
	if _, err := encodeObject(ptr); err != nil {
		r.fatal(fmt.Errorf("flor.Checkpoint(%q): %w", name, err))
	}
	r.w.mu.Lock()
	defer r.w.mu.Unlock()
	for _, c := range r.ckpts {
		if c.name == name {
			c.ptr = ptr // registering a name again replaces the object
			return
		}
	}
	r.ckpts = append(r.ckpts, &registration{name: name, ptr: ptr})
	r.ckptNames[name] = true
}

func (r *Run) registeredNames() []string {
	r.w.mu.Lock()
	defer r.w.mu.Unlock()
	names := make([]string, 0, len(r.ckpts))
	for _, c := range r.ckpts {
		names = append(names, c.name)
	}
	return names
}

func checkRestorable(ptr any) error {
	if _, ok := ptr.(encoding.BinaryUnmarshaler); ok {
		if _, ok := ptr.(encoding.BinaryMarshaler); ok {
			return nil
		}
	}
	v := reflect.ValueOf(ptr)
	switch {
	case !v.IsValid():
		return fmt.Errorf("%w: nil object", ErrCheckpoint)
	case v.Kind() == reflect.Map && !v.IsNil():
		return nil
	case v.Kind() != reflect.Pointer:
		return fmt.Errorf("%w: %T is not a pointer, so it could not be restored in place; pass &x", ErrCheckpoint, ptr)
	case v.IsNil():
		return fmt.Errorf("%w: nil %T", ErrCheckpoint, ptr)
	}
	return nil
}

// encodeObject serialises the current state of a registered object.
func encodeObject(ptr any) ([]byte, error) {
	if m, ok := ptr.(encoding.BinaryMarshaler); ok {
		if _, ok := ptr.(encoding.BinaryUnmarshaler); ok {
			b, err := m.MarshalBinary()
			if err != nil {
				return nil, fmt.Errorf("%w: %T.MarshalBinary: %w", ErrCheckpoint, ptr, err)
			}
			return b, nil
		}
	}
	var buf bytes.Buffer
	v := reflect.ValueOf(ptr)
	var err error
	if v.Kind() == reflect.Pointer {
		err = gob.NewEncoder(&buf).EncodeValue(v.Elem())
	} else {
		err = gob.NewEncoder(&buf).EncodeValue(v)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: gob cannot encode %T: %w", ErrCheckpoint, ptr, err)
	}
	return buf.Bytes(), nil
}

// decodeInto restores ptr in place from data.
func decodeInto(ptr any, data []byte) error {
	if u, ok := ptr.(encoding.BinaryUnmarshaler); ok {
		if _, ok := ptr.(encoding.BinaryMarshaler); ok {
			if err := u.UnmarshalBinary(data); err != nil {
				return fmt.Errorf("%w: %T.UnmarshalBinary: %w", ErrCheckpoint, ptr, err)
			}
			return nil
		}
	}
	if _, ok := ptr.(gob.GobDecoder); ok {
		// The type decodes its own state, unexported parts included.
		if err := gob.NewDecoder(bytes.NewReader(data)).Decode(ptr); err != nil {
			return fmt.Errorf("%w: gob cannot decode %T: %w", ErrCheckpoint, ptr, err)
		}
		return nil
	}
	dst := reflect.ValueOf(ptr)
	if dst.Kind() == reflect.Pointer {
		dst = dst.Elem()
	}
	fresh := reflect.New(dst.Type())
	if err := gob.NewDecoder(bytes.NewReader(data)).DecodeValue(fresh); err != nil {
		return fmt.Errorf("%w: gob cannot decode %T: %w", ErrCheckpoint, ptr, err)
	}
	assignInPlace(dst, fresh.Elem())
	return nil
}

// assignInPlace makes dst equal to src as gob sees it, reusing dst's
// storage where the shapes agree: slices of the same length keep their
// backing arrays and non-nil pointers keep their targets, so other objects
// that alias them (an optimizer holding a model's weights) stay in step.
// Fields gob ignores (unexported, func, chan) are left alone.
func assignInPlace(dst, src reflect.Value) {
	if dst.CanAddr() && dst.Addr().Type().Implements(gobDecoderType) {
		// State gob cannot see field by field: take the decoded value whole.
		dst.Set(src)
		return
	}
	switch dst.Kind() {
	case reflect.Pointer:
		switch {
		case src.IsNil() && !dst.IsNil():
			// gob does not send a pointer to a zero value; nil and a
			// pointer to zero look alike, so keep the pointer.
			dst.Elem().SetZero()
		case src.IsNil():
			dst.SetZero()
		case dst.IsNil():
			dst.Set(src)
		default:
			assignInPlace(dst.Elem(), src.Elem())
		}
	case reflect.Struct:
		t := dst.Type()
		for i := range t.NumField() {
			sf := t.Field(i)
			if !sf.IsExported() || sf.Type.Kind() == reflect.Func || sf.Type.Kind() == reflect.Chan {
				continue
			}
			assignInPlace(dst.Field(i), src.Field(i))
		}
	case reflect.Slice:
		if dst.Len() != src.Len() || dst.IsNil() != src.IsNil() && src.Len() > 0 {
			dst.Set(src)
			return
		}
		if src.IsNil() && dst.Len() == 0 {
			return // gob does not tell nil from empty
		}
		if isPlain(dst.Type().Elem()) {
			reflect.Copy(dst, src)
			return
		}
		for i := range dst.Len() {
			assignInPlace(dst.Index(i), src.Index(i))
		}
	case reflect.Array:
		if isPlain(dst.Type().Elem()) {
			dst.Set(src)
			return
		}
		for i := range dst.Len() {
			assignInPlace(dst.Index(i), src.Index(i))
		}
	case reflect.Map:
		if dst.IsNil() || src.IsNil() {
			dst.Set(src)
			return
		}
		dst.Clear()
		it := src.MapRange()
		for it.Next() {
			dst.SetMapIndex(it.Key(), it.Value())
		}
	case reflect.Func, reflect.Chan:
	default:
		dst.Set(src)
	}
}

var gobDecoderType = reflect.TypeFor[gob.GobDecoder]()

// isPlain reports types copied whole: no pointers inside to preserve.
func isPlain(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128, reflect.String:
		return true
	case reflect.Array:
		return isPlain(t.Elem())
	}
	return false
}

// captureJob is a state to store: its blobs, then its ckpt record.
type captureJob struct {
	e     int64
	block string
	occ   int
	names []string
	blobs [][]byte
	extra [][]byte
	ack   chan struct{} // set for a sync marker: closed when reached
}

// capture encodes the registered objects (and a block's extras) now, on the
// caller's goroutine, since their state is what must be kept; hashing and
// writing happen on a background goroutine.
//
// A capture of nothing (no registration, no extras) is written only for an
// instrumented skip block (empty is set): the analysis found nothing there
// to restore. A nested flor.Loop in a program that registers nothing gets
// no capture, so replay runs it rather than trusting an empty state.
//
// Captures are skipped while they would take more than the budget allows
// (see captureBudget), unless force is set.
func (r *Run) capture(e int64, block string, occ int, extras []any, empty, force bool) {
	if r.replay != nil {
		return
	}
	r.w.mu.Lock()
	regs := slices.Clone(r.ckpts)
	r.w.mu.Unlock()
	if len(regs) == 0 && len(extras) == 0 && !empty {
		return
	}
	if !force && !r.budget.allow(time.Now()) {
		return // replay runs what has no capture, so skipping is safe
	}
	if block == "" {
		r.lastCaptured.Store(e + 1) // 0 means none
	}
	began := time.Now()
	defer func() { r.budget.spent(time.Since(began)) }()
	job := captureJob{e: e, block: block, occ: occ}
	for _, c := range regs {
		b, err := encodeObject(c.ptr)
		if err != nil {
			r.captureFailed(fmt.Errorf("%q: %w", c.name, err))
			return
		}
		job.names = append(job.names, c.name)
		job.blobs = append(job.blobs, b)
	}
	for i, p := range extras {
		b, err := encodeObject(p)
		if err != nil {
			r.captureFailed(fmt.Errorf("block %q extra %d: %w", block, i, err))
			return
		}
		job.extra = append(job.extra, b)
	}
	// Sending under the read lock keeps Commit from closing the queue
	// under a capture in flight.
	r.ckMu.RLock()
	defer r.ckMu.RUnlock()
	if r.ckClosed {
		return
	}
	r.ckOnce.Do(r.startCheckpointWriter)
	r.ckq <- job
}

// captureBudget keeps the time spent encoding captures on the training
// goroutine under a fraction of the run's time (VLDB'21's adaptive
// checkpointing, with materialisation time over compute time bounded by
// epsilon): states of loops whose iterations take milliseconds are
// captured only now and then, those of real training epochs every time.
type captureBudget struct {
	mu      sync.Mutex
	epsilon float64 // 0: capture always
	start   time.Time
	used    time.Duration // encoding so far
	last    time.Duration // the last encoding: what the next will cost
}

// allow reports whether a capture now keeps the budget.
func (b *captureBudget) allow(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.epsilon <= 0 || b.last == 0 {
		return true
	}
	return float64(b.used+b.last) <= b.epsilon*float64(now.Sub(b.start))
}

func (b *captureBudget) spent(d time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.used += d
	b.last = d
}

func (r *Run) captureFailed(err error) {
	if r.ckWarned.CompareAndSwap(false, true) {
		r.warn(fmt.Sprintf("checkpoint not saved, replay will recompute instead: %v", err))
	}
}

// sync waits until every capture so far is stored and every record is
// written to the file.
func (r *Run) sync() {
	r.ckMu.RLock()
	if !r.ckClosed && r.ckq != nil {
		ack := make(chan struct{})
		r.ckq <- captureJob{ack: ack}
		r.ckMu.RUnlock()
		<-ack
	} else {
		r.ckMu.RUnlock()
	}
	r.w.flush()
}

func (r *Run) startCheckpointWriter() {
	r.ckq = make(chan captureJob, 2)
	r.ckdone = make(chan struct{})
	go func() {
		defer close(r.ckdone)
		for job := range r.ckq {
			if job.ack != nil {
				close(job.ack)
				continue
			}
			r.storeCapture(job)
		}
	}()
}

// drainCheckpoints waits for every capture to be stored; later captures
// are dropped.
func (r *Run) drainCheckpoints() {
	r.ckMu.Lock()
	if r.ckClosed {
		r.ckMu.Unlock()
		return
	}
	r.ckClosed = true
	r.ckOnce.Do(func() {}) // a writer never started stays unstarted
	started := r.ckq != nil
	if started {
		close(r.ckq)
	}
	r.ckMu.Unlock()
	if started {
		<-r.ckdone
	}
}

func (r *Run) storeCapture(job captureJob) {
	b := record.AppendCkpt(nil, job.e, job.block, int64(job.occ))
	for i, name := range job.names {
		h, err := r.storeBlob(job.blobs[i])
		if err != nil {
			r.captureFailed(err)
			return
		}
		b = record.AppendObj(b, i, name, h)
	}
	b = record.AppendCkptExtras(b)
	for i, blob := range job.extra {
		h, err := r.storeBlob(blob)
		if err != nil {
			r.captureFailed(err)
			return
		}
		b = record.AppendExtra(b, i, h)
	}
	b = record.AppendCkptEnd(b)
	r.w.mu.Lock()
	r.w.buf = append(r.w.buf, b...)
	r.w.mu.Unlock()
}

// storeBlob writes data under its sha256 unless it is there already;
// identical states are stored once.
func (r *Run) storeBlob(data []byte) (string, error) {
	sum := sha256.Sum256(data)
	h := hex.EncodeToString(sum[:])
	if _, ok := r.written.Load(h); ok {
		return h, nil
	}
	path := blobPath(r.Home, h)
	if _, err := os.Stat(path); err == nil {
		r.written.Store(h, true)
		return h, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", fmt.Errorf("storing checkpoint: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return "", fmt.Errorf("storing checkpoint: %w", err)
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), path)
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("storing checkpoint: %w", werr)
	}
	r.written.Store(h, true)
	return h, nil
}

func blobPath(home, h string) string {
	return filepath.Join(home, "objects", h[:2], h[2:])
}

// restore puts a captured state back into the registered objects and the
// block's extras. A checkpoint that cannot be read ends the replay: going
// on would log values a real run would not.
func (r *Run) restore(c ckptRecord, extras []any) {
	defer r.replay.timeRestore(time.Now())
	r.w.mu.Lock()
	regs := slices.Clone(r.ckpts)
	r.w.mu.Unlock()
	run := r.replay.plan.Tstamp
	for _, reg := range regs {
		h, ok := c.Objs[reg.name]
		if !ok {
			r.fatal(fmt.Errorf("replay: run %s: checkpoint of iteration %d has no %q: %w", run, c.E, reg.name, ErrCheckpoint))
		}
		if err := r.restoreBlob(reg.ptr, h); err != nil {
			r.fatal(fmt.Errorf("replay: run %s: restoring %q at iteration %d: %w", run, reg.name, c.E, err))
		}
	}
	for i, p := range extras {
		if err := r.restoreBlob(p, c.X[i]); err != nil {
			r.fatal(fmt.Errorf("replay: run %s: restoring block %q extra %d at iteration %d: %w", run, c.B, i, c.E, err))
		}
	}
}

func (r *Run) restoreBlob(ptr any, h string) error {
	data, err := readBlob(r.Home, h)
	if err != nil {
		return err
	}
	if r.replay != nil {
		r.replay.restoredBytes.Add(int64(len(data)))
	}
	return decodeInto(ptr, data)
}

// readBlob reads blob h and checks it against its name: a flipped bit on
// disk must stop the replay, not change what it logs.
func readBlob(home, h string) ([]byte, error) {
	if len(h) != sha256.Size*2 {
		return nil, fmt.Errorf("%w: bad blob hash %q", ErrCheckpoint, h)
	}
	path := blobPath(home, h)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCheckpoint, err)
	}
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != h {
		return nil, fmt.Errorf("%w: %w %s: its bytes hash to %x", ErrCheckpoint, ErrCorruptBlob, path, sum)
	}
	return data, nil
}

// ReadBlob returns the bytes of checkpoint blob hash in the flor home,
// verified against their sha256 (an error wrapping ErrCorruptBlob when
// they do not match): the model registry's read.
func ReadBlob(home, hash string) ([]byte, error) { return readBlob(home, hash) }

// LoadBlob decodes verified blob hash into ptr as replay restores a
// registered object (MarshalBinary's or gob's bytes), in place.
func LoadBlob(home, hash string, ptr any) error {
	data, err := readBlob(home, hash)
	if err != nil {
		return err
	}
	return decodeInto(ptr, data)
}
