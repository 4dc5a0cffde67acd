package storage

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// DataframeLatest is DataframeWhere keeping, per name, only the newest
// run's value for each key: FlorDB's utils.latest, computed in the
// database so that only the result leaves it. The key is every column but
// tstamp and the names': projid, filename and the loop columns. A row
// holds, for each name, the value of the newest run that logged it under
// that key (NULL when none did); its tstamp is the newest of those runs.
// Rows with no value of any name are left out; rows are ordered by
// tstamp, then the key. where filters the frame's rows before the newest
// are taken.
func (s *Store) DataframeLatest(ctx context.Context, where string, names ...string) (*Frame, error) {
	if _, err := s.Ingest(ctx); err != nil {
		return nil, err
	}
	return s.dataframeLatest(ctx, where, names, false)
}

// dataframeLatest is DataframeLatest without the ingest. Most frames are
// served by latestSQL, which takes the newest value of each key straight
// from raw.logs and pivots only those; the rest, and all of them when
// pivot is set (the tests' oracle), by aggregating the pivoted frame.
func (s *Store) dataframeLatest(ctx context.Context, where string, names []string, pivot bool) (*Frame, error) {
	p, err := s.planFrame(ctx, names)
	if err != nil {
		return nil, err
	}
	cols := p.columns()
	var we *whereExpr
	if strings.TrimSpace(where) != "" {
		if we, err = s.parseWhere(ctx, where); err != nil {
			return nil, err
		}
		for _, c := range we.cols {
			if !slices.ContainsFunc(cols, func(col Column) bool { return col.Name == c }) {
				return nil, fmt.Errorf("where %q: %w %q: not a column of this dataframe; name the value too", where, ErrUnknownColumn, c)
			}
		}
	}
	if len(p.names) == 0 && !p.loopFree {
		return &Frame{Columns: cols, Notes: p.notes}, nil
	}
	var q string
	if !pivot && p.latestDirect(we) {
		q = p.latestSQL(we)
	} else {
		q = p.latestPivotSQL(cols, we)
	}
	if q == "" {
		return &Frame{Columns: cols, Notes: p.notes}, nil
	}
	rows, err := s.db.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("latest %q where %q: %w", names, where, sqlError(err))
	}
	defer rows.Close()
	f, err := scanFrame(rows)
	if err != nil {
		return nil, fmt.Errorf("latest %q where %q: %w", names, where, sqlError(err))
	}
	f.Columns, f.Notes = cols, p.notes
	return f, nil
}

// keyCount is the number of loop columns (iterations and values).
func (p *framePlan) keyCount() int {
	n := 0
	for _, key := range p.keys {
		n++
		if key.hasValue {
			n++
		}
	}
	return n
}

// latestPivotSQL aggregates the pivoted frame: arg_max per key.
func (p *framePlan) latestPivotSQL(cols []Column, we *whereExpr) string {
	p.unordered = true
	defer func() { p.unordered = false }()
	nk := p.keyCount()
	keys := []string{"projid", "filename"}
	for _, c := range cols[3 : 3+nk] {
		keys = append(keys, quoteIdent(c.Name))
	}
	var sel, any []string
	sel = append(sel, "projid", "max(tstamp) AS tstamp", "filename")
	sel = append(sel, keys[2:]...)
	for _, c := range cols[3+nk:] {
		q := quoteIdent(c.Name)
		sel = append(sel, fmt.Sprintf("arg_max(%s, tstamp) FILTER (WHERE %s IS NOT NULL) AS %s", q, q, q))
		any = append(any, q+" IS NOT NULL")
	}
	order := []string{"tstamp", "projid", "filename"}
	for _, k := range keys[2:] {
		order = append(order, k+" NULLS FIRST")
	}
	filter := ""
	if we != nil {
		filter = ` WHERE ` + we.text
	}
	return `SELECT ` + strings.Join(sel, ", ") + ` FROM (SELECT * FROM (` + p.namedSQL() + `)` + filter + `) b WHERE ` +
		strings.Join(any, " OR ") + ` GROUP BY ` + strings.Join(keys, ", ") + ` ORDER BY ` + strings.Join(order, ", ")
}

// latestDirect reports whether latestSQL gives what aggregating the
// pivoted frame gives. The pivot outer-joins the names' frames on the
// loop iterations alone and, for a name logged twice under the same
// iterations of a run, keeps the last loop values with the last value;
// taking each name's newest value on its own agrees with that when the
// names share their loop columns and no loop values are read where the
// pivot would merge rows. A WHERE over a value column filters the frame's
// rows, which hold every name's value, so only a single name's own
// column, not deduplicated, can be checked before the pivot.
func (p *framePlan) latestDirect(we *whereExpr) bool {
	var shared []int
	logged := 0
	readKey := func(ks []int) bool {
		return slices.ContainsFunc(ks, func(k int) bool { return p.keys[k].read() })
	}
	for i := range p.names {
		if len(p.sigs[i]) == 0 {
			continue // nothing logged: an empty column, joined to no row
		}
		if logged++; logged == 1 {
			shared = p.nkeys[i]
		} else if !slices.Equal(shared, p.nkeys[i]) {
			return false
		}
		if p.dedupe[i] && readKey(p.nkeys[i]) {
			return false
		}
	}
	if logged > 1 && readKey(shared) {
		return false
	}
	if we == nil {
		return true
	}
	own := len(p.names) == 1 && !p.dedupe[0]
	nk := p.keyCount()
	for _, c := range we.cols {
		if i := slices.Index(p.colNames, c); i >= nk && !own {
			return false
		}
	}
	return true
}

// latestSQL takes, for each name and loop signature it was logged under,
// the newest value of each key straight from raw.logs, then pivots those
// few rows. The loop contexts above the innermost loop (all of them when
// the innermost loop's values are read) are numbered by their key, so
// the logs are grouped by two integers: that number and the innermost
// iteration. It returns "" when no name was logged.
func (p *framePlan) latestSQL(we *whereExpr) string {
	nk := p.keyCount()
	ncol := 3 + nk + len(p.names)
	// Internal column names, distinct from the frame's, for the rows the
	// user's WHERE sees.
	taken := map[string]bool{"projid": true, "tstamp": true, "filename": true}
	for _, c := range p.colNames {
		taken[c] = true
	}
	internal := func(base string) string {
		n := base
		for i := 2; taken[n]; i++ {
			n = base + "_" + strconv.Itoa(i)
		}
		taken[n] = true
		return quoteIdent(n)
	}
	ig, iki, it, iv, isid, iseq := internal("flor:g"), internal("flor:ki"), internal("flor:t"), internal("flor:v"), internal("flor:sid"), internal("flor:seq")

	ctes := []string{`lr AS (SELECT s.sid, r.projid, r.tstamp, r.filename FROM raw.sources s JOIN raw.runs r ON r.rid = s.rid)`}
	var parts []string
	for i := range p.names {
		for j, ns := range p.sigs[i] {
			tag := fmt.Sprintf("%d_%d", i, j)
			d := len(ns.chain)
			innerRead := d > 0 && p.keys[ns.keys[d-1]].read()
			// a: the level of the context the logs are joined to (-1: the
			// file alone); the level below it, if any, is the log's own
			// iteration (l.ci).
			a := d - 2
			if innerRead {
				a = d - 1
			}
			byCI := d > 0 && !innerRead
			// Anchor columns: the key columns of levels 0..a.
			var acols, aexpr []string
			order := []string{"lr.projid", "lr.filename"}
			for lvl := 0; lvl <= a; lvl++ {
				k := ns.keys[lvl]
				acols = append(acols, kcol(k))
				order = append(order, fmt.Sprintf("x%d.i", lvl))
				if p.keys[k].read() {
					acols = append(acols, kvcol(k))
					order = append(order, fmt.Sprintf("x%d.v", lvl))
				}
			}
			for n, c := range acols {
				aexpr = append(aexpr, order[2+n]+" AS "+c)
			}
			var ga strings.Builder
			fmt.Fprintf(&ga, "ga%s AS (SELECT ", tag)
			if a < 0 {
				fmt.Fprintf(&ga, "lr.sid, lr.projid, lr.tstamp, lr.filename, dense_rank() OVER (ORDER BY %s) AS g FROM lr)", strings.Join(order, ", "))
			} else {
				fmt.Fprintf(&ga, "x%d.sid, x%d.c, lr.projid, lr.tstamp, lr.filename", a, a)
				for _, e := range aexpr {
					ga.WriteString(", " + e)
				}
				fmt.Fprintf(&ga, ", dense_rank() OVER (ORDER BY %s) AS g FROM raw.ctx x%d JOIN lr ON lr.sid = x%d.sid", strings.Join(order, ", "), a, a)
				for lvl := a - 1; lvl >= 0; lvl-- {
					fmt.Fprintf(&ga, " JOIN raw.ctx x%d ON x%d.sid = x%d.sid AND x%d.c = x%d.p AND x%d.sig = %d", lvl, lvl, a, lvl, lvl+1, lvl, ns.chain[lvl])
				}
				fmt.Fprintf(&ga, " WHERE x%d.sig = %d)", a, ns.chain[a])
			}
			ctes = append(ctes, ga.String())

			// The logs of the name under this signature, with the anchor's
			// number.
			from := fmt.Sprintf("raw.logs l JOIN ga%s ga ON ga.sid = l.sid", tag)
			switch {
			case innerRead:
				from += " AND ga.c = l.c"
			case a >= 0:
				from += " AND ga.c = l.cp"
			}
			cond := fmt.Sprintf("l.nid = %d AND l.sig = %d AND l.v IS NOT NULL", p.nids[i], ns.sig)
			if p.loopFree {
				cond += " AND l.flags & 2 = 0"
			}
			g, ki, t, v, sid, seq := "ga.g", "l.ci", "ga.tstamp", "l.v", "l.sid", "l.seq"
			if we != nil {
				// The frame's row of each value, as the WHERE sees it.
				var w strings.Builder
				fmt.Fprintf(&w, "(SELECT ga.g AS %s, l.ci AS %s, ga.tstamp AS %s, l.v AS %s, l.sid AS %s, l.seq AS %s, ga.projid, ga.tstamp, ga.filename",
					ig, iki, it, iv, isid, iseq)
				c := 0
				for k, key := range p.keys {
					ie, ve := p.latestKeyExprs(ns, k, byCI, "ga.", "l.ci")
					fmt.Fprintf(&w, ", %s AS %s", ie, quoteIdent(p.colNames[c]))
					c++
					if key.hasValue {
						fmt.Fprintf(&w, ", %s AS %s", ve, quoteIdent(p.colNames[c]))
						c++
					}
				}
				for i2 := range p.names {
					e := "NULL::" + sqlType(p.kinds[i2])
					if i2 == i {
						e = convert("l.v", p.kinds[i])
					}
					fmt.Fprintf(&w, ", %s AS %s", e, quoteIdent(p.colNames[c]))
					c++
				}
				fmt.Fprintf(&w, " FROM %s WHERE %s) w WHERE %s", from, cond, we.text)
				from, cond = w.String(), ""
				g, ki, t, v, sid, seq = "w."+ig, "w."+iki, "w."+it, "w."+iv, "w."+isid, "w."+iseq
			} else {
				cond = " WHERE " + cond
			}
			ord := t
			if p.dedupe[i] {
				// The last value of the newest run wins.
				ord = fmt.Sprintf("{'t': %s, 'o': (%s::BIGINT << 32) | %s}", t, sid, seq)
			}
			var s1 strings.Builder
			fmt.Fprintf(&s1, "s%s AS (SELECT %s AS g", tag, g)
			if byCI {
				fmt.Fprintf(&s1, ", %s AS ki", ki)
			}
			fmt.Fprintf(&s1, ", max(%s) AS t, arg_max(%s, %s) AS v FROM %s%s GROUP BY ALL)", t, v, ord, from, cond)
			ctes = append(ctes, s1.String())

			// Its rows of the frame: the anchor's key, the iteration, the
			// value.
			var part strings.Builder
			part.WriteString("SELECT gk.projid AS q0, s.t AS q1, gk.filename AS q2")
			c := 3
			for k, key := range p.keys {
				ie, ve := p.latestKeyExprs(ns, k, byCI, "gk.", "s.ki")
				fmt.Fprintf(&part, ", %s AS q%d", ie, c)
				c++
				if key.hasValue {
					fmt.Fprintf(&part, ", %s AS q%d", ve, c)
					c++
				}
			}
			for i2 := range p.names {
				e := "NULL::" + sqlType(p.kinds[i2])
				if i2 == i {
					e = convert("s.v", p.kinds[i])
				}
				fmt.Fprintf(&part, ", %s AS q%d", e, c)
				c++
			}
			fmt.Fprintf(&part, " FROM s%s s JOIN (SELECT DISTINCT g, projid, filename", tag)
			for _, ac := range acols {
				part.WriteString(", " + ac)
			}
			fmt.Fprintf(&part, " FROM ga%s) gk ON gk.g = s.g", tag)
			parts = append(parts, part.String())
		}
	}
	if len(parts) == 0 {
		return ""
	}
	// The names' newest values side by side: per key, each name's from
	// its newest run; parts of one name can meet at a key (two
	// signatures, or loop values that convert alike).
	q := func(c int) string { return "q" + strconv.Itoa(c) }
	sel := []string{q(0), "max(q1)", q(2)}
	group := []string{q(0), q(2)}
	order := []string{"2", q(0), q(2)}
	for c := 3; c < 3+nk; c++ {
		sel = append(sel, q(c))
		group = append(group, q(c))
		order = append(order, q(c)+" NULLS FIRST")
	}
	for c := 3 + nk; c < ncol; c++ {
		sel = append(sel, fmt.Sprintf("arg_max(%s, q1)", q(c)))
	}
	return "WITH " + strings.Join(ctes, ",\n") + "\nSELECT " + strings.Join(sel, ", ") + " FROM (" +
		strings.Join(parts, "\nUNION ALL ") + ") u GROUP BY " + strings.Join(group, ", ") + " ORDER BY " + strings.Join(order, ", ")
}

// latestKeyExprs returns the expressions of loop key k's iteration and
// value columns for a value logged under ns: from the anchor's columns
// (prefix), from the log's own iteration (ci) for the innermost loop when
// byCI, or NULL when ns has no such loop.
func (p *framePlan) latestKeyExprs(ns nameSig, k int, byCI bool, prefix, ci string) (iter, value string) {
	key := p.keys[k]
	vt := "NULL::" + sqlType(key.vtypes)
	lvl := slices.Index(ns.keys, k)
	switch {
	case lvl < 0:
		return "NULL::BIGINT", vt
	case byCI && lvl == len(ns.chain)-1:
		iter = ci
	default:
		iter = prefix + kcol(k)
	}
	switch {
	case key.mirror:
		value = iter
	case key.read():
		value = convert(prefix+kvcol(k), key.vtypes)
	default:
		value = vt
	}
	return iter, value
}
