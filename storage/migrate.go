package storage

import (
	"context"
	"fmt"
)

// A migration brings a store of one schema version to the next in place.
// The store is a cache of the run files, but rebuilding it reads every
// file again (minutes for millions of records) and loses what it holds of
// files removed since, so a change that can be derived from the tables is
// made from them.
type migration struct {
	to    string
	stmts []string
}

// migrations by the version they start from.
var migrations = map[string]migration{
	"7": {to: "8", stmts: migrate7to8},
}

// migrate7to8 adds raw.logs.y, k, e and raw.stats.nk, derived as the
// ingest derives them (logRecord, ctxRecord): the tables are rebuilt
// rather than updated, which for millions of rows is much faster in
// DuckDB, and the views are made again afterwards.
var migrate7to8 = []string{
	`CREATE TABLE raw.logs8 AS
	WITH RECURSIVE up(sid, c, p, i, togo) AS (
		-- A context's outermost loop is depth - 1 parents up.
		SELECT x.sid, x.c, x.p, x.i, g.depth - 1 FROM raw.ctx x JOIN raw.sigs g ON g.id = x.sig
		UNION ALL
		SELECT u.sid, u.c, x.p, x.i, u.togo - 1 FROM up u JOIN raw.ctx x ON x.sid = u.sid AND x.c = u.p
		WHERE u.togo > 0),
	roots AS (SELECT sid, c, arg_min(i, togo) AS e FROM up GROUP BY sid, c),
	ys AS (SELECT l.*, CASE WHEN l.t IN (1, 2) AND isfinite(TRY_CAST(l.v AS DOUBLE)) THEN TRY_CAST(l.v AS DOUBLE) END AS y
		FROM raw.logs l)
	SELECT l.sid, l.seq, l.c, l.ci, l.cp, l.sig, l.nid, l.t, l.v, l.flags, l.y,
		CASE WHEN l.y IS NOT NULL THEN row_number() OVER (PARTITION BY l.sid, l.nid, l.y IS NULL ORDER BY l.seq) - 1 END AS k,
		CASE WHEN l.c <> 0 AND l.sig > 0 THEN r.e END AS e
	FROM ys l LEFT JOIN roots r ON r.sid = l.sid AND r.c = l.c
	ORDER BY l.sid, l.seq`,
	`DROP TABLE raw.logs`,
	`ALTER TABLE raw.logs8 RENAME TO logs`,
	`CREATE TABLE raw.stats8 AS
	SELECT st.sid, st.nid, st.sig, st.n, st.kinds, st.flags, st.dups, COALESCE(c.nk, 0) AS nk
	FROM raw.stats st LEFT JOIN (SELECT sid, nid, sig, count(y) AS nk FROM raw.logs GROUP BY sid, nid, sig) c
		ON c.sid = st.sid AND c.nid = st.nid AND c.sig = st.sig`,
	`DROP TABLE raw.stats`,
	`ALTER TABLE raw.stats8 RENAME TO stats`,
}

// migratable reports whether migrations lead from version to schemaVersion.
func migratable(version string) bool {
	for range len(migrations) + 1 {
		if version == schemaVersion {
			return true
		}
		m, ok := migrations[version]
		if !ok {
			return false
		}
		version = m.to
	}
	return false
}

// migrateFrom migrates the schema from version to schemaVersion in one
// transaction, so a crash leaves the old store whole.
func (s *Store) migrateFrom(ctx context.Context, version string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", s.path, err)
	}
	defer tx.Rollback()
	for version != schemaVersion {
		m, ok := migrations[version]
		if !ok {
			return fmt.Errorf("%s: no migration from schema %s", s.path, version)
		}
		for _, q := range m.stmts {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("%s: migrate schema %s to %s: %w", s.path, version, m.to, err)
			}
		}
		version = m.to
	}
	for _, q := range viewDDL {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: migrate schema: %w", s.path, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE raw.meta SET value = ? WHERE key = 'schema'`, schemaVersion); err != nil {
		return fmt.Errorf("%s: %w", s.path, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: migrate schema: %w", s.path, err)
	}
	return nil
}
