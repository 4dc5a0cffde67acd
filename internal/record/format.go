package record

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// Version is the major version of the run-file format, written as the run
// record's v. Readers refuse files of a newer major version; fields added
// in a way older readers can ignore do not change it.
const Version = 1

// ErrNewerVersion: the file was written in a newer major version of the
// format than this reader knows.
var ErrNewerVersion = errors.New("run file of a newer format version")

// CheckVersion returns an error wrapping ErrNewerVersion, naming both
// versions, when v is newer than Version.
func CheckVersion(v int64) error {
	if v > Version {
		return fmt.Errorf("%w: version %d, this flor reads version %d; upgrade flor to read it", ErrNewerVersion, v, Version)
	}
	return nil
}

// Kind is a record's kind, its k.
type Kind uint8

// Record kinds.
const (
	KindUnknown Kind = iota // not one of the kinds below (KindName holds it)
	KindRun                 // first line of every file: the run's identity
	KindCtx                 // a loop iteration
	KindLog                 // a logged value
	KindCkpt                // a captured state
	KindEnd                 // flor.Commit ran
	KindWarn                // something the user should see
	KindDiverge             // replay: a value differs from the one recorded
)

var kindNames = [...]string{KindUnknown: "", KindRun: "run", KindCtx: "ctx", KindLog: "log",
	KindCkpt: "ckpt", KindEnd: "end", KindWarn: "warn", KindDiverge: "diverge"}

// String returns the kind as written in k.
func (k Kind) String() string { return kindNames[k] }

// kindOf maps the raw JSON text of k to its kind.
func kindOf(raw []byte) Kind {
	switch string(raw) {
	case `"run"`:
		return KindRun
	case `"ctx"`:
		return KindCtx
	case `"log"`:
		return KindLog
	case `"ckpt"`:
		return KindCkpt
	case `"end"`:
		return KindEnd
	case `"warn"`:
		return KindWarn
	case `"diverge"`:
		return KindDiverge
	}
	return KindUnknown
}

// Keys. The same letter means different things in different kinds (v is
// the run record's version and a log's value), so each meaning has a name.
const (
	KeyKind = "k" // every record

	// run record
	KeyVersion   = "v"
	KeyProjID    = "projid"
	KeyTstamp    = "tstamp"
	KeyFilename  = "filename"
	KeySnapshot  = "snapshot"
	KeyKwargs    = "kwargs"
	KeyArgv      = "argv"
	KeyPID       = "pid"
	KeyHost      = "host"
	KeyLiveness  = "liveness"
	KeyBuild     = "build"
	KeySlurm     = "slurm"
	KeyReplay    = "replay"
	KeyReplayID  = "id"    // in replay
	KeyNames     = "names" // in replay
	KeyReplayRun = "run"   // in replay: the run file replayed

	// ctx and log records
	KeyCtx    = "c"
	KeyParent = "p"
	KeyName   = "n"
	KeyIter   = "i"
	KeyValue  = "v"
	KeyType   = "t"
	KeyArg    = "arg"
	KeyInt    = "int"

	// ckpt record
	KeyEpoch      = "e"
	KeyBlock      = "b"
	KeyOccurrence = "o"
	KeyObjs       = "objs"
	KeyExtras     = "x"

	// end record
	KeyStatus = "status"
	KeyTime   = "t"

	// warn record
	KeyMsg = "msg"

	// diverge record (also n, t and v: the name, and the replayed value)
	KeyAt       = "at" // the context, as text: "epoch 3, step 120"
	KeyRecType  = "rt" // the recorded value's type
	KeyRecValue = "rv" // the recorded value
)

// Value types, a log record's t.
const (
	TypeInt   = "int"
	TypeFloat = "float"
	TypeBool  = "bool"
	TypeStr   = "str"
	TypeJSON  = "json"
)

// TypeCode is how the store keeps a value type: one byte, 0 for none.
type TypeCode uint8

// Type codes, in the order of TypeNames.
const (
	CodeNone TypeCode = iota
	CodeInt
	CodeFloat
	CodeBool
	CodeStr
	CodeJSON
)

// TypeNames lists the value types by code, from CodeInt (index 0 is
// CodeInt, so a SQL list indexed from 1 by code matches it).
var TypeNames = [...]string{TypeInt, TypeFloat, TypeBool, TypeStr, TypeJSON}

// CodeOf returns the code of a value type's raw JSON text (`"int"`), or
// CodeNone.
func CodeOf(raw []byte) TypeCode {
	switch string(raw) {
	case `"int"`:
		return CodeInt
	case `"float"`:
		return CodeFloat
	case `"bool"`:
		return CodeBool
	case `"str"`:
		return CodeStr
	case `"json"`:
		return CodeJSON
	}
	return CodeNone
}

// CodeOfType returns the code of a value type name (TypeInt ...); any other
// name is CodeJSON.
func CodeOfType(t string) TypeCode {
	switch t {
	case TypeInt:
		return CodeInt
	case TypeFloat:
		return CodeFloat
	case TypeBool:
		return CodeBool
	case TypeStr:
		return CodeStr
	}
	return CodeJSON
}

// String returns the type name of the code ("" for CodeNone).
func (c TypeCode) String() string {
	if c < CodeInt || c > CodeJSON {
		return ""
	}
	return TypeNames[c-CodeInt]
}

// Flags are a log record's optional markers, as the store keeps them.
type Flags uint8

// Log flags.
const (
	FlagArg      Flags = 1 << iota // arg: true, written by flor.Arg
	FlagInternal                   // int: true, an internal profiling value
)

// End statuses, an end record's status.
const (
	StatusFinished = "finished" // Commit ran normally
	StatusFailed   = "failed"   // Commit ran during a panic
)

// Timestamp layouts.
const (
	// FileLayout names run files: <tstamp>.jsonl, UTC, microseconds.
	FileLayout = "20060102T150405.000000Z"
	// TimeLayout is RFC 3339 with exactly six fractional digits: the run
	// record's tstamp and the end record's t.
	TimeLayout = "2006-01-02T15:04:05.000000Z07:00"
)

// FormatTime formats t as records spell times: UTC, TimeLayout.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeLayout) }

// AppendTime appends t as FormatTime spells it.
func AppendTime(b []byte, t time.Time) []byte { return t.UTC().AppendFormat(b, TimeLayout) }

// ParseTime parses a record time (any RFC 3339 form), in UTC.
func ParseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	return t.UTC(), err
}

// FileName returns the base name of a run file of a run started at t in
// the layout of older programs, <tstamp>.jsonl: unique only within one
// machine's clock. New runs are named by UniqueFileName.
func FileName(t time.Time) string { return t.UTC().Format(FileLayout) + ".jsonl" }

// SuffixLen is the length of the hex suffix UniqueFileName adds.
const SuffixLen = 8

// FileSuffix returns the suffix of a run file's name: the first SuffixLen
// hex digits of sha256(host, pid, nonce). host and pid tell recordings of
// different machines and processes apart; nonce (random bytes) those that
// share both (a container's pid 1, a reused pid).
func FileSuffix(host string, pid int, nonce []byte) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%d\x00", host, pid)
	h.Write(nonce)
	return hex.EncodeToString(h.Sum(nil))[:SuffixLen]
}

// UniqueFileName returns the base name of the run file of a run started at
// t: <tstamp>-<suffix>.jsonl (FileSuffix of this host, this process and 16
// random bytes), so that runs recorded on different hosts in the same
// microsecond have different files.
func UniqueFileName(t time.Time) string {
	host, _ := os.Hostname()
	var nonce [16]byte
	rand.Read(nonce[:]) // never fails (crypto/rand)
	return t.UTC().Format(FileLayout) + "-" + FileSuffix(host, os.Getpid(), nonce[:]) + ".jsonl"
}

// ParseFileName returns the tstamp a run file's base name encodes; it
// accepts both layouts, <tstamp>.jsonl and <tstamp>-<suffix>.jsonl.
func ParseFileName(name string) (time.Time, bool) {
	if len(name) < len(FileLayout) {
		return time.Time{}, false
	}
	rest, ok := strings.CutSuffix(name[len(FileLayout):], ".jsonl")
	if !ok {
		return time.Time{}, false
	}
	if rest != "" {
		sfx, ok := strings.CutPrefix(rest, "-")
		if _, err := hex.DecodeString(sfx); !ok || len(sfx) != SuffixLen || err != nil {
			return time.Time{}, false
		}
	}
	t, err := time.Parse(FileLayout, name[:len(FileLayout)])
	return t.UTC(), err == nil
}

// LivenessInterval is how often a recording program refreshes its run
// file's modification time while it runs. A reader on another host, which
// cannot ask about the process, takes a file without an end record whose
// modification time is older than LivenessTimeout as left by a program
// that is gone.
const LivenessInterval = 10 * time.Second

// LivenessTimeout is how stale a refreshed file may be before its writer
// counts as gone: a few intervals, for slow disks and clock skew.
const LivenessTimeout = 3 * LivenessInterval

// StaleAfter returns how long after its last refresh a file whose run
// record declares liveness seconds counts as left by a program that is
// gone: LivenessTimeout for the interval this package writes.
func StaleAfter(liveness float64) time.Duration {
	return time.Duration(liveness * float64(LivenessTimeout/LivenessInterval) * float64(time.Second))
}

// ReadName is the name of the log value (t json, outside every loop) in
// which a run records the runs it read through package reader: an array
// of {"projid", "tstamp", "filename"} objects, tstamp as TimeLayout
// writes it. The store's lineage view unnests it.
const ReadName = "flor.read"

// RunRef names a run in a ReadName value.
type RunRef struct {
	ProjID   string `json:"projid"`
	Tstamp   string `json:"tstamp"`
	Filename string `json:"filename"`
}
