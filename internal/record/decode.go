package record

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// ErrNotRecord: a line is a JSON object but not a record this package can
// read (no kind, or a field of the wrong type).
var ErrNotRecord = errors.New("not a valid record")

// Decoder decodes run-file lines. It reuses its buffers: a Line, and the
// bytes it refers to, are valid until the next Decode.
type Decoder struct {
	sp splitter
}

// Line is one decoded line: its kind and its members, values as raw JSON.
type Line struct {
	Kind     Kind
	KindName []byte // raw JSON text of k (for an unknown kind's message); nil without k
	Members  []Member
	Text     []byte // the line itself
}

// Decode splits a line (without its newline) into its kind and members.
// A line that is not one JSON object gives an error wrapping ErrSyntax or
// ErrNotObject.
func (d *Decoder) Decode(line []byte) (Line, error) {
	ms, err := d.sp.object(line)
	if err != nil {
		return Line{}, err
	}
	l := Line{Members: ms, Text: line}
	for _, m := range ms {
		if string(m.Key) == KeyKind {
			l.KindName = m.Val
			l.Kind = kindOf(m.Val)
		}
	}
	return l, nil
}

// Get returns the raw value of key, or nil.
func (l Line) Get(key string) []byte {
	for _, m := range l.Members {
		if string(m.Key) == key {
			return m.Val
		}
	}
	return nil
}

// Run is the run record, the first line of every file. It is written with
// encoding/json (once per run) and read the same way.
type Run struct {
	K        string            `json:"k"`
	V        int64             `json:"v"`
	ProjID   string            `json:"projid"`
	Tstamp   string            `json:"tstamp"`
	Filename string            `json:"filename"`
	Snapshot string            `json:"snapshot"`
	Stale    bool              `json:"stale,omitempty"`
	Kwargs   map[string]string `json:"kwargs"`
	PID      int               `json:"pid"`
	Host     string            `json:"host"`
	Argv     []string          `json:"argv"`
	Cwd      string            `json:"cwd"`
	Go       string            `json:"go"`
	// Liveness is LivenessInterval in seconds, written by programs that
	// refresh their file's modification time while they run; 0 (absent)
	// in files of programs that do not.
	Liveness float64 `json:"liveness,omitempty"`
	// Unit marks a run recorded by a unit (flor.Begin): one request's
	// values, written whole at its Commit. It has no program to rerun, so
	// replay leaves it out.
	Unit   bool    `json:"unit,omitempty"`
	Build  *Build  `json:"build,omitempty"`
	Slurm  *Slurm  `json:"slurm,omitempty"`
	Replay *Replay `json:"replay,omitempty"`
}

// Replay is the run record's replay object, present in replay files.
type Replay struct {
	ID     string   `json:"id"`
	Names  []string `json:"names"`
	Worker int      `json:"worker"`
	Start  int64    `json:"start"`
	Stop   int64    `json:"stop"`
	Mode   string   `json:"mode"`
	// Run is the base name of the run file replayed: it tells apart two
	// recordings that share an identity (docs/records.md, Run identity).
	// Absent in replays of older programs.
	Run string `json:"run,omitempty"`
}

// NewRun returns a run record with K and V set.
func NewRun() Run { return Run{K: KindRun.String(), V: Version} }

// Marshal returns the record as one line, without its newline.
func (r Run) Marshal() []byte {
	b, _ := json.Marshal(r) // plain strings, maps and slices: cannot fail
	return b
}

// Run decodes a run record. A newer format version is an error wrapping
// ErrNewerVersion.
func (l Line) Run() (Run, error) {
	var r Run
	if l.Kind != KindRun {
		return r, fmt.Errorf("%w: not a run record", ErrNotRecord)
	}
	if v, ok := Int(l.Get(KeyVersion)); ok {
		if err := CheckVersion(v); err != nil {
			return r, err
		}
	}
	if err := json.Unmarshal(l.Text, &r); err != nil {
		return r, fmt.Errorf("%w: run record: %w", ErrNotRecord, err)
	}
	return r, nil
}

// Log is a log record; N and V are raw JSON.
type Log struct {
	C     int64
	N     []byte // the name, raw JSON string
	T     TypeCode
	V     []byte // the value, raw JSON
	Flags Flags
}

// Name returns the log's name, decoded.
func (g Log) Name() string { s, _ := String(g.N); return s }

// Log decodes a log record. A record without a name or a value is an
// error wrapping ErrNotRecord.
func (l Line) Log() (Log, error) {
	var g Log
	for _, m := range l.Members {
		switch string(m.Key) {
		case KeyCtx:
			g.C, _ = Int(m.Val)
		case KeyName:
			if len(m.Val) > 0 && m.Val[0] == '"' {
				g.N = m.Val
			}
		case KeyType:
			g.T = CodeOf(m.Val)
		case KeyValue:
			g.V = m.Val
		case KeyArg:
			if b, _ := Bool(m.Val); b {
				g.Flags |= FlagArg
			}
		case KeyInt:
			if b, _ := Bool(m.Val); b {
				g.Flags |= FlagInternal
			}
		}
	}
	if g.N == nil || g.V == nil {
		return g, fmt.Errorf("%w: log record without name or value", ErrNotRecord)
	}
	if g.T == CodeNone {
		g.T = CodeOfType(ScalarType(g.V))
	}
	return g, nil
}

// Ckpt is a ckpt record.
type Ckpt struct {
	E    int64             `json:"e"`
	B    string            `json:"b"`
	O    int               `json:"o"`
	Objs map[string]string `json:"objs"`
	X    []string          `json:"x"`
}

// EndOfIteration reports whether the capture is of the end of an outer
// iteration (block "").
func (c Ckpt) EndOfIteration() bool { return c.B == "" }

// Ckpt decodes a ckpt record.
func (l Line) Ckpt() (Ckpt, error) {
	var c Ckpt
	if l.Kind != KindCkpt {
		return c, fmt.Errorf("%w: not a ckpt record", ErrNotRecord)
	}
	if err := json.Unmarshal(l.Text, &c); err != nil {
		return c, fmt.Errorf("%w: ckpt record: %w", ErrNotRecord, err)
	}
	return c, nil
}

// End is an end record.
type End struct {
	Status string    // StatusFinished or StatusFailed
	T      time.Time // zero when absent or unreadable
}

// End decodes an end record. A status other than StatusFailed counts as
// StatusFinished: Commit ran.
func (l Line) End() End {
	e := End{Status: StatusFinished}
	if s, _ := String(l.Get(KeyStatus)); s == StatusFailed {
		e.Status = StatusFailed
	}
	if s, ok := String(l.Get(KeyTime)); ok {
		if t, err := ParseTime(s); err == nil {
			e.T = t
		}
	}
	return e
}

// ReadFile calls fn for every line of the run file at path that decodes,
// in order, a torn last line included when it is complete JSON. Lines
// that do not decode are skipped: readers of whole files (replay, the
// planner) want what is there. fn's error stops the reading and is
// returned.
func ReadFile(path string, fn func(Line) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return Read(f, fn)
}

// Read is ReadFile of a reader.
func Read(r io.Reader, fn func(Line) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var d Decoder
	var long []byte
	for {
		chunk, err := br.ReadSlice('\n')
		line := chunk
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long[:0], chunk...)
			for errors.Is(err, bufio.ErrBufferFull) {
				chunk, err = br.ReadSlice('\n')
				long = append(long, chunk...)
			}
			line = long
		}
		if len(line) > 0 && line[len(line)-1] == '\n' {
			line = line[:len(line)-1]
		}
		if len(line) > 0 {
			if l, derr := d.Decode(line); derr == nil {
				if ferr := fn(l); ferr != nil {
					return ferr
				}
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// EndStatus returns the status of the end record of the run file at path,
// or "" when it has none.
func EndStatus(path string) (string, error) {
	status := ""
	err := ReadFile(path, func(l Line) error {
		if l.Kind == KindEnd {
			status = l.End().Status
		}
		return nil
	})
	return status, err
}
