package runtime

// Log records value under name. The common kinds go through without
// boxing, so logging a float64 in a hot loop does not allocate.
func Log[T any](r *Run, name string, value T) {
	var s scalar
	switch v := any(value).(type) {
	case float64:
		s = scalar{kind: TypeFloat, f: v}
	case float32:
		s = scalar{kind: TypeFloat, f: float64(v)}
	case int:
		s = scalar{kind: TypeInt, i: int64(v)}
	case int64:
		s = scalar{kind: TypeInt, i: v}
	case int32:
		s = scalar{kind: TypeInt, i: int64(v)}
	case bool:
		s = boolScalar(v)
	case string:
		s = scalar{kind: TypeStr, s: v}
	default:
		if r.replay != nil && !r.replay.names[name] {
			return // do not pay for JSON of a value nobody records
		}
		s = scalarOf(any(value))
	}
	r.Log(name, s)
}

// IterationOf opens one named iteration (see Run.Iteration) with a value
// of any type.
func IterationOf[T any](r *Run, name string, index int, value T) func() {
	return r.Iteration(name, index, scalarOfT(value))
}
