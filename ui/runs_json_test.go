package ui

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
)

// TestRunsJSONEncoding: the runs table's own encoder writes what
// encoding/json writes, escapes, floats and omitted fields included.
func TestRunsJSONEncoding(t *testing.T) {
	f := func(x float64) *float64 { return &x }
	tricky := "q\"b\\s/<a>&\n\r\t\b\f\x01\x1f é \u2028\u2029 \xff end"
	t0 := &runsJSON{Kwargs: []string{"lr", tricky}, Metrics: []string{"loss"}, Runs: []runJSON{
		{ID: "a", Projid: tricky, Tstamp: "t", Filename: "f", Snapshot: "s", Status: "finished", Ended: "e",
			Kwargs: map[string]string{"z": "1", "a": tricky, tricky: ""},
			Metrics: map[string]summaryJSON{
				"loss": {N: 3, Last: 0.5, Min: f(1e-7), Max: f(1e21), Replayed: true},
				"acc":  {N: 1, Last: int64(-4), Min: f(-0.000001), Max: f(123456789.125)},
				"s":    {N: 1, Last: tricky},
				"b":    {N: 1, Last: true, Min: f(0), Max: f(math.MaxFloat64)},
				"nan":  {N: 1, Last: "NaN"},
				"j":    {N: 1, Last: map[string]any{"k": []any{1.0, "x"}}},
				"nil":  {N: 1},
				"sm":   {N: 1, Last: 5e-324, Min: f(-1.5e-300), Max: f(2.5e300)},
			}},
		{ID: "b", Kwargs: map[string]string{}},
	}}
	for _, tab := range []*runsJSON{t0, {Kwargs: []string{}, Metrics: []string{}, Runs: []runJSON{}}, {}} {
		var want bytes.Buffer
		if err := json.NewEncoder(&want).Encode(tab); err != nil {
			t.Fatal(err)
		}
		got := append(tab.appendJSON(nil), '\n')
		if !bytes.Equal(got, want.Bytes()) {
			t.Errorf("encoded\n%s\nencoding/json\n%s", got, want.Bytes())
		}
	}
}
