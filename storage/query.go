package storage

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"io"
	"math"
	"math/big"
	"strconv"
	"strings"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// Query runs arbitrary SQL against the store (after an Ingest) and returns
// its result. The tables it can read are listed in the package
// documentation. The query runs in a transaction that is rolled back, so
// it cannot change the store: the store is a cache of the run files, and
// a DROP or an INSERT would only make it disagree with them. When DuckDB
// rejects the query, the error wraps ErrSQL and carries DuckDB's message.
func (s *Store) Query(ctx context.Context, query string) (*Frame, error) {
	if _, err := s.Ingest(ctx); err != nil {
		return nil, err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, sqlError(err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, query)
	if err != nil {
		return nil, sqlError(err)
	}
	defer rows.Close()
	f, err := scanFrame(rows)
	if err != nil {
		return nil, sqlError(err)
	}
	return f, nil
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
