package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// ErrKwargs: a --kwargs argument is malformed or does not parse as its
// Arg's type.
var ErrKwargs = errors.New("bad --kwargs")

// ArgValue is what Arg accepts.
type ArgValue interface {
	~bool | ~int | ~int64 | ~float64 | ~string
}

// ParseKwargs finds `--kwargs name=value ...` in args (the words after
// --kwargs up to the next word starting with "-") and returns them with
// the remaining arguments.
func ParseKwargs(args []string) (map[string]string, []string, error) {
	kw := map[string]string{}
	rest := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			rest = append(rest, args[i:]...)
			break
		}
		if a != "--kwargs" && a != "-kwargs" && !strings.HasPrefix(a, "--kwargs=") {
			rest = append(rest, a)
			continue
		}
		var words []string
		if v, ok := strings.CutPrefix(a, "--kwargs="); ok {
			words = append(words, v)
		}
		for i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
			i++
			words = append(words, args[i])
		}
		if len(words) == 0 {
			return nil, nil, fmt.Errorf("%w: --kwargs needs name=value arguments", ErrKwargs)
		}
		for _, w := range words {
			name, val, ok := strings.Cut(w, "=")
			if !ok || name == "" {
				return nil, nil, fmt.Errorf("%w: %q is not name=value", ErrKwargs, w)
			}
			if old, dup := kw[name]; dup {
				// Which one wins would be a guess; the user should say.
				return nil, nil, fmt.Errorf("%w: %q is given twice (%s=%s and %s)", ErrKwargs, name, name, old, w)
			}
			kw[name] = val
		}
	}
	return kw, rest, nil
}

func parseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "t", "true", "y", "yes", "on":
		return true, nil
	case "0", "f", "false", "n", "no", "off":
		return false, nil
	}
	return false, fmt.Errorf("%q is not a bool (yes/y/true/t/1 or no/n/false/f/0)", s)
}

// parseInt reads a kwarg integer. Integers are decimal, as users of
// training scripts type them: 010 is ten and 0042 is forty-two, never
// octal, and 0x10 is refused rather than read as hex. A sign is allowed,
// and so is a decimal float with an integral value (1e3, 5.0).
func parseInt(s string) (int64, error) {
	t := strings.TrimSpace(s)
	n, err := strconv.ParseInt(t, 10, 64)
	if err == nil {
		return n, nil
	}
	if errors.Is(err, strconv.ErrRange) {
		return 0, fmt.Errorf("%q overflows int64", s)
	}
	// ParseFloat would also take hex floats (0x1p4), underscores and
	// inf/nan: only plain decimal notation falls through to it.
	if t == "" || strings.Trim(t, "0123456789+-.eE") != "" {
		return 0, fmt.Errorf("%q is not a decimal integer", s)
	}
	f, ferr := strconv.ParseFloat(t, 64)
	if ferr != nil || f != math.Trunc(f) {
		return 0, fmt.Errorf("%q is not a decimal integer", s)
	}
	if f < -(1<<63) || f >= 1<<63 {
		return 0, fmt.Errorf("%q overflows int64", s)
	}
	return int64(f), nil
}

// parseArg converts the text of a kwarg to T.
func parseArg[T ArgValue](s string) (T, error) {
	var zero T
	rv := reflect.ValueOf(&zero).Elem()
	switch rv.Kind() {
	case reflect.Bool:
		b, err := parseBool(s)
		if err != nil {
			return zero, err
		}
		rv.SetBool(b)
	case reflect.Int, reflect.Int64:
		n, err := parseInt(s)
		if err != nil {
			return zero, err
		}
		if rv.OverflowInt(n) {
			return zero, fmt.Errorf("%q overflows %s", s, rv.Type())
		}
		rv.SetInt(n)
	case reflect.Float64:
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return zero, fmt.Errorf("%q is not a number", s)
		}
		rv.SetFloat(f)
	case reflect.String:
		rv.SetString(s)
	}
	return zero, nil
}

func argScalar[T ArgValue](v T) scalar {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Bool:
		return boolScalar(rv.Bool())
	case reflect.Int, reflect.Int64:
		return scalar{kind: TypeInt, i: rv.Int()}
	case reflect.Float64:
		return scalar{kind: TypeFloat, f: rv.Float()}
	}
	return scalar{kind: TypeStr, s: rv.String()}
}

func typeName[T ArgValue]() string {
	var zero T
	switch reflect.ValueOf(zero).Kind() {
	case reflect.Bool:
		return "bool"
	case reflect.Int, reflect.Int64:
		return "integer"
	case reflect.Float64:
		return "float"
	}
	return "string"
}

// Arg returns the value of hyper-parameter name: the --kwargs value cast to
// def's type, else def; in replay, the value the run recorded. The value is
// logged. A kwarg that does not parse stops the program with exit code 2:
// before anything is recorded, or, when the run has already logged, with
// the run kept and ended failed.
func Arg[T ArgValue](r *Run, name string, def T) T {
	v := def
	if r.replay != nil {
		if raw, ok := r.replay.args[name]; ok {
			hv, err := decodeRecorded[T](raw)
			if err != nil {
				r.fatal(fmt.Errorf("replay: recorded value of arg %q: %w", name, err))
			}
			v = hv
		} else if s, ok := r.replay.kwargs[name]; ok {
			if pv, err := parseArg[T](s); err == nil {
				v = pv
			}
		}
		if r.replay.names[name] {
			r.log(name, argScalar(v), flagArg)
		}
		return v
	}
	r.w.mu.Lock()
	s, ok := r.kwargs[name]
	if ok {
		r.kwUsed[name] = true
	}
	r.w.mu.Unlock()
	if ok {
		pv, err := parseArg[T](s)
		if err != nil {
			r.badKwarg(fmt.Sprintf("--kwargs %s=%s: %v; arg %q expects %s like its default %v",
				name, s, err, name, article(typeName[T]()), def))
		}
		v = pv
	}
	r.logArg(name, argScalar(v))
	return v
}

// badKwarg stops the program on a kwarg that does not parse, with exit
// code 2. Before the run has started nothing is on disk and nothing is
// left: a usage error is not a run. Once it has logged, its records are
// the user's and stay; the run ends failed, with the message recorded.
func (r *Run) badKwarg(msg string) {
	fmt.Fprintf(r.stderr, "flor: %s\n", msg)
	if r.started.Load() && r.startErr == nil {
		r.recordWarn(msg)
		if err := r.CommitFailed(); err != nil {
			fmt.Fprintf(r.stderr, "flor: %v\n", err)
		}
	} else {
		r.abandon()
	}
	r.exit(2)
}

// logArg records an arg. Before the first other flor call the run has not
// started and args are only buffered, so a program that stops on a usage
// error (a bad kwarg, a bad flag) leaves no run behind.
func (r *Run) logArg(name string, v scalar) {
	if r.off {
		return
	}
	w := r.w
	w.mu.Lock()
	if r.committed {
		w.mu.Unlock()
		return
	}
	wasEmpty := w.emptyLocked()
	at := len(w.buf)
	w.buf = appendLogRecord(w.buf, 0, quoteName(name), v, flagArg)
	r.argRecs = append(r.argRecs, w.buf[at:]...) // the process's later runs record it too
	through := w.wantWriteThroughLocked(wasEmpty)
	var line []byte
	if r.echo.Load() {
		line = []byte(name + ": " + v.String() + "\n")
	}
	w.mu.Unlock()
	if through {
		w.flush()
	}
	if line != nil {
		r.printEcho(line)
	}
}

func decodeRecorded[T ArgValue](raw json.RawMessage) (T, error) {
	var v T
	if err := json.Unmarshal(raw, &v); err == nil {
		return v, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return parseArg[T](s) // "NaN" and friends
	}
	return v, fmt.Errorf("%s does not fit a %s", raw, typeName[T]())
}

// unusedKwargs lists the kwargs no Arg read.
func (r *Run) unusedKwargs() []string {
	r.w.mu.Lock()
	defer r.w.mu.Unlock()
	var out []string
	for k, v := range r.kwargs {
		if !r.kwUsed[k] {
			out = append(out, k+"="+v)
		}
	}
	slices.Sort(out)
	return out
}

// article puts "a" or "an" before a type's name.
func article(name string) string {
	if strings.ContainsRune("aeiou", rune(name[0])) {
		return "an " + name
	}
	return "a " + name
}
