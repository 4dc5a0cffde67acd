package propagate

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// lcsLen is the length of a longest common subsequence, by dynamic
// programming: the reference for myers.
func lcsLen(a, b []string) int {
	t := make([][]int, len(a)+1)
	for i := range t {
		t[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				t[i][j] = t[i+1][j+1] + 1
			} else {
				t[i][j] = max(t[i+1][j], t[i][j+1])
			}
		}
	}
	return t[0][0]
}

func TestMyersIsShortestAndCorrect(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	gen := func() []string {
		s := make([]string, rng.IntN(12))
		for i := range s {
			s[i] = string(rune('a'+rng.IntN(3))) + "\n"
		}
		return s
	}
	for range 2000 {
		a, b := gen(), gen()
		ops := myers(a, b)
		var ra, rb []string
		edits := 0
		for _, op := range ops {
			if op.kind != '+' {
				ra = append(ra, op.text)
			}
			if op.kind != '-' {
				rb = append(rb, op.text)
			}
			if op.kind != ' ' {
				edits++
			}
		}
		if strings.Join(ra, "") != strings.Join(a, "") || strings.Join(rb, "") != strings.Join(b, "") {
			t.Fatalf("myers(%q, %q) = %v does not rebuild both sides", a, b, ops)
		}
		if want := len(a) + len(b) - 2*lcsLen(a, b); edits != want {
			t.Fatalf("myers(%q, %q): %d edits, want %d", a, b, edits, want)
		}
	}
}

func TestUnified(t *testing.T) {
	a := "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n14\n15\n16\n"
	b := strings.Replace(strings.Replace(a, "3\n", "3\nx\n", 1), "14\n", "", 1)
	want := `--- a
+++ b
@@ -1,6 +1,7 @@
 1
 2
 3
+x
 4
 5
 6
@@ -11,6 +12,5 @@
 11
 12
 13
-14
 15
 16
`
	if got := unified("a", "b", []byte(a), []byte(b)); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	if got := unified("a", "b", []byte(a), []byte(a)); got != "" {
		t.Errorf("equal texts: %q", got)
	}
}

func TestLineEnd(t *testing.T) {
	for _, c := range []struct {
		src  string
		off  int
		want int
	}{
		{"x := 1\ny", 6, 6},
		{"x := 1 // c\ny", 6, 11},
		{"x := 1 /* c */ \ny", 6, 15},
		{"x := 1 /* c\n */\ny", 6, 6},
		{"x := 1; y()\n", 6, 6},
		{"x := 1", 6, 6},
		{"x := 1\r\ny", 6, 6},
	} {
		if got := lineEnd([]byte(c.src), c.off); got != c.want {
			t.Errorf("lineEnd(%q, %d) = %d, want %d", c.src, c.off, got, c.want)
		}
	}
}

func TestReindent(t *testing.T) {
	text := "f(a,\n\t\tb,\n\n\t\t`raw\n\t\tline`)\n"
	got := reindent(text, "\t\t", "\t", map[int]bool{4: true})
	want := "f(a,\n\tb,\n\n\t`raw\n\t\tline`)\n"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestGuessName(t *testing.T) {
	for path, want := range map[string]string{
		"fmt":                         "fmt",
		"math/rand/v2":                "rand",
		"github.com/go-git/go-git/v5": "git",
		"gopkg.in/yaml.v3":            "yaml",
		"github.com/flordb/flor":      "flor",
		"example.com/my-lib":          "my_lib",
	} {
		if got := guessName(path); got != want {
			t.Errorf("guessName(%q) = %q, want %q", path, got, want)
		}
	}
}
