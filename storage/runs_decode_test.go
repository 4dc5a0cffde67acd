package storage

import (
	"encoding/json"
	"maps"
	"slices"
	"testing"
)

// TestDecodeKwargs: the direct split of kwargs and argv agrees with
// encoding/json, and falls back to it for anything but plain strings.
func TestDecodeKwargs(t *testing.T) {
	for _, s := range []string{`{}`, `{"lr":"0.1"}`, `{"lr":"0.1","note":"<b>é</b>"}`, `{"a":"1","a":"2"}`,
		`{"q":"say \"hi\""}`, `{"n":3,"f":1.5,"b":true,"o":{"x":1}}`, `{ "lr" : "0.1" }`, `{"lr":"0.1",}`,
		`{"lr"}`, `{"lr":}`, `{"tab":"a\tb"}`, `not json`, `{"x":"1"`, `{"":""}`} {
		got := map[string]string{}
		decodeKwargs(s, got)
		want := map[string]string{}
		if err := json.Unmarshal([]byte(s), &want); err != nil {
			want = map[string]string{}
			var anyKw map[string]any
			if json.Unmarshal([]byte(s), &anyKw) == nil {
				for k, v := range anyKw {
					want[k] = text(v)
				}
			}
		}
		if !maps.Equal(got, want) {
			t.Errorf("%s: %q, want %q", s, got, want)
		}
	}
	for _, s := range []string{`[]`, `["train"]`, `["train","--lr","0.1"]`, `["a\"b"]`, `["x",1]`, `[ "x" ]`, `["x",]`} {
		var want []string
		json.Unmarshal([]byte(s), &want)
		if got := decodeArgv(s); !slices.Equal(got, want) || (got == nil) != (want == nil) {
			t.Errorf("%s: %q, want %q", s, got, want)
		}
	}
}
