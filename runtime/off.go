package runtime

// Recording off (FLOR_RECORD=0): the program runs as if its flor calls
// were not there. Arg still reads --kwargs, so the program computes what
// it computes when recorded; Log prints "name: value" unless the echo is
// off (there is no loop context to print); Loop yields its sequence as
// is; nothing is written, snapshotted or checkpointed. The same binary
// then measures what recording costs it, and a program can be run
// without leaving a run behind. A replay (FLOR_REPLAY) ignores it.

// recordEnv turns recording off when it is false.
const recordEnv = "FLOR_RECORD"

// Off reports whether the run records nothing (FLOR_RECORD=0).
func (r *Run) Off() bool { return r.off }

// offLog is Log with recording off.
func (r *Run) offLog(name string, v scalar) {
	if !r.echo.Load() {
		return
	}
	b := appendEchoText(nil, name)
	b = append(b, ": "...)
	b = appendEchoText(b, v.String())
	_, _ = r.stdout.Write(append(b, '\n'))
}
