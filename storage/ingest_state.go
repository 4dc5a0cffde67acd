package storage

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/flordb/flor/internal/record"
)

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
	liveness float64 // seconds between the writer's refreshes of its file's mtime; 0: none
	ended    time.Time
	status   string
	slurm    string // the run record's slurm object, "" outside Slurm
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
	torn  int64 // file size at which its torn last line was reported; 0: none
	known bool  // a row exists in raw.files
}

type sourceRow struct {
	sid, rid             int32
	kind, path           string
	replayID, replayName string
}

// statKey identifies a raw.stats row.
type statKey struct{ sid, nid, sig int32 }

type statRow struct {
	n            int64
	kinds, flags int
	dups         bool
	nk           int64 // values with a y (raw.logs)
}

func (s *Store) loadFiles(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}) (map[string]*fileRow, error) {
	rows, err := q.QueryContext(ctx, `SELECT path, sid, off, lines, torn FROM raw.files`)
	if err != nil {
		return nil, fmt.Errorf("%s: read ingest state: %w", s.path, err)
	}
	defer rows.Close()
	files := map[string]*fileRow{}
	for rows.Next() {
		f := &fileRow{known: true}
		if err := rows.Scan(&f.path, &f.sid, &f.off, &f.lines, &f.torn); err != nil {
			return nil, err
		}
		files[f.path] = f
	}
	return files, rows.Err()
}

// load reads the small tables the ingest needs in memory.
func (in *ingester) load(ctx context.Context) error {
	q := in.conn
	in.runs = map[runKey]*runRow{}
	in.byFile = map[string]*runRow{}
	rows, err := q.QueryContext(ctx, `SELECT rid, projid, tstamp, filename, COALESCE(sid, 0), COALESCE(path, ''),
		COALESCE(version, 0), COALESCE(snapshot, ''), COALESCE(kwargs, '{}'), COALESCE(argv, '[]'),
		COALESCE(pid, 0), COALESCE(host, ''), COALESCE(liveness, 0), ended, COALESCE(status, ''),
		COALESCE(slurm, '') FROM raw.runs`)
	if err != nil {
		return fmt.Errorf("%s: %w", in.s.path, err)
	}
	for rows.Next() {
		r := &runRow{}
		var ended sql.NullTime
		if err := rows.Scan(&r.rid, &r.key.projid, &r.key.tstamp, &r.key.filename, &r.sid, &r.path,
			&r.version, &r.snapshot, &r.kwargs, &r.argv, &r.pid, &r.host, &r.liveness, &ended, &r.status, &r.slurm); err != nil {
			rows.Close()
			return err
		}
		r.key.tstamp = r.key.tstamp.UTC()
		r.ended = ended.Time
		if first := in.runs[r.key]; first == nil || r.rid < first.rid {
			in.runs[r.key] = r
		}
		if r.path != "" {
			in.byFile[path.Base(r.path)] = r
		}
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

// save writes the small tables back: the new rows through appenders, the
// replaced ones deleted by multi-row statements, rather than a statement
// per file and run. All of it is inside the ingest's one transaction, so a
// crash still loses the whole ingest or nothing.
func (in *ingester) save(ctx context.Context, todo []*fileRow) error {
	exec := func(q string, args ...any) error {
		if _, err := in.conn.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("%s: save ingest state: %w", in.s.path, err)
		}
		return nil
	}
	// Known files are deleted and appended again with the new ones.
	del := deleteBatch{exec: exec, head: `DELETE FROM raw.files WHERE path IN (`}
	for _, f := range todo {
		if f.known {
			if err := del.add(f.path); err != nil {
				return err
			}
		}
	}
	if err := del.flush(); err != nil {
		return err
	}
	err := in.appendRows("files", func(add func(...driver.Value) error) error {
		for _, f := range todo {
			// Unreadable (sid < 0, see unreadable): not remembered, so read again.
			if f.sid >= 0 {
				if err := add(f.path, f.sid, f.off, f.lines, f.torn); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	err = in.appendRows("sources", func(add func(...driver.Value) error) error {
		for _, src := range in.sources {
			if err := add(src.sid, src.rid, src.kind, src.path, nullString(src.replayID), nullString(src.replayName)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	del = deleteBatch{exec: exec, head: `DELETE FROM raw.runs WHERE rid IN (`}
	for _, r := range in.runList {
		if r.dirty {
			if err := del.add(r.rid); err != nil {
				return err
			}
		}
	}
	if err := del.flush(); err != nil {
		return err
	}
	err = in.appendRows("runs", func(add func(...driver.Value) error) error {
		for _, r := range in.runList {
			if !r.dirty {
				continue
			}
			var sid, ended, pid driver.Value
			if r.sid != 0 {
				sid, pid = r.sid, r.pid
			}
			if !r.ended.IsZero() {
				ended = r.ended
			}
			if err := add(r.rid, r.key.projid, r.key.tstamp, r.key.filename, sid, nullString(r.path), int32(r.version),
				r.snapshot, r.kwargs, r.argv, pid, r.host, r.liveness, ended, r.status, nullString(r.slurm)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	err = in.appendRows("names", func(add func(...driver.Value) error) error {
		for i, n := range in.newName {
			if err := add(in.nextNid-int32(len(in.newName))+int32(i), n); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	del = deleteBatch{exec: exec, head: `DELETE FROM raw.stats WHERE sid IN (`}
	for sid := range in.touched {
		if err := del.add(sid); err != nil {
			return err
		}
	}
	if err := del.flush(); err != nil {
		return err
	}
	err = in.appendRows("stats", func(add func(...driver.Value) error) error {
		for k, st := range in.stats {
			if err := add(k.sid, k.nid, k.sig, st.n, int32(st.kinds), int32(st.flags), st.dups, st.nk); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if in.unresolved {
		// Logs of contexts that were closed when they were logged: copy the
		// context's fields now that both are in the tables.
		if err := exec(`UPDATE raw.logs l SET ci = x.i, cp = x.p FROM raw.ctx x
			WHERE l.ci IS NULL AND l.c <> 0 AND l.sig > 0 AND x.sid = l.sid AND x.c = l.c`); err != nil {
			return err
		}
	}
	del = deleteBatch{exec: exec, head: `DELETE FROM raw.sigs WHERE id IN (`}
	for _, g := range in.sigByID {
		if g != nil && g.dirty {
			if err := del.add(g.id); err != nil {
				return err
			}
		}
	}
	if err := del.flush(); err != nil {
		return err
	}
	return in.appendRows("sigs", func(add func(...driver.Value) error) error {
		for _, g := range in.sigByID {
			if g != nil && g.dirty {
				if err := add(g.id, g.parent, g.name, g.depth, int32(g.vtypes)); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// appendRows appends the rows rows gives to raw.table through an appender
// on the ingest's connection, so inside its transaction.
func (in *ingester) appendRows(table string, rows func(add func(...driver.Value) error) error) error {
	err := in.conn.Raw(func(dc any) error {
		a, err := duckdb.NewAppender(dc.(driver.Conn), "", "raw", table)
		if err != nil {
			return err
		}
		if err := rows(a.AppendRow); err != nil {
			a.Close()
			return err
		}
		return a.Close()
	})
	if err != nil {
		return fmt.Errorf("%s: save ingest state: raw.%s: %w", in.s.path, table, err)
	}
	return nil
}

// deleteArgs bounds the keys of one DELETE: 10,000 runs take a few
// statements, and binding stays cheap.
const deleteArgs = 2000

// deleteBatch builds DELETE statements of the form head ?, ?, ... ) and
// runs one whenever deleteArgs keys are bound.
type deleteBatch struct {
	exec func(q string, args ...any) error
	head string
	b    strings.Builder
	args []any
}

func (t *deleteBatch) add(key any) error {
	if len(t.args) > 0 {
		t.b.WriteByte(',')
	}
	t.b.WriteByte('?')
	t.args = append(t.args, key)
	if len(t.args) >= deleteArgs {
		return t.flush()
	}
	return nil
}

func (t *deleteBatch) flush() error {
	if len(t.args) == 0 {
		return nil
	}
	err := t.exec(t.head+t.b.String()+")", t.args...)
	t.b.Reset()
	t.args = t.args[:0]
	return err
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
	n, ok := record.String(raw)
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

// newNameOf returns a name by id (for messages).
func (in *ingester) newNameOf(id int32) string {
	for n, i := range in.nameIDs {
		if i == id {
			return n
		}
	}
	return ""
}
