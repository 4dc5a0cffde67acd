package storage

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestQueryCannotChangeTheStore: every kind of statement that could change
// the store or touch the file system is refused with ErrReadOnly, and
// afterwards the store and the file system are as they were.
func TestQueryCannotChangeTheStore(t *testing.T) {
	home := t.TempDir()
	ts := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	rf := newRunFile(t, home, ts, runOpts{})
	rf.log(0, "x", 1)
	rf.end(ts)
	rf.close()
	out := t.TempDir()
	ctx := context.Background()
	s := openTest(t, home)
	file := func(name string) string { return filepath.ToSlash(filepath.Join(out, name)) }
	cases := []struct{ name, sql, want string }{
		{"commit then update", "COMMIT; UPDATE raw.runs SET status = 'x'", "begins with COMMIT"},
		{"commit then delete", "COMMIT; DELETE FROM raw.logs", "begins with COMMIT"},
		{"commit then drop", "COMMIT; DROP VIEW logs", "begins with COMMIT"},
		{"update", "UPDATE raw.runs SET status = 'x'", "begins with UPDATE"},
		{"delete", "DELETE FROM raw.logs", "begins with DELETE"},
		{"drop", "DROP VIEW logs", "begins with DROP"},
		{"drop schema", "DROP SCHEMA raw CASCADE", "begins with DROP"},
		{"insert", "INSERT INTO raw.names VALUES (99, 'evil')", "begins with INSERT"},
		{"create", "CREATE TABLE t AS SELECT 1 AS a", "begins with CREATE"},
		{"create view", "CREATE OR REPLACE VIEW logs AS SELECT 1", "begins with CREATE"},
		{"alter", "ALTER VIEW logs RENAME TO gone", "begins with ALTER"},
		{"copy to", "COPY (SELECT * FROM logs) TO '" + file("out.csv") + "'", "begins with COPY"},
		{"export", "EXPORT DATABASE '" + file("exp") + "'", "begins with EXPORT"},
		{"attach", "ATTACH '" + file("other.duckdb") + "' AS other", "begins with ATTACH"},
		{"install", "INSTALL httpfs", "begins with INSTALL"},
		{"load", "LOAD httpfs", "begins with LOAD"},
		{"set", "SET enable_external_access = true", "begins with SET"},
		{"pragma", "PRAGMA enable_profiling", "begins with PRAGMA"},
		{"call checkpoint", "CALL checkpoint()", "begins with CALL"},
		{"select then update", "SELECT 1; UPDATE raw.runs SET status = 'x'", "is not a SELECT"},
		{"two selects", "SELECT 1; SELECT 2", "holds 2 statements"},
		{"comment first", "/* hi */ -- there\n DELETE FROM raw.logs", "begins with DELETE"},
		{"read a file", "SELECT * FROM read_csv('/etc/passwd')", "disabled by configuration"},
		{"read a file 2", "SELECT * FROM read_text('" + file("x") + "')", "disabled by configuration"},
		{"glob", "SELECT * FROM glob('/*')", "disabled by configuration"},
	}
	before := counts(t, s)
	rawBefore := rawFingerprint(t, s)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.Query(ctx, c.sql)
			if !errors.Is(err, ErrReadOnly) {
				t.Fatalf("%s: %v, want ErrReadOnly", c.sql, err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: %v, want it to say %q", c.sql, err, c.want)
			}
		})
	}
	if after := counts(t, s); !equalCounts(before, after) {
		t.Errorf("store changed: %v, was %v", after, before)
	}
	if got := rawFingerprint(t, s); got != rawBefore {
		t.Errorf("raw tables changed: %s, were %s", got, rawBefore)
	}
	f, err := s.Query(ctx, "SELECT count(*) AS n FROM logs")
	if err != nil || f.Rows[0][0] != int64(1) {
		t.Errorf("logs after the refused statements: %v %v", f, err)
	}
	if ents, _ := os.ReadDir(out); len(ents) > 0 {
		t.Errorf("queries created files: %v", ents)
	}
	ents, _ := os.ReadDir(home)
	for _, e := range ents {
		if e.Name() != "runs" && !strings.HasPrefix(e.Name(), DBName) {
			t.Errorf("queries created %s in the home", e.Name())
		}
	}
	// What reads is still allowed.
	for _, q := range []string{"SELECT 1;", "FROM runs", "WITH a AS (SELECT 1 AS x) SELECT * FROM a", "DESCRIBE logs", "SELECT 1 UNION ALL SELECT 2"} {
		if _, err := s.Query(ctx, q); err != nil {
			t.Errorf("%s: %v", q, err)
		}
	}
	s.Close()
	// And reopened, the store holds what it held.
	s = openTest(t, home)
	if after := counts(t, s); !equalCounts(before, after) {
		t.Errorf("store changed after reopening: %v, was %v", after, before)
	}
}

// rawFingerprint summarises the raw tables the refused statements aim at.
func rawFingerprint(t *testing.T, s *Store) string {
	t.Helper()
	var fp string
	err := s.DB().QueryRow(`SELECT concat_ws('/', (SELECT string_agg(rid || ':' || COALESCE(status, '-'), ',') FROM raw.runs),
		(SELECT count(*) FROM raw.names), (SELECT count(*) FROM raw.logs),
		(SELECT count(*) FROM information_schema.tables))`).Scan(&fp)
	if err != nil {
		t.Fatal(err)
	}
	return fp
}
