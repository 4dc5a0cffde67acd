package storage

import (
	"bytes"
	"errors"
	"math"
	"path"
	"slices"
	"strconv"
	"time"

	"github.com/flordb/flor/internal/record"
)

// This file turns decoded records (internal/record) into rows.

// Value-kind bits of raw.sigs.vtypes.
const (
	kindInt = 1 << iota
	kindFloat
	kindBool
	kindStr
	// notIter (raw.sigs.vtypes only): some context of the signature has no
	// scalar value, or one that is not its iteration number. Without it,
	// the loop's values are its iterations (flor.Range) and the dataframe
	// need not read them.
	notIter
)

// kindBit maps a value type name to its kind bit (0 for none).
func kindBit(typ string) int {
	switch typ {
	case record.TypeInt:
		return kindInt
	case record.TypeFloat:
		return kindFloat
	case record.TypeBool:
		return kindBool
	case record.TypeStr:
		return kindStr
	}
	return 0
}

// kindOfCode maps a raw.logs type code to its kind bit (json counts as str:
// it shows as text).
func kindOfCode(t record.TypeCode) int {
	switch t {
	case record.CodeInt:
		return kindInt
	case record.CodeFloat:
		return kindFloat
	case record.CodeBool:
		return kindBool
	}
	return kindStr
}

// depthOf returns the depth of a signature (0 for none or an unknown one).
func (in *ingester) depthOf(sig int32) int32 {
	if sig > 0 && int(sig) < len(in.sigByID) && in.sigByID[sig] != nil {
		return in.sigByID[sig].depth
	}
	return 0
}

// errNoIdentity: a run record without a valid projid, tstamp or filename.
var errNoIdentity = errors.New("it lacks a valid projid, tstamp or filename")

// line ingests one line (without its newline).
func (in *ingester) line(fs *fileState, line []byte) error {
	f := fs.f
	if len(bytes.TrimSpace(line)) == 0 {
		return nil
	}
	l, err := in.dec.Decode(line)
	if err != nil {
		if fs.run == nil {
			in.unreadable(fs, err)
			return nil
		}
		in.warn(f.path, f.lines, "%v; line skipped", err)
		return nil
	}
	if fs.run == nil {
		if l.Kind != record.KindRun {
			in.unreadable(fs, errors.New("it is not a run record"))
			return nil
		}
		return in.runRecord(fs, l)
	}
	switch l.Kind {
	case record.KindLog:
		return in.logRecord(fs, l)
	case record.KindCtx:
		return in.ctxRecord(fs, l)
	case record.KindCkpt:
		return in.ckptRecord(fs, l)
	case record.KindEnd:
		in.endRecord(fs, l)
		in.st.Records++
	case record.KindWarn:
		msg, _ := record.String(l.Get(record.KeyMsg))
		in.st.Records++
		in.emit(tWarns, f.sid, f.lines, msg)
	case record.KindDiverge:
		// Published only when the user accepted it (flor replay
		// --accept-divergence): the value is marked by a warning.
		in.st.Records++
		if d, err := l.Divergence(); err == nil {
			in.emit(tWarns, f.sid, f.lines, record.DivergenceWarning+d.String())
		} else {
			in.warn(f.path, f.lines, "%v; line skipped", err)
		}
	case record.KindRun:
		in.warn(f.path, f.lines, "second run record; line skipped")
	default:
		if fs.kinds == nil {
			fs.kinds = map[string]bool{}
		}
		if !fs.kinds[string(l.KindName)] {
			fs.kinds[string(l.KindName)] = true
			in.note(f.path, f.lines, "unknown record kind %s; such lines are skipped", l.KindName)
		}
		in.st.Skipped++
	}
	return nil
}

// unreadable gives up on a file whose first line is not a usable run
// record. The file is not remembered as read: the next ingest tries it
// again, so a repaired file (or, for a newer format, a newer flor) is
// picked up without rebuilding the store.
func (in *ingester) unreadable(fs *fileState, why error) {
	f := fs.f
	if errors.Is(why, record.ErrNewerVersion) {
		in.warn(f.path, 1, "%v; the file is skipped until then", why)
	} else {
		in.warn(f.path, 1, "first line is not a run record (%v), so the file is ignored; "+
			"repair or restore line 1 (the run record of docs/records.md) and the next flor command reads the file", why)
	}
	f.sid = -1
	fs.stop = true
}

func (in *ingester) runRecord(fs *fileState, l record.Line) error {
	f := fs.f
	var r runRow
	var tstamp string
	var replay []byte
	for _, m := range l.Members {
		switch string(m.Key) {
		case record.KeyVersion:
			r.version, _ = record.Int(m.Val)
		case record.KeyProjID:
			r.key.projid, _ = record.String(m.Val)
		case record.KeyTstamp:
			tstamp, _ = record.String(m.Val)
		case record.KeyFilename:
			r.key.filename, _ = record.String(m.Val)
		case record.KeySnapshot:
			r.snapshot, _ = record.String(m.Val)
		case record.KeyKwargs:
			r.kwargs = string(m.Val)
		case record.KeyArgv:
			r.argv = string(m.Val)
		case record.KeyPID:
			r.pid, _ = record.Int(m.Val)
		case record.KeyHost:
			r.host, _ = record.String(m.Val)
		case record.KeyLiveness:
			r.liveness, _ = strconv.ParseFloat(string(m.Val), 64)
		case record.KeySlurm:
			if len(m.Val) > 0 && m.Val[0] == '{' {
				r.slurm = string(m.Val)
			}
		case record.KeyReplay:
			if string(m.Val) != "null" {
				replay = m.Val
			}
		}
	}
	if err := record.CheckVersion(r.version); err != nil {
		in.unreadable(fs, err)
		return nil
	}
	ts, err := record.ParseTime(tstamp)
	if err != nil || r.key.projid == "" || r.key.filename == "" {
		in.unreadable(fs, errNoIdentity)
		return nil
	}
	r.key.tstamp = ts
	if r.kwargs == "" || r.kwargs[0] != '{' {
		r.kwargs = "{}"
	}
	if r.argv == "" || r.argv[0] != '[' {
		r.argv = "[]"
	}
	var replayRun string
	var rl record.Line
	if replay != nil {
		var d record.Decoder
		if l, err := d.Decode(replay); err == nil {
			rl = l
			replayRun, _ = record.String(rl.Get(record.KeyReplayRun))
		}
	}
	run := in.runOf(r, f.path, replay != nil, replayRun)
	f.sid = in.nextSid
	in.nextSid++
	src := sourceRow{sid: f.sid, rid: run.rid, kind: "run", path: f.path}
	if replay != nil {
		fs.replay = true
		src.kind = "replay"
		if rl.Members != nil {
			src.replayID, _ = record.String(rl.Get(record.KeyReplayID))
			src.replayName = string(rl.Get(record.KeyNames))
		}
	} else if run.sid != 0 {
		in.note(f.path, f.lines, "run %s %s %s is also recorded in %s; this file's run fields are ignored",
			r.key.projid, tstamp, r.key.filename, run.path)
	} else {
		run.sid = f.sid
		run.path = f.path
		run.version = r.version
		run.snapshot = r.snapshot
		run.kwargs = r.kwargs
		run.argv = r.argv
		run.pid = r.pid
		run.host = r.host
		run.liveness = r.liveness
		run.slurm = r.slurm
		run.dirty = true
	}
	in.sources = append(in.sources, src)
	fs.run = run
	in.st.Records++
	return nil
}

// runOf returns the run a file's run record belongs to, making it when new.
// A run is its identity (projid, tstamp, filename), but two hosts may
// record one identity in the same microsecond: a recording of it by
// another process (another host or pid) than the identity's first
// recording is a run of its own, with the same identity, told apart by its
// run file. A replay names the run file it replayed (replay.run); one of
// an older program belongs to the identity's first run.
func (in *ingester) runOf(r runRow, file string, replay bool, replayRun string) *runRow {
	if replay && replayRun != "" {
		if run := in.byFile[replayRun]; run != nil && run.key == r.key {
			return run
		}
	}
	run := in.runs[r.key]
	if run != nil && !replay && run.sid != 0 && run.path != file && (run.host != r.host || run.pid != r.pid) {
		if other := in.byFile[path.Base(file)]; other != nil && other.key == r.key {
			return other
		}
		run = nil // another recording of the same identity
	}
	if run == nil {
		in.maxRid++
		run = &runRow{rid: in.maxRid, key: r.key, status: StatusUnfinished, dirty: true}
		if in.runs[r.key] == nil {
			in.runs[r.key] = run
		}
		in.runList = append(in.runList, run)
	}
	if !replay && run.sid == 0 {
		in.byFile[path.Base(file)] = run
	}
	return run
}

func (in *ingester) endRecord(fs *fileState, l record.Line) {
	if fs.replay || fs.run.sid != fs.f.sid {
		return
	}
	e := l.End()
	if e.T.IsZero() {
		e.T = time.Now().UTC()
	}
	fs.run.ended = e.T
	fs.run.status = e.Status // record.StatusFinished or StatusFailed, as the store's
	fs.run.dirty = true
}

func (in *ingester) logRecord(fs *fileState, l record.Line) error {
	f := fs.f
	g, err := l.Log()
	if err != nil {
		in.warn(f.path, f.lines, "log record without name or value; line skipped")
		return nil
	}
	nid, n, ok := in.nameID(g.N)
	if !ok {
		in.warn(f.path, f.lines, "log record without name or value; line skipped")
		return nil
	}
	var v any = string(g.V)
	kinds := kindOfCode(g.T)
	if string(g.V) == "null" {
		// null stays NULL, and tells nothing of the column's type.
		v, kinds = nil, 0
	}
	var (
		sig       int32
		ci, cp, e any // NULL outside loops
		y, k      any // NULL unless a finite number
		dup       bool
	)
	if kinds&(kindInt|kindFloat) != 0 {
		// As finite as the JSON text is; NaN and infinities are strings.
		if f, err := strconv.ParseFloat(v.(string), 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			y, k = f, fs.nextK(nid)
		}
	}
	c := g.C
	if c == 0 {
		if fs.rootNames == nil {
			fs.rootNames = map[int32]bool{}
		}
		dup = fs.rootNames[nid]
		fs.rootNames[nid] = true
	} else {
		x := fs.ctxOf(c)
		sig = x.sig
		if sig != 0 {
			e = x.e
		}
		k := len(fs.open) - 1
		for k >= 0 && fs.open[k].c != c {
			k--
		}
		switch {
		case sig == 0:
			if n == "" {
				n = in.newNameOf(nid)
			}
			in.note(f.path, f.lines, "log %q refers to unknown context %d; kept without its loops", n, c)
			sig = -1
		case k >= 0:
			o := &fs.open[k]
			ci, cp = o.i, o.p
			dup = slices.Contains(o.names, nid)
			if !dup {
				o.names = append(o.names, nid)
			}
		default:
			// A context that already ended: rare; resolved after the append,
			// and counted as a possible duplicate.
			in.unresolved = true
			dup = true
		}
	}
	key := statKey{f.sid, nid, sig}
	st := in.stats[key]
	if st == nil {
		st = &statRow{}
		in.stats[key] = st
	}
	st.n++
	st.kinds |= kinds
	st.flags |= int(g.Flags)
	st.dups = st.dups || dup
	if y != nil {
		st.nk++
	}
	in.st.Records++
	in.emit(tLogs, f.sid, f.lines, c, ci, cp, sig, nid, uint8(g.T), v, uint8(g.Flags), y, k, e)
	return nil
}

func (in *ingester) ctxRecord(fs *fileState, l record.Line) error {
	f := fs.f
	var (
		c, p, i int64
		n       string
		v       []byte
		hasC    bool
	)
	for _, m := range l.Members {
		switch string(m.Key) {
		case record.KeyCtx:
			c, hasC = record.Int(m.Val)
		case record.KeyParent:
			p, _ = record.Int(m.Val)
		case record.KeyName:
			if len(m.Val) >= 2 && m.Val[0] == '"' && bytes.IndexByte(m.Val, '\\') < 0 {
				n = in.intern(m.Val[1 : len(m.Val)-1])
			} else {
				n, _ = record.String(m.Val)
				n = in.intern([]byte(n))
			}
		case record.KeyIter:
			i, _ = record.Int(m.Val)
		case record.KeyValue:
			v = m.Val
		}
	}
	if !hasC || c <= 0 {
		in.warn(f.path, f.lines, "ctx record without a valid context id; line skipped")
		return nil
	}
	parent := int32(0)
	if p != 0 {
		parent = fs.sigOf(p)
		if parent <= 0 {
			in.note(f.path, f.lines, "context %d refers to unknown parent %d; treated as outermost", c, p)
			parent = 0
		}
	}
	g := in.sigs[sigKey{parent, n}]
	if g == nil {
		depth := int32(1)
		if parent > 0 {
			depth = in.sigByID[parent].depth + 1
		}
		g = &sigRow{id: int32(len(in.sigByID)), parent: parent, name: n, depth: depth, dirty: true}
		in.sigs[sigKey{parent, n}] = g
		in.sigByID = append(in.sigByID, g)
	}
	var val any
	bits := notIter
	if v != nil && string(v) != "null" {
		if bit := kindBit(record.ScalarType(v)); bit != 0 {
			// Only scalars are loop values.
			val = string(v)
			bits = bit
			if n, ok := record.Int(v); !ok || bit != kindInt || n != i {
				bits |= notIter
			}
		}
	}
	if g.vtypes|bits != g.vtypes {
		g.vtypes |= bits
		g.dirty = true
	}
	// The outermost iteration: its own in an outermost loop (or under an
	// unknown parent, treated as outermost), else its parent's.
	e := i
	if parent > 0 {
		e = fs.ctxOf(p).e
	}
	fs.setCtx(c, ctxEntry{sig: g.id, e: e})
	fs.push(openCtx{c: c, p: p, i: i, v: val, depth: g.depth})
	in.st.Records++
	in.emit(tCtx, f.sid, c, p, i, val, g.id)
	return nil
}

func (in *ingester) ckptRecord(fs *fileState, l record.Line) error {
	f := fs.f
	var (
		e, o    int64
		b       string
		objs, x = "{}", "[]"
	)
	for _, m := range l.Members {
		switch string(m.Key) {
		case record.KeyEpoch:
			e, _ = record.Int(m.Val)
		case record.KeyOccurrence:
			o, _ = record.Int(m.Val)
		case record.KeyBlock:
			b, _ = record.String(m.Val)
		case record.KeyObjs:
			objs = string(m.Val)
		case record.KeyExtras:
			x = string(m.Val)
		}
	}
	in.st.Records++
	in.emit(tCkpts, f.sid, f.lines, e, b, o, objs, x)
	return nil
}
