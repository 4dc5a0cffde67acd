package record

import (
	"encoding/json"
	"testing"
)

// FuzzDecode: no line makes the decoder panic, a line it accepts is valid
// JSON, and the typed views of any accepted line do not panic either.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"k":"run","v":1,"projid":"ml","tstamp":"2026-11-28T05:18:52.123456Z","filename":".","kwargs":{},"argv":[]}`,
		`{"k":"log","c":3,"n":"loss","t":"float","v":0.5,"arg":true,"int":true}`,
		`{"k":"log","c":0,"n":"x","t":"json","v":null}`,
		`{"k":"ctx","c":2,"p":1,"n":"step","i":7,"v":"a\u00e9\ud83d\ude00"}`,
		`{"k":"ckpt","e":4,"b":"","o":0,"objs":{"m":"ab"},"x":["cd"]}`,
		`{"k":"end","status":"failed","t":"2026-11-28T05:18:52.123456Z"}`,
		`{"k":"warn","msg":"x"}`,
		`{"k":"log","c":1,"n":"lo`, `{}`, `[]`, `{"k":1}`, `{"a":[[[[{}]]]]}`, "\xff",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		var d Decoder
		l, err := d.Decode(line)
		if err != nil {
			return
		}
		if !json.Valid(line) {
			t.Fatalf("accepted invalid JSON %q", line)
		}
		_, _ = l.Run()
		if g, err := l.Log(); err == nil {
			_ = g.Name()
		}
		_, _ = l.Ckpt()
		_ = l.End()
		for _, m := range l.Members {
			String(m.Val)
			Int(m.Val)
			Bool(m.Val)
			ScalarType(m.Val)
		}
	})
}
