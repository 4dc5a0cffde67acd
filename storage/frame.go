package storage

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/flordb/flor/internal/record"
)

// Column is one column of a Frame.
type Column struct {
	Name string
	// Type is the DuckDB type name: BIGINT, DOUBLE, BOOLEAN, VARCHAR,
	// TIMESTAMP, ... The Go values in the column are then int64, float64,
	// bool, string, time.Time, or what database/sql gives for other types.
	Type string
}

// Frame is a table of typed values: the result of Dataframe and Query.
type Frame struct {
	Columns []Column
	// Rows holds one slice per row, a value per column; nil is NULL.
	Rows [][]any
	// Notes says what the user should know about the result, such as a
	// requested name that no run logged.
	Notes []string
}

// Len returns the number of rows.
func (f *Frame) Len() int { return len(f.Rows) }

// Col returns the index of the column called name, or -1.
func (f *Frame) Col(name string) int {
	for i, c := range f.Columns {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// Value returns the value of column name in row i (nil for NULL or an
// unknown column).
func (f *Frame) Value(i int, name string) any {
	j := f.Col(name)
	if j < 0 || i < 0 || i >= len(f.Rows) {
		return nil
	}
	return f.Rows[i][j]
}

// Formats lists the output formats Write accepts.
var Formats = []string{"table", "csv", "json"}

// ErrFormat: an output format that is not one of Formats.
var ErrFormat = errors.New("unknown output format")

// TableOptions shapes the table format.
type TableOptions struct {
	// MaxRows > 0 shows only the first and last MaxRows/2 rows of a longer
	// frame, like a pandas print.
	MaxRows int
	// MaxWidth > 0 drops middle columns until the table fits the width.
	MaxWidth int
	// MaxCell bounds the width of a cell (default 40); longer text ends in "…".
	MaxCell int
}

// Write writes the frame in format "table", "csv" or "json".
func (f *Frame) Write(w io.Writer, format string, topts TableOptions) error {
	switch format {
	case "table", "":
		return f.WriteTable(w, topts)
	case "csv":
		return f.WriteCSV(w)
	case "json":
		return f.WriteJSON(w)
	}
	return fmt.Errorf("%w %q (want one of %s)", ErrFormat, format, strings.Join(Formats, ", "))
}

// TimeFormat is how timestamps print: RFC 3339 in UTC with microseconds,
// as in run records.
const TimeFormat = record.TimeLayout

// formatFloat prints a float the way run records do: shortest exact form,
// with NaN and infinities spelled as strings JSON can carry.
func formatFloat(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return floatText(strconv.AppendFloat(nil, v, 'g', -1, 64))
}

// floatText marks an integral float as a float ("1.0", not "1"), so csv
// and json readers keep the column's type, as Python's json does.
func floatText(b []byte) string {
	for _, c := range b {
		if c == '.' || c == 'e' || c == 'n' || c == 'I' {
			return string(b)
		}
	}
	return string(b) + ".0"
}

// text renders a value exactly (csv, and the base of table cells).
func text(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case int64:
		return strconv.FormatInt(v, 10)
	case int32:
		return strconv.FormatInt(int64(v), 10)
	case float64:
		return formatFloat(v)
	case float32:
		return formatFloat(float64(v))
	case bool:
		return strconv.FormatBool(v)
	case time.Time:
		return v.UTC().Format(TimeFormat)
	case []byte:
		return string(v)
	case fmt.Stringer:
		return v.String()
	}
	if b, err := json.Marshal(v); err == nil {
		return string(b)
	}
	return fmt.Sprint(v)
}

func isNumeric(v any) bool {
	switch v.(type) {
	case int64, int32, int16, int8, int, uint64, uint32, uint16, uint8, float64, float32:
		return true
	}
	return false
}

// WriteCSV writes a header line and one line per row. Numbers and booleans
// are written bare, NULL as an empty field, timestamps in TimeFormat.
func (f *Frame) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	rec := make([]string, len(f.Columns))
	for i, c := range f.Columns {
		rec[i] = c.Name
	}
	if err := cw.Write(rec); err != nil {
		return err
	}
	for _, row := range f.Rows {
		for i, v := range row {
			rec[i] = text(v)
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteJSON writes an array with one object per row, keys in column order.
// Numbers are JSON numbers (NaN and infinities the strings "NaN", "+Inf",
// "-Inf"), NULL is null, timestamps are strings in TimeFormat.
func (f *Frame) WriteJSON(w io.Writer) error {
	bw := bufio.NewWriter(w)
	keys := make([][]byte, len(f.Columns))
	for i, c := range f.Columns {
		keys[i] = jsonString(c.Name)
	}
	bw.WriteString("[")
	var num []byte
	for r, row := range f.Rows {
		if r > 0 {
			bw.WriteString(",")
		}
		bw.WriteString("\n  {")
		for i, v := range row {
			if i > 0 {
				bw.WriteString(", ")
			}
			bw.Write(keys[i])
			bw.WriteString(": ")
			switch v := v.(type) {
			case nil:
				bw.WriteString("null")
			case int64:
				bw.Write(strconv.AppendInt(num[:0], v, 10))
			case float64:
				if math.IsNaN(v) || math.IsInf(v, 0) {
					bw.WriteString(`"` + formatFloat(v) + `"`)
				} else {
					bw.WriteString(formatFloat(v))
				}
			case bool:
				bw.WriteString(strconv.FormatBool(v))
			case time.Time:
				bw.WriteString(`"` + v.UTC().Format(TimeFormat) + `"`)
			case string:
				bw.Write(jsonString(v))
			default:
				if isNumeric(v) {
					bw.WriteString(text(v))
				} else if b, err := json.Marshal(v); err == nil {
					bw.Write(b)
				} else {
					bw.Write(jsonString(text(v)))
				}
			}
		}
		bw.WriteString("}")
	}
	if len(f.Rows) > 0 {
		bw.WriteString("\n")
	}
	bw.WriteString("]\n")
	return bw.Flush()
}

// jsonString quotes s as a JSON string, leaving <, > and & as they are.
func jsonString(s string) []byte {
	plain := true
	for i := 0; i < len(s) && plain; i++ {
		c := s[i]
		plain = c >= 0x20 && c < 0x80 && c != '"' && c != '\\'
	}
	if plain {
		b := make([]byte, 0, len(s)+2)
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(s)
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// cell renders a value for the table format: floats to 6 significant
// digits like a pandas print, control characters escaped, long text cut.
func cell(v any, maxCell int) string {
	var s string
	switch v := v.(type) {
	case nil:
		return "NULL"
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			s = formatFloat(v)
		} else {
			s = floatText(strconv.AppendFloat(nil, v, 'g', 6, 64))
		}
	default:
		s = text(v)
	}
	if needsEscape(s) {
		q := strconv.Quote(s)
		s = q[1 : len(q)-1]
	}
	if utf8.RuneCountInString(s) > maxCell {
		r := []rune(s)
		s = string(r[:maxCell-1]) + "…"
	}
	return s
}

// needsEscape reports whether text would do more on a terminal than show
// itself: control characters (C0, DEL, C1 such as CSI), format characters
// (bidirectional overrides, zero-width marks), invalid UTF-8. Such a cell
// is written as a Go string literal without its quotes: "\x1b[2J", "\n".
func needsEscape(s string) bool {
	for i, r := range s {
		if r == utf8.RuneError {
			if _, n := utf8.DecodeRuneInString(s[i:]); n == 1 {
				return true
			}
		}
		if r != ' ' && !unicode.IsPrint(r) {
			return true
		}
	}
	return false
}

// WriteTable writes the frame as aligned text: a header, then one line per
// row, numbers right-aligned. A cut frame ends with its full size.
func (f *Frame) WriteTable(w io.Writer, o TableOptions) error {
	if o.MaxCell <= 1 {
		o.MaxCell = 40
	}
	// Which rows: all, or head and tail around a "..." line.
	rows := make([]int, 0, len(f.Rows))
	cutRows := o.MaxRows > 0 && len(f.Rows) > o.MaxRows
	if cutRows {
		head := (o.MaxRows + 1) / 2
		tail := o.MaxRows / 2
		for i := range head {
			rows = append(rows, i)
		}
		rows = append(rows, -1)
		for i := len(f.Rows) - tail; i < len(f.Rows); i++ {
			rows = append(rows, i)
		}
	} else {
		for i := range f.Rows {
			rows = append(rows, i)
		}
	}
	ncol := len(f.Columns)
	cells := make([][]string, len(rows))
	width := make([]int, ncol)
	right := make([]bool, ncol)
	for j, c := range f.Columns {
		name := cell(c.Name, o.MaxCell)
		width[j] = utf8.RuneCountInString(name)
		switch c.Type {
		case "BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT", "UINTEGER", "USMALLINT", "UTINYINT", "DOUBLE", "FLOAT", "REAL":
			right[j] = true
		default:
			right[j] = strings.HasPrefix(c.Type, "DECIMAL")
		}
	}
	for k, i := range rows {
		cells[k] = make([]string, ncol)
		for j := range ncol {
			s := "..."
			if i >= 0 {
				s = cell(f.Rows[i][j], o.MaxCell)
			}
			cells[k][j] = s
			width[j] = max(width[j], utf8.RuneCountInString(s))
		}
	}
	// Which columns: all, or the outer ones around a "..." column.
	cols := make([]int, 0, ncol)
	cutCols := false
	if total := sum(width) + 2*max(ncol-1, 0); o.MaxWidth > 0 && total > o.MaxWidth && ncol > 2 {
		cutCols = true
		var left, rightCols []int
		used := 3 // the "..." column
		for l, r := 0, ncol-1; l <= r; {
			if used+width[l]+2 > o.MaxWidth {
				break
			}
			used += width[l] + 2
			left = append(left, l)
			l++
			if l > r || used+width[r]+2 > o.MaxWidth {
				break
			}
			used += width[r] + 2
			rightCols = append([]int{r}, rightCols...)
			r--
		}
		cols = append(cols, left...)
		cols = append(cols, -1)
		cols = append(cols, rightCols...)
	} else {
		for j := range ncol {
			cols = append(cols, j)
		}
	}
	bw := bufio.NewWriter(w)
	writeLine := func(get func(j int) string) {
		var line strings.Builder
		for k, j := range cols {
			if k > 0 {
				line.WriteString("  ")
			}
			if j < 0 {
				line.WriteString("...")
				continue
			}
			s := get(j)
			pad := width[j] - utf8.RuneCountInString(s)
			if right[j] {
				line.WriteString(strings.Repeat(" ", pad))
				line.WriteString(s)
			} else {
				line.WriteString(s)
				if k < len(cols)-1 {
					line.WriteString(strings.Repeat(" ", pad))
				}
			}
		}
		bw.WriteString(strings.TrimRight(line.String(), " "))
		bw.WriteString("\n")
	}
	writeLine(func(j int) string { return cell(f.Columns[j].Name, o.MaxCell) })
	for k := range rows {
		writeLine(func(j int) string { return cells[k][j] })
	}
	if cutRows || cutCols {
		fmt.Fprintf(bw, "\n[%d rows x %d columns]\n", len(f.Rows), ncol)
	}
	return bw.Flush()
}

func sum(xs []int) int {
	t := 0
	for _, x := range xs {
		t += x
	}
	return t
}
