package flor

// Wanted reports whether a replay needs the flor.Log statement logging
// name evaluated. The replay build guards the statements whose arguments
// it may skip with it; restores name the Checkpoint registrations such an
// argument changes, which replay restores after skipping it. Recording,
// it is always true. Programs do not call it themselves.
func Wanted(name string, restores ...string) bool { return run().Wanted(name, restores...) }
