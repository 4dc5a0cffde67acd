package storage

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// Query runs one SELECT statement against the store (after an Ingest)
// and returns its result. The tables it can read are listed in the package
// documentation.
//
// The store is a cache of the run files, and a query only reads it: SQL
// that is not a single SELECT (an UPDATE, a DROP, a COPY, an ATTACH, a
// COMMIT, several statements...) is refused before it runs, with an error
// wrapping ErrReadOnly. The SELECT runs in a read-only transaction that is
// rolled back, on a database that cannot reach the file system, so
// read_csv or a function with side effects fails with ErrReadOnly too.
// When DuckDB rejects the query otherwise, the error wraps ErrSQL and
// carries DuckDB's message.
func (s *Store) Query(ctx context.Context, query string) (*Frame, error) {
	if _, err := s.Ingest(ctx); err != nil {
		return nil, err
	}
	if err := s.checkSelect(ctx, query); err != nil {
		return nil, err
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, sqlError(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `BEGIN TRANSACTION READ ONLY`); err != nil {
		return nil, sqlError(err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `ROLLBACK`)
	// A second opinion from the prepared statement itself. Preparing runs
	// every statement but the last, which is safe only now that the parse
	// above found exactly one.
	err = conn.Raw(func(dc any) error {
		pc, ok := dc.(driver.ConnPrepareContext)
		if !ok {
			return fmt.Errorf("driver connection %T cannot prepare", dc)
		}
		st, err := pc.PrepareContext(ctx, query)
		if err != nil {
			return err
		}
		defer st.Close()
		if ds, ok := st.(*duckdb.Stmt); ok {
			if t, err := ds.StatementType(); err != nil || t != duckdb.STATEMENT_TYPE_SELECT {
				return fmt.Errorf("%w: flor query runs a single SELECT statement", ErrReadOnly)
			}
		}
		return nil
	})
	if err != nil {
		return nil, queryError(err)
	}
	rows, err := conn.QueryContext(ctx, query)
	if err != nil {
		return nil, queryError(err)
	}
	defer rows.Close()
	f, err := scanFrame(rows)
	if err != nil {
		return nil, queryError(err)
	}
	return f, nil
}

// queryError wraps an error of a user's query: ErrReadOnly when DuckDB
// refused it a file or a write, else ErrSQL.
func queryError(err error) error {
	if errors.Is(err, ErrReadOnly) {
		return err
	}
	var de *duckdb.Error
	if errors.As(err, &de) && (de.Type == duckdb.ErrorTypePermission || de.Type == duckdb.ErrorTypeTransaction) {
		return fmt.Errorf("%w: %w", ErrReadOnly, err)
	}
	return sqlError(err)
}

// checkSelect refuses SQL that is not exactly one SELECT statement, using
// DuckDB's own parser, before anything of it runs.
func (s *Store) checkSelect(ctx context.Context, query string) error {
	tree, err := s.parseSQL(ctx, query)
	if err != nil {
		return err
	}
	if tree.Error {
		if tree.ErrorType == "not implemented" {
			// json_serialize_sql serializes SELECT statements only.
			what := "holds a statement that is not a SELECT"
			if kw := firstKeyword(query); kw != "" && !slices.Contains([]string{"SELECT", "WITH", "FROM", "VALUES", "TABLE", "SHOW", "DESCRIBE", "SUMMARIZE"}, kw) {
				what = "begins with " + kw
			}
			return fmt.Errorf("%w: flor query runs a single SELECT statement, and this SQL %s", ErrReadOnly, what)
		}
		if tree.ErrorType == "parser" {
			// Nothing of SQL that does not parse can run: let DuckDB
			// say what is wrong, with its pointer into the text.
			return nil
		}
		return fmt.Errorf("%w: %s", ErrReadOnly, tree.ErrorMessage)
	}
	switch n := len(tree.Statements); n {
	case 1:
		return nil
	case 0:
		return fmt.Errorf("%w: no SQL statement given", ErrSQL)
	default:
		return fmt.Errorf("%w: flor query runs a single SELECT statement, and this SQL holds %d statements", ErrReadOnly, n)
	}
}

// parsedSQL is the part of json_serialize_sql's output the checks read.
type parsedSQL struct {
	Error        bool              `json:"error"`
	ErrorType    string            `json:"error_type"`
	ErrorMessage string            `json:"error_message"`
	Statements   []json.RawMessage `json:"statements"`
}

// parseSQL parses text with DuckDB's parser; nothing of it runs.
func (s *Store) parseSQL(ctx context.Context, text string) (*parsedSQL, error) {
	if strings.IndexByte(text, 0) >= 0 || !utf8.ValidString(text) {
		return nil, fmt.Errorf("%w: the SQL holds a NUL byte or invalid UTF-8", ErrSQL)
	}
	var out string
	// json_serialize_sql takes a constant, not a parameter.
	if err := s.db.QueryRowContext(ctx, `SELECT json_serialize_sql(`+quoteString(text)+`)::VARCHAR`).Scan(&out); err != nil {
		return nil, sqlError(err)
	}
	var p parsedSQL
	if err := json.Unmarshal(plainJSON(out), &p); err != nil {
		return nil, fmt.Errorf("%w: parse tree: %w", ErrSQL, err)
	}
	return &p, nil
}

// plainJSON makes json_serialize_sql's output JSON: it writes a double
// out of range as a bare Infinity, -Infinity or NaN, which become null.
func plainJSON(s string) []byte {
	b := make([]byte, 0, len(s))
	inString, escaped := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		default:
			for _, tok := range []string{"-Infinity", "Infinity", "NaN"} {
				if strings.HasPrefix(s[i:], tok) {
					b = append(b, "null"...)
					i += len(tok) - 1
					c = 0
					break
				}
			}
			if c == 0 {
				continue
			}
		}
		b = append(b, c)
	}
	return b
}

// firstKeyword returns the first word of SQL, upper-cased, past comments,
// for the message that refuses it.
func firstKeyword(query string) string {
	q := query
	for {
		q = strings.TrimLeft(q, " \t\r\n;(")
		switch {
		case strings.HasPrefix(q, "--"):
			if i := strings.IndexByte(q, '\n'); i >= 0 {
				q = q[i:]
				continue
			}
			q = ""
		case strings.HasPrefix(q, "/*"):
			if i := strings.Index(q, "*/"); i >= 0 {
				q = q[i+2:]
				continue
			}
			q = ""
		}
		break
	}
	end := strings.IndexFunc(q, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '_')
	})
	if end < 0 {
		end = len(q)
	}
	return strings.ToUpper(q[:end])
}

// sqlError wraps a DuckDB error as ErrSQL, keeping DuckDB's message.
func sqlError(err error) error {
	return fmt.Errorf("%w: %w", ErrSQL, err)
}

// scanFrame reads a result set into a Frame.
func scanFrame(rows *sql.Rows) (*Frame, error) {
	types, err := rows.ColumnTypes()
	if err != nil {
		return nil, err
	}
	f := &Frame{Columns: make([]Column, len(types))}
	for i, t := range types {
		f.Columns[i] = Column{Name: t.Name(), Type: strings.ToUpper(t.DatabaseTypeName())}
	}
	n := len(types)
	ptrs := make([]any, n)
	var c rowCollector
	for rows.Next() {
		row := c.next(n)
		for i := range row {
			ptrs[i] = &row[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		for i, v := range row {
			row[i] = normalize(v)
		}
	}
	f.Rows = c.rows()
	return f, rows.Err()
}

// rawQuery runs a query on a driver connection and calls each for every
// row. Skipping database/sql's per-row Scan halves the cost of reading a
// million rows; the slice passed to each is reused.
func (s *Store) rawQuery(ctx context.Context, q string, each func([]driver.Value) error) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		qc, ok := dc.(driver.QueryerContext)
		if !ok {
			return fmt.Errorf("driver connection %T cannot query", dc)
		}
		rows, err := qc.QueryContext(ctx, q, nil)
		if err != nil {
			return err
		}
		defer rows.Close()
		dest := make([]driver.Value, len(rows.Columns()))
		for {
			if err := rows.Next(dest); err == io.EOF {
				return nil
			} else if err != nil {
				return err
			}
			if err := each(dest); err != nil {
				return err
			}
		}
	})
}

// rowCollector hands out rows from large blocks and gathers them in
// chunks, so a million-row result costs a few allocations and no repeated
// copying of a growing slice.
type rowCollector struct {
	chunks [][][]any
	cur    [][]any
	block  []any
}

const chunkRows = 4096

// next returns a fresh row of n values, kept in order.
func (c *rowCollector) next(n int) []any {
	if len(c.cur) == cap(c.cur) {
		if c.cur != nil {
			c.chunks = append(c.chunks, c.cur)
		}
		c.cur = make([][]any, 0, chunkRows)
		c.block = make([]any, n*chunkRows)
	}
	row := c.block[:n:n]
	c.block = c.block[n:]
	c.cur = append(c.cur, row)
	return row
}

// rows returns all rows in one slice.
func (c *rowCollector) rows() [][]any {
	total := len(c.cur)
	for _, ch := range c.chunks {
		total += len(ch)
	}
	out := make([][]any, 0, total)
	for _, ch := range c.chunks {
		out = append(out, ch...)
	}
	return append(out, c.cur...)
}

// normalize maps the driver's values to the few Go types a Frame promises:
// integers to int64, floats (and decimals) to float64; bytes are copied,
// as database/sql reuses them.
func normalize(v any) any {
	switch x := v.(type) {
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case int:
		return int64(x)
	case uint8:
		return int64(x)
	case uint16:
		return int64(x)
	case uint32:
		return int64(x)
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x)
		}
		return strconv.FormatUint(x, 10)
	case float32:
		return float64(x)
	case duckdb.Decimal:
		return x.Float64()
	case *big.Int:
		if x.IsInt64() {
			return x.Int64()
		}
		return x.String()
	case duckdb.UUID:
		return x.String()
	case duckdb.Union:
		return normalize(x.Value)
	case []byte:
		return append([]byte(nil), x...)
	}
	return v
}

// quoteIdent quotes a name as a DuckDB identifier, so any text (quotes,
// spaces, keywords) can name a column.
func quoteIdent(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// quoteString quotes text as a DuckDB string literal.
func quoteString(s string) string {
	return `'` + strings.ReplaceAll(s, `'`, `''`) + `'`
}
