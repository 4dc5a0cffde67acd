package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/flordb/flor/internal/record"
)

// schemaVersion changes whenever the raw tables change shape. The database
// is a cache of the run files: a store of a version with a migration
// (migrations) is brought up to date in place, any other is rebuilt from
// them.
const schemaVersion = "8"

// The raw schema holds what the ingest appends, keyed by small integers;
// the views in main give it the names users query.
var rawDDL = []string{
	`CREATE SCHEMA IF NOT EXISTS raw`,
	`CREATE TABLE IF NOT EXISTS raw.meta (key VARCHAR, value VARCHAR)`,
	// One row per file read: how far it is ingested (off: just past the
	// last complete line); torn: the file's size when its torn last line
	// was reported, so it is reported once. Files without a usable run
	// record have no row: they are tried again.
	`CREATE TABLE IF NOT EXISTS raw.files (path VARCHAR, sid INTEGER, off BIGINT, lines BIGINT, torn BIGINT)`,
	// One row per ingested file (a run file or a replay file).
	`CREATE TABLE IF NOT EXISTS raw.sources (
		sid INTEGER, rid INTEGER, kind VARCHAR, path VARCHAR,
		replay_id VARCHAR, replay_names VARCHAR)`,
	// One row per run identity; the run-record fields come from the
	// recording's own file (sid), NULL while only replays of it are known.
	`CREATE TABLE IF NOT EXISTS raw.runs (
		rid INTEGER, projid VARCHAR, tstamp TIMESTAMP, filename VARCHAR,
		sid INTEGER, path VARCHAR, version INTEGER, snapshot VARCHAR,
		kwargs VARCHAR, argv VARCHAR, pid BIGINT, host VARCHAR, liveness DOUBLE,
		ended TIMESTAMP, status VARCHAR, slurm VARCHAR)`,
	// Loop signatures: the chain of loop names above a context, as a tree
	// (parent, name). vtypes is a bit set of the kinds of loop values seen.
	`CREATE TABLE IF NOT EXISTS raw.sigs (id INTEGER, parent INTEGER, name VARCHAR, depth INTEGER, vtypes INTEGER)`,
	// A context's loop name is its signature's name.
	`CREATE TABLE IF NOT EXISTS raw.ctx (sid INTEGER, c BIGINT, p BIGINT, i BIGINT, v VARCHAR, sig INTEGER)`,
	// Value names, by id.
	`CREATE TABLE IF NOT EXISTS raw.names (id INTEGER, name VARCHAR)`,
	// sig: the signature of the log's context (0 outside loops, -1 unknown);
	// ci, cp: that context's iteration and parent, copied here so the
	// dataframe needs no join for the innermost loop when its values are
	// its iterations (flor.Range);
	// t: a record.TypeCode (1 int, 2 float, 3 bool, 4 str, 5 json);
	// flags: record.Flags (1 arg, 2 internal); v: NULL for a JSON null.
	// Kept at ingest so a chart is one grouped scan, without casts or
	// window functions: y, an int or float value as a finite DOUBLE (else
	// NULL); k, where a non-NULL y is among the file's values of its name
	// with a non-NULL y (0, 1, ...); e, the iteration of the outermost loop
	// of the value's context (NULL outside loops or for an unknown one).
	// New columns go last: a migrated table has them there.
	`CREATE TABLE IF NOT EXISTS raw.logs (
		sid INTEGER, seq BIGINT, c BIGINT, ci BIGINT, cp BIGINT,
		sig INTEGER, nid INTEGER, t UTINYINT, v VARCHAR, flags UTINYINT,
		y DOUBLE, k BIGINT, e BIGINT)`,
	// Per file, name and signature: how many values, their kinds (bits as
	// raw.sigs.vtypes, json as str), their flags, whether the file logs
	// the name twice in one context (then the dataframe keeps the last),
	// and how many of the values have a y (raw.logs).
	`CREATE TABLE IF NOT EXISTS raw.stats (sid INTEGER, nid INTEGER, sig INTEGER, n BIGINT, kinds INTEGER, flags INTEGER, dups BOOLEAN, nk BIGINT)`,
	`CREATE TABLE IF NOT EXISTS raw.ckpts (sid INTEGER, seq BIGINT, e BIGINT, b VARCHAR, o BIGINT, objs VARCHAR, x VARCHAR)`,
	`CREATE TABLE IF NOT EXISTS raw.warns (sid INTEGER, seq BIGINT, msg VARCHAR)`,
}

var viewDDL = []string{
	`CREATE OR REPLACE VIEW runs AS
	SELECT projid, tstamp, filename, snapshot, kwargs::JSON AS kwargs, status,
		tstamp AS started, ended, pid, host, argv::JSON AS argv, path AS src,
		slurm::JSON AS slurm
	FROM raw.runs WHERE sid IS NOT NULL`,
	`CREATE OR REPLACE VIEW logs AS
	SELECT r.projid, r.tstamp, r.filename, l.c AS ctx_id, n.name AS value_name,
		l.v AS value, ` + typeNameSQL("l.t") + ` AS value_type,
		` + flagSQL("l.flags", record.FlagArg) + ` AS is_arg, ` + flagSQL("l.flags", record.FlagInternal) + ` AS internal,
		s.kind = 'replay' AS replayed, s.path AS src, l.seq AS line
	FROM raw.logs l JOIN raw.names n ON n.id = l.nid
	JOIN raw.sources s ON s.sid = l.sid JOIN raw.runs r ON r.rid = s.rid`,
	`CREATE OR REPLACE VIEW loops AS
	SELECT r.projid, r.tstamp, r.filename, c.c AS ctx_id, c.p AS p_ctx_id,
		g.name AS l_name, c.i AS iteration, c.v AS l_value, s.path AS src
	FROM raw.ctx c JOIN raw.sigs g ON g.id = c.sig
	JOIN raw.sources s ON s.sid = c.sid JOIN raw.runs r ON r.rid = s.rid`,
	`CREATE OR REPLACE VIEW checkpoints AS
	SELECT r.projid, r.tstamp, r.filename, k.e AS iteration, k.b AS block,
		k.o AS occurrence, k.objs::JSON AS objs, k.x::JSON AS extras, s.path AS src
	FROM raw.ckpts k JOIN raw.sources s ON s.sid = k.sid JOIN raw.runs r ON r.rid = s.rid`,
	`CREATE OR REPLACE VIEW lineage AS
	SELECT projid, tstamp, filename, r->>'projid' AS read_projid,
		CAST(r->>'tstamp' AS TIMESTAMP) AS read_tstamp, r->>'filename' AS read_filename
	FROM (SELECT projid, tstamp, filename, unnest(from_json(value, '["json"]')) AS r
		FROM logs WHERE value_name = '` + record.ReadName + `' AND value_type = 'json')`,
	`CREATE OR REPLACE VIEW warnings AS
	SELECT r.projid, r.tstamp, r.filename, w.msg, s.path AS src, w.seq AS line
	FROM raw.warns w JOIN raw.sources s ON s.sid = w.sid JOIN raw.runs r ON r.rid = s.rid`,
}

// typeNameSQL is the SQL expression of the type name of the type code in
// col (record.TypeNames, indexed from 1 by code as SQL lists are).
func typeNameSQL(col string) string {
	return "(['" + strings.Join(record.TypeNames[:], "', '") + "'])[" + col + "]"
}

// flagSQL is the SQL expression of whether the flags in col have flag.
func flagSQL(col string, flag record.Flags) string {
	return "(" + col + " & " + strconv.Itoa(int(flag)) + ") <> 0"
}

// migrate creates the schema, migrates it from an older version that has
// a migration, or rebuilds it when it was made by another version of the
// store.
func (s *Store) migrate(ctx context.Context) error {
	var version string
	err := s.db.QueryRowContext(ctx, `SELECT value FROM raw.meta WHERE key = 'schema'`).Scan(&version)
	switch {
	case err == nil && version == schemaVersion:
		return nil
	case err == nil && migratable(version):
		return s.migrateFrom(ctx, version)
	case err == nil, errors.Is(err, sql.ErrNoRows):
		// Another version: start over from the run files.
		if _, err := s.db.ExecContext(ctx, `DROP SCHEMA IF EXISTS raw CASCADE`); err != nil {
			return fmt.Errorf("%s: drop old schema: %w", s.path, err)
		}
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", s.path, err)
	}
	defer tx.Rollback()
	for _, q := range append(rawDDL, viewDDL...) {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: create schema: %w", s.path, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO raw.meta VALUES ('schema', ?)`, schemaVersion); err != nil {
		return fmt.Errorf("%s: %w", s.path, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: create schema: %w", s.path, err)
	}
	return nil
}
