package record

// Build is how a recorded program was built and the environment that
// selects its computation, so that replay rebuilds and runs each version
// the same way: the same build tags (GoMLX's noxla, say), cgo setting and
// instruction-set level, and the variables (GOMLX_BACKEND, a user's own)
// that choose a backend or a kernel.
type Build struct {
	// Tags is the -tags setting, comma-separated, as the go command
	// records it in the binary.
	Tags string `json:"tags,omitempty"`
	// Settings are the binary's other build settings that change what it
	// computes: CGO_ENABLED, GOOS, GOARCH and the architecture's level
	// (GOAMD64, GOARM64, ...), GOEXPERIMENT, -race.
	Settings map[string]string `json:"settings,omitempty"`
	// Env holds the environment variables the program declared
	// (flor.RecordEnv) and their values when the run started.
	Env map[string]string `json:"env,omitempty"`
}

// Slurm is where a run recorded under Slurm ran (its SLURM_* variables).
type Slurm struct {
	JobID       string `json:"job"`
	ArrayJobID  string `json:"array_job,omitempty"`
	ArrayTaskID string `json:"array_task,omitempty"`
	Node        string `json:"node,omitempty"`
	Cluster     string `json:"cluster,omitempty"`
}
