package rewrite

import (
	"errors"
	"testing"
)

func TestApply(t *testing.T) {
	src := []byte("for i := range n {\n\tx++\n}\n")
	tests := []struct {
		name  string
		edits []Edit
		want  string
	}{
		{"none", nil, string(src)},
		{"insert and replace in any order", []Edit{
			{Start: 20, End: 23, New: "y--"},
			{Start: 0, End: 0, New: "if ok {\n"},
			{Start: 26, End: 26, New: "}\n"},
		}, "if ok {\nfor i := range n {\n\ty--\n}\n}\n"},
		{"insertions at one offset keep their order", []Edit{
			{Start: 0, End: 0, New: "a"},
			{Start: 0, End: 0, New: "b"},
			{Start: 0, End: 0, New: "c"},
		}, "abc" + string(src)},
		{"an insertion comes before a replacement at its offset", []Edit{
			{Start: 0, End: 3, New: "FOR"},
			{Start: 0, End: 0, New: "// x\n"},
		}, "// x\nFOR i := range n {\n\tx++\n}\n"},
		{"adjacent replacements", []Edit{
			{Start: 0, End: 3, New: "A"},
			{Start: 3, End: 5, New: "B"},
		}, "AB := range n {\n\tx++\n}\n"},
		{"delete", []Edit{{Start: 18, End: 23}}, "for i := range n {\n}\n"},
		{"at the end", []Edit{{Start: len(src), End: len(src), New: "// end\n"}}, string(src) + "// end\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := string(src)
			got, err := Apply(src, tt.edits)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if string(src) != before {
				t.Errorf("Apply changed its input")
			}
		})
	}
}

func TestApplyRejects(t *testing.T) {
	src := []byte("0123456789")
	for name, edits := range map[string][]Edit{
		"overlap":             {{Start: 2, End: 5, New: "x"}, {Start: 4, End: 6, New: "y"}},
		"insert inside":       {{Start: 2, End: 5, New: "x"}, {Start: 3, End: 3, New: "y"}},
		"same range twice":    {{Start: 2, End: 5}, {Start: 2, End: 5}},
		"past the end":        {{Start: 8, End: 11}},
		"negative":            {{Start: -1, End: 1}},
		"end before start":    {{Start: 5, End: 4}},
		"insert past the end": {{Start: 11, End: 11, New: "x"}},
	} {
		if _, err := Apply(src, edits); !errors.Is(err, ErrOverlap) {
			t.Errorf("%s: err = %v, want ErrOverlap", name, err)
		}
	}
}
