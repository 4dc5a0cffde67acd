package record

import (
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// The appenders below write records without allocating when b has room:
// the runtime calls them on the training goroutine for every logged value.
// A record is started by one of the Append<Kind> functions and ended by
// AppendEnd... or Close; in between, callers add the optional members.

// AppendString appends s as a JSON string literal, escaping as
// encoding/json does (invalid UTF-8 becomes U+FFFD).
func AppendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != 0x7f {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"':
				b = append(b, '\\', '"')
			case '\\':
				b = append(b, '\\', '\\')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigit[c>>4], hexDigit[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigit[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

const hexDigit = "0123456789abcdef"

// Spellings of the floats JSON cannot hold.
const (
	NaN    = `"NaN"`
	PosInf = `"+Inf"`
	NegInf = `"-Inf"`
)

// AppendFloat appends f as a JSON number, or as a string for the values
// JSON cannot hold (NaN, PosInf, NegInf).
func AppendFloat(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, NaN...)
	case math.IsInf(f, 1):
		return append(b, PosInf...)
	case math.IsInf(f, -1):
		return append(b, NegInf...)
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}

// AppendLog starts a log record up to its value: the caller appends the
// value's JSON, then ends the record with AppendLogEnd. name is the name
// already quoted by AppendString (callers cache it: names repeat).
func AppendLog(b []byte, ctx int64, quotedName, typ string) []byte {
	b = append(b, `{"`+KeyKind+`":"log","`+KeyCtx+`":`...)
	b = strconv.AppendInt(b, ctx, 10)
	b = append(b, `,"`+KeyName+`":`...)
	b = append(b, quotedName...)
	b = append(b, `,"`+KeyType+`":"`...)
	b = append(b, typ...)
	return append(b, `","`+KeyValue+`":`...)
}

// AppendLogEnd ends a log record with its flags.
func AppendLogEnd(b []byte, flags Flags) []byte {
	if flags&FlagArg != 0 {
		b = append(b, `,"`+KeyArg+`":true`...)
	}
	if flags&FlagInternal != 0 {
		b = append(b, `,"`+KeyInt+`":true`...)
	}
	return Close(b)
}

// AppendCtx starts a ctx record; add a value with AppendCtxValue, then
// Close it.
func AppendCtx(b []byte, ctx, parent int64, quotedName string, iter int64) []byte {
	b = append(b, `{"`+KeyKind+`":"ctx","`+KeyCtx+`":`...)
	b = strconv.AppendInt(b, ctx, 10)
	b = append(b, `,"`+KeyParent+`":`...)
	b = strconv.AppendInt(b, parent, 10)
	b = append(b, `,"`+KeyName+`":`...)
	b = append(b, quotedName...)
	b = append(b, `,"`+KeyIter+`":`...)
	return strconv.AppendInt(b, iter, 10)
}

// AppendCtxValue starts a ctx record's value: the caller appends its JSON.
func AppendCtxValue(b []byte) []byte { return append(b, `,"`+KeyValue+`":`...) }

// Close ends a record and its line.
func Close(b []byte) []byte { return append(b, "}\n"...) }

// AppendCkpt starts a ckpt record and its objs object: the caller appends
// name:hash members (AppendObj), then AppendCkptExtras, the extras'
// hashes (AppendExtra), and AppendCkptEnd.
func AppendCkpt(b []byte, epoch int64, block string, occurrence int64) []byte {
	b = append(b, `{"`+KeyKind+`":"ckpt","`+KeyEpoch+`":`...)
	b = strconv.AppendInt(b, epoch, 10)
	b = append(b, `,"`+KeyBlock+`":`...)
	b = AppendString(b, block)
	b = append(b, `,"`+KeyOccurrence+`":`...)
	b = strconv.AppendInt(b, occurrence, 10)
	return append(b, `,"`+KeyObjs+`":{`...)
}

// AppendObj appends the i-th member of a ckpt record's objs.
func AppendObj(b []byte, i int, name, hash string) []byte {
	if i > 0 {
		b = append(b, ',')
	}
	b = AppendString(b, name)
	b = append(b, ':')
	return AppendString(b, hash)
}

// AppendCkptExtras ends a ckpt record's objs and starts its extras.
func AppendCkptExtras(b []byte) []byte { return append(b, `},"`+KeyExtras+`":[`...) }

// AppendExtra appends the i-th hash of a ckpt record's extras.
func AppendExtra(b []byte, i int, hash string) []byte {
	if i > 0 {
		b = append(b, ',')
	}
	return AppendString(b, hash)
}

// AppendCkptEnd ends a ckpt record.
func AppendCkptEnd(b []byte) []byte { return append(b, "]}\n"...) }

// AppendWarn appends a warn record.
func AppendWarn(b []byte, msg string) []byte {
	b = append(b, `{"`+KeyKind+`":"warn","`+KeyMsg+`":`...)
	return Close(AppendString(b, msg))
}

// AppendEndRecord appends an end record of status (StatusFinished or
// StatusFailed) at time t.
func AppendEndRecord(b []byte, status string, t time.Time) []byte {
	b = append(b, `{"`+KeyKind+`":"end","`+KeyStatus+`":`...)
	b = AppendString(b, status)
	b = append(b, `,"`+KeyTime+`":"`...)
	b = AppendTime(b, t)
	return append(b, "\"}\n"...)
}
