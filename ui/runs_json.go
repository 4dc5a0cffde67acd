package ui

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// The runs table of 10,000 runs took encoding/json ~50 ms, through
// reflection and sorted map keys; the page asks for it cold after every
// change of the store. appendJSON writes the same bytes directly
// (TestRunsJSONEncoding compares them).

// appendJSON appends t as encoding/json would encode it, without the
// trailing newline.
func (t *runsJSON) appendJSON(b []byte) []byte {
	b = append(b, `{"kwargs":`...)
	b = appendStrings(b, t.Kwargs)
	b = append(b, `,"metrics":`...)
	b = appendStrings(b, t.Metrics)
	b = append(b, `,"runs":`...)
	if t.Runs == nil {
		return append(b, "null}"...)
	}
	b = append(b, '[')
	var keys []string
	for i := range t.Runs {
		r := &t.Runs[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":`...)
		b = appendString(b, r.ID)
		b = append(b, `,"projid":`...)
		b = appendString(b, r.Projid)
		b = append(b, `,"tstamp":`...)
		b = appendString(b, r.Tstamp)
		b = append(b, `,"filename":`...)
		b = appendString(b, r.Filename)
		b = append(b, `,"snapshot":`...)
		b = appendString(b, r.Snapshot)
		b = append(b, `,"status":`...)
		b = appendString(b, r.Status)
		if r.Ended != "" {
			b = append(b, `,"ended":`...)
			b = appendString(b, r.Ended)
		}
		b = append(b, `,"kwargs":`...)
		if r.Kwargs == nil {
			b = append(b, "null"...)
		} else {
			keys = sortedKeys(keys[:0], r.Kwargs)
			b = append(b, '{')
			for j, k := range keys {
				if j > 0 {
					b = append(b, ',')
				}
				b = appendString(b, k)
				b = append(b, ':')
				b = appendString(b, r.Kwargs[k])
			}
			b = append(b, '}')
		}
		if len(r.Metrics) > 0 {
			b = append(b, `,"metrics":{`...)
			keys = sortedKeys(keys[:0], r.Metrics)
			for j, k := range keys {
				if j > 0 {
					b = append(b, ',')
				}
				b = appendString(b, k)
				b = append(b, ':')
				b = appendSummary(b, r.Metrics[k])
			}
			b = append(b, '}')
		}
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

func sortedKeys[V any](keys []string, m map[string]V) []string {
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func appendSummary(b []byte, s summaryJSON) []byte {
	b = append(b, `{"n":`...)
	b = strconv.AppendInt(b, s.N, 10)
	b = append(b, `,"last":`...)
	b = appendValue(b, s.Last)
	b = append(b, `,"min":`...)
	b = appendFloatPtr(b, s.Min)
	b = append(b, `,"max":`...)
	b = appendFloatPtr(b, s.Max)
	if s.Replayed {
		b = append(b, `,"replayed":true`...)
	}
	return append(b, '}')
}

func appendValue(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case string:
		return appendString(b, x)
	case bool:
		return strconv.AppendBool(b, x)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case float64:
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			return appendFloat(b, x)
		}
	}
	j, err := json.Marshal(v)
	if err != nil {
		return append(b, "null"...)
	}
	return append(b, j...)
}

func appendFloatPtr(b []byte, f *float64) []byte {
	if f == nil {
		return append(b, "null"...)
	}
	return appendFloat(b, *f)
}

// appendFloat formats f as encoding/json does: like ES6, 'f' between 1e-6
// and 1e21, else 'e' with a two-digit exponent at least.
func appendFloat(b []byte, f float64) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

func appendStrings(b []byte, ss []string) []byte {
	if ss == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

const hex = "0123456789abcdef"

// appendString quotes s as encoding/json does by default: HTML-safe (<, >
// and & escaped), U+2028 and U+2029 escaped, invalid UTF-8 as U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
