package storage

import (
	"context"
	"database/sql/driver"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Dataframe returns FlorDB's pivoted view of the logged values: one column
// per name, keyed by the run (projid, tstamp, filename) and the loops each
// value was logged under. A loop named epoch gives a column epoch (the
// iteration number, from 0) and, when the loop yields scalars, a column
// epoch_value (the element). The frames of the names are outer-joined on
// the columns they share, so a hyper-parameter logged outside every loop
// repeats on each row of a per-step metric of the same run, and a per-epoch
// value repeats on each step of its epoch.
//
// A column whose values are all ints is BIGINT, all numbers DOUBLE, all
// bools BOOLEAN, else VARCHAR (strings as themselves, other JSON as its
// text). Rows are sorted by tstamp, then by the loop columns. When a name is
// logged more than once under the same run and loop iterations, the last
// value wins; values from replays come after the recorded ones, so a
// replayed value shows in the same row as if it had been recorded.
//
// With no names, the frame has one row per recorded run and a column per
// user value logged outside every loop (flor.Arg values included, internal
// delta:: values not). A name nothing logged gives a column of NULLs and a
// note in Frame.Notes.
func (s *Store) Dataframe(ctx context.Context, names ...string) (*Frame, error) {
	if _, err := s.Ingest(ctx); err != nil {
		return nil, err
	}
	p, err := s.planFrame(ctx, names)
	if err != nil {
		return nil, err
	}
	return s.runFrame(ctx, p)
}

// sigInfo is a loop signature as the dataframe needs it.
type sigInfo struct {
	id, parent int32
	name       string
	depth      int32
	vtypes     int
}

// loopKey is a loop column pair (iteration, value) of a frame.
type loopKey struct {
	name     string // column name of the iteration
	depth    int32  // smallest depth it appears at
	order    int    // first appearance
	vtypes   int    // kinds of loop values seen, and notIter
	hasValue bool
	// mirror: every value is the iteration number, so the value column is
	// filled from the iteration column instead of being read.
	mirror bool
}

// read reports whether the key's values are read from the store.
func (k loopKey) read() bool { return k.hasValue && !k.mirror }

// nameSig is one signature a name was logged under, with its loop chain
// from the outermost loop down.
type nameSig struct {
	sig   int32
	chain []int32 // signature ids, outermost first
	keys  []int   // global loop key index per chain level
}

// framePlan is a dataframe ready to be turned into SQL.
type framePlan struct {
	loopFree bool // the no-names form: loop-free user values, one row per run
	names    []string
	nids     []int32 // raw.names ids
	kinds    []int   // value kinds per name (bits of kindInt...; json counts as kindStr)
	dedupe   []bool  // per name: some run logged it twice under the same loops
	sigs     [][]nameSig
	nkeys    [][]int // per name: global loop keys it has, in key order
	keys     []loopKey
	notes    []string
	colNames []string // output column names after projid, tstamp, filename
	// unordered: the rows feed an aggregate (DataframeLatest), so the
	// query skips sorting them.
	unordered bool
}

func (s *Store) loadSigs(ctx context.Context) (map[int32]sigInfo, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, parent, name, depth, vtypes FROM raw.sigs`)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.path, err)
	}
	defer rows.Close()
	sigs := map[int32]sigInfo{}
	for rows.Next() {
		var g sigInfo
		if err := rows.Scan(&g.id, &g.parent, &g.name, &g.depth, &g.vtypes); err != nil {
			return nil, err
		}
		sigs[g.id] = g
	}
	return sigs, rows.Err()
}

// planFrame finds, for each name, the loop signatures it was logged under
// and the kinds of its values.
func (s *Store) planFrame(ctx context.Context, names []string) (*framePlan, error) {
	p := &framePlan{}
	filter := ""
	if len(names) == 0 {
		p.loopFree = true
		filter = ` AND st.sig = 0 AND st.flags & 2 = 0`
		rows, err := s.db.QueryContext(ctx, `SELECT nm.name FROM raw.stats st JOIN raw.names nm ON nm.id = st.nid
			WHERE st.sig = 0 AND st.flags & 2 = 0 GROUP BY nm.name ORDER BY min(nm.id)`)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.path, err)
		}
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				rows.Close()
				return nil, err
			}
			names = append(names, n)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	seen := map[string]bool{}
	for _, n := range names {
		if !seen[n] {
			seen[n] = true
			p.names = append(p.names, n)
		}
	}
	p.kinds = make([]int, len(p.names))
	p.nids = make([]int32, len(p.names))
	p.dedupe = make([]bool, len(p.names))
	p.sigs = make([][]nameSig, len(p.names))
	p.nkeys = make([][]int, len(p.names))
	if len(p.names) == 0 {
		p.finish()
		return p, nil
	}
	index := map[string]int{}
	args := make([]any, len(p.names))
	for i, n := range p.names {
		index[n] = i
		args[i] = n
	}
	// A name needs deduplication when a file logged it twice in one
	// context, or when more than one file of a run logged it.
	q := `SELECT nm.name, nm.id, st.sig, bit_or(st.kinds),
			bool_or(st.dups) OR count(DISTINCT st.sid) > count(DISTINCT s.rid)
		FROM raw.stats st JOIN raw.names nm ON nm.id = st.nid JOIN raw.sources s ON s.sid = st.sid
		WHERE nm.name IN (?` + strings.Repeat(", ?", len(p.names)-1) + `)` + filter + `
		GROUP BY nm.name, nm.id, st.sig ORDER BY nm.name, st.sig`
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.path, err)
	}
	type found struct {
		name  int
		sig   int32
		kinds int
		dup   bool
	}
	var fs []found
	for rows.Next() {
		var n string
		var nid, sig int32
		var kinds int
		var dup bool
		if err := rows.Scan(&n, &nid, &sig, &kinds, &dup); err != nil {
			rows.Close()
			return nil, err
		}
		p.nids[index[n]] = nid
		fs = append(fs, found{index[n], sig, kinds, dup})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	sigs, err := s.loadSigs(ctx)
	if err != nil {
		return nil, err
	}
	keyIndex := map[string]int{}
	for _, f := range fs {
		p.kinds[f.name] |= f.kinds
		p.dedupe[f.name] = p.dedupe[f.name] || f.dup
		if f.sig < 0 {
			continue // logged under a context the file never declared
		}
		ns := nameSig{sig: f.sig}
		for id := f.sig; id > 0; id = sigs[id].parent {
			ns.chain = append(ns.chain, id)
		}
		slices.Reverse(ns.chain)
		used := map[string]int{}
		for lvl, id := range ns.chain {
			g := sigs[id]
			col := g.name
			// The same loop name twice in one chain: number the inner ones.
			if used[col]++; used[col] > 1 {
				col = g.name + "_" + strconv.Itoa(used[col])
			}
			ki, ok := keyIndex[col]
			if !ok {
				ki = len(p.keys)
				keyIndex[col] = ki
				p.keys = append(p.keys, loopKey{name: col, depth: int32(lvl + 1), order: ki})
			}
			k := &p.keys[ki]
			k.depth = min(k.depth, int32(lvl+1))
			k.vtypes |= g.vtypes
			ns.keys = append(ns.keys, ki)
		}
		p.sigs[f.name] = append(p.sigs[f.name], ns)
	}
	// Loop columns go outermost first, then in order of appearance.
	order := make([]int, len(p.keys))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		if p.keys[a].depth != p.keys[b].depth {
			return int(p.keys[a].depth - p.keys[b].depth)
		}
		return p.keys[a].order - p.keys[b].order
	})
	remap := make([]int, len(p.keys))
	sorted := make([]loopKey, len(p.keys))
	for newi, old := range order {
		remap[old] = newi
		sorted[newi] = p.keys[old]
		vt := p.keys[old].vtypes
		sorted[newi].hasValue = vt&^notIter != 0
		sorted[newi].mirror = vt == kindInt
		sorted[newi].vtypes = vt &^ notIter
	}
	p.keys = sorted
	for i := range p.sigs {
		set := map[int]bool{}
		for j := range p.sigs[i] {
			for l, k := range p.sigs[i][j].keys {
				p.sigs[i][j].keys[l] = remap[k]
				set[remap[k]] = true
			}
		}
		for k := range p.keys {
			if set[k] {
				p.nkeys[i] = append(p.nkeys[i], k)
			}
		}
	}
	for i, n := range p.names {
		if p.kinds[i] == 0 {
			p.notes = append(p.notes, fmt.Sprintf("no value named %q was logged; its column is empty", n))
		}
	}
	p.finish()
	return p, nil
}

// finish names the output columns, keeping them unique.
func (p *framePlan) finish() {
	used := map[string]bool{"projid": true, "tstamp": true, "filename": true}
	add := func(name, what string) {
		col := name
		for i := 2; used[col]; i++ {
			col = name + "_" + strconv.Itoa(i)
		}
		if col != name {
			p.notes = append(p.notes, fmt.Sprintf("%s %q is shown as column %q: the name is taken", what, name, col))
		}
		used[col] = true
		p.colNames = append(p.colNames, col)
	}
	for _, k := range p.keys {
		add(k.name, "loop")
		if k.hasValue {
			add(k.name+"_value", "loop value")
		}
	}
	for _, n := range p.names {
		add(n, "value")
	}
}

// sqlType is the DuckDB type of a column holding values of the given kinds.
func sqlType(kinds int) string {
	switch kinds {
	case kindInt:
		return "BIGINT"
	case kindFloat, kindInt | kindFloat:
		return "DOUBLE"
	case kindBool:
		return "BOOLEAN"
	}
	return "VARCHAR"
}

// convert turns the JSON text in expr into a value of the column's type.
func convert(expr string, kinds int) string {
	switch sqlType(kinds) {
	case "BIGINT":
		return "CAST(" + expr + " AS BIGINT)"
	case "DOUBLE":
		// NaN and infinities are JSON strings: "NaN", "+Inf", "-Inf".
		return "COALESCE(TRY_CAST(" + expr + " AS DOUBLE), CAST(trim(" + expr + `, '"') AS DOUBLE))`
	case "BOOLEAN":
		return "CAST(" + expr + " AS BOOLEAN)"
	}
	return "CASE WHEN starts_with(" + expr + `, '"') THEN json_extract_string(` + expr + `, '$') ELSE ` + expr + " END"
}

func kcol(k int) string  { return "k" + strconv.Itoa(k) }
func kvcol(k int) string { return "kv" + strconv.Itoa(k) }
func vcol(i int) string  { return "v" + strconv.Itoa(i) }

// sql returns the query of the frame with internal column names: rid, then
// per loop key k<j> (and kv<j> when it has values), then v<i> per name.
func (p *framePlan) sql() string {
	var b strings.Builder
	b.WriteString("WITH ")
	var ctes []string
	for i := range p.names {
		var cte strings.Builder
		fmt.Fprintf(&cte, "n%d AS (", i)
		if p.dedupe[i] {
			// The last value wins: the greatest (file, line).
			cte.WriteString("SELECT rid")
			for _, k := range p.nkeys[i] {
				cte.WriteString(", " + kcol(k))
			}
			fmt.Fprintf(&cte, ", arg_max(%s, ord) AS %s", vcol(i), vcol(i))
			for _, k := range p.nkeys[i] {
				if p.keys[k].read() {
					fmt.Fprintf(&cte, ", arg_max(%s, ord) AS %s", kvcol(k), kvcol(k))
				}
			}
			cte.WriteString(" FROM (")
		}
		if len(p.sigs[i]) == 0 {
			// Nothing logged: an empty relation of the right shape.
			fmt.Fprintf(&cte, "SELECT NULL::INTEGER AS rid, NULL::BIGINT AS ord, NULL::VARCHAR AS %s WHERE false", vcol(i))
		}
		for j, ns := range p.sigs[i] {
			if j > 0 {
				cte.WriteString(" UNION ALL ")
			}
			cte.WriteString("SELECT s.rid")
			d := len(ns.chain)
			// The innermost loop's iteration is copied into the log row
			// (l.ci); its value, when read, and the outer loops come from
			// raw.ctx.
			innerValue := false
			lvlExpr := func(lvl int, field string) string {
				if lvl == d-1 && field == "i" {
					return "l.ci"
				}
				if lvl == d-1 {
					innerValue = true
				}
				return fmt.Sprintf("x%d.%s", lvl, field)
			}
			for _, k := range p.nkeys[i] {
				lvl := slices.Index(ns.keys, k)
				if lvl < 0 {
					fmt.Fprintf(&cte, ", NULL::BIGINT AS %s", kcol(k))
					if p.keys[k].read() {
						fmt.Fprintf(&cte, ", NULL::VARCHAR AS %s", kvcol(k))
					}
					continue
				}
				fmt.Fprintf(&cte, ", %s AS %s", lvlExpr(lvl, "i"), kcol(k))
				if p.keys[k].read() {
					fmt.Fprintf(&cte, ", %s AS %s", lvlExpr(lvl, "v"), kvcol(k))
				}
			}
			if p.dedupe[i] {
				cte.WriteString(", (l.sid::BIGINT << 32) | l.seq AS ord")
			}
			fmt.Fprintf(&cte, ", %s AS %s", convert("l.v", p.kinds[i]), vcol(i))
			cte.WriteString(" FROM raw.logs l JOIN raw.sources s ON s.sid = l.sid")
			if innerValue {
				fmt.Fprintf(&cte, " JOIN raw.ctx x%d ON x%d.sid = l.sid AND x%d.c = l.c", d-1, d-1, d-1)
			}
			for lvl := d - 2; lvl >= 0; lvl-- {
				on := "l.cp"
				if lvl < d-2 {
					on = fmt.Sprintf("x%d.p", lvl+1)
				}
				fmt.Fprintf(&cte, " JOIN raw.ctx x%d ON x%d.sid = l.sid AND x%d.c = %s AND x%d.sig = %d", lvl, lvl, lvl, on, lvl, ns.chain[lvl])
			}
			fmt.Fprintf(&cte, " WHERE l.nid = %d AND l.sig = %d", p.nids[i], ns.sig)
			if p.loopFree {
				cte.WriteString(" AND l.flags & 2 = 0")
			}
		}
		if p.dedupe[i] {
			cte.WriteString(") GROUP BY ALL")
		}
		cte.WriteString(")")
		ctes = append(ctes, cte.String())
	}
	// Outer-join the names' frames one by one on the columns they share.
	cur := ""
	var curKeys []int
	var curVals []int
	if p.loopFree {
		ctes = append(ctes, "base AS (SELECT rid FROM raw.runs WHERE sid IS NOT NULL)")
		cur = "base"
	}
	// Most specific first: a name with fewer loops joins on fewer columns,
	// so joined last it repeats on every row of the run (or epoch).
	order := make([]int, len(p.names))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return len(p.nkeys[b]) - len(p.nkeys[a]) })
	for _, i := range order {
		next := fmt.Sprintf("n%d", i)
		if cur == "" {
			cur, curKeys, curVals = next, p.nkeys[i], []int{i}
			continue
		}
		var j strings.Builder
		name := fmt.Sprintf("j%d", i)
		fmt.Fprintf(&j, "%s AS (SELECT COALESCE(a.rid, b.rid) AS rid", name)
		var on []string
		var keys []int
		for k := range p.keys {
			ina, inb := slices.Contains(curKeys, k), slices.Contains(p.nkeys[i], k)
			switch {
			case ina && inb:
				fmt.Fprintf(&j, ", COALESCE(a.%s, b.%s) AS %s", kcol(k), kcol(k), kcol(k))
				if p.keys[k].read() {
					fmt.Fprintf(&j, ", COALESCE(a.%s, b.%s) AS %s", kvcol(k), kvcol(k), kvcol(k))
				}
				on = append(on, fmt.Sprintf("a.%s IS NOT DISTINCT FROM b.%s", kcol(k), kcol(k)))
				if p.keys[k].read() {
					// Iterations with no index (flor.Iteration's "none")
					// are told apart by their values alone.
					on = append(on, fmt.Sprintf("a.%s IS NOT DISTINCT FROM b.%s", kvcol(k), kvcol(k)))
				}
			case ina, inb:
				side := "a"
				if inb {
					side = "b"
				}
				fmt.Fprintf(&j, ", %s.%s", side, kcol(k))
				if p.keys[k].read() {
					fmt.Fprintf(&j, ", %s.%s", side, kvcol(k))
				}
			default:
				continue
			}
			keys = append(keys, k)
		}
		for _, v := range curVals {
			fmt.Fprintf(&j, ", a.%s", vcol(v))
		}
		fmt.Fprintf(&j, ", b.%s FROM %s a FULL OUTER JOIN %s b ON a.rid = b.rid", vcol(i), cur, next)
		for _, o := range on {
			j.WriteString(" AND " + o)
		}
		j.WriteString(")")
		ctes = append(ctes, j.String())
		cur, curKeys, curVals = name, keys, append(curVals, i)
	}
	b.WriteString(strings.Join(ctes, ",\n"))
	if cur == "" {
		// No names at all and not the run form: an empty frame.
		return "SELECT NULL::INTEGER AS rid WHERE false"
	}
	b.WriteString("\nSELECT f.rid")
	for k, key := range p.keys {
		fmt.Fprintf(&b, ", f.%s", kcol(k))
		if key.read() {
			fmt.Fprintf(&b, ", %s AS %s", convert("f."+kvcol(k), key.vtypes), kvcol(k))
		}
	}
	for i := range p.names {
		fmt.Fprintf(&b, ", f.%s", vcol(i))
	}
	if p.unordered {
		fmt.Fprintf(&b, " FROM %s f", cur)
		return b.String()
	}
	fmt.Fprintf(&b, " FROM %s f JOIN (SELECT rid, row_number() OVER (ORDER BY tstamp, projid, filename, path) AS ro FROM raw.runs) r ON r.rid = f.rid ORDER BY r.ro", cur)
	for k := range p.keys {
		fmt.Fprintf(&b, ", f.%s NULLS FIRST", kcol(k))
	}
	return b.String()
}

// namedSQL returns the frame's query with its real column names, for use
// as a relation (RunsMissing filters it with a user's WHERE).
func (p *framePlan) namedSQL() string {
	inner := p.sql()
	var b strings.Builder
	b.WriteString("SELECT r.projid, r.tstamp, r.filename")
	c := 0
	for k, key := range p.keys {
		fmt.Fprintf(&b, ", q.%s AS %s", kcol(k), quoteIdent(p.colNames[c]))
		c++
		if key.hasValue {
			col := kvcol(k)
			if key.mirror {
				col = kcol(k)
			}
			fmt.Fprintf(&b, ", q.%s AS %s", col, quoteIdent(p.colNames[c]))
			c++
		}
	}
	for i := range p.names {
		fmt.Fprintf(&b, ", q.%s AS %s", vcol(i), quoteIdent(p.colNames[c]))
		c++
	}
	fmt.Fprintf(&b, " FROM (%s) q JOIN raw.runs r ON r.rid = q.rid", inner)
	return b.String()
}

// columns returns the Frame columns of the plan.
func (p *framePlan) columns() []Column {
	cols := []Column{{"projid", "VARCHAR"}, {"tstamp", "TIMESTAMP"}, {"filename", "VARCHAR"}}
	c := 0
	for _, key := range p.keys {
		cols = append(cols, Column{p.colNames[c], "BIGINT"})
		c++
		if key.hasValue {
			cols = append(cols, Column{p.colNames[c], sqlType(key.vtypes)})
			c++
		}
	}
	for i := range p.names {
		cols = append(cols, Column{p.colNames[c], sqlType(p.kinds[i])})
		c++
	}
	return cols
}

type runIdent struct{ projid, tstamp, filename any }

func (s *Store) runIdents(ctx context.Context) (map[int32]runIdent, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT rid, projid, tstamp, filename FROM raw.runs`)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.path, err)
	}
	defer rows.Close()
	m := map[int32]runIdent{}
	for rows.Next() {
		var rid int32
		var projid, filename string
		var ts time.Time
		if err := rows.Scan(&rid, &projid, &ts, &filename); err != nil {
			return nil, err
		}
		// Boxed once here, shared by every row of the run.
		m[rid] = runIdent{projid, ts.UTC(), filename}
	}
	return m, rows.Err()
}

// runFrame executes a plan into a Frame.
func (s *Store) runFrame(ctx context.Context, p *framePlan) (*Frame, error) {
	f := &Frame{Columns: p.columns(), Notes: p.notes}
	if len(p.names) == 0 && !p.loopFree {
		return f, nil
	}
	idents, err := s.runIdents(ctx)
	if err != nil {
		return nil, err
	}
	n := len(f.Columns)
	// fill[i]: output column 3+i copies the one before it (mirrored).
	var fill []bool
	for _, key := range p.keys {
		fill = append(fill, false)
		if key.hasValue {
			fill = append(fill, key.mirror)
		}
	}
	for range p.names {
		fill = append(fill, false)
	}
	var c rowCollector
	err = s.rawQuery(ctx, p.sql(), func(src []driver.Value) error {
		row := c.next(n)
		rid, _ := src[0].(int32)
		id := idents[rid]
		row[0], row[1], row[2] = id.projid, id.tstamp, id.filename
		j := 1
		for i, m := range fill {
			if m {
				row[3+i] = row[2+i] // a mirrored loop value: its iteration
			} else {
				row[3+i] = src[j]
				j++
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("dataframe %q: %w", p.names, err)
	}
	f.Rows = c.rows()
	return f, nil
}
