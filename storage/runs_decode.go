package storage

import (
	"encoding/json"
	"strconv"
	"strings"
)

// Listing thousands of runs (flor ui's runs page) decodes each run's kwargs
// and argv; encoding/json's reflection dominated that. The ingest stores
// both as compact JSON, so plain objects and arrays of strings without
// escapes are split directly, and anything else goes to encoding/json.

// decodeKwargs decodes a JSON object of kwargs into m: strings as they
// are, other JSON as its text.
func decodeKwargs(s string, m map[string]string) {
	if flatStrings(s, '{', '}', func(k, v string) { m[k] = v }) {
		return
	}
	clear(m)
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		// Kwargs as typed are strings; keep other JSON as its text.
		var anyKw map[string]any
		if json.Unmarshal([]byte(s), &anyKw) == nil {
			for k, v := range anyKw {
				m[k] = text(v)
			}
		}
	}
}

// decodeArgv decodes a JSON array of strings; nil when it is not one.
func decodeArgv(s string) []string {
	var out []string
	if flatStrings(s, '[', ']', func(_, v string) { out = append(out, v) }) {
		if out == nil {
			out = []string{}
		}
		return out
	}
	out = nil
	json.Unmarshal([]byte(s), &out)
	return out
}

// flatStrings reports whether s is open ... close holding only strings
// without escapes (as "k":"v" pairs for an object), calling add for each.
// It stops at anything else, having maybe called add for some items.
func flatStrings(s string, open, close byte, add func(k, v string)) bool {
	if len(s) < 2 || s[0] != open || s[len(s)-1] != close {
		return false
	}
	s = s[1 : len(s)-1]
	str := func() (string, bool) {
		if len(s) < 2 || s[0] != '"' {
			return "", false
		}
		end := strings.IndexByte(s[1:], '"')
		if end < 0 {
			return "", false
		}
		v := s[1 : 1+end]
		if strings.IndexByte(v, '\\') >= 0 || !printable(v) {
			return "", false
		}
		s = s[2+end:]
		return v, true
	}
	for first := true; s != ""; first = false {
		if !first {
			if s[0] != ',' {
				return false
			}
			s = s[1:]
		}
		var k string
		if open == '{' {
			var ok bool
			if k, ok = str(); !ok || s == "" || s[0] != ':' {
				return false
			}
			s = s[1:]
		}
		v, ok := str()
		if !ok {
			return false
		}
		add(k, v)
	}
	return true
}

// printable reports whether s holds no control characters, which valid
// JSON would have escaped.
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 {
			return false
		}
	}
	return true
}

// jsonFloat parses a JSON number. strconv alone would also take "Inf",
// hex and other forms that are not JSON, so those go to encoding/json.
func jsonFloat(v string) (float64, bool) {
	plain := v != "" && v[0] != '+'
	for i := 0; i < len(v) && plain; i++ {
		c := v[i]
		plain = '0' <= c && c <= '9' || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E'
	}
	if plain {
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return f, true
		}
	}
	var f float64
	if json.Unmarshal([]byte(v), &f) == nil {
		return f, true
	}
	return 0, false
}
