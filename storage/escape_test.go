package storage

import (
	"bytes"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// TestTableEscapesControls: names and values that would drive a terminal
// (clear the screen, move the cursor, reverse the text) print escaped in
// the table, and exactly in csv and json.
func TestTableEscapesControls(t *testing.T) {
	values := []string{"\x1b[2J", "two\nlines", "\u009b2J", "\u202eevil", "zero\u200bwidth", "bad\xffutf8", "tab\there", "bell\a"}
	f := &Frame{Columns: []Column{{Name: "name\x1b[31m", Type: "VARCHAR"}, {Name: "v", Type: "VARCHAR"}}}
	for _, v := range values {
		f.Rows = append(f.Rows, []any{v, v})
	}
	var b bytes.Buffer
	if err := f.WriteTable(&b, TableOptions{MaxCell: 100}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.Count(out, "\n") != len(values)+1 {
		t.Errorf("%d lines, want %d:\n%s", strings.Count(out, "\n"), len(values)+1, out)
	}
	for i, r := range strings.TrimSuffix(out, "\n") {
		if r == '\n' {
			continue
		}
		if r == utf8.RuneError || (r != ' ' && !unicode.IsPrint(r)) {
			t.Errorf("the table holds %U at byte %d:\n%q", r, i, out)
		}
	}
	for _, want := range []string{`name\x1b[31m`, `\x1b[2J`, `two\nlines`, `\u009b2J`, `\u202eevil`, `zero\u200bwidth`, `bad\xffutf8`, `tab\there`, `bell\a`} {
		if !strings.Contains(out, want) {
			t.Errorf("the table does not show %s:\n%s", want, out)
		}
	}
	// Plain text, accents and wide characters stay as they are.
	plain := &Frame{Columns: []Column{{Name: "v", Type: "VARCHAR"}}, Rows: [][]any{{"café 学习 a\\b \"q\""}}}
	b.Reset()
	plain.WriteTable(&b, TableOptions{})
	if got := b.String(); got != "v\ncafé 学习 a\\b \"q\"\n" {
		t.Errorf("plain text: %q", got)
	}
	// csv and json keep the exact text, quoted their own way.
	b.Reset()
	if err := f.WriteCSV(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "\x1b[2J,\x1b[2J") || !strings.Contains(b.String(), "\"two\nlines\"") {
		t.Errorf("csv is not exact:\n%q", b.String())
	}
	b.Reset()
	if err := f.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `"name\u001b[31m": "\u001b[2J"`) || !strings.Contains(b.String(), `"two\nlines"`) {
		t.Errorf("json is not exact:\n%s", b.String())
	}
}
