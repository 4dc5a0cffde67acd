package record

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestAppendersDecode: every record the appenders write is valid JSON and
// decodes to what was written.
func TestAppendersDecode(t *testing.T) {
	q := string(AppendString(nil, "lo\"ss\n"))
	var b []byte
	b = AppendFloat(AppendLog(b, 3, q, TypeFloat), 0.5)
	b = AppendLogEnd(b, FlagArg|FlagInternal)
	b = Close(AppendString(AppendCtxValue(AppendCtx(b, 2, 1, q, 7)), "a.pdf"))
	b = AppendObj(AppendCkpt(b, 4, "", 0), 0, "model", "ab")
	b = AppendCkptEnd(AppendExtra(AppendCkptExtras(b), 0, "cd"))
	b = AppendWarn(b, "careful")
	when := time.Date(2026, 11, 28, 5, 18, 52, 123456789, time.UTC)
	b = AppendEndRecord(b, StatusFailed, when)
	run := NewRun()
	run.ProjID, run.Tstamp, run.Filename = "ml", FormatTime(when), "."
	b = append(append(run.Marshal(), '\n'), b...)

	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	var kinds []string
	var d Decoder
	for _, line := range lines {
		if !json.Valid([]byte(line)) {
			t.Fatalf("not JSON: %s", line)
		}
		l, err := d.Decode([]byte(line))
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		kinds = append(kinds, l.Kind.String())
		switch l.Kind {
		case KindRun:
			r, err := l.Run()
			if err != nil || r.ProjID != "ml" || r.Tstamp != "2026-11-28T05:18:52.123456Z" || r.V != Version {
				t.Errorf("run = %+v, %v", r, err)
			}
		case KindLog:
			g, err := l.Log()
			if err != nil || g.Name() != "lo\"ss\n" || g.C != 3 || g.T != CodeFloat || string(g.V) != "0.5" || g.Flags != FlagArg|FlagInternal {
				t.Errorf("log = %+v, %v", g, err)
			}
		case KindCtx:
			if s, _ := String(l.Get(KeyValue)); s != "a.pdf" {
				t.Errorf("ctx value %q", s)
			}
		case KindCkpt:
			c, err := l.Ckpt()
			if err != nil || !c.EndOfIteration() || c.E != 4 || c.Objs["model"] != "ab" || len(c.X) != 1 {
				t.Errorf("ckpt = %+v, %v", c, err)
			}
		case KindEnd:
			if e := l.End(); e.Status != StatusFailed || !e.T.Equal(when.Truncate(time.Microsecond)) {
				t.Errorf("end = %+v", e)
			}
		}
	}
	if got := strings.Join(kinds, " "); got != "run log ctx ckpt warn end" {
		t.Errorf("kinds %s", got)
	}
}

// TestNewerVersionRefused: a run record of a newer major version is an
// error that names both versions.
func TestNewerVersionRefused(t *testing.T) {
	var d Decoder
	l, err := d.Decode([]byte(`{"k":"run","v":2,"projid":"ml"}`))
	if err != nil {
		t.Fatal(err)
	}
	_, err = l.Run()
	if !errors.Is(err, ErrNewerVersion) || !strings.Contains(err.Error(), "version 2, this flor reads version 1") {
		t.Errorf("Run() = %v", err)
	}
	if err := CheckVersion(Version); err != nil {
		t.Errorf("CheckVersion(Version) = %v", err)
	}
}

func TestTypeCodes(t *testing.T) {
	for i, n := range TypeNames {
		c := TypeCode(i + 1)
		if c.String() != n || CodeOfType(n) != c || CodeOf([]byte(`"`+n+`"`)) != c {
			t.Errorf("code %d: %s", c, n)
		}
	}
	if CodeNone.String() != "" || CodeOf([]byte(`"x"`)) != CodeNone {
		t.Error("CodeNone")
	}
}

func TestTimeLayouts(t *testing.T) {
	when := time.Date(2026, 11, 28, 5, 18, 52, 123456000, time.FixedZone("x", 3600))
	if got := FileName(when); got != "20261128T041852.123456Z.jsonl" {
		t.Errorf("FileName = %s", got)
	}
	if got, ok := ParseFileName(FileName(when)); !ok || !got.Equal(when) {
		t.Errorf("ParseFileName = %v %v", got, ok)
	}
	u := UniqueFileName(when)
	if !strings.HasPrefix(u, "20261128T041852.123456Z-") || len(u) != len("20261128T041852.123456Z-12345678.jsonl") {
		t.Errorf("UniqueFileName = %s", u)
	}
	if got, ok := ParseFileName(u); !ok || !got.Equal(when) {
		t.Errorf("ParseFileName(%s) = %v %v", u, got, ok)
	}
	if u == UniqueFileName(when) {
		t.Errorf("two UniqueFileName of one time are both %s", u)
	}
	if FileSuffix("a", 1, nil) == FileSuffix("b", 1, nil) || FileSuffix("a", 1, nil) == FileSuffix("a", 2, nil) {
		t.Error("FileSuffix does not tell hosts or pids apart")
	}
	for _, bad := range []string{"20261128T041852.123456Z-xyz.jsonl", "20261128T041852.123456Z.json",
		"20261128T041852.123456Z-12345678.jsonl.conflict-1a2b3c4d.jsonl", "20261128T041852.123456Zx.jsonl"} {
		if _, ok := ParseFileName(bad); ok {
			t.Errorf("ParseFileName(%s) accepted", bad)
		}
	}
	if got := FormatTime(when); got != "2026-11-28T04:18:52.123456Z" {
		t.Errorf("FormatTime = %s", got)
	}
	if got, err := ParseTime(FormatTime(when)); err != nil || !got.Equal(when) {
		t.Errorf("ParseTime = %v %v", got, err)
	}
}

// TestAppendAllocs: the appenders of the hot path do not allocate.
func TestAppendAllocs(t *testing.T) {
	b := make([]byte, 0, 1024)
	q := string(AppendString(nil, "loss"))
	n := testing.AllocsPerRun(100, func() {
		b = AppendLogEnd(AppendFloat(AppendLog(b[:0], 3, q, TypeFloat), 0.125), 0)
		b = Close(AppendCtx(b, 1, 0, q, 5))
	})
	if n != 0 {
		t.Errorf("%v allocations per record", n)
	}
}

// TestDivergeRecord: a diverge record decodes to what was written, and
// says what differs.
func TestDivergeRecord(t *testing.T) {
	b := AppendDiverge(nil, "val_acc", "epoch 3, step 120", CodeFloat, []byte("0.5"), CodeFloat, []byte("0.51"))
	b = AppendDiverge(b, "n", "", CodeInt, []byte("1"), CodeFloat, []byte("1"))
	var got []string
	err := Read(strings.NewReader(string(b)), func(l Line) error {
		if !json.Valid(l.Text) {
			t.Errorf("not JSON: %s", l.Text)
		}
		d, err := l.Divergence()
		if err != nil {
			return err
		}
		got = append(got, d.String())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"val_acc at epoch 3, step 120: recorded 0.5, replayed 0.51",
		"n outside every loop: recorded 1 (int), replayed 1 (float)"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
