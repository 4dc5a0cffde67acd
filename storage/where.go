package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// A WHERE filter (flor replay's WHERE, flor dataframe --where) is one SQL
// expression over dataframe columns. It is parsed with DuckDB's parser and
// checked node by node against what such an expression needs; what runs
// is DuckDB's own rendering of the checked tree, never the user's text, so
// nothing the check did not see (a closing parenthesis that escapes, a
// comment, a clause after the condition) can reach the query.

// whereExpr is a checked WHERE.
type whereExpr struct {
	text string   // the expression as DuckDB renders it, parenthesised
	cols []string // the column names it mentions, sorted
}

// wherePrefix is what the expression is parsed after: the expression must
// be all that follows.
const wherePrefix = "SELECT * FROM t WHERE "

// whereFuncs are the functions a WHERE may call: operators (arithmetic,
// ||, LIKE and its kin, ~) and scalar functions of numbers and text.
// Nothing here reads a file, the environment or the settings.
var whereFuncs = map[string]bool{
	"+": true, "-": true, "*": true, "/": true, "//": true, "%": true, "**": true, "^": true,
	"||": true, "~~": true, "!~~": true, "~~*": true, "!~~*": true, "~~~": true, "!~~~": true,
	"like_escape": true, "not_like_escape": true, "ilike_escape": true, "not_ilike_escape": true,
	"regexp_full_match": true, "regexp_matches": true,
	"abs": true, "round": true, "floor": true, "ceil": true, "ceiling": true, "trunc": true,
	"sqrt": true, "ln": true, "log": true, "log10": true, "log2": true, "exp": true,
	"pow": true, "power": true, "sign": true, "mod": true, "greatest": true, "least": true,
	"isnan": true, "isinf": true, "isfinite": true,
	"lower": true, "upper": true, "lcase": true, "ucase": true, "length": true, "strlen": true,
	"starts_with": true, "ends_with": true, "contains": true, "prefix": true, "suffix": true,
	"substring": true, "substr": true, "trim": true, "ltrim": true, "rtrim": true,
	"concat": true, "replace": true, "nullif": true, "ifnull": true, "coalesce": true,
}

// whereOperators are the OPERATOR nodes a WHERE may hold.
var whereOperators = map[string]bool{
	"OPERATOR_NOT": true, "OPERATOR_IS_NULL": true, "OPERATOR_IS_NOT_NULL": true,
	"COMPARE_IN": true, "COMPARE_NOT_IN": true, "OPERATOR_COALESCE": true,
}

// whereCastTypes are the types a WHERE may cast to: DuckDB's built-in
// scalars. A type of another name would be looked up in the catalog.
var whereCastTypes = map[string]bool{
	"BOOLEAN": true, "TINYINT": true, "SMALLINT": true, "INTEGER": true, "BIGINT": true,
	"HUGEINT": true, "UTINYINT": true, "USMALLINT": true, "UINTEGER": true, "UBIGINT": true,
	"FLOAT": true, "DOUBLE": true, "DECIMAL": true, "VARCHAR": true, "DATE": true, "TIME": true,
	"TIMESTAMP": true, "TIMESTAMP WITH TIME ZONE": true, "INTERVAL": true,
}

// parseWhere checks that expr is one expression over columns and returns
// it as DuckDB renders it, with the columns it names. Errors wrap ErrWhere
// and say what was refused.
func (s *Store) parseWhere(ctx context.Context, expr string) (*whereExpr, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("where %q: %w: %s", expr, ErrWhere, fmt.Sprintf(format, args...))
	}
	// DuckDB's parser takes C strings of UTF-8.
	if strings.IndexByte(expr, 0) >= 0 || !utf8.ValidString(expr) {
		return nil, fail("it holds a NUL byte or invalid UTF-8")
	}
	stmt := wherePrefix + expr
	var text, canon string
	// json_serialize_sql takes a constant, not a parameter.
	q := `SELECT json_serialize_sql(` + quoteString(stmt) + `)::VARCHAR`
	if err := s.db.QueryRowContext(ctx, q).Scan(&text); err != nil {
		return nil, fmt.Errorf("where %q: %w", expr, sqlError(err))
	}
	var tree struct {
		Error        bool   `json:"error"`
		ErrorMessage string `json:"error_message"`
		Statements   []struct {
			Node map[string]any `json:"node"`
		} `json:"statements"`
	}
	if err := json.Unmarshal(plainJSON(text), &tree); err != nil {
		return nil, fmt.Errorf("where %q: parse tree: %w", expr, err)
	}
	switch {
	case tree.Error:
		// A parenthesis closed too early, a second statement, garbage.
		return nil, fail("not one expression: %s", tree.ErrorMessage)
	case len(tree.Statements) != 1:
		return nil, fail("not one expression: it holds %d statements", len(tree.Statements))
	}
	node := tree.Statements[0].Node
	if err := checkWhereNode(node); err != "" {
		return nil, fail("not one expression: %s follows the condition", err)
	}
	w := &whereWalker{}
	if err := w.expr(node["where_clause"]); err != "" {
		return nil, fail("%s is not allowed; a WHERE is an expression over dataframe columns: constants, comparisons, AND/OR/NOT, arithmetic, IN, LIKE, BETWEEN, IS NULL, CASE, casts and functions such as abs, round and lower", err)
	}
	q = `SELECT json_deserialize_sql(json_serialize_sql(` + quoteString(stmt) + `))`
	if err := s.db.QueryRowContext(ctx, q).Scan(&canon); err != nil {
		// DuckDB cannot write some trees back as SQL (a double out of range).
		return nil, fail("DuckDB cannot render it back as SQL: %v", err)
	}
	body, ok := strings.CutPrefix(canon, wherePrefix)
	if !ok {
		return nil, fail("DuckDB renders it as %q", canon)
	}
	slices.Sort(w.cols)
	return &whereExpr{text: "(" + body + ")", cols: slices.Compact(w.cols)}, nil
}

// checkWhereNode makes sure the parsed statement is the prefix and a WHERE
// and nothing else: no GROUP BY, ORDER BY, LIMIT, UNION... after it. It
// returns what it found, or "".
func checkWhereNode(node map[string]any) string {
	if node == nil || node["type"] != "SELECT_NODE" {
		return "UNION, EXCEPT or INTERSECT"
	}
	if m, _ := node["modifiers"].([]any); len(m) > 0 {
		return "ORDER BY, LIMIT or OFFSET"
	}
	if g, _ := node["group_expressions"].([]any); len(g) > 0 {
		return "GROUP BY"
	}
	if g, _ := node["group_sets"].([]any); len(g) > 0 {
		return "GROUP BY"
	}
	for _, k := range []string{"having", "qualify", "sample"} {
		if node[k] != nil {
			return strings.ToUpper(k)
		}
	}
	if node["where_clause"] == nil {
		return "nothing"
	}
	return ""
}

// whereWalker checks an expression tree and gathers its column names.
type whereWalker struct {
	cols  []string
	depth int
}

// maxWhereDepth bounds the nesting of an expression, so a pathological
// one is refused rather than walked.
const maxWhereDepth = 200

// expr checks one node; it returns what is refused, or "".
func (w *whereWalker) expr(v any) string {
	m, ok := v.(map[string]any)
	if !ok {
		return "an unexpected construct"
	}
	if w.depth++; w.depth > maxWhereDepth {
		return "an expression nested this deep"
	}
	defer func() { w.depth-- }()
	class, _ := m["class"].(string)
	switch class {
	case "CONSTANT":
		return ""
	case "COLUMN_REF":
		names, _ := m["column_names"].([]any)
		if len(names) != 1 {
			parts := make([]string, len(names))
			for i, n := range names {
				parts[i], _ = n.(string)
			}
			return fmt.Sprintf("the qualified name %q", strings.Join(parts, "."))
		}
		n, _ := names[0].(string)
		w.cols = append(w.cols, n)
		return ""
	case "COMPARISON":
		return w.all(m["left"], m["right"])
	case "CONJUNCTION":
		return w.list(m["children"])
	case "OPERATOR":
		t, _ := m["type"].(string)
		if !whereOperators[t] {
			return "the operator " + strings.ToLower(strings.TrimPrefix(t, "OPERATOR_"))
		}
		return w.list(m["children"])
	case "BETWEEN":
		return w.all(m["input"], m["lower"], m["upper"])
	case "CAST":
		ct, _ := m["cast_type"].(map[string]any)
		id, _ := ct["id"].(string)
		if !whereCastTypes[id] {
			return "a cast to " + strings.ToLower(id)
		}
		return w.expr(m["child"])
	case "COLLATE":
		return w.expr(m["child"])
	case "CASE":
		checks, _ := m["case_checks"].([]any)
		for _, c := range checks {
			cm, _ := c.(map[string]any)
			if err := w.all(cm["when_expr"], cm["then_expr"]); err != "" {
				return err
			}
		}
		return w.expr(m["else_expr"])
	case "FUNCTION":
		name, _ := m["function_name"].(string)
		name = strings.ToLower(name)
		if !whereFuncs[name] || m["schema"] != "" || m["catalog"] != "" {
			return fmt.Sprintf("the function %s", name)
		}
		if m["filter"] != nil || m["distinct"] == true || m["export_state"] == true {
			return fmt.Sprintf("an aggregate form of %s", name)
		}
		if ob, _ := m["order_bys"].(map[string]any); ob != nil {
			if o, _ := ob["orders"].([]any); len(o) > 0 {
				return fmt.Sprintf("ORDER BY in %s", name)
			}
		}
		return w.list(m["children"])
	case "SUBQUERY":
		return "a subquery"
	case "WINDOW":
		return "a window function"
	case "STAR":
		return "*"
	case "LAMBDA":
		return "a lambda"
	case "PARAMETER":
		return "a parameter"
	case "POSITIONAL_REFERENCE":
		return "a positional reference"
	}
	return "a " + strings.ToLower(strings.ReplaceAll(class, "_", " ")) + " expression"
}

func (w *whereWalker) all(vs ...any) string {
	for _, v := range vs {
		if err := w.expr(v); err != "" {
			return err
		}
	}
	return ""
}

func (w *whereWalker) list(v any) string {
	vs, ok := v.([]any)
	if !ok {
		return "an unexpected construct"
	}
	return w.all(vs...)
}

// whereFilter turns a user's WHERE over dataframe columns into a condition
// on raw.runs: the runs with at least one dataframe row that satisfies it.
func (s *Store) whereFilter(ctx context.Context, where string) (string, []any, error) {
	we, err := s.parseWhere(ctx, where)
	if err != nil {
		return "", nil, err
	}
	// Which of the referenced columns are value names, loop columns or
	// run columns.
	var valueNames []string
	known := map[string]bool{"projid": true, "tstamp": true, "filename": true}
	var unknown []string
	for _, c := range we.cols {
		if known[c] {
			continue
		}
		var n int
		if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM raw.names WHERE name = ?`, c).Scan(&n); err != nil {
			return "", nil, fmt.Errorf("%s: %w", s.path, err)
		}
		if n > 0 {
			valueNames = append(valueNames, c)
			known[c] = true
			continue
		}
		loop := strings.TrimSuffix(c, "_value")
		if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM raw.sigs WHERE name = ?`, loop).Scan(&n); err != nil {
			return "", nil, fmt.Errorf("%s: %w", s.path, err)
		}
		if n == 0 {
			unknown = append(unknown, c)
		}
	}
	if len(unknown) > 0 {
		return "", nil, fmt.Errorf("where %q: %w %q: no logged value, loop or run field has that name", where, ErrUnknownColumn, unknown[0])
	}
	var p *framePlan
	if len(valueNames) == 0 {
		p, err = s.planFrame(ctx, nil)
	} else {
		p, err = s.planFrame(ctx, valueNames)
	}
	if err != nil {
		return "", nil, err
	}
	q := p.namedSQL()
	// Check the filter on its own first, so DuckDB's message is about it.
	check := `SELECT 1 FROM (` + q + `) WHERE ` + we.text + ` LIMIT 0`
	if _, err := s.db.ExecContext(ctx, check); err != nil {
		if strings.Contains(err.Error(), "not found in FROM clause") || strings.Contains(err.Error(), "Referenced column") {
			return "", nil, fmt.Errorf("where %q: %w: %w", where, ErrUnknownColumn, err)
		}
		return "", nil, fmt.Errorf("where %q: %w", where, sqlError(err))
	}
	filter := `AND (projid, tstamp, filename) IN (SELECT DISTINCT projid, tstamp, filename FROM (` + q + `) WHERE ` + we.text + `)`
	return filter, nil, nil
}

// DataframeWhere is Dataframe keeping only the rows that satisfy where, a
// SQL boolean expression over the frame's own columns (for example
// "epoch >= 1 AND loss < 0.5"). where is checked as for RunsMissing: an
// error wraps ErrWhere for what is not an expression over columns, and
// ErrUnknownColumn for a column the frame does not have.
func (s *Store) DataframeWhere(ctx context.Context, where string, names ...string) (*Frame, error) {
	if strings.TrimSpace(where) == "" {
		return s.Dataframe(ctx, names...)
	}
	if _, err := s.Ingest(ctx); err != nil {
		return nil, err
	}
	we, err := s.parseWhere(ctx, where)
	if err != nil {
		return nil, err
	}
	p, err := s.planFrame(ctx, names)
	if err != nil {
		return nil, err
	}
	cols := p.columns()
	for _, c := range we.cols {
		if !slices.ContainsFunc(cols, func(col Column) bool { return col.Name == c }) {
			return nil, fmt.Errorf("where %q: %w %q: not a column of this dataframe; name the value too", where, ErrUnknownColumn, c)
		}
	}
	if len(p.names) == 0 && !p.loopFree {
		return &Frame{Columns: cols, Notes: p.notes}, nil
	}
	order := []string{"tstamp", "projid", "filename"}
	for k := range p.keys {
		order = append(order, quoteIdent(p.colNames[p.keyCol(k)])+" NULLS FIRST")
	}
	q := `SELECT * FROM (` + p.namedSQL() + `) WHERE ` + we.text + ` ORDER BY ` + strings.Join(order, ", ")
	rows, err := s.db.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("where %q: %w", where, sqlError(err))
	}
	defer rows.Close()
	f, err := scanFrame(rows)
	if err != nil {
		return nil, fmt.Errorf("where %q: %w", where, sqlError(err))
	}
	f.Columns, f.Notes = cols, p.notes
	return f, nil
}

// keyCol returns the index in colNames of loop key k's iteration column.
func (p *framePlan) keyCol(k int) int {
	c := 0
	for _, key := range p.keys[:k] {
		c++
		if key.hasValue {
			c++
		}
	}
	return c
}
