package runtime

// Log records value under name. The common kinds go through without
// boxing, so logging a float64 in a hot loop does not allocate. It
// reports false when r was committed first (see Run.Log).
func Log[T any](r *Run, name string, value T) bool {
	if r.off && !r.echo.Load() {
		return true // do not even classify a value nobody records or prints
	}
	s := scalarOfT(value)
	if s.kind == "" {
		if r.replay != nil && !r.replay.names[name] && !r.replay.checks(name) {
			return true // do not pay for JSON of a value nobody records
		}
		s = scalarOf(any(value))
	}
	return r.Log(name, s)
}

// IterationOf opens one named iteration (see Run.Iteration) with a value
// of any type.
func IterationOf[T any](r *Run, name string, index int, value T) func() {
	if r.off {
		return func() {}
	}
	return r.Iteration(name, index, scalarOfT(value))
}
