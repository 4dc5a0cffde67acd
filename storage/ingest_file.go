package storage

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
)

// fileState is what the ingest of one file needs to know about its past.
type fileState struct {
	f      *fileRow
	run    *runRow // the run the file belongs to; nil until its run record
	replay bool
	// ctxs maps a context id to its signature (0: unknown) and its
	// outermost loop's iteration. Context ids are small and dense, so a
	// slice beats a map; sparse ids go to ctxMap.
	ctxs   []ctxEntry
	ctxMap map[int64]ctxEntry
	// nk counts, by name id, the values with a y (raw.logs.k of the next).
	nk []int64
	// open is the chain of contexts (loop iterations) still running,
	// outermost first: a new context at depth d ends those at depth >= d.
	// Logs almost always refer to an open context, whose fields they copy,
	// and a name logged twice in one open context is a duplicate.
	open      []openCtx
	rootNames map[int32]bool // names logged outside every loop
	kinds     map[string]bool
	// stop: the file cannot be read (its first line is unusable), and
	// nothing of it is kept.
	stop bool
}

type openCtx struct {
	c, p, i int64
	v       any // loop value (JSON text) or nil
	depth   int32
	names   []int32
}

// ctxEntry is what the ingest keeps of a context of its file.
type ctxEntry struct {
	sig int32 // 0: unknown
	e   int64 // the iteration of its outermost loop (raw.logs.e)
}

const denseCtxLimit = 1 << 26

func (fs *fileState) ctxOf(c int64) ctxEntry {
	if c >= 0 && c < int64(len(fs.ctxs)) {
		return fs.ctxs[c]
	}
	return fs.ctxMap[c]
}

func (fs *fileState) sigOf(c int64) int32 { return fs.ctxOf(c).sig }

func (fs *fileState) setCtx(c int64, x ctxEntry) {
	if c >= 0 && c < denseCtxLimit {
		if int64(len(fs.ctxs)) <= c {
			fs.ctxs = append(fs.ctxs, make([]ctxEntry, c+1-int64(len(fs.ctxs)))...)
		}
		fs.ctxs[c] = x
		return
	}
	if fs.ctxMap == nil {
		fs.ctxMap = map[int64]ctxEntry{}
	}
	fs.ctxMap[c] = x
}

// nextK returns the k of a value of nid with a y, and counts it.
func (fs *fileState) nextK(nid int32) int64 {
	fs.countK(nid, 1)
	return fs.nk[nid] - 1
}

// countK counts n values of nid with a y.
func (fs *fileState) countK(nid int32, n int64) {
	if int(nid) >= len(fs.nk) {
		fs.nk = append(fs.nk, make([]int64, int(nid)+1-len(fs.nk))...)
	}
	fs.nk[nid] += n
}

// push opens a context, ending those at its depth or deeper.
func (fs *fileState) push(o openCtx) {
	n := 0
	for n < len(fs.open) && fs.open[n].depth < o.depth {
		n++
	}
	fs.open = append(fs.open[:n], o)
}

// file ingests the new bytes of one file. The offset only ever moves past
// complete lines: a last line without its newline is read again by the
// next ingest (its writer may complete it, or a repaired file grow), and
// reported once its writer is known to be gone.
func (in *ingester) file(ctx context.Context, fs *fileState) error {
	f := fs.f
	name := f.path
	osf, err := os.Open(filepath.Join(in.s.home, filepath.FromSlash(name)))
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	defer osf.Close()
	if _, err := osf.Seek(f.off, io.SeekStart); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	in.st.Files++

	// One buffer for all the files of an ingest: a fresh 1 MiB per file
	// was most of the first ingest of many small files. Lines never keep
	// slices of it (they are overwritten within a file already).
	if in.readBuf == nil {
		in.readBuf = make([]byte, 0, 1<<20)
	}
	buf := in.readBuf[:0]
	defer func() { in.readBuf = buf[:0] }()
	for !fs.stop {
		if len(buf) == cap(buf) {
			nb := make([]byte, len(buf), 2*cap(buf))
			copy(nb, buf)
			buf = nb
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		n, rerr := osf.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		// Consume complete lines.
		done := 0
		for !fs.stop {
			nl := bytes.IndexByte(buf[done:], '\n')
			if nl < 0 {
				break
			}
			line := buf[done : done+nl]
			f.lines++
			if err := in.line(fs, line); err != nil {
				return err
			}
			done += nl + 1
			f.off += int64(nl + 1)
			in.st.Bytes += int64(nl + 1)
		}
		buf = buf[:copy(buf, buf[done:])]
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return fmt.Errorf("%s: %w", name, rerr)
		}
	}
	prevTorn := f.torn
	f.torn = 0
	if fs.stop || len(buf) == 0 || in.mayGrow(fs, osf) {
		return nil
	}
	// The writer is gone, so the tail will not be completed: a complete
	// record without its newline is kept; anything else is reported once.
	end := f.off + int64(len(buf))
	if trimmed := bytes.TrimSpace(buf); len(trimmed) > 0 && trimmed[0] == '{' {
		if _, perr := in.dec.Decode(trimmed); perr == nil {
			f.lines++
			if err := in.line(fs, buf); err != nil {
				return err
			}
			f.off = end
			in.st.Bytes += int64(len(buf))
			return nil
		}
	}
	if fs.run == nil {
		in.unreadable(fs, fmt.Errorf("it is torn: %d bytes, no newline", len(buf)))
		return nil
	}
	if end != prevTorn {
		in.warn(name, f.lines+1, "torn last line (%d bytes, no newline) skipped", len(buf))
	}
	f.torn = end
	return nil
}

// resume loads the state of a partly ingested file.
func (in *ingester) resume(ctx context.Context, fs *fileState) error {
	var rid int32
	var kind string
	err := in.conn.QueryRowContext(ctx, `SELECT rid, kind FROM raw.sources WHERE sid = ?`, fs.f.sid).Scan(&rid, &kind)
	if err != nil {
		return fmt.Errorf("%s: source %d: %w", fs.f.path, fs.f.sid, err)
	}
	fs.replay = kind == "replay"
	for _, r := range in.runList {
		if r.rid == rid {
			fs.run = r
		}
	}
	type ctxInfo struct {
		p, i int64
		v    any
		sig  int32
	}
	all := map[int64]ctxInfo{}
	var last int64
	rows, err := in.conn.QueryContext(ctx, `SELECT c, p, i, v, sig FROM raw.ctx WHERE sid = ?`, fs.f.sid)
	if err != nil {
		return fmt.Errorf("%s: %w", fs.f.path, err)
	}
	for rows.Next() {
		var c int64
		var x ctxInfo
		var v *string
		if err := rows.Scan(&c, &x.p, &x.i, &v, &x.sig); err != nil {
			rows.Close()
			return err
		}
		if v != nil {
			x.v = *v
		}
		all[c] = x
		last = max(last, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	// Each context's outermost iteration, as ctxRecord derives it: its
	// signature's depth says how many parents up it is.
	for c, x := range all {
		e := x.i
		for up, d := x, in.depthOf(x.sig); d > 1; d-- {
			p, ok := all[up.p]
			if !ok {
				break
			}
			up, e = p, p.i
		}
		fs.setCtx(c, ctxEntry{sig: x.sig, e: e})
	}
	// The open contexts are the chain of the last one declared.
	var chain []openCtx
	for c := last; c != 0; {
		x, ok := all[c]
		if !ok {
			break
		}
		chain = append(chain, openCtx{c: c, p: x.p, i: x.i, v: x.v, depth: in.depthOf(x.sig)})
		c = x.p
	}
	slices.Reverse(chain)
	fs.open = chain
	// The names already logged in them, and the file's stats.
	fs.rootNames = map[int32]bool{}
	rows, err = in.conn.QueryContext(ctx, `SELECT DISTINCT c, nid FROM raw.logs WHERE sid = ? AND c IN (SELECT unnest(?::BIGINT[]))`,
		fs.f.sid, append(openIDs(chain), 0))
	if err != nil {
		return fmt.Errorf("%s: %w", fs.f.path, err)
	}
	for rows.Next() {
		var c int64
		var nid int32
		if err := rows.Scan(&c, &nid); err != nil {
			rows.Close()
			return err
		}
		if c == 0 {
			fs.rootNames[nid] = true
		}
		for k := range fs.open {
			if fs.open[k].c == c {
				fs.open[k].names = append(fs.open[k].names, nid)
			}
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	in.touched[fs.f.sid] = true
	rows, err = in.conn.QueryContext(ctx, `SELECT nid, sig, n, kinds, flags, dups, nk FROM raw.stats WHERE sid = ?`, fs.f.sid)
	if err != nil {
		return fmt.Errorf("%s: %w", fs.f.path, err)
	}
	defer rows.Close()
	for rows.Next() {
		k := statKey{sid: fs.f.sid}
		st := &statRow{}
		if err := rows.Scan(&k.nid, &k.sig, &st.n, &st.kinds, &st.flags, &st.dups, &st.nk); err != nil {
			return err
		}
		in.stats[k] = st
		fs.countK(k.nid, st.nk)
	}
	return rows.Err()
}

func openIDs(chain []openCtx) []int64 {
	ids := make([]int64, len(chain))
	for i, o := range chain {
		ids[i] = o.c
	}
	return ids
}
