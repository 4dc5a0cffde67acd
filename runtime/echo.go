package runtime

import (
	"strconv"
	"unicode"
	"unicode/utf8"
)

// appendEchoText appends s to an echo line as is, or quoted Go-style
// (strconv.Quote) when it holds control characters or invalid UTF-8: a
// name or value must not move the cursor, clear the terminal or fake
// another line.
func appendEchoText(b []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f {
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return strconv.AppendQuote(b, s)
		}
		i += size
	}
	return append(b, s...)
}
