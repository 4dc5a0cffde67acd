package runtime

import (
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"sync"

	"github.com/flordb/flor/internal/record"
)

// envPatterns are the environment variables programs and adapters
// declared with RecordEnv: exact names, or prefixes ending in '*'.
var envPatterns struct {
	mu   sync.Mutex
	list []string
}

// RecordEnv declares environment variables that select what the program
// computes (a backend, a kernel, a number of threads), so that each run
// records their values and replay runs its version with them. A pattern
// ending in '*' is a prefix: "GOMLX_*". Call it before the run starts
// (its first flor call other than Arg), as adapters do from init.
func RecordEnv(patterns ...string) {
	envPatterns.mu.Lock()
	defer envPatterns.mu.Unlock()
	for _, p := range patterns {
		if p != "" && !slices.Contains(envPatterns.list, p) {
			envPatterns.list = append(envPatterns.list, p)
		}
	}
}

// recordedEnv returns the declared variables that are set, from environ
// (os.Environ's form).
func recordedEnv(environ []string) map[string]string {
	envPatterns.mu.Lock()
	pats := slices.Clone(envPatterns.list)
	envPatterns.mu.Unlock()
	out := map[string]string{}
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		for _, p := range pats {
			if k == p || strings.HasSuffix(p, "*") && strings.HasPrefix(k, strings.TrimSuffix(p, "*")) {
				out[k] = v
				break
			}
		}
	}
	return out
}

// buildSettings are the settings of debug.BuildInfo that change what a
// program computes, beside -tags.
var buildSettings = []string{"CGO_ENABLED", "GOOS", "GOARCH", "GOEXPERIMENT", "-race",
	"GOAMD64", "GOARM", "GOARM64", "GO386", "GOMIPS", "GOMIPS64", "GOPPC64", "GORISCV64", "GOWASM"}

// buildRecord is the run record's build object: the binary's build
// settings and the declared environment; nil when there is neither.
func buildRecord(environ []string) *record.Build {
	b := &record.Build{Settings: map[string]string{}, Env: recordedEnv(environ)}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			switch {
			case s.Key == "-tags":
				b.Tags = s.Value
			case slices.Contains(buildSettings, s.Key):
				b.Settings[s.Key] = s.Value
			}
		}
	}
	if len(b.Settings) == 0 {
		b.Settings = nil
	}
	if len(b.Env) == 0 {
		b.Env = nil
	}
	if b.Tags == "" && b.Settings == nil && b.Env == nil {
		return nil
	}
	return b
}

// slurmRecord is where Slurm runs this process (nil outside Slurm).
func slurmRecord(getenv func(string) string) *record.Slurm {
	id := getenv("SLURM_JOB_ID")
	if id == "" {
		return nil
	}
	return &record.Slurm{
		JobID:       id,
		ArrayJobID:  getenv("SLURM_ARRAY_JOB_ID"),
		ArrayTaskID: getenv("SLURM_ARRAY_TASK_ID"),
		Node:        getenv("SLURMD_NODENAME"),
		Cluster:     getenv("SLURM_CLUSTER_NAME"),
	}
}

// environ lists the environment as getenv sees it: os.Environ, or, for a
// run whose Options replace the environment, only the declared names.
func environ(getenv func(string) string) []string {
	env := os.Environ()
	out := make([]string, 0, len(env))
	seen := map[string]bool{}
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if v := getenv(k); v != "" && !seen[k] {
			seen[k] = true
			out = append(out, k+"="+v)
		}
	}
	envPatterns.mu.Lock()
	defer envPatterns.mu.Unlock()
	for _, p := range envPatterns.list {
		if !strings.HasSuffix(p, "*") && !seen[p] {
			if v := getenv(p); v != "" {
				out = append(out, p+"="+v)
			}
		}
	}
	return slices.Sorted(slices.Values(out))
}
