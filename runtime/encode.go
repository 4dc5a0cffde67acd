package runtime

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"

	"github.com/flordb/flor/internal/record"
)

// Value types as written in the t field of a log record.
const (
	TypeInt   = record.TypeInt
	TypeFloat = record.TypeFloat
	TypeBool  = record.TypeBool
	TypeStr   = record.TypeStr
	TypeJSON  = record.TypeJSON
)

// scalar is a loggable value in a form that needs no allocation to hold.
type scalar struct {
	kind string // TypeInt, TypeFloat, TypeBool, TypeStr, TypeJSON; "" = none
	i    int64
	f    float64
	s    string // string value, or the JSON text for TypeJSON
}

func (s scalar) appendJSON(b []byte) []byte {
	switch s.kind {
	case TypeInt:
		return strconv.AppendInt(b, s.i, 10)
	case TypeFloat:
		return record.AppendFloat(b, s.f)
	case TypeBool:
		return strconv.AppendBool(b, s.i != 0)
	case TypeStr:
		return record.AppendString(b, s.s)
	case TypeJSON:
		return append(b, s.s...)
	}
	return append(b, "null"...)
}

// String formats the value for the echo line.
func (s scalar) String() string {
	switch s.kind {
	case TypeInt:
		return strconv.FormatInt(s.i, 10)
	case TypeFloat:
		return strconv.FormatFloat(s.f, 'g', -1, 64)
	case TypeBool:
		return strconv.FormatBool(s.i != 0)
	case TypeStr, TypeJSON:
		return s.s
	}
	return ""
}

// scalarOf classifies a value of a type the fast paths do not cover.
// Numbers of every width become int or float; anything else is marshalled
// to JSON, or kept as its fmt string form when JSON fails.
func scalarOf(v any) scalar {
	switch x := v.(type) {
	case nil:
		return scalar{kind: TypeJSON, s: "null"}
	case float64:
		return scalar{kind: TypeFloat, f: x}
	case float32:
		return scalar{kind: TypeFloat, f: float64(x)}
	case int:
		return scalar{kind: TypeInt, i: int64(x)}
	case int8:
		return scalar{kind: TypeInt, i: int64(x)}
	case int16:
		return scalar{kind: TypeInt, i: int64(x)}
	case int32:
		return scalar{kind: TypeInt, i: int64(x)}
	case int64:
		return scalar{kind: TypeInt, i: x}
	case uint:
		return uintScalar(uint64(x))
	case uint8:
		return scalar{kind: TypeInt, i: int64(x)}
	case uint16:
		return scalar{kind: TypeInt, i: int64(x)}
	case uint32:
		return scalar{kind: TypeInt, i: int64(x)}
	case uint64:
		return uintScalar(x)
	case bool:
		return boolScalar(x)
	case string:
		return scalar{kind: TypeStr, s: x}
	case error:
		return scalar{kind: TypeStr, s: safeText(v, x.Error)}
	case fmt.Stringer:
		return scalar{kind: TypeStr, s: safeText(v, x.String)}
	}
	// Named numbers (type Loss float64) are numbers.
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Float32, reflect.Float64:
		return scalar{kind: TypeFloat, f: rv.Float()}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return scalar{kind: TypeInt, i: rv.Int()}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return uintScalar(rv.Uint())
	case reflect.Bool:
		return boolScalar(rv.Bool())
	case reflect.String:
		return scalar{kind: TypeStr, s: rv.String()}
	}
	js, err := safeMarshal(v)
	if err != nil {
		return scalar{kind: TypeStr, s: fmt.Sprint(v)}
	}
	return scalar{kind: TypeJSON, s: string(js)}
}

// safeText calls a value's Error or String method. A method that panics
// (a nil pointer whose method reads its receiver) must not stop the
// training program: the value is then recorded as fmt prints it, which
// is "<nil>" for a nil pointer (fmt recovers such panics too).
func safeText(v any, method func() string) (s string) {
	defer func() {
		if recover() != nil {
			s = fmt.Sprint(v)
		}
	}()
	return method()
}

// safeMarshal is json.Marshal that turns a panic in a MarshalJSON or
// MarshalText method into an error.
func safeMarshal(v any) (js []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			js, err = nil, fmt.Errorf("marshal panicked: %v", p)
		}
	}()
	return json.Marshal(v)
}

func uintScalar(u uint64) scalar {
	if u > math.MaxInt64 {
		return scalar{kind: TypeFloat, f: float64(u)}
	}
	return scalar{kind: TypeInt, i: int64(u)}
}

func boolScalar(b bool) scalar {
	if b {
		return scalar{kind: TypeBool, i: 1}
	}
	return scalar{kind: TypeBool}
}

// isLoopValue reports whether a loop element is a scalar worth recording as
// the context's value (FlorDB records numbers, strings and bools only).
func (s scalar) isLoopValue() bool {
	return s.kind == TypeInt || s.kind == TypeFloat || s.kind == TypeBool || s.kind == TypeStr
}
