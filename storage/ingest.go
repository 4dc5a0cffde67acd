package storage

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// IngestStats tells what one Ingest did.
type IngestStats struct {
	Files    int           // files that had new bytes
	Records  int64         // records (lines) stored
	Bytes    int64         // bytes consumed
	Skipped  int64         // lines skipped: invalid, torn, or of a file without a run record
	Warnings []Warning     // what was skipped and why (at most maxWarnings)
	Elapsed  time.Duration // wall time of the ingest
}

// Warning names a line of a run file that the ingest skipped or could not
// fully use.
type Warning struct {
	File string // path relative to the flor home, slash-separated
	Line int64  // 1-based line number
	Msg  string
}

func (w Warning) String() string { return fmt.Sprintf("%s:%d: %s", w.File, w.Line, w.Msg) }

// maxWarnings bounds the warnings kept and printed per ingest, so a file of
// garbage cannot flood the terminal.
const maxWarnings = 20

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

func kindBit(kind string) int {
	switch kind {
	case "int":
		return kindInt
	case "float":
		return kindFloat
	case "bool":
		return kindBool
	case "str":
		return kindStr
	}
	return 0
}

type runKey struct {
	projid, filename string
	tstamp           time.Time
}

// runRow mirrors raw.runs.
type runRow struct {
	rid      int32
	key      runKey
	sid      int32 // 0: recording not seen
	path     string
	version  int64
	snapshot string
	kwargs   string
	argv     string
	pid      int64
	host     string
	ended    time.Time
	status   string
	dirty    bool
}

type sigKey struct {
	parent int32
	name   string
}

type sigRow struct {
	id, parent int32
	name       string
	depth      int32
	vtypes     int
	dirty      bool
}

// fileRow mirrors raw.files.
type fileRow struct {
	path  string
	sid   int32
	off   int64
	lines int64
	known bool // a row exists in raw.files
}

// ingester holds the state of one Ingest.
type ingester struct {
	s       *Store
	conn    *sql.Conn
	st      *IngestStats
	runs    map[runKey]*runRow
	runList []*runRow
	sigs    map[sigKey]*sigRow
	sigByID []*sigRow
	nextSid int32
	maxRid  int32
	sources []sourceRow
	strs    map[string]string // interned strings
	nameIDs map[string]int32  // value name -> raw.names id
	newName []string          // names added by this ingest (ids up to nextNid-1)
	nextNid int32
	stats   map[statKey]*statRow
	touched map[int32]bool // sids whose stats this ingest rewrites
	// unresolved: some log referred to a context that was no longer open,
	// so its ci, cp are filled from raw.ctx after the append.
	unresolved bool

	apps [numTables]*duckdb.Appender
	lsc  lineScanner

	// The pipeline: this goroutine parses and fills batches of rows, an
	// appender goroutine hands them to DuckDB, so both cores work.
	cur      [numTables]*batch
	batches  chan *batch
	free     chan *batch
	appended chan error
}

// Tables the appenders fill, and their column counts.
const (
	tLogs = iota
	tCtx
	tCkpts
	tWarns
	numTables
)

var (
	tableNames  = [numTables]string{"logs", "ctx", "ckpts", "warns"}
	tableWidths = [numTables]int{10, 6, 7, 3}
)

// batchRows is the number of rows per batch handed to the appender
// goroutine: DuckDB's vector size.
const batchRows = 2048

type batch struct {
	table int
	vals  []driver.Value
}

// emit queues one row for table t.
func (in *ingester) emit(t int, vals ...driver.Value) {
	b := in.cur[t]
	if b == nil {
		select {
		case b = <-in.free:
		default:
			b = &batch{vals: make([]driver.Value, 0, batchRows*tableWidths[t])}
		}
		b.table = t
		in.cur[t] = b
	}
	b.vals = append(b.vals, vals...)
	if len(b.vals) >= batchRows*tableWidths[t] {
		in.batches <- b
		in.cur[t] = nil
	}
}

// startAppending runs the appender goroutine.
func (in *ingester) startAppending() {
	in.batches = make(chan *batch, 8)
	in.free = make(chan *batch, 16)
	in.appended = make(chan error, 1)
	go func() {
		var err error
		for b := range in.batches {
			if err == nil {
				a, w := in.apps[b.table], tableWidths[b.table]
				for i := 0; i < len(b.vals); i += w {
					if err = a.AppendRow(b.vals[i : i+w]...); err != nil {
						err = fmt.Errorf("append to raw.%s: %w", tableNames[b.table], err)
						break
					}
				}
			}
			clear(b.vals)
			b.vals = b.vals[:0]
			select {
			case in.free <- b:
			default:
			}
		}
		in.appended <- err
	}()
}

// finishAppending sends the partial batches, waits for the appender
// goroutine and returns its error.
func (in *ingester) finishAppending() error {
	if in.batches == nil {
		return nil
	}
	for t, b := range in.cur {
		if b != nil && len(b.vals) > 0 {
			in.batches <- b
		}
		in.cur[t] = nil
	}
	close(in.batches)
	err := <-in.appended
	in.batches = nil
	return err
}

type sourceRow struct {
	sid, rid             int32
	kind, path           string
	replayID, replayName string
}

// Ingest brings the store up to date with the run files of the flor home:
// runs/*.jsonl and the finished replays replay/<id>/*.jsonl (never the
// replay/tmp-* directories of replays in progress). Every read calls it, so
// callers rarely need to.
//
// It is incremental and idempotent: the store remembers per file the offset
// just past the last complete line it stored, and reads only what follows.
// A running program's file is read up to its last newline. Lines that are
// not valid JSON, and the torn last line of a program that is gone, are
// skipped with a Warning (also printed to the messages writer); the rest of
// the file is kept.
func (s *Store) Ingest(ctx context.Context) (IngestStats, error) {
	var st IngestStats
	start := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return st, fmt.Errorf("%s: %w", s.path, ErrClosed)
	}
	if s.frozen {
		return st, nil // opened read-only: nothing can be stored
	}
	err := s.ingest(ctx, &st)
	st.Elapsed = time.Since(start)
	for _, w := range st.Warnings {
		fmt.Fprintf(s.opts.messages, "flor: warning: %s\n", w)
	}
	if n := st.Skipped - int64(len(st.Warnings)); n > 0 && len(st.Warnings) == maxWarnings {
		fmt.Fprintf(s.opts.messages, "flor: warning: %d more lines skipped\n", n)
	}
	return st, err
}

// runFiles lists the files to ingest, relative to home: recordings first,
// then finished replays, each in name order, so later data comes later.
func (s *Store) runFiles() ([]string, error) {
	var out []string
	runs, err := filepath.Glob(filepath.Join(s.home, "runs", "*.jsonl"))
	if err != nil {
		return nil, err
	}
	sort.Strings(runs)
	for _, f := range runs {
		out = append(out, "runs/"+filepath.Base(f))
	}
	dirs, err := os.ReadDir(filepath.Join(s.home, "replay"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("list replays: %w", err)
	}
	for _, d := range dirs { // ReadDir sorts by name
		if !d.IsDir() || strings.HasPrefix(d.Name(), "tmp-") {
			continue
		}
		files, err := filepath.Glob(filepath.Join(s.home, "replay", d.Name(), "*.jsonl"))
		if err != nil {
			return nil, err
		}
		sort.Strings(files)
		for _, f := range files {
			out = append(out, path.Join("replay", d.Name(), filepath.Base(f)))
		}
	}
	return out, nil
}

func (s *Store) loadFiles(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}) (map[string]*fileRow, error) {
	rows, err := q.QueryContext(ctx, `SELECT path, sid, off, lines FROM raw.files`)
	if err != nil {
		return nil, fmt.Errorf("%s: read ingest state: %w", s.path, err)
	}
	defer rows.Close()
	files := map[string]*fileRow{}
	for rows.Next() {
		f := &fileRow{known: true}
		if err := rows.Scan(&f.path, &f.sid, &f.off, &f.lines); err != nil {
			return nil, err
		}
		files[f.path] = f
	}
	return files, rows.Err()
}

func (s *Store) ingest(ctx context.Context, st *IngestStats) error {
	names, err := s.runFiles()
	if err != nil {
		return fmt.Errorf("%s: %w", s.home, err)
	}
	files, err := s.loadFiles(ctx, s.db)
	if err != nil {
		return err
	}
	var todo []*fileRow
	for _, name := range names {
		fi, err := os.Stat(filepath.Join(s.home, filepath.FromSlash(name)))
		if err != nil {
			continue // removed since listed
		}
		f := files[name]
		if f == nil {
			f = &fileRow{path: name}
		}
		switch {
		case fi.Size() < f.off:
			st.Warnings = append(st.Warnings, Warning{name, f.lines, fmt.Sprintf("file shrank from %d to %d bytes; run files are append-only, new content ignored", f.off, fi.Size())})
		case fi.Size() > f.off:
			todo = append(todo, f)
		}
	}
	if len(todo) > 0 {
		if err := s.ingestFiles(ctx, st, todo); err != nil {
			return err
		}
	}
	return s.refreshStatus(ctx)
}

func (s *Store) ingestFiles(ctx context.Context, st *IngestStats, todo []*fileRow) (err error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", s.path, err)
	}
	defer conn.Close()
	in := &ingester{s: s, conn: conn, st: st, strs: map[string]string{}, stats: map[statKey]*statRow{}, touched: map[int32]bool{}}
	if _, err := conn.ExecContext(ctx, `BEGIN TRANSACTION`); err != nil {
		return fmt.Errorf("%s: %w", s.path, err)
	}
	committed := false
	defer func() {
		in.closeAppenders()
		if !committed {
			conn.ExecContext(context.Background(), `ROLLBACK`)
		}
	}()
	if err := in.load(ctx); err != nil {
		return err
	}
	// The state of partly ingested files is read before the pipeline
	// starts: from then on the appender goroutine owns the connection.
	states := make([]*fileState, len(todo))
	for i, f := range todo {
		states[i] = &fileState{f: f}
		if f.known && f.sid > 0 {
			if err := in.resume(ctx, states[i]); err != nil {
				return err
			}
		}
	}
	if err := conn.Raw(func(dc any) error {
		c := dc.(driver.Conn)
		for t, name := range tableNames {
			a, err := duckdb.NewAppender(c, "", "raw", name)
			if err != nil {
				return err
			}
			in.apps[t] = a
		}
		return nil
	}); err != nil {
		return fmt.Errorf("%s: open appenders: %w", s.path, err)
	}
	in.startAppending()
	for _, fs := range states {
		if err := ctx.Err(); err != nil {
			in.finishAppending()
			return err
		}
		if err := in.file(ctx, fs); err != nil {
			in.finishAppending()
			return err
		}
	}
	if err := in.finishAppending(); err != nil {
		return fmt.Errorf("%s: %w", s.path, err)
	}
	if err := in.flushAppenders(); err != nil {
		return fmt.Errorf("%s: append: %w", s.path, err)
	}
	if err := in.save(ctx, todo); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, `COMMIT`); err != nil {
		return fmt.Errorf("%s: commit ingest: %w", s.path, err)
	}
	committed = true
	return nil
}

func (in *ingester) flushAppenders() error {
	for t, a := range in.apps {
		if a == nil {
			continue
		}
		err := a.Close()
		in.apps[t] = nil
		if err != nil {
			return fmt.Errorf("append to raw.%s: %w", tableNames[t], err)
		}
	}
	return nil
}

func (in *ingester) closeAppenders() {
	in.finishAppending()
	for _, a := range in.apps {
		if a != nil {
			a.Close()
		}
	}
}

// load reads the small tables the ingest needs in memory.
func (in *ingester) load(ctx context.Context) error {
	q := in.conn
	in.runs = map[runKey]*runRow{}
	rows, err := q.QueryContext(ctx, `SELECT rid, projid, tstamp, filename, COALESCE(sid, 0), COALESCE(path, ''),
		COALESCE(version, 0), COALESCE(snapshot, ''), COALESCE(kwargs, '{}'), COALESCE(argv, '[]'),
		COALESCE(pid, 0), COALESCE(host, ''), ended, COALESCE(status, '') FROM raw.runs`)
	if err != nil {
		return fmt.Errorf("%s: %w", in.s.path, err)
	}
	for rows.Next() {
		r := &runRow{}
		var ended sql.NullTime
		if err := rows.Scan(&r.rid, &r.key.projid, &r.key.tstamp, &r.key.filename, &r.sid, &r.path,
			&r.version, &r.snapshot, &r.kwargs, &r.argv, &r.pid, &r.host, &ended, &r.status); err != nil {
			rows.Close()
			return err
		}
		r.key.tstamp = r.key.tstamp.UTC()
		r.ended = ended.Time
		in.runs[r.key] = r
		in.runList = append(in.runList, r)
		in.maxRid = max(in.maxRid, r.rid)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}

	in.sigs = map[sigKey]*sigRow{}
	in.sigByID = []*sigRow{nil}
	rows, err = q.QueryContext(ctx, `SELECT id, parent, name, depth, vtypes FROM raw.sigs ORDER BY id`)
	if err != nil {
		return fmt.Errorf("%s: %w", in.s.path, err)
	}
	for rows.Next() {
		g := &sigRow{}
		if err := rows.Scan(&g.id, &g.parent, &g.name, &g.depth, &g.vtypes); err != nil {
			rows.Close()
			return err
		}
		in.sigs[sigKey{g.parent, g.name}] = g
		for int(g.id) >= len(in.sigByID) {
			in.sigByID = append(in.sigByID, nil)
		}
		in.sigByID[g.id] = g
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	in.nameIDs = map[string]int32{}
	rows, err = q.QueryContext(ctx, `SELECT id, name FROM raw.names`)
	if err != nil {
		return fmt.Errorf("%s: %w", in.s.path, err)
	}
	in.nextNid = 1
	for rows.Next() {
		var id int32
		var n string
		if err := rows.Scan(&id, &n); err != nil {
			rows.Close()
			return err
		}
		in.nameIDs[n] = id
		in.nextNid = max(in.nextNid, id+1)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	return q.QueryRowContext(ctx, `SELECT COALESCE(max(sid), 0) + 1 FROM raw.sources`).Scan(&in.nextSid)
}

// save writes the small tables back.
func (in *ingester) save(ctx context.Context, todo []*fileRow) error {
	exec := func(q string, args ...any) error {
		if _, err := in.conn.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("%s: save ingest state: %w", in.s.path, err)
		}
		return nil
	}
	for _, f := range todo {
		if f.known {
			if err := exec(`UPDATE raw.files SET sid = ?, off = ?, lines = ? WHERE path = ?`, f.sid, f.off, f.lines, f.path); err != nil {
				return err
			}
		} else if err := exec(`INSERT INTO raw.files VALUES (?, ?, ?, ?)`, f.path, f.sid, f.off, f.lines); err != nil {
			return err
		}
	}
	for _, src := range in.sources {
		if err := exec(`INSERT INTO raw.sources VALUES (?, ?, ?, ?, ?, ?)`, src.sid, src.rid, src.kind, src.path,
			nullString(src.replayID), nullString(src.replayName)); err != nil {
			return err
		}
	}
	for _, r := range in.runList {
		if !r.dirty {
			continue
		}
		if err := exec(`DELETE FROM raw.runs WHERE rid = ?`, r.rid); err != nil {
			return err
		}
		var sid, ended, pid any
		if r.sid != 0 {
			sid, pid = r.sid, r.pid
		}
		if !r.ended.IsZero() {
			ended = r.ended
		}
		if err := exec(`INSERT INTO raw.runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.rid, r.key.projid, r.key.tstamp, r.key.filename, sid, nullString(r.path), r.version,
			r.snapshot, r.kwargs, r.argv, pid, r.host, ended, r.status); err != nil {
			return err
		}
	}
	for i, n := range in.newName {
		if err := exec(`INSERT INTO raw.names VALUES (?, ?)`, in.nextNid-int32(len(in.newName))+int32(i), n); err != nil {
			return err
		}
	}
	for sid := range in.touched {
		if err := exec(`DELETE FROM raw.stats WHERE sid = ?`, sid); err != nil {
			return err
		}
	}
	if len(in.stats) > 0 {
		var b strings.Builder
		var args []any
		flush := func() error {
			if len(args) == 0 {
				return nil
			}
			err := exec(`INSERT INTO raw.stats VALUES `+strings.TrimSuffix(b.String(), ","), args...)
			b.Reset()
			args = args[:0]
			return err
		}
		for k, st := range in.stats {
			b.WriteString("(?, ?, ?, ?, ?, ?, ?),")
			args = append(args, k.sid, k.nid, k.sig, st.n, st.kinds, st.flags, st.dups)
			if len(args) >= 700 {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		if err := flush(); err != nil {
			return err
		}
	}
	if in.unresolved {
		// Logs of contexts that were closed when they were logged: copy the
		// context's fields now that both are in the tables.
		if err := exec(`UPDATE raw.logs l SET ci = x.i, cp = x.p FROM raw.ctx x
			WHERE l.ci IS NULL AND l.c <> 0 AND l.sig > 0 AND x.sid = l.sid AND x.c = l.c`); err != nil {
			return err
		}
	}
	for _, g := range in.sigByID {
		if g == nil || !g.dirty {
			continue
		}
		if err := exec(`DELETE FROM raw.sigs WHERE id = ?`, g.id); err != nil {
			return err
		}
		if err := exec(`INSERT INTO raw.sigs VALUES (?, ?, ?, ?, ?)`, g.id, g.parent, g.name, g.depth, g.vtypes); err != nil {
			return err
		}
	}
	return nil
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (in *ingester) warn(file string, line int64, format string, args ...any) {
	in.st.Skipped++
	in.note(file, line, format, args...)
}

// note records a warning without counting a skipped line.
func (in *ingester) note(file string, line int64, format string, args ...any) {
	if len(in.st.Warnings) < maxWarnings {
		in.st.Warnings = append(in.st.Warnings, Warning{file, line, fmt.Sprintf(format, args...)})
	}
}

func (in *ingester) intern(b []byte) string {
	if s, ok := in.strs[string(b)]; ok {
		return s
	}
	s := string(b)
	in.strs[s] = s
	return s
}

// nameID returns the id of a value name given as its raw JSON string.
func (in *ingester) nameID(raw []byte) (int32, string, bool) {
	if len(raw) >= 2 && raw[0] == '"' && bytes.IndexByte(raw, '\\') < 0 {
		b := raw[1 : len(raw)-1]
		if id, ok := in.nameIDs[string(b)]; ok {
			return id, "", true
		}
		return in.addName(string(b)), "", true
	}
	n, ok := rawString(raw)
	if !ok {
		return 0, "", false
	}
	if id, ok := in.nameIDs[n]; ok {
		return id, n, true
	}
	return in.addName(n), n, true
}

func (in *ingester) addName(n string) int32 {
	id := in.nextNid
	in.nextNid++
	in.nameIDs[n] = id
	in.newName = append(in.newName, n)
	return id
}

// statKey identifies a raw.stats row.
type statKey struct{ sid, nid, sig int32 }

type statRow struct {
	n            int64
	kinds, flags int
	dups         bool
}

// fileState is what the ingest of one file needs to know about its past.
type fileState struct {
	f      *fileRow
	run    *runRow // the run the file belongs to; nil until its run record
	replay bool
	// ctxSig maps a context id to its signature (0: unknown). Context ids
	// are small and dense, so a slice beats a map; sparse ids go to ctxMap.
	ctxSig []int32
	ctxMap map[int64]int32
	// open is the chain of contexts (loop iterations) still running,
	// outermost first: a new context at depth d ends those at depth >= d.
	// Logs almost always refer to an open context, whose fields they copy,
	// and a name logged twice in one open context is a duplicate.
	open      []openCtx
	rootNames map[int32]bool // names logged outside every loop
	kinds     map[string]bool
}

type openCtx struct {
	c, p, i int64
	v       any // loop value (JSON text) or nil
	depth   int32
	names   []int32
}

const denseCtxLimit = 1 << 26

func (fs *fileState) sigOf(c int64) int32 {
	if c >= 0 && c < int64(len(fs.ctxSig)) {
		return fs.ctxSig[c]
	}
	return fs.ctxMap[c]
}

func (fs *fileState) setSig(c int64, sig int32) {
	if c >= 0 && c < denseCtxLimit {
		if int64(len(fs.ctxSig)) <= c {
			fs.ctxSig = append(fs.ctxSig, make([]int32, c+1-int64(len(fs.ctxSig)))...)
		}
		fs.ctxSig[c] = sig
		return
	}
	if fs.ctxMap == nil {
		fs.ctxMap = map[int64]int32{}
	}
	fs.ctxMap[c] = sig
}

// push opens a context, ending those at its depth or deeper.
func (fs *fileState) push(o openCtx) {
	n := 0
	for n < len(fs.open) && fs.open[n].depth < o.depth {
		n++
	}
	fs.open = append(fs.open[:n], o)
}

// file ingests the new bytes of one file.
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

	buf := make([]byte, 0, 1<<20)
	for {
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
		for {
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
	if len(buf) > 0 && f.sid < 0 {
		f.off += int64(len(buf))
		in.st.Bytes += int64(len(buf))
		return nil
	}
	if len(buf) > 0 && !in.mayGrow(fs) {
		// The writer is gone, so the tail will never be completed.
		f.lines++
		if trimmed := bytes.TrimSpace(buf); len(trimmed) > 0 && trimmed[0] == '{' {
			if _, perr := in.lsc.parseObject(trimmed); perr == nil {
				if err := in.line(fs, buf); err != nil {
					return err
				}
				f.off += int64(len(buf))
				in.st.Bytes += int64(len(buf))
				return nil
			}
		}
		in.warn(name, f.lines, "torn last line (%d bytes, no newline) skipped", len(buf))
		f.off += int64(len(buf))
		in.st.Bytes += int64(len(buf))
	}
	return nil
}

// mayGrow reports whether a file's writer may still append to it.
func (in *ingester) mayGrow(fs *fileState) bool {
	if fs.replay || fs.f.sid < 0 {
		return false
	}
	if fs.run == nil {
		return true // not even a complete run record yet: just created
	}
	return fs.run.ended.IsZero() && processAlive(in.s.opts.hostname, fs.run.host, fs.run.pid)
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
		fs.setSig(c, x.sig)
		all[c] = x
		last = max(last, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	// The open contexts are the chain of the last one declared.
	var chain []openCtx
	for c := last; c != 0; {
		x, ok := all[c]
		if !ok {
			break
		}
		chain = append(chain, openCtx{c: c, p: x.p, i: x.i, v: x.v, depth: in.sigByID[x.sig].depth})
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
	rows, err = in.conn.QueryContext(ctx, `SELECT nid, sig, n, kinds, flags, dups FROM raw.stats WHERE sid = ?`, fs.f.sid)
	if err != nil {
		return fmt.Errorf("%s: %w", fs.f.path, err)
	}
	defer rows.Close()
	for rows.Next() {
		k := statKey{sid: fs.f.sid}
		st := &statRow{}
		if err := rows.Scan(&k.nid, &k.sig, &st.n, &st.kinds, &st.flags, &st.dups); err != nil {
			return err
		}
		in.stats[k] = st
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

// line ingests one line (without its newline).
func (in *ingester) line(fs *fileState, line []byte) error {
	f := fs.f
	if f.sid < 0 {
		in.st.Skipped++
		return nil
	}
	if len(bytes.TrimSpace(line)) == 0 {
		return nil
	}
	ms, err := in.lsc.parseObject(line)
	if err != nil {
		if fs.run == nil {
			in.warn(f.path, f.lines, "first line is not a run record (%v); file ignored", err)
			f.sid = -1
			return nil
		}
		in.warn(f.path, f.lines, "%v; line skipped", err)
		return nil
	}
	var k []byte
	for _, m := range ms {
		if string(m.key) == "k" {
			k = m.val
		}
	}
	if fs.run == nil {
		if string(k) != `"run"` {
			in.warn(f.path, f.lines, "first line is not a run record; file ignored")
			f.sid = -1
			return nil
		}
		return in.runRecord(fs, ms)
	}
	switch string(k) {
	case `"log"`:
		return in.logRecord(fs, ms)
	case `"ctx"`:
		return in.ctxRecord(fs, ms)
	case `"ckpt"`:
		return in.ckptRecord(fs, ms)
	case `"end"`:
		in.endRecord(fs, ms)
		in.st.Records++
	case `"warn"`:
		var msg string
		for _, m := range ms {
			if string(m.key) == "msg" {
				msg, _ = rawString(m.val)
			}
		}
		in.st.Records++
		in.emit(tWarns, f.sid, f.lines, msg)
	case `"run"`:
		in.warn(f.path, f.lines, "second run record; line skipped")
	default:
		if fs.kinds == nil {
			fs.kinds = map[string]bool{}
		}
		if !fs.kinds[string(k)] {
			fs.kinds[string(k)] = true
			in.note(f.path, f.lines, "unknown record kind %s; such lines are skipped", k)
		}
		in.st.Skipped++
	}
	return nil
}

func (in *ingester) runRecord(fs *fileState, ms []member) error {
	f := fs.f
	var r runRow
	var tstamp string
	var replay []byte
	for _, m := range ms {
		switch string(m.key) {
		case "v":
			r.version, _ = rawInt(m.val)
		case "projid":
			r.key.projid, _ = rawString(m.val)
		case "tstamp":
			tstamp, _ = rawString(m.val)
		case "filename":
			r.key.filename, _ = rawString(m.val)
		case "snapshot":
			r.snapshot, _ = rawString(m.val)
		case "kwargs":
			r.kwargs = string(m.val)
		case "argv":
			r.argv = string(m.val)
		case "pid":
			r.pid, _ = rawInt(m.val)
		case "host":
			r.host, _ = rawString(m.val)
		case "replay":
			if string(m.val) != "null" {
				replay = m.val
			}
		}
	}
	ts, err := time.Parse(time.RFC3339Nano, tstamp)
	if err != nil || r.key.projid == "" || r.key.filename == "" {
		in.warn(f.path, f.lines, "run record lacks a valid projid, tstamp or filename; file ignored")
		f.sid = -1
		return nil
	}
	r.key.tstamp = ts.UTC()
	if r.kwargs == "" || r.kwargs[0] != '{' {
		r.kwargs = "{}"
	}
	if r.argv == "" || r.argv[0] != '[' {
		r.argv = "[]"
	}
	run := in.runs[r.key]
	if run == nil {
		in.maxRid++
		run = &runRow{rid: in.maxRid, key: r.key, status: "unfinished", dirty: true}
		in.runs[r.key] = run
		in.runList = append(in.runList, run)
	}
	f.sid = in.nextSid
	in.nextSid++
	src := sourceRow{sid: f.sid, rid: run.rid, kind: "run", path: f.path}
	if replay != nil {
		fs.replay = true
		src.kind = "replay"
		var sc lineScanner
		if rms, err := sc.parseObject(replay); err == nil {
			for _, m := range rms {
				switch string(m.key) {
				case "id":
					src.replayID, _ = rawString(m.val)
				case "names":
					src.replayName = string(m.val)
				}
			}
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
		run.dirty = true
	}
	in.sources = append(in.sources, src)
	fs.run = run
	in.st.Records++
	return nil
}

func (in *ingester) endRecord(fs *fileState, ms []member) {
	if fs.replay || fs.run.sid != fs.f.sid {
		return
	}
	t := time.Now().UTC()
	for _, m := range ms {
		if string(m.key) == "t" {
			if s, ok := rawString(m.val); ok {
				if pt, err := time.Parse(time.RFC3339Nano, s); err == nil {
					t = pt.UTC()
				}
			}
		}
	}
	fs.run.ended = t
	fs.run.status = "finished"
	fs.run.dirty = true
}

func (in *ingester) logRecord(fs *fileState, ms []member) error {
	f := fs.f
	var (
		c     int64
		nid   int32
		n     string
		t     uint8
		v     []byte
		flags uint8
		hasN  bool
	)
	for _, m := range ms {
		switch string(m.key) {
		case "c":
			c, _ = rawInt(m.val)
		case "n":
			nid, n, hasN = in.nameID(m.val)
		case "t":
			switch string(m.val) {
			case `"int"`:
				t = 1
			case `"float"`:
				t = 2
			case `"bool"`:
				t = 3
			case `"str"`:
				t = 4
			case `"json"`:
				t = 5
			}
		case "v":
			v = m.val
		case "arg":
			if b, _ := rawBool(m.val); b {
				flags |= 1
			}
		case "int":
			if b, _ := rawBool(m.val); b {
				flags |= 2
			}
		}
	}
	if !hasN || v == nil {
		in.warn(f.path, f.lines, "log record without name or value; line skipped")
		return nil
	}
	if t == 0 {
		t = typeCode(rawKind(v))
	}
	var (
		sig    int32
		ci, cp any // NULL outside loops
		dup    bool
	)
	if c == 0 {
		if fs.rootNames == nil {
			fs.rootNames = map[int32]bool{}
		}
		dup = fs.rootNames[nid]
		fs.rootNames[nid] = true
	} else {
		sig = fs.sigOf(c)
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
	st.kinds |= kindOfCode(t)
	st.flags |= int(flags)
	st.dups = st.dups || dup
	in.st.Records++
	in.emit(tLogs, f.sid, f.lines, c, ci, cp, sig, nid, t, string(v), flags)
	return nil
}

// newNameOf returns a name by id (for messages).
func (in *ingester) newNameOf(id int32) string {
	for n, i := range in.nameIDs {
		if i == id {
			return n
		}
	}
	return ""
}

func typeCode(kind string) uint8 {
	switch kind {
	case "int":
		return 1
	case "float":
		return 2
	case "bool":
		return 3
	case "str":
		return 4
	}
	return 5
}

// kindOfCode maps a raw.logs type code to its kind bit (json counts as str:
// it shows as text).
func kindOfCode(t uint8) int {
	switch t {
	case 1:
		return kindInt
	case 2:
		return kindFloat
	case 3:
		return kindBool
	}
	return kindStr
}

func (in *ingester) ctxRecord(fs *fileState, ms []member) error {
	f := fs.f
	var (
		c, p, i int64
		n       string
		v       []byte
		hasC    bool
	)
	for _, m := range ms {
		switch string(m.key) {
		case "c":
			c, hasC = rawInt(m.val)
		case "p":
			p, _ = rawInt(m.val)
		case "n":
			if m.val[0] == '"' && bytes.IndexByte(m.val, '\\') < 0 {
				n = in.intern(m.val[1 : len(m.val)-1])
			} else {
				n, _ = rawString(m.val)
				n = in.intern([]byte(n))
			}
		case "i":
			i, _ = rawInt(m.val)
		case "v":
			v = m.val
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
		if bit := kindBit(rawKind(v)); bit != 0 {
			// Only scalars are loop values.
			val = string(v)
			bits = bit
			if n, ok := rawInt(v); !ok || bit != kindInt || n != i {
				bits |= notIter
			}
		}
	}
	if g.vtypes|bits != g.vtypes {
		g.vtypes |= bits
		g.dirty = true
	}
	fs.setSig(c, g.id)
	fs.push(openCtx{c: c, p: p, i: i, v: val, depth: g.depth})
	in.st.Records++
	in.emit(tCtx, f.sid, c, p, i, val, g.id)
	return nil
}

func (in *ingester) ckptRecord(fs *fileState, ms []member) error {
	f := fs.f
	var (
		e, o    int64
		b       string
		objs, x = "{}", "[]"
	)
	for _, m := range ms {
		switch string(m.key) {
		case "e":
			e, _ = rawInt(m.val)
		case "o":
			o, _ = rawInt(m.val)
		case "b":
			b, _ = rawString(m.val)
		case "objs":
			objs = string(m.val)
		case "x":
			x = string(m.val)
		}
	}
	in.st.Records++
	in.emit(tCkpts, f.sid, f.lines, e, b, o, objs, x)
	return nil
}

// refreshStatus recomputes the status of runs without an end record: a
// run that was running may have died since the last read.
func (s *Store) refreshStatus(ctx context.Context) error {
	rows, err := s.db.QueryContext(ctx, `SELECT rid, COALESCE(host, ''), COALESCE(pid, 0), status FROM raw.runs WHERE sid IS NOT NULL AND ended IS NULL`)
	if err != nil {
		return fmt.Errorf("%s: %w", s.path, err)
	}
	type change struct {
		rid    int32
		status string
	}
	var changes []change
	for rows.Next() {
		var rid int32
		var host, status string
		var pid int64
		if err := rows.Scan(&rid, &host, &pid, &status); err != nil {
			rows.Close()
			return err
		}
		now := "unfinished"
		if processAlive(s.opts.hostname, host, pid) {
			now = "running"
		}
		if now != status {
			changes = append(changes, change{rid, now})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, c := range changes {
		if _, err := s.db.ExecContext(ctx, `UPDATE raw.runs SET status = ? WHERE rid = ?`, c.status, c.rid); err != nil {
			return fmt.Errorf("%s: %w", s.path, err)
		}
	}
	return nil
}
