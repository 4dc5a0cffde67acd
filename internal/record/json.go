package record

import (
	"errors"
	"strconv"
	"unicode/utf8"
)

// This file holds a small JSON reader specialised for run-file lines. The
// lines are flat objects whose values are mostly short numbers and strings;
// encoding/json's reflection costs more than the rest of an ingest, so the
// decoder walks the bytes itself, validating as strictly as encoding/json
// would, and keeps each member's raw text.

// Errors of a line that is not one JSON object.
var (
	// ErrSyntax: the line is not valid JSON.
	ErrSyntax = errors.New("invalid JSON")
	// ErrNotObject: the line is JSON but not an object.
	ErrNotObject = errors.New("not a JSON object")
)

// Member is one member of a JSON object: key unescaped, value as raw text.
type Member struct {
	Key []byte // unescaped when the key had escapes, else a sub-slice of the line
	Val []byte // raw JSON text of the value
}

// splitter reuses its buffers across lines.
type splitter struct {
	members []Member
	keybuf  []byte
}

// object splits a line holding one JSON object into its members.
func (s *splitter) object(b []byte) ([]Member, error) {
	s.members = s.members[:0]
	s.keybuf = s.keybuf[:0]
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return nil, ErrNotObject
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		if skipSpace(b, i+1) != len(b) {
			return nil, ErrSyntax
		}
		return s.members, nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return nil, ErrSyntax
		}
		end, esc, err := scanString(b, i)
		if err != nil {
			return nil, err
		}
		var key []byte
		if esc {
			start := len(s.keybuf)
			s.keybuf, err = appendUnquoted(s.keybuf, b[i:end])
			if err != nil {
				return nil, err
			}
			key = s.keybuf[start:]
		} else {
			key = b[i+1 : end-1]
		}
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return nil, ErrSyntax
		}
		i = skipSpace(b, i+1)
		vend, err := scanValue(b, i, 0)
		if err != nil {
			return nil, err
		}
		s.members = append(s.members, Member{Key: key, Val: b[i:vend]})
		i = skipSpace(b, vend)
		if i >= len(b) {
			return nil, ErrSyntax
		}
		if b[i] == '}' {
			if skipSpace(b, i+1) != len(b) {
				return nil, ErrSyntax
			}
			return s.members, nil
		}
		if b[i] != ',' {
			return nil, ErrSyntax
		}
		i = skipSpace(b, i+1)
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\r', '\n':
			i++
		default:
			return i
		}
	}
	return i
}

// maxDepth bounds nesting so a hostile line cannot exhaust the stack.
const maxDepth = 10000

// scanValue returns the end of the JSON value starting at b[i].
func scanValue(b []byte, i, depth int) (int, error) {
	if i >= len(b) {
		return 0, ErrSyntax
	}
	switch c := b[i]; {
	case c == '"':
		end, _, err := scanString(b, i)
		return end, err
	case c == '-' || (c >= '0' && c <= '9'):
		return scanNumber(b, i)
	case c == 't':
		return scanLiteral(b, i, "true")
	case c == 'f':
		return scanLiteral(b, i, "false")
	case c == 'n':
		return scanLiteral(b, i, "null")
	case c == '[':
		if depth >= maxDepth {
			return 0, ErrSyntax
		}
		i = skipSpace(b, i+1)
		if i < len(b) && b[i] == ']' {
			return i + 1, nil
		}
		for {
			end, err := scanValue(b, i, depth+1)
			if err != nil {
				return 0, err
			}
			i = skipSpace(b, end)
			if i >= len(b) {
				return 0, ErrSyntax
			}
			if b[i] == ']' {
				return i + 1, nil
			}
			if b[i] != ',' {
				return 0, ErrSyntax
			}
			i = skipSpace(b, i+1)
		}
	case c == '{':
		if depth >= maxDepth {
			return 0, ErrSyntax
		}
		i = skipSpace(b, i+1)
		if i < len(b) && b[i] == '}' {
			return i + 1, nil
		}
		for {
			if i >= len(b) || b[i] != '"' {
				return 0, ErrSyntax
			}
			end, _, err := scanString(b, i)
			if err != nil {
				return 0, err
			}
			i = skipSpace(b, end)
			if i >= len(b) || b[i] != ':' {
				return 0, ErrSyntax
			}
			end, err = scanValue(b, skipSpace(b, i+1), depth+1)
			if err != nil {
				return 0, err
			}
			i = skipSpace(b, end)
			if i >= len(b) {
				return 0, ErrSyntax
			}
			if b[i] == '}' {
				return i + 1, nil
			}
			if b[i] != ',' {
				return 0, ErrSyntax
			}
			i = skipSpace(b, i+1)
		}
	}
	return 0, ErrSyntax
}

func scanLiteral(b []byte, i int, lit string) (int, error) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return 0, ErrSyntax
	}
	return i + len(lit), nil
}

// scanNumber follows the JSON number grammar exactly.
func scanNumber(b []byte, i int) (int, error) {
	if b[i] == '-' {
		i++
	}
	if i >= len(b) {
		return 0, ErrSyntax
	}
	switch {
	case b[i] == '0':
		i++
	case b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return 0, ErrSyntax
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return 0, ErrSyntax
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return 0, ErrSyntax
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	return i, nil
}

// scanString returns the end (past the closing quote) of the string at b[i]
// and whether it holds escapes.
func scanString(b []byte, i int) (end int, esc bool, err error) {
	i++
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			return i + 1, esc, nil
		case c == '\\':
			esc = true
			if i+1 >= len(b) {
				return 0, false, ErrSyntax
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) {
					return 0, false, ErrSyntax
				}
				for _, h := range b[i+2 : i+6] {
					if !isHex(h) {
						return 0, false, ErrSyntax
					}
				}
				i += 6
			default:
				return 0, false, ErrSyntax
			}
		case c < 0x20:
			return 0, false, ErrSyntax
		case c < utf8.RuneSelf:
			i++
		default:
			r, n := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && n == 1 {
				return 0, false, ErrSyntax
			}
			i += n
		}
	}
	return 0, false, ErrSyntax
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// appendUnquoted appends the unescaped contents of the quoted JSON string q.
func appendUnquoted(dst, q []byte) ([]byte, error) {
	q = q[1 : len(q)-1]
	for i := 0; i < len(q); {
		c := q[i]
		if c != '\\' {
			dst = append(dst, c)
			i++
			continue
		}
		switch q[i+1] {
		case '"', '\\', '/':
			dst = append(dst, q[i+1])
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r := rune(hex4(q[i+2 : i+6]))
			i += 6
			if utf16Surrogate(r) {
				// A surrogate pair is two \u escapes; a lone half is U+FFFD,
				// as encoding/json decodes it.
				if i+6 <= len(q) && q[i] == '\\' && q[i+1] == 'u' {
					r2 := rune(hex4(q[i+2 : i+6]))
					if r >= 0xD800 && r < 0xDC00 && r2 >= 0xDC00 && r2 < 0xE000 {
						dst = utf8.AppendRune(dst, (r-0xD800)<<10+(r2-0xDC00)+0x10000)
						i += 6
						continue
					}
				}
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default:
			return nil, ErrSyntax
		}
		i += 2
	}
	return dst, nil
}

func utf16Surrogate(r rune) bool { return r >= 0xD800 && r < 0xE000 }

func hex4(h []byte) uint32 {
	var v uint32
	for _, c := range h {
		v <<= 4
		switch {
		case c >= '0' && c <= '9':
			v |= uint32(c - '0')
		case c >= 'a' && c <= 'f':
			v |= uint32(c-'a') + 10
		default:
			v |= uint32(c-'A') + 10
		}
	}
	return v
}

// String decodes a raw JSON string value; ok is false for other kinds.
func String(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	for _, c := range raw[1 : len(raw)-1] {
		if c == '\\' {
			u, err := appendUnquoted(nil, raw)
			if err != nil {
				return "", false
			}
			return string(u), true
		}
	}
	return string(raw[1 : len(raw)-1]), true
}

// Int decodes a raw JSON number that is an integer.
func Int(raw []byte) (int64, bool) {
	if len(raw) == 0 || len(raw) > 20 {
		return 0, false
	}
	neg := raw[0] == '-'
	d := raw
	if neg {
		d = raw[1:]
	}
	if len(d) == 0 || len(d) > 18 {
		// Rare: long numbers go through strconv for exact overflow checks.
		n, err := strconv.ParseInt(string(raw), 10, 64)
		return n, err == nil
	}
	var n int64
	for _, c := range d {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

// Bool decodes a raw JSON boolean.
func Bool(raw []byte) (v, ok bool) {
	switch string(raw) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// ScalarType names the type of a raw scalar value: TypeInt, TypeFloat,
// TypeBool, TypeStr, or "" for null, arrays and objects.
func ScalarType(raw []byte) string {
	if len(raw) == 0 {
		return ""
	}
	switch c := raw[0]; {
	case c == '"':
		return TypeStr
	case c == 't' || c == 'f':
		return TypeBool
	case c == '-' || (c >= '0' && c <= '9'):
		for _, c := range raw {
			if c == '.' || c == 'e' || c == 'E' {
				return TypeFloat
			}
		}
		return TypeInt
	}
	return ""
}
